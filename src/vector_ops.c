/*
 * vector_ops.c
 *		Functions and operators on vectors: distances, norms, element-wise
 *		arithmetic, concatenation, subvector, binary quantization and the
 *		comparison functions behind the btree operator class.
 *
 * Distances use the kernels chosen at load time (distance.h); they sum in
 * float and the result is widened to float8, compatible with pgvector.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/float.h"
#include "utils/varbit.h"

#include "distance.h"
#include "vector.h"

PG_FUNCTION_INFO_V1(l2_distance);
PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
PG_FUNCTION_INFO_V1(inner_product);
PG_FUNCTION_INFO_V1(vector_negative_inner_product);
PG_FUNCTION_INFO_V1(cosine_distance);
PG_FUNCTION_INFO_V1(vector_spherical_distance);
PG_FUNCTION_INFO_V1(l1_distance);
PG_FUNCTION_INFO_V1(vector_dims);
PG_FUNCTION_INFO_V1(vector_norm);
PG_FUNCTION_INFO_V1(l2_normalize);
PG_FUNCTION_INFO_V1(vector_add);
PG_FUNCTION_INFO_V1(vector_sub);
PG_FUNCTION_INFO_V1(vector_mul);
PG_FUNCTION_INFO_V1(vector_concat);
PG_FUNCTION_INFO_V1(subvector);
PG_FUNCTION_INFO_V1(binary_quantize);
PG_FUNCTION_INFO_V1(vector_lt);
PG_FUNCTION_INFO_V1(vector_le);
PG_FUNCTION_INFO_V1(vector_eq);
PG_FUNCTION_INFO_V1(vector_ne);
PG_FUNCTION_INFO_V1(vector_ge);
PG_FUNCTION_INFO_V1(vector_gt);
PG_FUNCTION_INFO_V1(vector_cmp);

/*
 * Release detoasted copies of both arguments: index scans and sorts call
 * these functions many times in one memory context.
 */
#define FREE_ARGS() \
	do { \
		PG_FREE_IF_COPY(a, 0); \
		PG_FREE_IF_COPY(b, 1); \
	} while (0)

/*
 * l2_distance
 *		Euclidean distance (operator <->).
 */
Datum
l2_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		result;

	VectorCheckSameDims(a, b);
	result = sqrt((double) omen_kernels.l2sq(a->x, b->x, a->dim));
	FREE_ARGS();
	PG_RETURN_FLOAT8(result);
}

/*
 * vector_l2_squared_distance
 *		Squared Euclidean distance: orders like l2_distance without the
 *		square root; for index support.
 */
Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		result;

	VectorCheckSameDims(a, b);
	result = (double) omen_kernels.l2sq(a->x, b->x, a->dim);
	FREE_ARGS();
	PG_RETURN_FLOAT8(result);
}

/*
 * inner_product
 *		Dot product of two vectors.
 */
Datum
inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		result;

	VectorCheckSameDims(a, b);
	result = (double) omen_kernels.dot(a->x, b->x, a->dim);
	FREE_ARGS();
	PG_RETURN_FLOAT8(result);
}

/*
 * vector_negative_inner_product
 *		Negated dot product (operator <#>), so that smaller is closer.
 */
Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		result;

	VectorCheckSameDims(a, b);
	result = (double) -omen_kernels.dot(a->x, b->x, a->dim);
	FREE_ARGS();
	PG_RETURN_FLOAT8(result);
}

/*
 * cosine_distance
 *		1 - cosine similarity (operator <=>).  The similarity is computed in
 *		double and clamped to [-1, 1]; a zero vector gives NaN.
 */
Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	float		dot;
	float		norma;
	float		normb;
	double		similarity;

	VectorCheckSameDims(a, b);
	omen_kernels.cosine_parts(a->x, b->x, a->dim, &dot, &norma, &normb);
	FREE_ARGS();

	/* one square root of the product, not a product of square roots */
	similarity = (double) dot / sqrt((double) norma * (double) normb);

	/* NaN (zero norm) fails both tests and is returned as NaN */
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;

	PG_RETURN_FLOAT8(1.0 - similarity);
}

/*
 * vector_spherical_distance
 *		Angular distance acos(a . b) / pi of two unit vectors, in [0, 1];
 *		for index support (it obeys the triangle inequality).
 */
Datum
vector_spherical_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		dot;

	VectorCheckSameDims(a, b);
	dot = (double) omen_kernels.dot(a->x, b->x, a->dim);
	FREE_ARGS();

	/* rounding can push the product of unit vectors past +-1 */
	if (dot > 1.0)
		dot = 1.0;
	else if (dot < -1.0)
		dot = -1.0;

	PG_RETURN_FLOAT8(acos(dot) / M_PI);
}

/*
 * l1_distance
 *		Manhattan (taxicab) distance (operator <+>).
 */
Datum
l1_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		result;

	VectorCheckSameDims(a, b);
	result = (double) omen_kernels.l1(a->x, b->x, a->dim);
	FREE_ARGS();
	PG_RETURN_FLOAT8(result);
}

