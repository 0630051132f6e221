/*
 * quant.c
 *		RaBitQ-style quantisation: the random rotation, the encoder and
 *		decoder, query preparation and the distance estimate.  The inner
 *		kernel of the estimate (sum of u_i x_i over the code's bit planes),
 *		the Walsh-Hadamard transform of the rotation and the encoder's grid
 *		sums exist in scalar, AVX2+FMA and AVX-512 (F, BW) versions chosen at
 *		run time like the distance kernels.  See quant.h for the definitions
 *		and the error bound.
 *
 * The quantiser block is the struct below followed, at 64-byte aligned
 * offsets, by the signs of the rounds (ROUNDS * pdim floats of +-1), the
 * permutations of the rounds as cycle lists (ROUNDS * pdim uint16) and c'
 * (pdim floats).  A permutation is applied in place by walking its cycles,
 * so that rotating needs no buffer besides the output.  In a cycle list,
 * entry k holds a coordinate index, with CYCLE_START set on the first
 * coordinate of each cycle; the cycle (c0, c1, .., cL-1) moves the value at
 * c1 to c0, c2 to c1, .., c0 to cL-1, i.e. y[c_i] = x[pi(c_i)] with
 * pi(c_i) = c_i+1.  Fixed points are left out.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "quant.h"

#if defined(__x86_64__) && !defined(OMEN_NO_SIMD) && (defined(__clang__) || \
	(defined(__GNUC__) && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))))
#define OMEN_HAVE_X86_SIMD 1
#include <immintrin.h>
#endif

#define CYCLE_START		0x8000
#define CYCLE_INDEX		0x7FFF

/* bytes reserved for the struct at the start of the block */
#define QUANT_HEADER_BYTES	64

struct OmenQuantizer
{
	int32_t		dim;
	int32_t		pdim;
	int32_t		bits;
	int32_t		wdim;			/* W: largest power of two <= pdim */
	uint64_t	seed;
	float		wscale;			/* 1 / sqrt(W) */
	int32_t		ncycle[OMEN_QUANT_ROUNDS];	/* entries of each cycle list */
	uint32_t	sign_off;		/* byte offsets from the start of the block */
	uint32_t	cycle_off;
	uint32_t	centroid_off;
};

/* compile-time check: the struct fits in QUANT_HEADER_BYTES */
typedef char quant_header_fits[sizeof(struct OmenQuantizer) <= QUANT_HEADER_BYTES ? 1 : -1];

/* the signs of round j */
static inline const float *
quant_signs(const OmenQuantizer *q, int j)
{
	return (const float *) ((const char *) q + q->sign_off) + (size_t) j * q->pdim;
}

/* the cycle list of round j */
static inline const uint16_t *
quant_cycles(const OmenQuantizer *q, int j)
{
	return (const uint16_t *) ((const char *) q + q->cycle_off) + (size_t) j * q->pdim;
}

/* c' */
static inline const float *
quant_centroid(const OmenQuantizer *q)
{
	return (const float *) ((const char *) q + q->centroid_off);
}

/*
 * OmenQuantPaddedDim
 *		dim rounded up to a multiple of 64.
 */
size_t
OmenQuantPaddedDim(int dim)
{
	return ((size_t) dim + 63) / 64 * 64;
}

/*
 * OmenQuantSize
 *		Bytes of a quantiser block: struct, signs, cycle lists, c'.
 */
size_t
OmenQuantSize(int dim)
{
	size_t		pdim = OmenQuantPaddedDim(dim);

	return QUANT_HEADER_BYTES +
		OMEN_QUANT_ROUNDS * pdim * (sizeof(float) + sizeof(uint16_t)) +
		pdim * sizeof(float);
}

/*
 * OmenQuantCodeSize
 *		Bytes of one code: header and bits bit planes.
 */
size_t
OmenQuantCodeSize(int dim, int bits)
{
	return sizeof(OmenQuantCodeHeader) + (size_t) bits * OmenQuantPaddedDim(dim) / 8;
}

/* splitmix64: the next 64 random bits */
static uint64_t
quant_rng_next(uint64_t *state)
{
	uint64_t	z;

	*state += UINT64_C(0x9E3779B97F4A7C15);
	z = *state;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* random integer in 0 .. n - 1 (n < 2^16: the bias, n / 2^32, is nil) */
static int
quant_rng_below(uint64_t *state, int n)
{
	return (int) (((quant_rng_next(state) >> 32) * (uint64_t) n) >> 32);
}

/* Fisher-Yates shuffle of a[0 .. n-1] */
static void
quant_shuffle(uint64_t *state, uint16_t *a, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			k = quant_rng_below(state, i + 1);
		uint16_t	t = a[i];

		a[i] = a[k];
		a[k] = t;
	}
}

/* first coordinate of the Hadamard window of round j */
static inline int
quant_window(int pdim, int wdim, int j)
{
	return (j & 1) ? pdim - wdim : 0;
}

/*
 * Draw the permutation of round j (gather form, y[k] = x[pi[k]]) and store
 * it as a cycle list in out; returns the number of entries.  The
 * permutation of round 1 is uniform among those that move the pdim - W
 * coordinates outside the window of round 0 into the window of round 1,
 * so that after two rounds every input coordinate has been through a
 * transform; the others are uniform.  (Constraining every round instead
 * makes the mass alternate between the coordinates mixed in even and in
 * odd rounds when pdim is near 2W, and leaves half of the output
 * coordinates with a larger variance.)  pi and dest are pdim-entry work
 * arrays.
 */
