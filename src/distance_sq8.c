/*
 * distance_sq8.c
 *		Distance kernels between a float4 vector and a scalar-quantised one
 *		(one byte per dimension), and the encoder.  Plain C like distance.c:
 *		a scalar version plus AVX2+FMA and AVX-512F versions chosen at run
 *		time.
 *
 * Element d of a quantised vector stands for the float
 *
 *		x[d] = fmaf((float) code[d], scale[d], min[d])
 *
 * (one rounding).  Every kernel reconstructs exactly that value, an FMA per
 * element with min and scale read from cache, and then does the arithmetic
 * of the float kernel, so the kernels are independent of the metric and
 * agree with each other up to the order of summation.  Reading one byte
 * instead of four (or two, for half precision) per element is the point:
 * the distance computations of an index build are bound by memory traffic.
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
 * OmenSq8Encode
 *		Quantise x[0..n-1]: code = round((x - min) / scale), clamped to
 *		0..255; 0 where scale is 0.
 */
void
OmenSq8Encode(const float *x, const float *min, const float *scale,
			  OmenSq8 *codes, int n)
{
	for (int i = 0; i < n; i++)
	{
		double		c;

		if (!(scale[i] > 0.0f))
		{
			codes[i] = 0;
			continue;
		}
		c = rint(((double) x[i] - min[i]) / scale[i]);
		if (!(c >= 0.0))		/* also NaN */
			c = 0.0;
		if (c > 255.0)
			c = 255.0;
		codes[i] = (OmenSq8) c;
	}
}

/*
 * OmenSq8Value
 *		The float a code stands for.
 */
float
OmenSq8Value(OmenSq8 code, float min, float scale)
{
	return fmaf((float) code, scale, min);
}

/* sum of squared differences */
static float
l2sq_sq8_scalar(const float *a, const OmenSq8 *b, const float *min,
				const float *scale, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - fmaf((float) b[i], scale[i], min[i]);

		s += d * d;
	}
	return s;
}

/* inner product */
static float
dot_sq8_scalar(const float *a, const OmenSq8 *b, const float *min,
			   const float *scale, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * fmaf((float) b[i], scale[i], min[i]);
	return s;
}

/* sum of absolute differences */
static float
l1_sq8_scalar(const float *a, const OmenSq8 *b, const float *min,
			  const float *scale, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - fmaf((float) b[i], scale[i], min[i]));
	return s;
}

/* reconstruction */
static void
decode_sq8_scalar(const OmenSq8 *b, const float *min, const float *scale,
				  float *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = fmaf((float) b[i], scale[i], min[i]);
}

static const OmenSq8Kernels sq8_scalar = {
	"scalar", l2sq_sq8_scalar, dot_sq8_scalar, l1_sq8_scalar, decode_sq8_scalar
};

#ifdef OMEN_HAVE_X86_SIMD

#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TARGET_AVX512 __attribute__((target("avx512f,fma")))

/* horizontal sum of 8 floats */
TARGET_AVX2 static inline float
hsum256(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* reconstruct 8 elements from b[i..i+7] */
TARGET_AVX2 static inline __m256
sq8_load8(const OmenSq8 *b, const float *min, const float *scale, int i)
{
	__m128i		c8 = _mm_loadl_epi64((const __m128i *) (b + i));
	__m256		c = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c8));

	return _mm256_fmadd_ps(c, _mm256_loadu_ps(scale + i), _mm256_loadu_ps(min + i));
}

/* sum of squared differences, 2 x 8 lanes */
TARGET_AVX2 static float
l2sq_sq8_avx2(const float *a, const OmenSq8 *b, const float *min,
			  const float *scale, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), sq8_load8(b, min, scale, i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), sq8_load8(b, min, scale, i + 8));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	if (i + 8 <= n)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), sq8_load8(b, min, scale, i));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		i += 8;
	}
	s = hsum256(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
	{
		float		d = a[i] - fmaf((float) b[i], scale[i], min[i]);

		s += d * d;
	}
	return s;
}

/* inner product, 2 x 8 lanes */
TARGET_AVX2 static float
dot_sq8_avx2(const float *a, const OmenSq8 *b, const float *min,
			 const float *scale, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), sq8_load8(b, min, scale, i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), sq8_load8(b, min, scale, i + 8), s1);
	}
	if (i + 8 <= n)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), sq8_load8(b, min, scale, i), s0);
		i += 8;
	}
	s = hsum256(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += a[i] * fmaf((float) b[i], scale[i], min[i]);
	return s;
}

/* sum of absolute differences, 2 x 8 lanes */
TARGET_AVX2 static float
l1_sq8_avx2(const float *a, const OmenSq8 *b, const float *min,
			const float *scale, int n)
{
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps();
	int			i = 0;
	float		s;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), sq8_load8(b, min, scale, i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), sq8_load8(b, min, scale, i + 8));

		s0 = _mm256_add_ps(s0, _mm256_and_ps(d0, absmask));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(d1, absmask));
	}
	if (i + 8 <= n)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), sq8_load8(b, min, scale, i));

		s0 = _mm256_add_ps(s0, _mm256_and_ps(d0, absmask));
		i += 8;
	}
	s = hsum256(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += fabsf(a[i] - fmaf((float) b[i], scale[i], min[i]));
	return s;
}

