/*
 * distance.h
 *		Distance kernels over float4 arrays.
 *
 * This module is plain C (no PostgreSQL headers) so that it can be unit
 * tested on its own.  Every kernel exists in a portable scalar version and,
 * on x86-64, in AVX2+FMA and AVX-512 versions; OmenKernelsInit() picks the
 * best one the CPU supports at run time, so the build never needs
 * -march=native.
 *
 * All kernels accumulate in float and return the raw sum; callers apply the
 * square root (L2) or the final arithmetic (cosine) themselves.
 */
#ifndef OMENDB_DISTANCE_H
#define OMENDB_DISTANCE_H

typedef struct OmenKernels
{
	const char *name;			/* "scalar", "avx2", "avx512" */
	/* sum of (a[i] - b[i])^2 */
	float		(*l2sq) (const float *a, const float *b, int n);
	/* sum of a[i] * b[i] */
	float		(*dot) (const float *a, const float *b, int n);
	/* sum of |a[i] - b[i]| */
	float		(*l1) (const float *a, const float *b, int n);
	/* sum a*b, sum a*a and sum b*b in one pass */
	void		(*cosine_parts) (const float *a, const float *b, int n,
								 float *dot, float *norma, float *normb);
} OmenKernels;

/* The kernels in use; valid after OmenKernelsInit(). */
extern OmenKernels omen_kernels;

/* Select the fastest kernels this CPU supports. */
extern void OmenKernelsInit(void);

/*
 * Every kernel set this CPU can run, best last; for tests and benchmarks.
 * Returns the number of entries stored in *sets (at most 3).
 */
extern int	OmenKernelsAvailable(const OmenKernels **sets);

/*
 * Half-precision (IEEE binary16) vectors, used where a compact copy of the
 * vectors is worth some precision: the in-memory graph of an index build.
 * Each kernel takes a float4 vector a and a half vector b.
 */
typedef unsigned short OmenHalf;

typedef struct OmenHalfKernels
{
	const char *name;			/* "scalar", "avx2", "avx512" */
	float		(*l2sq) (const float *a, const OmenHalf *b, int n);
	float		(*dot) (const float *a, const OmenHalf *b, int n);
	float		(*l1) (const float *a, const OmenHalf *b, int n);
} OmenHalfKernels;

extern OmenHalfKernels omen_half_kernels;

/* Select the fastest half kernels this CPU supports (OmenKernelsInit does). */
extern void OmenHalfKernelsInit(void);

/* Every half kernel set this CPU can run, best last (at most 3). */
extern int	OmenHalfKernelsAvailable(const OmenHalfKernels **sets);

/* Conversions, round to nearest even; out-of-range values become +-Inf */
extern OmenHalf OmenFloatToHalf(float f);
extern float OmenHalfToFloat(OmenHalf h);

/*
 * Scalar-quantised (SQ8) vectors: one byte per dimension, with a minimum
 * and a step per dimension shared by all vectors of a set.  Code c of
 * dimension d stands for fmaf(c, scale[d], min[d]); OmenSq8Value gives that
 * value, and every kernel reconstructs exactly it before doing the float
 * arithmetic.  Used for the in-memory graph of an index build, where a
 * quarter of the float4 memory traffic is worth a quantisation step.
 * Each kernel takes a float4 vector a, a code vector b and the set's min and
 * scale arrays.
 */
typedef unsigned char OmenSq8;

typedef struct OmenSq8Kernels
{
	const char *name;			/* "scalar", "avx2", "avx512" */
	/* sum of (a[i] - x[i])^2 */
	float		(*l2sq) (const float *a, const OmenSq8 *b, const float *min,
						 const float *scale, int n);
	/* sum of a[i] * x[i] */
	float		(*dot) (const float *a, const OmenSq8 *b, const float *min,
						const float *scale, int n);
	/* sum of |a[i] - x[i]| */
	float		(*l1) (const float *a, const OmenSq8 *b, const float *min,
					   const float *scale, int n);
	/* out[i] = x[i], bit for bit the values the kernels use */
	void		(*decode) (const OmenSq8 *b, const float *min,
						   const float *scale, float *out, int n);
} OmenSq8Kernels;

extern OmenSq8Kernels omen_sq8_kernels;

/* Select the fastest SQ8 kernels this CPU supports (callers must call it). */
extern void OmenSq8KernelsInit(void);

/* Every SQ8 kernel set this CPU can run, best last (at most 3). */
extern int	OmenSq8KernelsAvailable(const OmenSq8Kernels **sets);

/*
 * Quantise x: codes[i] = round((x[i] - min[i]) / scale[i]) clamped to
 * 0..255, 0 where scale[i] is 0.
 */
extern void OmenSq8Encode(const float *x, const float *min, const float *scale,
						  OmenSq8 *codes, int n);

/* The value code stands for: fmaf(code, scale, min) */
extern float OmenSq8Value(OmenSq8 code, float min, float scale);

#endif							/* OMENDB_DISTANCE_H */
