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

extern Vector *InitVector(int dim);

#endif							/* OMENDB_VECTOR_H */
