/*
 * quant.h
 *		RaBitQ-style vector quantisation: a data-independent random rotation
 *		and codes of 1, 2, 4 or 8 bits per dimension with an unbiased
 *		distance estimator and an error bound (Gao & Long, SIGMOD 2024, and
 *		the extended multi-bit form, arXiv:2409.09913).  Meant for an index
 *		that walks its graph on compact codes and re-ranks exactly afterwards.
 *
 * Plain C like distance.h (no PostgreSQL headers, no allocation: every
 * buffer is given by the caller), so that it can be unit tested on its own
 * (test/kernels/test_quant.c).
 *
 * Rotation.  Vectors of dim floats (1 .. OMEN_QUANT_MAX_DIM) are padded
 * with zeros to pdim = dim rounded up to a multiple of 64.  Let W be the
 * largest power of two <= pdim.  The rotation P is 4 rounds; round j
 * multiplies every coordinate by a random sign, then (unless pdim == W)
 * applies a random permutation of the pdim coordinates, then the
 * orthonormal fast Walsh-Hadamard transform (scaled by 1/sqrt(W)) to the
 * window [0, W) in even rounds and [pdim - W, pdim) in odd rounds.  The
 * permutations of rounds 0, 2 and 3 are uniformly random; that of round 1
 * is uniformly random among those that send every coordinate outside the
 * window of round 0 into the window of round 1, so that no coordinate can
 * escape every transform (with unrestricted permutations a coordinate does
 * so with probability ((pdim - W) / pdim)^4, up to 1/16, and a vector
 * concentrated there would pass unrotated).  P is orthogonal: norms and
 * inner products are kept up to float rounding.
 * Signs and permutations come from splitmix64 seeded with the 64-bit seed,
 * so the same seed gives the same P on every machine.
 *
 * Codes.  With the centroid c (original space) and c' = P c, a vector o is
 * coded through its rotated residual r = P o - c' (pdim floats) as a grid
 * vector u in {0 .. 2^B - 1}^pdim standing for ybar = Delta * (u - m),
 * m = (2^B - 1) / 2, u_i = round(r_i / Delta + m) clamped, with Delta the
 * one of 16 steps between 0.25 and 1 times max|r_i| / m that maximises the
 * cosine rho = <ybar, r> / (|ybar| |r|) (for B = 1 every step gives the
 * sign code; rho is then about 0.80, for B = 2, 4, 8 about 0.94, 0.994,
 * 0.99997).  A code is an OmenQuantCodeHeader
 * (16 bytes) followed by B bit planes of pdim bits: plane b, byte k, bit t
 * holds bit b of u[8k + t].  OmenQuantCodeSize() = 16 + B * pdim / 8.
 *
 * Estimates.  For a query q, x = P q - c'.  The estimate of <r, x> is
 *
 *		E = scale * (sum_i u_i x_i - m * sum_i x_i)
 *
 * (RaBitQ's unbiased estimator <ybar, x> |r|^2 / <ybar, r>); since
 * <o, q> = <r, x> + <r, c'> + <c', q'>, the distances follow:
 *
 *		L2		|o - q|^2	est = |r|^2 + |x|^2 - 2 E
 *		IP		-<o, q>		est = -(<q', c'> + <r, c'> + E)
 *		COSINE	1 - <o, q>	est = 1 - (<q', c'> + <r, c'> + E)
 *				(vectors normalised to unit length by the caller)
 *
 * Error bound.  E - <r, x> = err * <e, x>, err = |r| sqrt(1 - rho^2) / rho
 * and e a unit vector orthogonal to r.  Under a uniformly random rotation
 * <e, x / |x|> is distributed like one coordinate of a random unit vector
 * in pdim - 1 dimensions, about N(0, 1 / (pdim - 1)); so
 *
 *		|E - <r, x>| <= OMEN_QUANT_EPS0 * err * |x| / sqrt(pdim - 1)
 *
 * holds with probability about 2 Phi(OMEN_QUANT_EPS0) - 1 = 99.73% for
 * OMEN_QUANT_EPS0 = 3 (it fails with probability OMEN_QUANT_BOUND_FAIL =
 * 0.27%), and more often in practice, as |x| overstates the part of x
 * orthogonal to r.  The bound OmenQuantDistance() reports is this one for
 * IP and COSINE and twice it for L2.  The rotation used here is a fast
 * structured one, not a uniformly random orthogonal matrix; the unit test
 * measures the rate on Gaussian and on clustered pixel-like data (0.23%
 * over 1.15 million estimates).  The L2 estimate can come out slightly
 * negative; callers that need a distance clamp it.
 */