static int
quant_make_cycles(uint64_t *state, int pdim, int wdim, int j,
				  uint16_t *pi, uint16_t *dest, uint16_t *out)
{
	int			n = 0;

	if (j != 1)
	{
		for (int i = 0; i < pdim; i++)
			pi[i] = (uint16_t) i;
		quant_shuffle(state, pi, pdim);
	}
	else
	{
		int			d = pdim - wdim;
		int			cur = quant_window(pdim, wdim, 1);
		int			prev = quant_window(pdim, wdim, 0);
		int			k = 0;

		/*
		 * Destinations: this round's window in random order, then the other
		 * positions.  The first d (random positions of the window) receive
		 * the coordinates outside the previous window, the remaining W, in
		 * random order, those inside it.
		 */
		for (int i = 0; i < wdim; i++)
			dest[k++] = (uint16_t) (cur + i);
		quant_shuffle(state, dest, wdim);
		for (int i = 0; i < pdim; i++)
			if (i < cur || i >= cur + wdim)
				dest[k++] = (uint16_t) i;
		quant_shuffle(state, dest + d, pdim - d);
		k = 0;
		for (int s = 0; s < pdim; s++)
			if (s < prev || s >= prev + wdim)
				pi[dest[k++]] = (uint16_t) s;
		for (int s = prev; s < prev + wdim; s++)
			pi[dest[k++]] = (uint16_t) s;
	}

	/* cycles of pi; visited entries are marked with CYCLE_START */
	for (int k = 0; k < pdim; k++)
	{
		int			e;

		if (pi[k] & CYCLE_START)
			continue;
		e = pi[k];
		pi[k] |= CYCLE_START;
		if (e == k)
			continue;
		out[n++] = (uint16_t) (k | CYCLE_START);
		while (e != k)
		{
			int			next = pi[e];

			out[n++] = (uint16_t) e;
			pi[e] |= CYCLE_START;
			e = next;
		}
	}
	return n;
}

/*
 * Fill in everything but c': sizes, signs and permutations.  The space of
 * c' serves as work space for the permutations.
 */
static void
quant_setup(OmenQuantizer *q, int dim, int bits, uint64_t seed)
{
	int			pdim = (int) OmenQuantPaddedDim(dim);
	int			wdim = 1;
	uint64_t	state = seed;
	float	   *signs;
	uint16_t   *cycles;
	uint16_t   *work;

	while (wdim * 2 <= pdim)
		wdim *= 2;
	memset(q, 0, QUANT_HEADER_BYTES);
	q->dim = dim;
	q->pdim = pdim;
	q->bits = bits;
	q->wdim = wdim;
	q->seed = seed;
	q->wscale = (float) (1.0 / sqrt((double) wdim));
	q->sign_off = QUANT_HEADER_BYTES;
	q->cycle_off = q->sign_off + OMEN_QUANT_ROUNDS * pdim * sizeof(float);
	q->centroid_off = q->cycle_off + OMEN_QUANT_ROUNDS * pdim * sizeof(uint16_t);

	signs = (float *) ((char *) q + q->sign_off);
	cycles = (uint16_t *) ((char *) q + q->cycle_off);
	work = (uint16_t *) ((char *) q + q->centroid_off);
	/* unused tails of the cycle lists are zero: equal seeds, equal blocks */
	memset(cycles, 0, OMEN_QUANT_ROUNDS * (size_t) pdim * sizeof(uint16_t));

	for (int j = 0; j < OMEN_QUANT_ROUNDS; j++)
	{
		float	   *s = signs + (size_t) j * pdim;

		for (int i = 0; i < pdim; i += 64)
		{
			uint64_t	w = quant_rng_next(&state);

			for (int t = 0; t < 64; t++)
				s[i + t] = ((w >> t) & 1) ? -1.0f : 1.0f;
		}
		if (pdim != wdim)
			q->ncycle[j] = quant_make_cycles(&state, pdim, wdim, j, work,
											 work + pdim,
											 cycles + (size_t) j * pdim);
		else
			q->ncycle[j] = 0;
	}
}

/*
 * OmenQuantInit
 *		Set up a quantiser with the centroid given in the original space.
 */
void
OmenQuantInit(OmenQuantizer *q, int dim, int bits, uint64_t seed,
			  const float *centroid)
{
	float	   *cr;

	quant_setup(q, dim, bits, seed);
	cr = (float *) ((char *) q + q->centroid_off);
	if (centroid)
		OmenQuantRotate(q, centroid, cr);
	else
		memset(cr, 0, (size_t) q->pdim * sizeof(float));
}

/*
 * OmenQuantInitRotatedCentroid
 *		Set up a quantiser with c' given.
 */
void
OmenQuantInitRotatedCentroid(OmenQuantizer *q, int dim, int bits,
							 uint64_t seed, const float *centroid_rot)
{
	float	   *cr;

	quant_setup(q, dim, bits, seed);
	cr = (float *) ((char *) q + q->centroid_off);
	if (centroid_rot)
		memcpy(cr, centroid_rot, (size_t) q->pdim * sizeof(float));
	else
		memset(cr, 0, (size_t) q->pdim * sizeof(float));
}

/*
 * OmenQuantRotatedCentroid
 *		c', pdim floats.
 */
const float *
OmenQuantRotatedCentroid(const OmenQuantizer *q)
{
	return quant_centroid(q);
}

/* dimension of the vectors */
int
OmenQuantDim(const OmenQuantizer *q)
{
	return q->dim;
}

/* padded dimension */
int
OmenQuantPdim(const OmenQuantizer *q)
{
	return q->pdim;
}

/* bits per dimension of the codes */
int
OmenQuantBits(const OmenQuantizer *q)
{
	return q->bits;
}

/* x[i] *= s[i], n a multiple of 8 (blocks of 8 let the compiler vectorise) */
static void
quant_mul(float *restrict x, const float *restrict s, int n)
{
	for (int i = 0; i < n; i += 8)
		for (int t = 0; t < 8; t++)
			x[i + t] *= s[i + t];
}

/* apply a cycle list in place: y[c_i] = x[c_i+1] along each cycle */
static void
quant_permute(float *x, const uint16_t *list, int n)
{
	float		first = 0.0f;
	int			prev = 0;

	for (int k = 0; k < n; k++)
	{
		int			e = list[k] & CYCLE_INDEX;

		if (list[k] & CYCLE_START)
		{
			if (k > 0)
				x[prev] = first;
			first = x[e];
		}
		else
			x[prev] = x[e];
		prev = e;
	}
	if (n > 0)
		x[prev] = first;
}

