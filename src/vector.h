/*
 * vector.h
 *		The vector type: on-disk layout, limits and accessors.
 *
 * The layout is byte-for-byte the one pgvector uses, so that binary COPY,
 * pg_dump and client libraries cannot tell the two apart:
 *
 *		int32	vl_len_		varlena header (4-byte form, never short)
 *		int16	dim			number of elements
 *		int16	unused		always 0
 *		float4	x[dim]		the elements
 */
#ifndef OMENDB_VECTOR_H
#define OMENDB_VECTOR_H

#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved for future use, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

#define VECTOR_SIZE(_dim)		(offsetof(Vector, x) + sizeof(float) * (_dim))
#define DatumGetVector(x)		((Vector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_VECTOR_P(x)	DatumGetVector(PG_GETARG_DATUM(x))
#define PG_RETURN_VECTOR_P(x)	PG_RETURN_POINTER(x)

/* Allocate a zero-filled vector of dim elements (dim must be checked). */
extern Vector *InitVector(int dim);

/*
 * Validity checks shared by every module that builds or combines vectors.
 * Their error texts and SQLSTATEs are those of pgvector (compatible with
 * pgvector 0.8), because applications match on them.
 */

/* Error unless 1 <= dim <= VECTOR_MAX_DIM. */
static inline void
VectorCheckDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions",
						VECTOR_MAX_DIM)));
}

/* Error unless dim agrees with the type modifier (-1 means "any"). */
static inline void
VectorCheckExpectedDim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/* Error unless both vectors have the same number of dimensions. */
static inline void
VectorCheckSameDims(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d",
						a->dim, b->dim)));
}

/* Error if an element is NaN or infinite. */
static inline void
VectorCheckElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}

/* Total order used by the btree operator class (vector_ops.c). */
extern int	vector_cmp_internal(const Vector *a, const Vector *b);

#endif							/* OMENDB_VECTOR_H */
