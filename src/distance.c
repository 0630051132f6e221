/*
 * distance.c
 *		Distance kernels: scalar reference versions, AVX2+FMA and AVX-512F
 *		versions, and run-time selection.
 *
 * The SIMD kernels are compiled with per-function target attributes, so the
 * file builds with the ordinary (baseline x86-64) compiler flags and no
 * -march=native; OmenKernelsAvailable() only offers a set when the CPU (and
 * the operating system, which must save the wider register state) supports
 * it.  On other architectures, or with compilers lacking the attributes,
 * only the scalar kernels exist.
 *
 * The SIMD loops keep several independent accumulators so that consecutive
 * fused multiply-adds do not wait on each other's latency, and never read
 * past a[n - 1] / b[n - 1]: the AVX2 kernels finish with a scalar tail, the
 * AVX-512 kernels with a masked load (masked-off lanes are not accessed, so
 * they cannot fault).
 */
#include <math.h>
#include <stddef.h>

#include "distance.h"

/*
 * The SIMD kernels need x86-64 and a compiler with per-function target
 * attributes and target-independent <immintrin.h> (GCC >= 4.9, clang).
 * Defining OMEN_NO_SIMD builds the scalar kernels only.
 */
#if defined(__x86_64__) && !defined(OMEN_NO_SIMD) && (defined(__clang__) || \
	(defined(__GNUC__) && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))))
#define OMEN_HAVE_X86_SIMD 1
#include <immintrin.h>
#endif

/* sum of squared differences */
static float
l2sq_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

/* inner product */
static float
dot_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* sum of absolute differences */
static float
l1_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

/* dot product and both squared norms in one pass */
static void
cosine_parts_scalar(const float *a, const float *b, int n,
					float *dot, float *norma, float *normb)
{
	float		d = 0.0f,
				na = 0.0f,
				nb = 0.0f;

	for (int i = 0; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norma = na;
	*normb = nb;
}

static const OmenKernels kernels_scalar = {
	"scalar", l2sq_scalar, dot_scalar, l1_scalar, cosine_parts_scalar
};

#ifdef OMEN_HAVE_X86_SIMD

#define OMEN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define OMEN_TARGET_AVX512 __attribute__((target("avx512f")))

/* ----------------------------------------------------------------
 * AVX2 + FMA: 4 accumulators of 8 floats, scalar tail
 * ----------------------------------------------------------------
 */

/* horizontal sum of the 8 lanes of an AVX register */
static inline OMEN_TARGET_AVX2 float
hsum256(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);
	__m128		shuf;

	lo = _mm_add_ps(lo, hi);
	shuf = _mm_movehdup_ps(lo);
	lo = _mm_add_ps(lo, shuf);
	shuf = _mm_movehl_ps(shuf, lo);
	lo = _mm_add_ss(lo, shuf);
	return _mm_cvtss_f32(lo);
}

/* sum of squared differences, AVX2+FMA */
static OMEN_TARGET_AVX2 float
l2sq_avx2(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		d0,
				d1,
				d2,
				d3;
	float		s;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= n; i += 8)
	{
		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
	}
	s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

/* inner product, AVX2+FMA */
static OMEN_TARGET_AVX2 float
dot_avx2(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	float		s;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* sum of absolute differences, AVX2 (clearing the sign bit gives |x|) */
static OMEN_TARGET_AVX2 float
l1_avx2(const float *a, const float *b, int n)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		d0,
				d1,
				d2,
				d3;
	float		s;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
		s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d0));
		s1 = _mm256_add_ps(s1, _mm256_andnot_ps(sign, d1));
		s2 = _mm256_add_ps(s2, _mm256_andnot_ps(sign, d2));
		s3 = _mm256_add_ps(s3, _mm256_andnot_ps(sign, d3));
	}
	for (; i + 8 <= n; i += 8)
	{
		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d0));
	}
	s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