/* apply the inverse of a cycle list in place: y[c_i+1] = x[c_i] */
static void
quant_unpermute(float *x, const uint16_t *list, int n)
{
	float		last = 0.0f;
	int			prev = 0;
	int			open = 0;

	for (int k = n - 1; k >= 0; k--)
	{
		int			e = list[k] & CYCLE_INDEX;

		if (!open)
		{
			/* the last element of a cycle: its value goes to the start */
			last = x[e];
			open = 1;
		}
		else
			x[prev] = x[e];
		prev = e;
		if (list[k] & CYCLE_START)
		{
			x[e] = last;
			open = 0;
		}
	}
}

/*
 * OmenQuantRotate
 *		out = P in, in zero-padded from dim to pdim.
 */
void
OmenQuantRotate(const OmenQuantizer *q, const float *in, float *out)
{
	int			pdim = q->pdim;

	memmove(out, in, (size_t) q->dim * sizeof(float));
	memset(out + q->dim, 0, (size_t) (pdim - q->dim) * sizeof(float));
	for (int j = 0; j < OMEN_QUANT_ROUNDS; j++)
	{
		quant_mul(out, quant_signs(q, j), pdim);
		if (q->ncycle[j] > 0)
			quant_permute(out, quant_cycles(q, j), q->ncycle[j]);
		omen_quant_kernels.fwht(out + quant_window(pdim, q->wdim, j), q->wdim,
								q->wscale);
	}
}

/*
 * OmenQuantUnrotate
 *		out = P^T in, the padding dropped; every step of P is undone in
 *		reverse order (the orthonormal Hadamard transform is its own
 *		inverse, and so is a sign flip).
 */
void
OmenQuantUnrotate(const OmenQuantizer *q, const float *in, float *out,
				  float *scratch)
{
	int			pdim = q->pdim;

	memmove(scratch, in, (size_t) pdim * sizeof(float));
	for (int j = OMEN_QUANT_ROUNDS - 1; j >= 0; j--)
	{
		omen_quant_kernels.fwht(scratch + quant_window(pdim, q->wdim, j),
								q->wdim, q->wscale);
		if (q->ncycle[j] > 0)
			quant_unpermute(scratch, quant_cycles(q, j), q->ncycle[j]);
		quant_mul(scratch, quant_signs(q, j), pdim);
	}
	memmove(out, scratch, (size_t) q->dim * sizeof(float));
}

/* candidate grid steps: QUANT_NCAND between these multiples of max|r|/m */
#define QUANT_NCAND		16
#define QUANT_CAND_LO	0.25
#define QUANT_CAND_HI	1.0

/*
 * The grid of a code, in terms of a = |r_i|: with K = 2^(B-1) - 1 and the
 * step 1/inv, k = floor(min(a * inv, K)) and |u - m| = k + 0.5, u - m
 * having the sign of r_i (negative for 0).  This is round(r_i / Delta + m)
 * clamped to 0 .. 2^B - 1, except for ties.  Every kernel computes k with
 * the same float operations, so they agree on the grid exactly.
 */
static inline float
quant_grid_k(float a, float inv, float kmax)
{
	float		k = a * inv;

	k = k < kmax ? k : kmax;
	return (float) (int) k;
}

/*
 * OmenQuantEncode
 *		Code vec: rotate, subtract c', pick the grid step that maximises
 *		rho, write the header and the bit planes.
 */
void
OmenQuantEncode(const OmenQuantizer *q, const float *vec, uint8_t *code,
				float *scratch)
{
	int			pdim = q->pdim;
	int			bits = q->bits;
	int			half = 1 << (bits - 1);
	int			pbytes = pdim / 8;
	float		kmax = (float) (half - 1);
	float		m = (float) half - 0.5f;
	const float *cr = quant_centroid(q);
	float	   *r = scratch;
	float	   *a = scratch + pdim;
	uint8_t    *ub = (uint8_t *) (scratch + pdim);
	uint8_t    *planes = code + sizeof(OmenQuantCodeHeader);
	OmenQuantCodeHeader h;
	double		norm2 = 0.0,
				rc = 0.0,
				dot = 0.0,
				unorm2 = 0.0,
				rho;
	float		maxabs = 0.0f;
	float		inv = 0.0f;

	OmenQuantRotate(q, vec, r);
	for (int i = 0; i < pdim; i++)
	{
		r[i] -= cr[i];
		a[i] = fabsf(r[i]);
		norm2 += (double) r[i] * r[i];
		rc += (double) r[i] * cr[i];
		if (a[i] > maxabs)
			maxabs = a[i];
	}
	/* r = 0 (or so small that 1 / max|r| would overflow): no code */
	if (!(norm2 > 0.0) || !(maxabs >= FLT_MIN))
	{
		memset(&h, 0, sizeof(h));
		memcpy(code, &h, sizeof(h));
		memset(planes, 0, (size_t) bits * pbytes);
		return;
	}

	/*
	 * The grid step (for one bit every step gives the sign code, and inv =
	 * 0 does).  rho does not depend on Delta itself, so the candidates are
	 * compared by <u - m, r> / |u - m|.
	 */
	if (bits > 1)
	{
		double		best = -1.0;

		for (int c = 0; c < QUANT_NCAND; c++)
		{
			double		f = QUANT_CAND_LO + (QUANT_CAND_HI - QUANT_CAND_LO) *
				c / (QUANT_NCAND - 1);
			float		cinv = (float) (m / (f * maxabs));
			float		cdot,
						cun;

			omen_quant_kernels.grid_stats(a, pdim, cinv, kmax, &cdot, &cun);
			if (cun > 0.0f && cdot / sqrt(cun) > best)
			{
				best = cdot / sqrt(cun);
				inv = cinv;
			}
		}
	}

	/* the grid values (over a, no longer needed), <u - m, r>, |u - m|^2 */
	for (int i = 0; i < pdim; i++)
	{
		float		k = quant_grid_k(fabsf(r[i]), inv, kmax);
		double		v = (double) k + 0.5;

		ub[i] = (uint8_t) (r[i] > 0.0f ? half + (int) k : half - 1 - (int) k);
		dot += v * fabsf(r[i]);
		unorm2 += v * v;
	}

	/*
	 * The bit planes: of 8 grid values in the bytes of a 64-bit word, bit
	 * b of each is gathered into one byte by masking and a multiplication
	 * that moves bit 8t to bit 56 + t without carries.
	 */
	for (int k = 0; k < pbytes; k++)
	{
		uint64_t	w = 0;

		for (int t = 0; t < 8; t++)
			w |= (uint64_t) ub[8 * k + t] << (8 * t);
		for (int b = 0; b < bits; b++)
			planes[b * pbytes + k] = (uint8_t)
				((((w >> b) & UINT64_C(0x0101010101010101)) *
				  UINT64_C(0x0102040810204080)) >> 56);
	}

	rho = dot / sqrt(unorm2 * norm2);
	if (rho > 1.0)
		rho = 1.0;
	h.scale = (float) (norm2 / dot);
	h.norm2 = (float) norm2;
	h.rc = (float) rc;
	h.err = (float) (sqrt(norm2) * sqrt(1.0 - rho * rho) / rho);
	memcpy(code, &h, sizeof(h));
}