/*
 * vector_dims
 *		Number of dimensions.
 */
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	int32		dim = a->dim;

	PG_FREE_IF_COPY(a, 0);
	PG_RETURN_INT32(dim);
}

/*
 * l2_norm_double
 *		Euclidean norm of a vector, accumulated in double so that it does not
 *		overflow for large float4 elements.
 */
static double
l2_norm_double(const Vector *a)
{
	double		sum = 0.0;

	for (int i = 0; i < a->dim; i++)
		sum += (double) a->x[i] * (double) a->x[i];
	return sqrt(sum);
}

/*
 * vector_norm
 *		Euclidean (L2) norm.
 */
Datum
vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	double		norm = l2_norm_double(a);

	PG_FREE_IF_COPY(a, 0);
	PG_RETURN_FLOAT8(norm);
}

/*
 * l2_normalize
 *		The vector scaled to unit Euclidean length; a zero vector is returned
 *		unchanged.
 */
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *result = InitVector(a->dim);
	double		norm = l2_norm_double(a);

	if (norm > 0.0)
	{
		for (int i = 0; i < a->dim; i++)
		{
			result->x[i] = (float) ((double) a->x[i] / norm);
			/* a tiny (subnormal) norm can overflow float4 */
			if (isinf(result->x[i]))
				float_overflow_error();
		}
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * CheckNoOverflow
 *		Raise the overflow error if an element of an arithmetic result is
 *		infinite (the inputs never are).
 */
static void
CheckNoOverflow(const Vector *result)
{
	for (int i = 0; i < result->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
	}
}

/*
 * vector_add
 *		Element-wise sum (operator +); overflow to infinity is an error.
 */
Datum
vector_add(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	VectorCheckSameDims(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] + b->x[i];
	CheckNoOverflow(result);

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_sub
 *		Element-wise difference (operator -); overflow is an error.
 */
Datum
vector_sub(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	VectorCheckSameDims(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] - b->x[i];
	CheckNoOverflow(result);

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_mul
 *		Element-wise product (operator *); overflow, and underflow of a
 *		product of two non-zero elements to zero, are errors.
 */
Datum
vector_mul(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	VectorCheckSameDims(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] * b->x[i];
	for (int i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
		if (result->x[i] == 0.0f && a->x[i] != 0.0f && b->x[i] != 0.0f)
			float_underflow_error();
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_concat
 *		Concatenation a || b.
 */
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			dim = a->dim + b->dim;
	Vector	   *result;

	VectorCheckDim(dim);
	result = InitVector(dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);

	PG_RETURN_VECTOR_P(result);
}

/*
 * subvector
 *		subvector(v, start, count): count elements from 1-based position
 *		start, clipped to the vector like substring(); an empty result is an
 *		error.  The bounds are computed in 64 bits so nothing can overflow.
 */
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end = start + count;	/* exclusive */
	Vector	   *result;
	int			dim;

	if (start < 1)
		start = 1;
	if (end > (int64) a->dim + 1)
		end = (int64) a->dim + 1;

	/* end - start is at most a->dim here, but may be <= 0 */
	dim = (int) Max(end - start, 0);
	VectorCheckDim(dim);

	result = InitVector(dim);
	memcpy(result->x, a->x + (start - 1), sizeof(float) * dim);

	PG_RETURN_VECTOR_P(result);
}

/*
 * binary_quantize
 *		bit(dim) with bit i set when element i is positive.
 */
Datum
binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	int			len = VARBITTOTALLEN(a->dim);
	VarBit	   *result = (VarBit *) palloc0(len);
	bits8	   *bits;

	SET_VARSIZE(result, len);
	VARBITLEN(result) = a->dim;
	bits = VARBITS(result);
	for (int i = 0; i < a->dim; i++)
	{
		if (a->x[i] > 0)
			bits[i / BITS_PER_BYTE] |= (bits8) (0x80 >> (i % BITS_PER_BYTE));
	}

	PG_RETURN_VARBIT_P(result);
}

/*
 * vector_cmp_internal
 *		Total order of vectors: element by element over the common prefix,
 *		then the shorter vector first (like arrays).  Returns -1, 0 or 1.
 */
int
vector_cmp_internal(const Vector *a, const Vector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

/*
 * compare_args
 *		vector_cmp_internal on the two arguments, freeing detoasted copies.
 */
static int
compare_args(FunctionCallInfo fcinfo)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			cmp = vector_cmp_internal(a, b);

	FREE_ARGS();
	return cmp;
}

/*
 * vector_lt
 *		a < b
 */
Datum
vector_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

/*
 * vector_le
 *		a <= b
 */
Datum
vector_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

/*
 * vector_eq
 *		a = b
 */
Datum
vector_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

/*
 * vector_ne
 *		a <> b
 */
Datum
vector_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

/*
 * vector_ge
 *		a >= b
 */
Datum
vector_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

/*
 * vector_gt
 *		a > b
 */
Datum
vector_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}

/*
 * vector_cmp
 *		btree support function 1: -1, 0 or 1.
 */
Datum
vector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}