/* reconstruction, 8 lanes */
TARGET_AVX2 static void
decode_sq8_avx2(const OmenSq8 *b, const float *min, const float *scale,
				float *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, sq8_load8(b, min, scale, i));
	for (; i < n; i++)
		out[i] = fmaf((float) b[i], scale[i], min[i]);
}

static const OmenSq8Kernels sq8_avx2 = {
	"avx2", l2sq_sq8_avx2, dot_sq8_avx2, l1_sq8_avx2, decode_sq8_avx2
};

/* reconstruct 16 elements from b[i..i+15] */
TARGET_AVX512 static inline __m512
sq8_load16(const OmenSq8 *b, const float *min, const float *scale, int i)
{
	__m128i		c8 = _mm_loadu_si128((const __m128i *) (b + i));
	__m512		c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c8));

	return _mm512_fmadd_ps(c, _mm512_loadu_ps(scale + i), _mm512_loadu_ps(min + i));
}

/*
 * Reconstruct the last rem (1..15) elements from b[i..]: masked loads of
 * the floats (masked-off lanes are not accessed), the codes through a
 * small buffer (AVX-512F has no masked byte load).  Masked-off lanes are 0.
 */
TARGET_AVX512 static inline __m512
sq8_load_tail(const OmenSq8 *b, const float *min, const float *scale, int i,
			  int rem, __mmask16 m)
{
	OmenSq8		buf[16] = {0};
	__m512		c;

	memcpy(buf, b + i, rem);
	c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) buf)));
	return _mm512_maskz_fmadd_ps(m, c, _mm512_maskz_loadu_ps(m, scale + i),
								 _mm512_maskz_loadu_ps(m, min + i));
}

/* sum of squared differences, 2 x 16 lanes, masked tail */
TARGET_AVX512 static float
l2sq_sq8_avx512(const float *a, const OmenSq8 *b, const float *min,
				const float *scale, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), sq8_load16(b, min, scale, i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), sq8_load16(b, min, scale, i + 16));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	if (i + 16 <= n)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), sq8_load16(b, min, scale, i));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		i += 16;
	}
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);
		__m512		d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
									   sq8_load_tail(b, min, scale, i, n - i, m));

		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* inner product, 2 x 16 lanes, masked tail */
TARGET_AVX512 static float
dot_sq8_avx512(const float *a, const OmenSq8 *b, const float *min,
			   const float *scale, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), sq8_load16(b, min, scale, i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), sq8_load16(b, min, scale, i + 16), s1);
	}
	if (i + 16 <= n)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), sq8_load16(b, min, scale, i), s0);
		i += 16;
	}
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i),
							 sq8_load_tail(b, min, scale, i, n - i, m), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* sum of absolute differences, 2 x 16 lanes, masked tail */
TARGET_AVX512 static float
l1_sq8_avx512(const float *a, const OmenSq8 *b, const float *min,
			  const float *scale, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), sq8_load16(b, min, scale, i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), sq8_load16(b, min, scale, i + 16));

		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d0));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d1));
	}
	if (i + 16 <= n)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), sq8_load16(b, min, scale, i));

		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d0));
		i += 16;
	}
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);
		__m512		d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
									   sq8_load_tail(b, min, scale, i, n - i, m));

		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d1));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* reconstruction, 16 lanes, masked tail */
TARGET_AVX512 static void
decode_sq8_avx512(const OmenSq8 *b, const float *min, const float *scale,
				  float *out, int n)
{
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, sq8_load16(b, min, scale, i));
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		_mm512_mask_storeu_ps(out + i, m, sq8_load_tail(b, min, scale, i, n - i, m));
	}
}

static const OmenSq8Kernels sq8_avx512 = {
	"avx512", l2sq_sq8_avx512, dot_sq8_avx512, l1_sq8_avx512, decode_sq8_avx512
};

#endif							/* OMEN_HAVE_X86_SIMD */

OmenSq8Kernels omen_sq8_kernels = {
	"scalar", l2sq_sq8_scalar, dot_sq8_scalar, l1_sq8_scalar, decode_sq8_scalar
};

/*
 * OmenSq8KernelsAvailable
 *		Every SQ8 kernel set this CPU can run, best last.  Both SIMD sets
 *		use FMA, which every AVX2 and AVX-512 CPU has; it is checked anyway.
 */
int
OmenSq8KernelsAvailable(const OmenSq8Kernels **sets)
{
	int			n = 0;

	sets[n++] = &sq8_scalar;
#ifdef OMEN_HAVE_X86_SIMD
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		sets[n++] = &sq8_avx2;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
		sets[n++] = &sq8_avx512;
#endif
	return n;
}

/*
 * OmenSq8KernelsInit
 *		Select the fastest SQ8 kernels this CPU supports.
 */
void
OmenSq8KernelsInit(void)
{
	const OmenSq8Kernels *sets[3];
	int			n = OmenSq8KernelsAvailable(sets);

	omen_sq8_kernels = *sets[n - 1];
}
