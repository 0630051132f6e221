/*
 * distance_half.c
 *		Distance kernels between a float4 vector and a half-precision one,
 *		and the conversions.  Plain C like distance.c: a scalar version plus
 *		AVX2+F16C and AVX-512F versions chosen at run time.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "distance.h"

#if defined(__x86_64__) && !defined(OMEN_NO_SIMD) && (defined(__clang__) || \
	(defined(__GNUC__) && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))))
#define OMEN_HAVE_X86_SIMD 1
#include <immintrin.h>
#endif

/*
 * OmenHalfToFloat
 *		Exact widening of a binary16 value.
 */
float
OmenHalfToFloat(OmenHalf h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1F;
	uint32_t	mant = h & 0x3FF;
	uint32_t	bits;
	float		f;

	if (exp == 0)
	{
		/* zero or subnormal: mant * 2^-24 */
		f = (float) mant * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7F800000 | (mant << 13);
	else
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/*
 * OmenFloatToHalf
 *		Narrowing with round to nearest even.
 */
OmenHalf
OmenFloatToHalf(float f)
{
	uint32_t	bits;
	uint32_t	sign;
	int32_t		exp;
	uint32_t	mant;

	memcpy(&bits, &f, sizeof(bits));
	sign = (bits >> 16) & 0x8000;
	exp = (int32_t) ((bits >> 23) & 0xFF) - 127 + 15;
	mant = bits & 0x7FFFFF;

	if (((bits >> 23) & 0xFF) == 0xFF)	/* Inf or NaN */
		return (OmenHalf) (sign | 0x7C00 | (mant ? 0x200 : 0));
	if (exp >= 31)
		return (OmenHalf) (sign | 0x7C00);
	if (exp <= 0)
	{
		/* subnormal half (or zero) */
		uint32_t	shift;
		uint32_t	m;
		uint32_t	r;

		if (exp < -10)
			return (OmenHalf) sign;
		m = mant | 0x800000;
		shift = (uint32_t) (14 - exp);
		r = m >> shift;
		if ((m & ((1u << shift) - 1)) > (1u << (shift - 1)) ||
			((m & ((1u << shift) - 1)) == (1u << (shift - 1)) && (r & 1)))
			r++;
		return (OmenHalf) (sign | r);
	}
	{
		uint32_t	r = ((uint32_t) exp << 10) | (mant >> 13);
		uint32_t	rest = mant & 0x1FFF;

		if (rest > 0x1000 || (rest == 0x1000 && (r & 1)))
			r++;				/* may carry into the exponent: correct */
		return (OmenHalf) (sign | r);
	}
}

/* sum of squared differences */
static float
l2sq_half_scalar(const float *a, const OmenHalf *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - OmenHalfToFloat(b[i]);

		s += d * d;
	}
	return s;
}

/* inner product */
static float
dot_half_scalar(const float *a, const OmenHalf *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * OmenHalfToFloat(b[i]);
	return s;
}

/* sum of absolute differences */
static float
l1_half_scalar(const float *a, const OmenHalf *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - OmenHalfToFloat(b[i]));
	return s;
}

static const OmenHalfKernels half_scalar = {
	"scalar", l2sq_half_scalar, dot_half_scalar, l1_half_scalar
};

#ifdef OMEN_HAVE_X86_SIMD

#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TARGET_AVX512 __attribute__((target("avx512f")))

/* horizontal sum of 8 floats */
TARGET_AVX2 static inline float
hsum256(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* sum of squared differences, 2 x 8 lanes */
TARGET_AVX2 static float
l2sq_half_avx2(const float *a, const OmenHalf *b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i),
									   _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (b + i))));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8),
									   _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (b + i + 8))));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	s = hsum256(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
	{
		float		d = a[i] - OmenHalfToFloat(b[i]);

		s += d * d;
	}
	return s;
}

/* inner product, 2 x 8 lanes */
TARGET_AVX2 static float
dot_half_avx2(const float *a, const OmenHalf *b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i),
							 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (b + i))), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8),
							 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (b + i + 8))), s1);
	}
	s = hsum256(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += a[i] * OmenHalfToFloat(b[i]);
	return s;
}

/* sum of absolute differences, 2 x 8 lanes */
TARGET_AVX2 static float
l1_half_avx2(const float *a, const OmenHalf *b, int n)
{
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i),
									   _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (b + i))));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8),
									   _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (b + i + 8))));

		s0 = _mm256_add_ps(s0, _mm256_and_ps(d0, absmask));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(d1, absmask));
	}
	s = hsum256(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += fabsf(a[i] - OmenHalfToFloat(b[i]));
	return s;
}

static const OmenHalfKernels half_avx2 = {
	"avx2", l2sq_half_avx2, dot_half_avx2, l1_half_avx2
};

/* sum of squared differences, 2 x 16 lanes */
TARGET_AVX512 static float
l2sq_half_avx512(const float *a, const OmenHalf *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i),
									   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16),
									   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i + 16))));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i),
									   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
	}
	s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
	for (; i < n; i++)
	{
		float		d = a[i] - OmenHalfToFloat(b[i]);

		s += d * d;
	}
	return s;
}

/* inner product, 2 x 16 lanes */
TARGET_AVX512 static float
dot_half_avx512(const float *a, const OmenHalf *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i),
							 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16),
							 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i + 16))), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i),
							 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))), s0);
	s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
	for (; i < n; i++)
		s += a[i] * OmenHalfToFloat(b[i]);
	return s;
}

/* sum of absolute differences, 2 x 16 lanes */
TARGET_AVX512 static float
l1_half_avx512(const float *a, const OmenHalf *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i),
									   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16),
									   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i + 16))));

		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d0));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d1));
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i),
									   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))));

		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d0));
	}
	s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
	for (; i < n; i++)
		s += fabsf(a[i] - OmenHalfToFloat(b[i]));
	return s;
}

static const OmenHalfKernels half_avx512 = {
	"avx512", l2sq_half_avx512, dot_half_avx512, l1_half_avx512
};

#endif							/* OMEN_HAVE_X86_SIMD */

OmenHalfKernels omen_half_kernels = {
	"scalar", l2sq_half_scalar, dot_half_scalar, l1_half_scalar
};

/*
 * OmenHalfKernelsAvailable
 *		Every half kernel set this CPU can run, best last.  The AVX2 set
 *		also needs F16C, which every AVX2 CPU has; it is checked anyway.
 */
int
OmenHalfKernelsAvailable(const OmenHalfKernels **sets)
{
	int			n = 0;

	sets[n++] = &half_scalar;
#ifdef OMEN_HAVE_X86_SIMD
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		unsigned int eax,
					ebx,
					ecx,
					edx;

		__asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
		if (ecx & (1u << 29))	/* F16C */
			sets[n++] = &half_avx2;
	}
	if (__builtin_cpu_supports("avx512f"))
		sets[n++] = &half_avx512;
#endif
	return n;
}

/*
 * OmenHalfKernelsInit
 *		Select the fastest half kernels this CPU supports.
 */
void
OmenHalfKernelsInit(void)
{
	const OmenHalfKernels *sets[3];
	int			n = OmenHalfKernelsAvailable(sets);

	omen_half_kernels = *sets[n - 1];
}