/* grid value u_i of a code's bit planes */
static inline int
quant_code_u(const uint8_t *planes, int pbytes, int bits, int i)
{
	int			u = 0;

	for (int b = 0; b < bits; b++)
		u |= ((planes[b * pbytes + i / 8] >> (i % 8)) & 1) << b;
	return u;
}

/*
 * OmenQuantDecodeRotated
 *		c' + rhat, rhat the multiple of u - m nearest to r: <u - m, r> is
 *		norm2 / scale, |u - m|^2 is summed from the code.
 */
void
OmenQuantDecodeRotated(const OmenQuantizer *q, const uint8_t *code, float *out)
{
	int			pdim = q->pdim;
	int			bits = q->bits;
	int			pbytes = pdim / 8;
	float		m = 0.5f * (float) ((1 << bits) - 1);
	const float *cr = quant_centroid(q);
	const uint8_t *planes = code + sizeof(OmenQuantCodeHeader);
	OmenQuantCodeHeader h;
	double		unorm2 = 0.0;
	float		f;

	memcpy(&h, code, sizeof(h));
	if (h.scale == 0.0f)
	{
		memcpy(out, cr, (size_t) pdim * sizeof(float));
		return;
	}
	for (int i = 0; i < pdim; i++)
	{
		float		v = (float) quant_code_u(planes, pbytes, bits, i) - m;

		out[i] = v;
		unorm2 += (double) v * v;
	}
	f = (float) ((double) h.norm2 / h.scale / unorm2);
	for (int i = 0; i < pdim; i++)
		out[i] = cr[i] + out[i] * f;
}

/* ----------------------------------------------------------------
 * Scalar kernels
 * ----------------------------------------------------------------
 */

/* the 8 bits of a plane byte as 8 bytes of 0 or 1, bit t to byte t */
static inline uint64_t
quant_spread8(unsigned byte)
{
	/* byte t of y keeps bit t of byte (value 0 or 2^t) */
	uint64_t	y = ((uint64_t) byte * UINT64_C(0x0101010101010101)) &
		UINT64_C(0x8040201008040201);

	/* adding 0x7F to each byte sets its top bit iff it was non-zero */
	return ((y + UINT64_C(0x7F7F7F7F7F7F7F7F)) >> 7) & UINT64_C(0x0101010101010101);
}

/*
 * sum of u_i x_i: the grid values of 8 coordinates are put together as
 * the bytes of a 64-bit word, one plane byte at a time, then multiplied
 * into 8 lane sums.
 */
static float
code_dot_scalar(const float *x, const uint8_t *planes, int pdim, int bits)
{
	int			pbytes = pdim / 8;
	float		acc[8] = {0};
	float		s = 0.0f;

	for (int k = 0; k < pbytes; k++)
	{
		uint64_t	u = 0;
		const float *xk = x + 8 * k;

		for (int b = 0; b < bits; b++)
			u |= quant_spread8(planes[b * pbytes + k]) << b;
		for (int t = 0; t < 8; t++)
			acc[t] += (float) ((u >> (8 * t)) & 0xFF) * xk[t];
	}
	for (int t = 0; t < 8; t++)
		s += acc[t];
	return s;
}

/* one level of butterflies of distance h (h a multiple of 8) */
static inline void
quant_butterfly(float *restrict lo, float *restrict hi, int h)
{
	for (int k = 0; k < h; k += 8)
	{
		for (int t = 0; t < 8; t++)
		{
			float		a = lo[k + t],
						b = hi[k + t];

			lo[k + t] = a + b;
			hi[k + t] = a - b;
		}
	}
}

/*
 * Orthonormal fast Walsh-Hadamard transform of x[0 .. n-1] in place, n a
 * power of two >= 64: butterflies of distance 1, 2, 4, .., n/2, the last
 * level multiplying by scale = 1/sqrt(n).  The SIMD versions do the same
 * operations on every element, so all give the same bits.
 */