/*
 * dot product and both squared norms, AVX2+FMA.  Three sums at once leave
 * enough independent chains with two accumulators each, and 6 accumulators
 * plus 4 loaded vectors fit in the 16 ymm registers without spilling.
 */
static OMEN_TARGET_AVX2 void
cosine_parts_avx2(const float *a, const float *b, int n,
				  float *dot, float *norma, float *normb)
{
	__m256		d0 = _mm256_setzero_ps();
	__m256		d1 = _mm256_setzero_ps();
	__m256		na0 = _mm256_setzero_ps();
	__m256		na1 = _mm256_setzero_ps();
	__m256		nb0 = _mm256_setzero_ps();
	__m256		nb1 = _mm256_setzero_ps();
	__m256		va0,
				vb0,
				va1,
				vb1;
	float		d,
				na,
				nb;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		va0 = _mm256_loadu_ps(a + i);
		vb0 = _mm256_loadu_ps(b + i);
		va1 = _mm256_loadu_ps(a + i + 8);
		vb1 = _mm256_loadu_ps(b + i + 8);
		d0 = _mm256_fmadd_ps(va0, vb0, d0);
		na0 = _mm256_fmadd_ps(va0, va0, na0);
		nb0 = _mm256_fmadd_ps(vb0, vb0, nb0);
		d1 = _mm256_fmadd_ps(va1, vb1, d1);
		na1 = _mm256_fmadd_ps(va1, va1, na1);
		nb1 = _mm256_fmadd_ps(vb1, vb1, nb1);
	}
	if (i + 8 <= n)
	{
		va0 = _mm256_loadu_ps(a + i);
		vb0 = _mm256_loadu_ps(b + i);
		d0 = _mm256_fmadd_ps(va0, vb0, d0);
		na0 = _mm256_fmadd_ps(va0, va0, na0);
		nb0 = _mm256_fmadd_ps(vb0, vb0, nb0);
		i += 8;
	}
	d = hsum256(_mm256_add_ps(d0, d1));
	na = hsum256(_mm256_add_ps(na0, na1));
	nb = hsum256(_mm256_add_ps(nb0, nb1));
	for (; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norma = na;
	*normb = nb;
}

static const OmenKernels kernels_avx2 = {
	"avx2", l2sq_avx2, dot_avx2, l1_avx2, cosine_parts_avx2
};

/* ----------------------------------------------------------------
 * AVX-512F: 4 accumulators of 16 floats, masked tail
 * ----------------------------------------------------------------
 */

/* mask selecting the first rem (1..15) lanes */
static inline __mmask16
tail_mask(int rem)
{
	return (__mmask16) ((1u << rem) - 1);
}

/* sum of squared differences, AVX-512F */
static OMEN_TARGET_AVX512 float
l2sq_avx512(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	__m512		d0,
				d1,
				d2,
				d3;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s1 = _mm512_fmadd_ps(d0, d0, s1);
	}
	if (i < n)
	{
		__mmask16	m = tail_mask(n - i);

		d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
						   _mm512_maskz_loadu_ps(m, b + i));
		s2 = _mm512_fmadd_ps(d0, d0, s2);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
											  _mm512_add_ps(s2, s3)));
}

/* inner product, AVX-512F */
static OMEN_TARGET_AVX512 float
dot_avx512(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s1);
	if (i < n)
	{
		__mmask16	m = tail_mask(n - i);

		s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i),
							 _mm512_maskz_loadu_ps(m, b + i), s2);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
											  _mm512_add_ps(s2, s3)));
}

/* sum of absolute differences, AVX-512F */
static OMEN_TARGET_AVX512 float
l1_avx512(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	__m512		d0,
				d1,
				d2,
				d3;
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d0));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d1));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(d2));
		s3 = _mm512_add_ps(s3, _mm512_abs_ps(d3));
	}
	for (; i + 16 <= n; i += 16)
	{
		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d0));
	}
	if (i < n)
	{
		__mmask16	m = tail_mask(n - i);

		d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
						   _mm512_maskz_loadu_ps(m, b + i));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(d0));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
											  _mm512_add_ps(s2, s3)));
}