#ifndef OMENDB_QUANT_H
#define OMENDB_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* largest dimension supported (pdim then fits 15 bits) */
#define OMEN_QUANT_MAX_DIM	16000

/* rounds of the rotation */
#define OMEN_QUANT_ROUNDS	4

/* the error bound: eps0 and the probability that it fails */
#define OMEN_QUANT_EPS0			3.0
#define OMEN_QUANT_BOUND_FAIL	0.0027

typedef enum OmenQuantMetric
{
	OMEN_QUANT_L2 = 1,			/* squared Euclidean distance */
	OMEN_QUANT_IP = 2,			/* negative inner product */
	OMEN_QUANT_COSINE = 3		/* 1 - inner product of unit vectors */
} OmenQuantMetric;

/* Start of every code; floats in native byte order, maybe unaligned. */
typedef struct OmenQuantCodeHeader
{
	float		scale;			/* |r|^2 / <u - m, r>; 0 if r = 0 */
	float		norm2;			/* |r|^2 */
	float		rc;				/* <r, c'> */
	float		err;			/* |r| sqrt(1 - rho^2) / rho; 0 if r = 0 */
} OmenQuantCodeHeader;

/*
 * A quantiser: dimension, bits, rotation and rotated centroid, in one
 * block of OmenQuantSize(dim) bytes given by the caller (at least 8-byte
 * aligned).  The block holds no pointers, so it can be copied with memcpy.
 */
typedef struct OmenQuantizer OmenQuantizer;

/* pdim: dim rounded up to a multiple of 64 */
extern size_t OmenQuantPaddedDim(int dim);

/* bytes of a quantiser block */
extern size_t OmenQuantSize(int dim);

/* bytes of one code */
extern size_t OmenQuantCodeSize(int dim, int bits);

/*
 * Set up a quantiser for dim (1 .. OMEN_QUANT_MAX_DIM) and bits (1, 2, 4
 * or 8) with the rotation of seed and the centroid given in the original
 * space (dim floats; NULL for the origin).  The arguments are not checked.
 * The centroid must not lie in the block q (which is overwritten first).
 */
extern void OmenQuantInit(OmenQuantizer *q, int dim, int bits, uint64_t seed,
						  const float *centroid);

/*
 * The same, given c' = P c (pdim floats, NULL for the origin) directly,
 * e.g. as stored in an index; not inside the block q either.
 */
extern void OmenQuantInitRotatedCentroid(OmenQuantizer *q, int dim, int bits,
										 uint64_t seed,
										 const float *centroid_rot);

/* c' (pdim floats), e.g. to store in the index */
extern const float *OmenQuantRotatedCentroid(const OmenQuantizer *q);

extern int	OmenQuantDim(const OmenQuantizer *q);
extern int	OmenQuantPdim(const OmenQuantizer *q);
extern int	OmenQuantBits(const OmenQuantizer *q);

/* out (pdim floats) = P in (dim floats, zero-padded); in == out is allowed */
extern void OmenQuantRotate(const OmenQuantizer *q, const float *in,
							float *out);

/* out (dim floats) = P^T in (pdim floats), padding dropped; scratch: pdim */
extern void OmenQuantUnrotate(const OmenQuantizer *q, const float *in,
							  float *out, float *scratch);