static void
fwht_scalar(float *x, int n, float scale)
{
	int			h;

	/* levels 1, 2 and 4 together, 8 elements at a time */
	for (int i = 0; i < n; i += 8)
	{
		float		a0 = x[i] + x[i + 1],
					a1 = x[i] - x[i + 1],
					a2 = x[i + 2] + x[i + 3],
					a3 = x[i + 2] - x[i + 3],
					a4 = x[i + 4] + x[i + 5],
					a5 = x[i + 4] - x[i + 5],
					a6 = x[i + 6] + x[i + 7],
					a7 = x[i + 6] - x[i + 7];
		float		b0 = a0 + a2,
					b1 = a1 + a3,
					b2 = a0 - a2,
					b3 = a1 - a3,
					b4 = a4 + a6,
					b5 = a5 + a7,
					b6 = a4 - a6,
					b7 = a5 - a7;

		x[i] = b0 + b4;
		x[i + 1] = b1 + b5;
		x[i + 2] = b2 + b6;
		x[i + 3] = b3 + b7;
		x[i + 4] = b0 - b4;
		x[i + 5] = b1 - b5;
		x[i + 6] = b2 - b6;
		x[i + 7] = b3 - b7;
	}
	for (h = 8; 2 * h < n; h *= 2)
		for (int i = 0; i < n; i += 2 * h)
			quant_butterfly(x + i, x + i + h, h);
	for (int k = 0; k < h; k += 8)
	{
		for (int t = 0; t < 8; t++)
		{
			float		a = x[k + t],
						b = x[h + k + t];

			x[k + t] = (a + b) * scale;
			x[h + k + t] = (a - b) * scale;
		}
	}
}

/*
 * Sums over the grid of step 1/inv (see quant_grid_k) of a[0 .. n-1]:
 * *dot = sum (k + 0.5) a, *unorm2 = sum (k + 0.5)^2; n a multiple of 64.
 * Eight lane sums, so that the compiler can vectorise.
 */
static void
grid_stats_scalar(const float *restrict a, int n, float inv, float kmax,
				  float *dot, float *unorm2)
{
	float		dv[8] = {0},
				sv[8] = {0};
	float		d = 0.0f,
				s = 0.0f;

	for (int i = 0; i < n; i += 8)
	{
		for (int t = 0; t < 8; t++)
		{
			float		v = quant_grid_k(a[i + t], inv, kmax) + 0.5f;

			dv[t] += v * a[i + t];
			sv[t] += v * v;
		}
	}
	for (int t = 0; t < 8; t++)
	{
		d += dv[t];
		s += sv[t];
	}
	*dot = d;
	*unorm2 = s;
}

static const OmenQuantKernels quant_scalar = {
	"scalar", code_dot_scalar, fwht_scalar, grid_stats_scalar
};

#ifdef OMEN_HAVE_X86_SIMD

#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,fma")))

/* ----------------------------------------------------------------
 * AVX2 + FMA
 * ----------------------------------------------------------------
 */

/* horizontal sum of 8 floats */
TARGET_AVX2 static inline float
quant_hsum256(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* the 32 bits of a plane at p, in every lane */
TARGET_AVX2 static inline __m256i
quant_bcast32(const uint8_t *p)
{
	uint32_t	w;

	memcpy(&w, p, sizeof(w));
	return _mm256_set1_epi32((int) w);
}

/* x where the lane's bit of w (the bit sel has) is set, else 0 */
TARGET_AVX2 static inline __m256
quant_sel8(__m256i w, __m256i sel, __m256 x)
{
	__m256i		m = _mm256_cmpeq_epi32(_mm256_and_si256(w, sel), sel);

	return _mm256_and_ps(_mm256_castsi256_ps(m), x);
}

/* lane t of chunk c selects bit 8c + t of a 32-bit word */
#define QUANT_SEL(c) _mm256_setr_epi32(1 << (8 * (c)), 2 << (8 * (c)), \
	4 << (8 * (c)), 8 << (8 * (c)), 16 << (8 * (c)), 32 << (8 * (c)), \
	64 << (8 * (c)), (int) (128u << (8 * (c))))

/*
 * One bit: 32 coordinates per step, each 8-lane chunk masked by its byte
 * of the plane; one accumulator per chunk.
 */
TARGET_AVX2 static float
code_dot1_avx2(const float *x, const uint8_t *p, int pdim)
{
	const __m256i s0 = QUANT_SEL(0),
				s1 = QUANT_SEL(1),
				s2 = QUANT_SEL(2),
				s3 = QUANT_SEL(3);
	__m256		a0 = _mm256_setzero_ps(),
				a1 = _mm256_setzero_ps(),
				a2 = _mm256_setzero_ps(),
				a3 = _mm256_setzero_ps();

	for (int i = 0; i < pdim; i += 32)
	{
		__m256i		w = quant_bcast32(p + i / 8);

		a0 = _mm256_add_ps(a0, quant_sel8(w, s0, _mm256_loadu_ps(x + i)));
		a1 = _mm256_add_ps(a1, quant_sel8(w, s1, _mm256_loadu_ps(x + i + 8)));
		a2 = _mm256_add_ps(a2, quant_sel8(w, s2, _mm256_loadu_ps(x + i + 16)));
		a3 = _mm256_add_ps(a3, quant_sel8(w, s3, _mm256_loadu_ps(x + i + 24)));
	}
	return quant_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

/*
 * The grid values of 32 coordinates from bits planes (pbytes apart), one
 * per byte: each plane's 4 bytes are spread over the 32 byte lanes
 * (shuffle), tested against the lane's bit (and, compare: 0xFF = -1 where
 * set), and added Horner-wise from the top plane: u = 2u - mask.
 */
TARGET_AVX2 static inline __m256i
quant_grid32_avx2(const uint8_t *p, int pbytes, int bits)
{
	const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0,
											1, 1, 1, 1, 1, 1, 1, 1,
											2, 2, 2, 2, 2, 2, 2, 2,
											3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i sel = _mm256_set1_epi64x((long long) UINT64_C(0x8040201008040201));
	__m256i		u = _mm256_setzero_si256();

	for (int b = bits - 1; b >= 0; b--)
	{
		__m256i		v = _mm256_shuffle_epi8(quant_bcast32(p + b * pbytes), spread);
		__m256i		m = _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);

		u = _mm256_sub_epi8(_mm256_add_epi8(u, u), m);
	}
	return u;
}

/*
 * Several bits: 32 grid values per step as bytes (quant_grid32_avx2),
 * widened to floats and multiplied into 4 accumulators.
 */