/*
 * dot product and both squared norms, AVX-512F: two 16-float steps per
 * iteration give six independent accumulator chains.
 */
static OMEN_TARGET_AVX512 void
cosine_parts_avx512(const float *a, const float *b, int n,
					float *dot, float *norma, float *normb)
{
	__m512		d0 = _mm512_setzero_ps();
	__m512		d1 = _mm512_setzero_ps();
	__m512		na0 = _mm512_setzero_ps();
	__m512		na1 = _mm512_setzero_ps();
	__m512		nb0 = _mm512_setzero_ps();
	__m512		nb1 = _mm512_setzero_ps();
	__m512		va0,
				vb0,
				va1,
				vb1;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		va0 = _mm512_loadu_ps(a + i);
		vb0 = _mm512_loadu_ps(b + i);
		va1 = _mm512_loadu_ps(a + i + 16);
		vb1 = _mm512_loadu_ps(b + i + 16);
		d0 = _mm512_fmadd_ps(va0, vb0, d0);
		na0 = _mm512_fmadd_ps(va0, va0, na0);
		nb0 = _mm512_fmadd_ps(vb0, vb0, nb0);
		d1 = _mm512_fmadd_ps(va1, vb1, d1);
		na1 = _mm512_fmadd_ps(va1, va1, na1);
		nb1 = _mm512_fmadd_ps(vb1, vb1, nb1);
	}
	if (i + 16 <= n)
	{
		va0 = _mm512_loadu_ps(a + i);
		vb0 = _mm512_loadu_ps(b + i);
		d0 = _mm512_fmadd_ps(va0, vb0, d0);
		na0 = _mm512_fmadd_ps(va0, va0, na0);
		nb0 = _mm512_fmadd_ps(vb0, vb0, nb0);
		i += 16;
	}
	if (i < n)
	{
		__mmask16	m = tail_mask(n - i);

		va1 = _mm512_maskz_loadu_ps(m, a + i);
		vb1 = _mm512_maskz_loadu_ps(m, b + i);
		d1 = _mm512_fmadd_ps(va1, vb1, d1);
		na1 = _mm512_fmadd_ps(va1, va1, na1);
		nb1 = _mm512_fmadd_ps(vb1, vb1, nb1);
	}
	*dot = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
	*norma = _mm512_reduce_add_ps(_mm512_add_ps(na0, na1));
	*normb = _mm512_reduce_add_ps(_mm512_add_ps(nb0, nb1));
}

static const OmenKernels kernels_avx512 = {
	"avx512", l2sq_avx512, dot_avx512, l1_avx512, cosine_parts_avx512
};

#endif							/* OMEN_HAVE_X86_SIMD */

OmenKernels omen_kernels = {
	"scalar", l2sq_scalar, dot_scalar, l1_scalar, cosine_parts_scalar
};

/*
 * Every kernel set this CPU can run, best last.
 *
 * __builtin_cpu_supports() reports a feature only when the OS has enabled
 * the matching register state in XCR0 (GCC checks this via XGETBV), so a
 * kernel set offered here is also safe to execute.
 */
int
OmenKernelsAvailable(const OmenKernels **sets)
{
	int			n = 0;

	sets[n++] = &kernels_scalar;
#ifdef OMEN_HAVE_X86_SIMD
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		sets[n++] = &kernels_avx2;
	if (__builtin_cpu_supports("avx512f"))
		sets[n++] = &kernels_avx512;
#endif
	return n;
}

/* Select the fastest kernels this CPU supports. */
void
OmenKernelsInit(void)
{
	const OmenKernels *sets[3];
	int			n = OmenKernelsAvailable(sets);

	omen_kernels = *sets[n - 1];
	OmenHalfKernelsInit();
}