/*
 * Code vec (dim floats) into code (OmenQuantCodeSize bytes, any alignment).
 * scratch: 2 * pdim floats.  A vector equal to the centroid (r = 0) gets a
 * header of zeros: its estimates are then exact up to rounding.
 */
extern void OmenQuantEncode(const OmenQuantizer *q, const float *vec,
							uint8_t *code, float *scratch);

/*
 * Reconstruction in the rotated space from the code alone: out (pdim
 * floats) = c' + rhat, rhat = (u - m) <u - m, r> / |u - m|^2 (the multiple
 * of u - m nearest to r, |r - rhat| = |r| sqrt(1 - rho^2)); with
 * OmenQuantUnrotate() it gives the vector in the original space.
 */
extern void OmenQuantDecodeRotated(const OmenQuantizer *q,
								   const uint8_t *code, float *out);

/* A query prepared for one quantiser and metric. */
typedef struct OmenQuantQuery
{
	OmenQuantMetric metric;
	int			pdim;
	int			bits;
	float		sum_x;			/* sum of x[i] */
	float		xnorm2;			/* |x|^2 */
	float		xnorm;			/* |x| */
	float		qc;				/* <q', c'> = <q, c> */
	float		bound_factor;	/* eps0 / sqrt(pdim - 1), twice that for L2 */
	float	   *x;				/* q' - c', pdim floats, 64-byte aligned */
} OmenQuantQuery;

/* bytes of the memory OmenQuantPrepareQuery needs (x, alignment slack) */
extern size_t OmenQuantQueryBytes(int dim);

/* Prepare the query vec (dim floats); mem: OmenQuantQueryBytes bytes. */
extern void OmenQuantPrepareQuery(const OmenQuantizer *q,
								  OmenQuantMetric metric, const float *vec,
								  OmenQuantQuery *qq, void *mem);

/* The same from a vector already rotated (P q, pdim floats). */
extern void OmenQuantPrepareRotatedQuery(const OmenQuantizer *q,
										 OmenQuantMetric metric,
										 const float *rot,
										 OmenQuantQuery *qq, void *mem);

/*
 * The estimated distance between the prepared query and a code; *bound,
 * unless bound is NULL, gets the error bound described above.
 */
extern float OmenQuantDistance(const OmenQuantQuery *qq, const uint8_t *code,
							   float *bound);

/*
 * The kernels, in scalar, AVX2+FMA and AVX-512 (F, BW) versions like the
 * distance kernels.  code_dot is the kernel of OmenQuantDistance: sum over
 * i < pdim of u_i * x[i], u the code's grid vector given by its bits bit
 * planes (pdim a multiple of 64; x and planes at any alignment).  The
 * rotation and the encoder use the other two.
 */
typedef struct OmenQuantKernels
{
	const char *name;			/* "scalar", "avx2", "avx512" */
	float		(*code_dot) (const float *x, const uint8_t *planes, int pdim,
							 int bits);
	/*
	 * The orthonormal Walsh-Hadamard transform of x[0 .. n-1] in place (n a
	 * power of two >= 64, scale = 1/sqrt(n)); every version gives the same
	 * bits.
	 */
	void		(*fwht) (float *x, int n, float scale);
	/*
	 * For the encoder's choice of grid step: with a[i] >= 0 and k_i =
	 * floor(min(a[i] * inv, kmax)) (the same in every version), *dot = sum
	 * (k_i + 0.5) a[i] and *unorm2 = sum (k_i + 0.5)^2; n a multiple of 64.
	 */
	void		(*grid_stats) (const float *a, int n, float inv, float kmax,
							   float *dot, float *unorm2);
} OmenQuantKernels;

/* The kernels in use; scalar until OmenQuantKernelsInit() */
extern OmenQuantKernels omen_quant_kernels;

/* Select the fastest quantisation kernels this CPU supports. */
extern void OmenQuantKernelsInit(void);

/* Every quantisation kernel set this CPU can run, best last (at most 3). */
extern int	OmenQuantKernelsAvailable(const OmenQuantKernels **sets);

#endif							/* OMENDB_QUANT_H */