TARGET_AVX2 static inline float
code_dotn_avx2(const float *x, const uint8_t *p, int pdim, int bits)
{
	int			pbytes = pdim / 8;
	__m256		a0 = _mm256_setzero_ps(),
				a1 = _mm256_setzero_ps(),
				a2 = _mm256_setzero_ps(),
				a3 = _mm256_setzero_ps();

	for (int i = 0; i < pdim; i += 32)
	{
		__m256i		u = quant_grid32_avx2(p + i / 8, pbytes, bits);
		__m128i		lo = _mm256_castsi256_si128(u);
		__m128i		hi = _mm256_extracti128_si256(u, 1);

		a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)),
							 _mm256_loadu_ps(x + i), a0);
		a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))),
							 _mm256_loadu_ps(x + i + 8), a1);
		a2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)),
							 _mm256_loadu_ps(x + i + 16), a2);
		a3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))),
							 _mm256_loadu_ps(x + i + 24), a3);
	}
	return quant_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

/* sum of u_i x_i, AVX2 */
TARGET_AVX2 static float
code_dot_avx2(const float *x, const uint8_t *planes, int pdim, int bits)
{
	switch (bits)
	{
		case 1:
			return code_dot1_avx2(x, planes, pdim);
		case 2:
			return code_dotn_avx2(x, planes, pdim, 2);
		case 4:
			return code_dotn_avx2(x, planes, pdim, 4);
		case 8:
			return code_dotn_avx2(x, planes, pdim, 8);
		default:
			return code_dot_scalar(x, planes, pdim, bits);
	}
}

/*
 * Walsh-Hadamard transform, AVX2: levels 1, 2 and 4 inside each 8-float
 * register (partner by a permute, then v * (+-1) + partner), the others by
 * butterflies between registers.
 */
TARGET_AVX2 static void
fwht_avx2(float *x, int n, float scale)
{
	const __m256 n1 = _mm256_setr_ps(1, -1, 1, -1, 1, -1, 1, -1);
	const __m256 n2 = _mm256_setr_ps(1, 1, -1, -1, 1, 1, -1, -1);
	const __m256 n4 = _mm256_setr_ps(1, 1, 1, 1, -1, -1, -1, -1);
	const __m256 sc = _mm256_set1_ps(scale);
	int			h;

	for (int i = 0; i < n; i += 8)
	{
		__m256		v = _mm256_loadu_ps(x + i);

		v = _mm256_fmadd_ps(v, n1, _mm256_permute_ps(v, 0xB1));
		v = _mm256_fmadd_ps(v, n2, _mm256_permute_ps(v, 0x4E));
		v = _mm256_fmadd_ps(v, n4, _mm256_permute2f128_ps(v, v, 1));
		_mm256_storeu_ps(x + i, v);
	}
	for (h = 8; 2 * h < n; h *= 2)
	{
		for (int i = 0; i < n; i += 2 * h)
		{
			for (int k = i; k < i + h; k += 8)
			{
				__m256		a = _mm256_loadu_ps(x + k);
				__m256		b = _mm256_loadu_ps(x + k + h);

				_mm256_storeu_ps(x + k, _mm256_add_ps(a, b));
				_mm256_storeu_ps(x + k + h, _mm256_sub_ps(a, b));
			}
		}
	}
	for (int k = 0; k < h; k += 8)
	{
		__m256		a = _mm256_loadu_ps(x + k);
		__m256		b = _mm256_loadu_ps(x + k + h);

		_mm256_storeu_ps(x + k, _mm256_mul_ps(_mm256_add_ps(a, b), sc));
		_mm256_storeu_ps(x + k + h, _mm256_mul_ps(_mm256_sub_ps(a, b), sc));
	}
}

/* grid sums, AVX2: 2 x 8 lanes */
TARGET_AVX2 static void
grid_stats_avx2(const float *a, int n, float inv, float kmax,
				float *dot, float *unorm2)
{
	const __m256 vinv = _mm256_set1_ps(inv);
	const __m256 vmax = _mm256_set1_ps(kmax);
	const __m256 half = _mm256_set1_ps(0.5f);
	__m256		d0 = _mm256_setzero_ps(),
				d1 = _mm256_setzero_ps(),
				s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();

	for (int i = 0; i < n; i += 16)
	{
		__m256		a0 = _mm256_loadu_ps(a + i);
		__m256		a1 = _mm256_loadu_ps(a + i + 8);
		__m256		v0 = _mm256_min_ps(_mm256_mul_ps(a0, vinv), vmax);
		__m256		v1 = _mm256_min_ps(_mm256_mul_ps(a1, vinv), vmax);

		v0 = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_cvttps_epi32(v0)), half);
		v1 = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_cvttps_epi32(v1)), half);
		d0 = _mm256_fmadd_ps(v0, a0, d0);
		d1 = _mm256_fmadd_ps(v1, a1, d1);
		s0 = _mm256_fmadd_ps(v0, v0, s0);
		s1 = _mm256_fmadd_ps(v1, v1, s1);
	}
	*dot = quant_hsum256(_mm256_add_ps(d0, d1));
	*unorm2 = quant_hsum256(_mm256_add_ps(s0, s1));
}

static const OmenQuantKernels quant_avx2 = {
	"avx2", code_dot_avx2, fwht_avx2, grid_stats_avx2
};

/* ----------------------------------------------------------------
 * AVX-512F + BW
 * ----------------------------------------------------------------
 */

/* 16 bits of a plane at p as a mask */
TARGET_AVX512 static inline __mmask16
quant_mask16(const uint8_t *p)
{
	uint16_t	w;

	memcpy(&w, p, sizeof(w));
	return (__mmask16) w;
}

/* 64 bits of a plane at p as a mask */
TARGET_AVX512 static inline __mmask64
quant_mask64(const uint8_t *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
	return _cvtu64_mask64(w);
}

/* acc + x where the mask has a bit */
#define QUANT_MADD(acc, p, xv) \
	((acc) = _mm512_mask_add_ps((acc), quant_mask16(p), (acc), (xv)))

/*
 * One bit: 64 coordinates per step, each 16 bits of the plane the mask of
 * a masked add; 4 accumulators.
 */
TARGET_AVX512 static float
code_dot1_avx512(const float *x, const uint8_t *p, int pdim)
{
	__m512		a0 = _mm512_setzero_ps(),
				a1 = _mm512_setzero_ps(),
				a2 = _mm512_setzero_ps(),
				a3 = _mm512_setzero_ps();

	for (int i = 0; i < pdim; i += 64)
	{
		const uint8_t *q = p + i / 8;

		QUANT_MADD(a0, q, _mm512_loadu_ps(x + i));
		QUANT_MADD(a1, q + 2, _mm512_loadu_ps(x + i + 16));
		QUANT_MADD(a2, q + 4, _mm512_loadu_ps(x + i + 32));
		QUANT_MADD(a3, q + 6, _mm512_loadu_ps(x + i + 48));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
											  _mm512_add_ps(a2, a3)));
}

/*
 * Several bits: the grid values of 64 coordinates as bytes, built by one
 * masked byte add of 2^b per plane, then widened to floats 16 at a time
 * and multiplied into 4 accumulators.
 */
TARGET_AVX512 static inline float
code_dotn_avx512(const float *x, const uint8_t *p, int pdim, int bits)
{
	int			pbytes = pdim / 8;
	__m512		a0 = _mm512_setzero_ps(),
				a1 = _mm512_setzero_ps(),
				a2 = _mm512_setzero_ps(),
				a3 = _mm512_setzero_ps();

	for (int i = 0; i < pdim; i += 64)
	{
		const uint8_t *q = p + i / 8;
		__m512i		u = _mm512_maskz_mov_epi8(quant_mask64(q), _mm512_set1_epi8(1));

		for (int b = 1; b < bits; b++)
			u = _mm512_mask_add_epi8(u, quant_mask64(q + b * pbytes), u,
									 _mm512_set1_epi8((char) (1 << b)));
		a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(u))),
							 _mm512_loadu_ps(x + i), a0);
		a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(u, 1))),
							 _mm512_loadu_ps(x + i + 16), a1);
		a2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(u, 2))),
							 _mm512_loadu_ps(x + i + 32), a2);
		a3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(u, 3))),
							 _mm512_loadu_ps(x + i + 48), a3);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
											  _mm512_add_ps(a2, a3)));
}

/* sum of u_i x_i, AVX-512 */
TARGET_AVX512 static float
code_dot_avx512(const float *x, const uint8_t *planes, int pdim, int bits)
{
	switch (bits)
	{
		case 1:
			return code_dot1_avx512(x, planes, pdim);
		case 2:
			return code_dotn_avx512(x, planes, pdim, 2);
		case 4:
			return code_dotn_avx512(x, planes, pdim, 4);
		case 8:
			return code_dotn_avx512(x, planes, pdim, 8);
		default:
			return code_dot_scalar(x, planes, pdim, bits);
	}
}

/*
 * Walsh-Hadamard transform, AVX-512: levels 1, 2, 4 and 8 inside each
 * 16-float register, the others by butterflies between registers.
 */
TARGET_AVX512 static void
fwht_avx512(float *x, int n, float scale)
{
	const __m512 n1 = _mm512_setr_ps(1, -1, 1, -1, 1, -1, 1, -1,
									 1, -1, 1, -1, 1, -1, 1, -1);
	const __m512 n2 = _mm512_setr_ps(1, 1, -1, -1, 1, 1, -1, -1,
									 1, 1, -1, -1, 1, 1, -1, -1);
	const __m512 n4 = _mm512_setr_ps(1, 1, 1, 1, -1, -1, -1, -1,
									 1, 1, 1, 1, -1, -1, -1, -1);
	const __m512 n8 = _mm512_setr_ps(1, 1, 1, 1, 1, 1, 1, 1,
									 -1, -1, -1, -1, -1, -1, -1, -1);
	const __m512 sc = _mm512_set1_ps(scale);
	int			h;

	for (int i = 0; i < n; i += 16)
	{
		__m512		v = _mm512_loadu_ps(x + i);

		v = _mm512_fmadd_ps(v, n1, _mm512_permute_ps(v, 0xB1));
		v = _mm512_fmadd_ps(v, n2, _mm512_permute_ps(v, 0x4E));
		v = _mm512_fmadd_ps(v, n4, _mm512_shuffle_f32x4(v, v, 0xB1));
		v = _mm512_fmadd_ps(v, n8, _mm512_shuffle_f32x4(v, v, 0x4E));
		_mm512_storeu_ps(x + i, v);
	}
	for (h = 16; 2 * h < n; h *= 2)
	{
		for (int i = 0; i < n; i += 2 * h)
		{
			for (int k = i; k < i + h; k += 16)
			{
				__m512		a = _mm512_loadu_ps(x + k);
				__m512		b = _mm512_loadu_ps(x + k + h);

				_mm512_storeu_ps(x + k, _mm512_add_ps(a, b));
				_mm512_storeu_ps(x + k + h, _mm512_sub_ps(a, b));
			}
		}
	}
	for (int k = 0; k < h; k += 16)
	{
		__m512		a = _mm512_loadu_ps(x + k);
		__m512		b = _mm512_loadu_ps(x + k + h);

		_mm512_storeu_ps(x + k, _mm512_mul_ps(_mm512_add_ps(a, b), sc));
		_mm512_storeu_ps(x + k + h, _mm512_mul_ps(_mm512_sub_ps(a, b), sc));
	}
}

/* grid sums, AVX-512: 2 x 16 lanes */
TARGET_AVX512 static void
grid_stats_avx512(const float *a, int n, float inv, float kmax,
				  float *dot, float *unorm2)
{
	const __m512 vinv = _mm512_set1_ps(inv);
	const __m512 vmax = _mm512_set1_ps(kmax);
	const __m512 half = _mm512_set1_ps(0.5f);
	__m512		d0 = _mm512_setzero_ps(),
				d1 = _mm512_setzero_ps(),
				s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();

	for (int i = 0; i < n; i += 32)
	{
		__m512		a0 = _mm512_loadu_ps(a + i);
		__m512		a1 = _mm512_loadu_ps(a + i + 16);
		__m512		v0 = _mm512_min_ps(_mm512_mul_ps(a0, vinv), vmax);
		__m512		v1 = _mm512_min_ps(_mm512_mul_ps(a1, vinv), vmax);

		v0 = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_cvttps_epi32(v0)), half);
		v1 = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_cvttps_epi32(v1)), half);
		d0 = _mm512_fmadd_ps(v0, a0, d0);
		d1 = _mm512_fmadd_ps(v1, a1, d1);
		s0 = _mm512_fmadd_ps(v0, v0, s0);
		s1 = _mm512_fmadd_ps(v1, v1, s1);
	}
	*dot = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
	*unorm2 = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static const OmenQuantKernels quant_avx512 = {
	"avx512", code_dot_avx512, fwht_avx512, grid_stats_avx512
};

#endif							/* OMEN_HAVE_X86_SIMD */

OmenQuantKernels omen_quant_kernels = {
	"scalar", code_dot_scalar, fwht_scalar, grid_stats_scalar
};

/*
 * OmenQuantKernelsAvailable
 *		Every quantisation kernel set this CPU can run, best last.  The
 *		AVX-512 set needs BW (byte masks) besides F, as every AVX-512 CPU
 *		but the Xeon Phi has.
 */
int
OmenQuantKernelsAvailable(const OmenQuantKernels **sets)
{
	int			n = 0;

	sets[n++] = &quant_scalar;
#ifdef OMEN_HAVE_X86_SIMD
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		sets[n++] = &quant_avx2;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		__builtin_cpu_supports("fma"))
		sets[n++] = &quant_avx512;
#endif
	return n;
}

/*
 * OmenQuantKernelsInit
 *		Select the fastest quantisation kernels this CPU supports.
 */
void
OmenQuantKernelsInit(void)
{
	const OmenQuantKernels *sets[3];
	int			n = OmenQuantKernelsAvailable(sets);

	omen_quant_kernels = *sets[n - 1];
}

/* ----------------------------------------------------------------
 * Queries and the estimate
 * ----------------------------------------------------------------
 */

/*
 * OmenQuantQueryBytes
 *		Room for x (pdim floats) and up to 63 bytes of alignment slack.
 */
size_t
OmenQuantQueryBytes(int dim)
{
	return OmenQuantPaddedDim(dim) * sizeof(float) + 64;
}

/* the 64-byte aligned start of mem */
static float *
quant_query_x(void *mem)
{
	return (float *) (((uintptr_t) mem + 63) & ~(uintptr_t) 63);
}

/* from x = P q in place: subtract c', fill in the sums */
static void
quant_finish_query(const OmenQuantizer *q, OmenQuantMetric metric,
				   OmenQuantQuery *qq, float *x)
{
	const float *cr = quant_centroid(q);
	double		qc = 0.0,
				sx = 0.0,
				n2 = 0.0;

	for (int i = 0; i < q->pdim; i++)
	{
		qc += (double) x[i] * cr[i];
		x[i] -= cr[i];
		sx += x[i];
		n2 += (double) x[i] * x[i];
	}
	qq->metric = metric;
	qq->pdim = q->pdim;
	qq->bits = q->bits;
	qq->sum_x = (float) sx;
	qq->xnorm2 = (float) n2;
	qq->xnorm = (float) sqrt(n2);
	qq->qc = (float) qc;
	qq->bound_factor = (float) (OMEN_QUANT_EPS0 / sqrt((double) q->pdim - 1.0) *
								(metric == OMEN_QUANT_L2 ? 2.0 : 1.0));
	qq->x = x;
}

/*
 * OmenQuantPrepareQuery
 *		Rotate the query and precompute what every estimate needs.
 */
void
OmenQuantPrepareQuery(const OmenQuantizer *q, OmenQuantMetric metric,
					  const float *vec, OmenQuantQuery *qq, void *mem)
{
	float	   *x = quant_query_x(mem);

	OmenQuantRotate(q, vec, x);
	quant_finish_query(q, metric, qq, x);
}

/*
 * OmenQuantPrepareRotatedQuery
 *		The same for a query given in the rotated space.
 */
void
OmenQuantPrepareRotatedQuery(const OmenQuantizer *q, OmenQuantMetric metric,
							 const float *rot, OmenQuantQuery *qq, void *mem)
{
	float	   *x = quant_query_x(mem);

	memmove(x, rot, (size_t) q->pdim * sizeof(float));
	quant_finish_query(q, metric, qq, x);
}

/*
 * OmenQuantDistance
 *		Estimated distance to a code: E = scale * (sum u_i x_i - m sum x_i)
 *		estimates <r, x>, and the metric's distance follows from it.
 */
float
OmenQuantDistance(const OmenQuantQuery *qq, const uint8_t *code, float *bound)
{
	OmenQuantCodeHeader h;
	float		m = 0.5f * (float) ((1 << qq->bits) - 1);
	float		ux;
	float		e;

	memcpy(&h, code, sizeof(h));
	ux = omen_quant_kernels.code_dot(qq->x, code + sizeof(h), qq->pdim, qq->bits);
	e = h.scale * (ux - m * qq->sum_x);
	if (bound)
		*bound = qq->bound_factor * h.err * qq->xnorm;
	switch (qq->metric)
	{
		case OMEN_QUANT_L2:
			return h.norm2 + qq->xnorm2 - 2.0f * e;
		case OMEN_QUANT_IP:
			return -(qq->qc + h.rc + e);
		case OMEN_QUANT_COSINE:
		default:
			return 1.0f - (qq->qc + h.rc + e);
	}
}
