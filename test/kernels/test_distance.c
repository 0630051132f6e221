/*
 * test_distance.c
 *		Stand-alone unit test of the distance kernels (no PostgreSQL).
 *
 * For every kernel set this CPU can run and every kernel, compare the result
 * on random data against a double-precision reference, allowing the error
 * that float accumulation can produce relative to the sum of the absolute
 * values of the terms.  Data of small integers, whose sums are exact in
 * float whatever the order of summation, must match exactly; that catches
 * a missing or doubled element that the tolerance could hide on long
 * vectors.  Inputs are also placed at unaligned addresses and right against
 * PROT_NONE guard pages, so that a read before or past the array faults;
 * the fault is caught and reported as a failure.
 *
 * The half-precision kernels (float vector a, half vector b) get the same
 * treatment for every half kernel set the CPU can run, the reference being
 * computed in double from a and the exactly widened b.
 *
 * The SQ8 kernels (float vector a, codes b with per-dimension min and
 * scale) get the same treatment for every SQ8 kernel set the CPU can run,
 * the reference being computed in double from a and the reconstructed
 * values fmaf(code, scale, min), which every kernel must reproduce exactly
 * (decode must return them bit for bit, into a guarded buffer).
 * Integer data must match exactly wherever the sum of |terms| stays below
 * 2^24 (then every partial sum is exact in float).  The encoder is checked
 * to pick the nearest code.
 *
 * The half conversions are checked value by value: all 65536 half bit
 * patterns widen exactly (compared with an ldexp-based reference) and
 * narrow back to the same bits (NaN stays NaN); narrowing is compared with
 * an independent round-to-nearest-even reference (binary search among the
 * halves, midpoint compared in double) on hand-checked cases, on every
 * half, every midpoint between neighbouring halves and the floats next to
 * them, on every float sign/exponent/top-10-mantissa combination with low
 * bits around the rounding point, and on random floats from below half
 * underflow to beyond overflow.  Where the CPU has F16C, both directions
 * are also compared with the hardware conversions.  Each value counts as
 * one check; after CONV_PRINT_MAX failure lines of one kind the rest are
 * only counted.
 *
 * Prints one line per failure and finally "kernels: N passed, M failed";
 * exits non-zero if anything failed.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "distance.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#endif

/*
 * Allowed error, relative to the sum of |terms|: REL_TOL_PER_SQRT_N *
 * (sqrt(n) + 1) * FLT_EPSILON.  Rounding errors of a float sum grow like
 * sqrt(n) in practice (the worst case, n, is far too loose to notice a
 * missing term); at n = 784 this is about 1.4e-5, at n = 16000 6e-5.  The
 * plain sequential scalar sum is the least accurate of the kernels.
 */
#define REL_TOL_PER_SQRT_N	4.0
/* allowed absolute error on top (for n = 0 and all-zero data) */
#define ABS_TOL		1e-30

#define MAX_N		16001

/* which of the kernels' outputs a check is about */
typedef enum
{
	K_L2SQ,
	K_DOT,
	K_L1,
	K_COS_DOT,
	K_COS_NORMA,
	K_COS_NORMB,
	K_COUNT
} KernelOutput;

static const char *const output_names[K_COUNT] = {
	"l2sq", "dot", "l1", "cosine_parts.dot", "cosine_parts.norma",
	"cosine_parts.normb"
};

/* kinds of input data */
typedef enum
{
	D_UNIT,						/* uniform in [-1, 1] */
	D_LARGE,					/* uniform in [-1e4, 1e4] */
	D_MIXED,					/* [-1, 1] times 2^k, k in [-20, 20] */
	D_INT,						/* integers in [-4, 4]: sums must be exact */
	D_COUNT
} DataKind;

static const char *const data_names[D_COUNT] = {
	"unit", "large", "mixed", "int"
};

/* where the inputs are placed */
typedef enum
{
	L_ALIGNED,					/* both 64-byte aligned */
	L_OFFSET_A,					/* a one float past alignment */
	L_OFFSET_BOTH,				/* a 1 and b 3 floats past alignment */
	L_GUARD_END,				/* both end right before a PROT_NONE page */
	L_GUARD_START,				/* both start right after a PROT_NONE page */
	L_COUNT
} Layout;

static const char *const layout_names[L_COUNT] = {
	"aligned", "offset-a", "offset-both", "guard-end", "guard-start"
};

static const int lengths[] = {
	0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65,
	100, 127, 128, 129, 255, 256, 257, 783, 784, 785, 1000, 1536, 4099,
	16000, MAX_N
};

static int	npassed = 0;
static int	nfailed = 0;
static int	cur_set = 0;		/* index of the kernel set under test */
static double worst_rel[3];		/* per set: largest |error| / sum |terms| */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed = 0;

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

/* xorshift64*: small, fixed-seed pseudo-random numbers */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

/* uniform double in [-1, 1] */
static double
rng_unit(void)
{
	return (double) (rng_next() >> 11) / (double) (UINT64_C(1) << 53) * 2.0 - 1.0;
}

/* fill x[0..n-1] with data of the given kind */
static void
fill(float *x, int n, DataKind kind)
{
	for (int i = 0; i < n; i++)
	{
		switch (kind)
		{
			case D_UNIT:
				x[i] = (float) rng_unit();
				break;
			case D_LARGE:
				x[i] = (float) (rng_unit() * 1e4);
				break;
			case D_MIXED:
				x[i] = (float) ldexp(rng_unit(), (int) (rng_next() % 41) - 20);
				break;
			case D_INT:
				x[i] = (float) ((int) (rng_next() % 9) - 4);
				break;
			default:
				abort();
		}
	}
}

/* SIGSEGV/SIGBUS handler: jump back to the check that faulted */
static void
fault_handler(int sig)
{
	if (fault_armed)
	{
		fault_armed = 0;
		siglongjmp(fault_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Buffer of whole pages with a PROT_NONE page on either side. */
typedef struct GuardedBuf
{
	char	   *base;			/* start of the mapping */
	size_t		total;			/* length of the mapping */
	char	   *start;			/* first usable byte */
	char	   *end;			/* one past the last usable byte */
} GuardedBuf;

/* map a guarded buffer with room for at least bytes bytes */
static void
guarded_alloc(GuardedBuf *g, size_t bytes)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		usable = (bytes + page - 1) / page * page;

	if (usable == 0)
		usable = page;
	g->total = usable + 2 * page;
	g->base = mmap(NULL, g->total, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->base == MAP_FAILED)
	{
		perror("mmap");
		exit(2);
	}
	if (mprotect(g->base, page, PROT_NONE) != 0 ||
		mprotect(g->base + page + usable, page, PROT_NONE) != 0)
	{
		perror("mprotect");
		exit(2);
	}
	g->start = g->base + page;
	g->end = g->start + usable;
}

/* record the outcome of one check, printing a line if it failed */
static void
report(int ok, const char *set, const char *kernel, const char *data,
	   const char *layout, int n, double got, double ref, double tol)
{
	if (ok)
	{
		npassed++;
		return;
	}
	nfailed++;
	printf("FAIL: set=%s kernel=%s data=%s layout=%s n=%d: got %.9g, "
		   "reference %.9g, |error| %.3g > tolerance %.3g\n",
		   set, kernel, data, layout, n, got, ref, fabs(got - ref), tol);
}

/*
 * Compare one kernel output with its reference: exactly if exact, else
 * within the tolerance relative to sumabs; *worst tracks the largest
 * relative error seen.
 */
static void
check_value(const char *set, const char *kernel, const char *data,
			const char *layout, int exact, int n, float got, double ref,
			double sumabs, double *worst)
{
	double		tol;
	int			ok;

	if (exact)
	{
		tol = 0.0;
		ok = ((double) got == ref);
	}
	else
	{
		tol = REL_TOL_PER_SQRT_N * (sqrt((double) n) + 1.0) * FLT_EPSILON *
			sumabs + ABS_TOL;
		if (sumabs > 0 && fabs((double) got - ref) / sumabs > *worst)
			*worst = fabs((double) got - ref) / sumabs;
		ok = (fabs((double) got - ref) <= tol);
	}
	report(ok, set, kernel, data, layout, n, got, ref, tol);
}

/*
 * Run every kernel of one set on a[0..n-1], b[0..n-1] and check the results
 * against the double-precision reference.
 */
static void
check_set(const OmenKernels *ks, const float *a, const float *b, int n,
		  DataKind d, Layout l)
{
	double		ref[K_COUNT] = {0};
	double		sumabs[K_COUNT] = {0};
	float		got[K_COUNT];
	float		cd,
				cna,
				cnb;

	for (int i = 0; i < n; i++)
	{
		double		x = a[i];
		double		y = b[i];
		double		diff = x - y;

		ref[K_L2SQ] += diff * diff;
		ref[K_DOT] += x * y;
		ref[K_L1] += fabs(diff);
		ref[K_COS_NORMA] += x * x;
		ref[K_COS_NORMB] += y * y;
		sumabs[K_DOT] += fabs(x * y);
	}
	ref[K_COS_DOT] = ref[K_DOT];
	sumabs[K_L2SQ] = ref[K_L2SQ];
	sumabs[K_L1] = ref[K_L1];
	sumabs[K_COS_DOT] = sumabs[K_DOT];
	sumabs[K_COS_NORMA] = ref[K_COS_NORMA];
	sumabs[K_COS_NORMB] = ref[K_COS_NORMB];

	fault_armed = 1;
	if (sigsetjmp(fault_jmp, 1) != 0)
	{
		nfailed++;
		printf("FAIL: set=%s data=%s layout=%s n=%d: memory fault "
			   "(read outside the input arrays)\n",
			   ks->name, data_names[d], layout_names[l], n);
		return;
	}
	got[K_L2SQ] = ks->l2sq(a, b, n);
	got[K_DOT] = ks->dot(a, b, n);
	got[K_L1] = ks->l1(a, b, n);
	cd = cna = cnb = -1.0f;
	ks->cosine_parts(a, b, n, &cd, &cna, &cnb);
	got[K_COS_DOT] = cd;
	got[K_COS_NORMA] = cna;
	got[K_COS_NORMB] = cnb;
	fault_armed = 0;

	for (int k = 0; k < K_COUNT; k++)
		check_value(ks->name, output_names[k], data_names[d],
					layout_names[l], d == D_INT, n, got[k], ref[k],
					sumabs[k], &worst_rel[cur_set]);
}

/* ---------------------------------------------------------------------
 * Half precision: conversions
 * ---------------------------------------------------------------------
 */

/*
 * Conversion checks are counted one per value; after CONV_PRINT_MAX failure
 * lines of one kind the rest are only counted, and one line says how many
 * were not printed.
 */
#define CONV_PRINT_MAX	20

typedef enum
{
	C_H2F_REF,					/* OmenHalfToFloat vs exact reference */
	C_H2F_HW,					/* OmenHalfToFloat vs F16C */
	C_ROUNDTRIP,				/* half -> float -> half */
	C_F2H_FIXED,				/* OmenFloatToHalf vs hand-checked values */
	C_F2H_REF,					/* OmenFloatToHalf vs reference */
	C_F2H_HW,					/* OmenFloatToHalf vs F16C */
	C_COUNT
} ConvCheck;

static const char *const conv_names[C_COUNT] = {
	"half->float (reference)", "half->float (f16c)",
	"half->float->half round trip", "float->half (fixed cases)",
	"float->half (reference)", "float->half (f16c)"
};

static long conv_failed[C_COUNT];

/*
 * Exact value of the non-negative half bit patterns 0 .. 0x7C00, computed
 * with ldexp (not with the bit manipulation under test).  0x7C00 (+Inf) is
 * given the value 2^16 that its pattern would have if the exponent range
 * went on: that is what round to nearest compares against, so that values
 * from 65520 = (65504 + 65536) / 2 up round to Inf.
 */
static double half_value[0x7C01];

static void
init_half_values(void)
{
	for (int h = 0; h <= 0x7C00; h++)
	{
		int			e = h >> 10;
		int			m = h & 0x3FF;

		half_value[h] = (e == 0) ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
	}
}

static int
half_is_nan(OmenHalf h)
{
	return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
}

static uint32_t
float_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float
bits_float(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* reference widening; NaN patterns give some NaN */
static float
ref_half_to_float(OmenHalf h)
{
	double		v;

	if ((h & 0x7C00) == 0x7C00)
		v = (h & 0x3FF) ? NAN : INFINITY;
	else
		v = half_value[h & 0x7FFF];
	return (float) ((h & 0x8000) ? -v : v);
}

/*
 * Reference narrowing, round to nearest even: binary search for the largest
 * half not above |f|, then compare |f| with the midpoint to the next one
 * (exact in double).  Any NaN gives 0x7E00; callers only check NaN-ness.
 */
static OmenHalf
ref_float_to_half(float f)
{
	OmenHalf	sign = signbit(f) ? 0x8000 : 0;
	double		x = fabs((double) f);
	int			lo = 0,
				hi = 0x7C00;
	double		mid;

	if (isnan(f))
		return 0x7E00;
	if (x >= half_value[0x7C00])
		return sign | 0x7C00;
	while (lo < hi)
	{
		int			m = (lo + hi + 1) / 2;

		if (half_value[m] <= x)
			lo = m;
		else
			hi = m - 1;
	}
	mid = (half_value[lo] + half_value[lo + 1]) / 2.0;
	if (x > mid || (x == mid && (lo & 1)))
		lo++;
	return sign | (OmenHalf) lo;
}

/* record one conversion check */
static void
conv_report(ConvCheck c, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
conv_report(ConvCheck c, int ok, const char *fmt, ...)
{
	va_list		ap;

	if (ok)
	{
		npassed++;
		return;
	}
	nfailed++;
	if (++conv_failed[c] > CONV_PRINT_MAX)
		return;
	printf("FAIL: %s: ", conv_names[c]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_F16C_TEST 1

/* hardware conversions (VCVTPS2PH / VCVTPH2PS), round to nearest even */
__attribute__((target("f16c")))
static OmenHalf
hw_float_to_half(float f)
{
	return (OmenHalf) _cvtss_sh(f, 0);
}

__attribute__((target("f16c")))
static float
hw_half_to_float(OmenHalf h)
{
	return _cvtsh_ss(h);
}

/* F16C present and usable (it is VEX-encoded, so the OS must enable AVX) */
static int
cpu_has_f16c(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx"))
		return 0;
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return 0;
	return (ecx & bit_F16C) != 0;
}
#endif

static int	have_f16c = 0;

/* check the narrowing of one float against the reference and the hardware */
static void
check_narrow(float f)
{
	OmenHalf	got = OmenFloatToHalf(f);
	OmenHalf	ref = ref_float_to_half(f);

	if (isnan(f))
		conv_report(C_F2H_REF, half_is_nan(got),
					"0x%08x (NaN): got 0x%04x, expected a NaN",
					float_bits(f), got);
	else
		conv_report(C_F2H_REF, got == ref,
					"0x%08x (%.9g): got 0x%04x, expected 0x%04x",
					float_bits(f), f, got, ref);
#ifdef HAVE_F16C_TEST
	if (have_f16c)
	{
		OmenHalf	hw = hw_float_to_half(f);

		conv_report(C_F2H_HW, isnan(f) ? half_is_nan(got) : got == hw,
					"0x%08x (%.9g): got 0x%04x, F16C gives 0x%04x",
					float_bits(f), f, got, hw);
	}
#endif
}

/* uniformly random float with biased exponent in [emin, emax], any sign */
static float
rng_float_exp(int emin, int emax)
{
	uint64_t	r = rng_next();
	uint32_t	e = (uint32_t) (emin + (int) ((r >> 32) % (uint64_t) (emax - emin + 1)));

	return bits_float((uint32_t) (r & 0x807FFFFF) | (e << 23));
}

/* all the conversion checks */
static void
test_conversions(void)
{
	static const struct
	{
		float		f;
		OmenHalf	h;
	}			fixed[] = {
		{0.0f, 0x0000},
		{-0.0f, 0x8000},
		{1.0f, 0x3C00},
		{-2.0f, 0xC000},
		{0.1f, 0x2E66},
		{1.0f / 3.0f, 0x3555},
		{65504.0f, 0x7BFF},
		{65519.99609375f, 0x7BFF},	/* just below the midpoint to 2^16 */
		{65520.0f, 0x7C00},		/* midpoint, odd below: up to Inf */
		{-65520.0f, 0xFC00},
		{65536.0f, 0x7C00},
		{1e5f, 0x7C00},
		{FLT_MAX, 0x7C00},
		{-FLT_MAX, 0xFC00},
		{INFINITY, 0x7C00},
		{-INFINITY, 0xFC00},
		{0x1p-14f, 0x0400},		/* smallest normal */
		{0x1.ff8p-15f, 0x03FF},	/* largest subnormal */
		{0x1.ffcp-15f, 0x0400},	/* midpoint 0x3FF/0x400: to even, normal */
		{0x1.ffbffep-15f, 0x03FF},	/* just below that midpoint */
		{0x1p-24f, 0x0001},		/* smallest subnormal */
		{0x1p-25f, 0x0000},		/* midpoint 0/0x1: to even, zero */
		{-0x1p-25f, 0x8000},
		{0x1.000002p-25f, 0x0001},	/* just above: up */
		{0x1.8p-24f, 0x0002},	/* midpoint 0x1/0x2: to even */
		{0x1.4p-23f, 0x0002},	/* midpoint 0x2/0x3: to even */
		{0x1p-26f, 0x0000},
		{FLT_MIN, 0x0000},
		{-FLT_MIN, 0x8000},
		{0x1p-149f, 0x0000},	/* smallest float subnormal */
		{1.0f + 0x1p-11f, 0x3C00},	/* midpoint 0x3C00/0x3C01: even below */
		{1.0f + 0x3p-11f, 0x3C02},	/* midpoint 0x3C01/0x3C02: even above */
		{0x1.002002p+0f, 0x3C01},	/* above the midpoint */
		{2047.0f, 0x67FF},
		{2049.0f, 0x6800},		/* midpoint 2048/2050: to even 2048 */
		{2051.0f, 0x6802},		/* midpoint 2050/2052: to even 2052 */
	};
	int			nfixed = (int) (sizeof(fixed) / sizeof(fixed[0]));
	static const uint32_t low_patterns[] = {
		0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF
	};
	int			npatterns = (int) (sizeof(low_patterns) / sizeof(low_patterns[0]));

#ifdef HAVE_F16C_TEST
	have_f16c = cpu_has_f16c();
#endif
	printf("half conversions compared with F16C: %s\n",
		   have_f16c ? "yes" : "no (CPU lacks it)");

	/* the reference itself, on the hand-checked cases */
	for (int i = 0; i < nfixed; i++)
	{
		OmenHalf	ref = ref_float_to_half(fixed[i].f);
		OmenHalf	got = OmenFloatToHalf(fixed[i].f);

		if (ref != fixed[i].h)
		{
			printf("test bug: reference float->half of %a gives 0x%04x, "
				   "expected 0x%04x\n", fixed[i].f, ref, fixed[i].h);
			exit(2);
		}
		conv_report(C_F2H_FIXED, got == fixed[i].h,
					"%a: got 0x%04x, expected 0x%04x",
					fixed[i].f, got, fixed[i].h);
	}

	/* every half: widening against the reference and F16C, round trip */
	for (uint32_t u = 0; u <= 0xFFFF; u++)
	{
		OmenHalf	h = (OmenHalf) u;
		float		got = OmenHalfToFloat(h);
		float		ref = ref_half_to_float(h);
		OmenHalf	back = OmenFloatToHalf(got);

		if (half_is_nan(h))
		{
			conv_report(C_H2F_REF, isnan(got),
						"0x%04x (NaN): got 0x%08x, expected a NaN",
						h, float_bits(got));
			conv_report(C_ROUNDTRIP, half_is_nan(back),
						"0x%04x (NaN) -> 0x%08x -> 0x%04x, expected a NaN",
						h, float_bits(got), back);
		}
		else
		{
			conv_report(C_H2F_REF, float_bits(got) == float_bits(ref),
						"0x%04x: got 0x%08x (%.9g), expected 0x%08x (%.9g)",
						h, float_bits(got), got, float_bits(ref), ref);
			conv_report(C_ROUNDTRIP, back == h,
						"0x%04x -> 0x%08x (%.9g) -> 0x%04x",
						h, float_bits(got), got, back);
		}
#ifdef HAVE_F16C_TEST
		if (have_f16c)
		{
			float		hw = hw_half_to_float(h);

			conv_report(C_H2F_HW, half_is_nan(h) ? isnan(got) :
						float_bits(got) == float_bits(hw),
						"0x%04x: got 0x%08x, F16C gives 0x%08x",
						h, float_bits(got), float_bits(hw));
		}
#endif
	}

	/*
	 * Each finite half, the midpoint to the next one up (for 0x7BFF that
	 * is 65520, the overflow threshold) and the floats right next to both,
	 * with either sign.  Halves have 11 significant bits, so the midpoints
	 * are exact in float.
	 */
	for (int h = 0; h < 0x7C00; h++)
	{
		float		pts[2];

		pts[0] = (float) half_value[h];
		pts[1] = (float) ((half_value[h] + half_value[h + 1]) / 2.0);
		for (int p = 0; p < 2; p++)
		{
			float		x[3];

			x[0] = pts[p];
			x[1] = nextafterf(pts[p], 0.0f);
			x[2] = nextafterf(pts[p], INFINITY);
			for (int i = 0; i < 3; i++)
			{
				check_narrow(x[i]);
				check_narrow(-x[i]);
			}
		}
	}

	/*
	 * Every sign, exponent and top 10 mantissa bits of a float (the bits a
	 * normal half keeps) with the low 13 bits just below, at and above the
	 * rounding point, and random: covers NaN, Inf, overflow, float
	 * subnormals and underflow as well.
	 */
	for (uint32_t top = 0; top < (UINT32_C(1) << 19); top++)
	{
		for (int p = 0; p < npatterns; p++)
			check_narrow(bits_float((top << 13) | low_patterns[p]));
		check_narrow(bits_float((top << 13) | (uint32_t) (rng_next() & 0x1FFF)));
	}

	/*
	 * Random floats: exponents from below half underflow (2^-26) through
	 * the subnormal halves up to beyond overflow (2^17), and fully random
	 * bit patterns.
	 */
	for (int i = 0; i < 2000000; i++)
		check_narrow(rng_float_exp(127 - 26, 127 + 17));
	for (int i = 0; i < 1000000; i++)
		check_narrow(rng_float_exp(127 - 25, 127 - 14));
	for (int i = 0; i < 500000; i++)
		check_narrow(bits_float((uint32_t) (rng_next() >> 32)));

	for (int c = 0; c < C_COUNT; c++)
		if (conv_failed[c] > CONV_PRINT_MAX)
			printf("FAIL: %s: %ld further failures not printed\n",
				   conv_names[c], conv_failed[c] - CONV_PRINT_MAX);
}

/* ---------------------------------------------------------------------
 * Half precision: kernels
 * ---------------------------------------------------------------------
 */

/* outputs of a half kernel set */
typedef enum
{
	HK_L2SQ,
	HK_DOT,
	HK_L1,
	HK_COUNT
} HalfKernelOutput;

static const char *const half_output_names[HK_COUNT] = {
	"half.l2sq", "half.dot", "half.l1"
};

/* kinds of input data for the half kernels */
typedef enum
{
	HD_UNIT,					/* a, b uniform in [-1, 1] */
	HD_LARGE,					/* a, b uniform in [-1e4, 1e4] */
	HD_MIXED,					/* a as D_MIXED; b [-1, 1] times 2^k, k in
								 * [-24, 15]: half subnormals to near max */
	HD_INT,						/* integers in [-4, 4]: sums must be exact */
	HD_HALFBITS,				/* a and b random finite half bit patterns */
	HD_COUNT
} HalfDataKind;

static const char *const half_data_names[HD_COUNT] = {
	"unit", "large", "mixed", "int", "halfbits"
};

static double worst_rel_half[3];

/* a random finite half bit pattern (any sign, zero, subnormal, normal) */
static OmenHalf
rng_finite_half(void)
{
	for (;;)
	{
		OmenHalf	h = (OmenHalf) (rng_next() >> 48);

		if ((h & 0x7C00) != 0x7C00)
			return h;
	}
}

/* fill the float vector a and the half vector b with data of a kind */
static void
fill_half_pair(float *a, OmenHalf *b, int n, HalfDataKind kind)
{
	switch (kind)
	{
		case HD_UNIT:
			fill(a, n, D_UNIT);
			for (int i = 0; i < n; i++)
				b[i] = OmenFloatToHalf((float) rng_unit());
			break;
		case HD_LARGE:
			fill(a, n, D_LARGE);
			for (int i = 0; i < n; i++)
				b[i] = OmenFloatToHalf((float) (rng_unit() * 1e4));
			break;
		case HD_MIXED:
			fill(a, n, D_MIXED);
			for (int i = 0; i < n; i++)
				b[i] = OmenFloatToHalf((float) ldexp(rng_unit(),
													 (int) (rng_next() % 40) - 24));
			break;
		case HD_INT:
			fill(a, n, D_INT);
			for (int i = 0; i < n; i++)
				b[i] = OmenFloatToHalf((float) ((int) (rng_next() % 9) - 4));
			break;
		case HD_HALFBITS:
			for (int i = 0; i < n; i++)
			{
				a[i] = ref_half_to_float(rng_finite_half());
				b[i] = rng_finite_half();
			}
			break;
		default:
			abort();
	}
}

/*
 * Run every kernel of one half set on a[0..n-1], b[0..n-1] and check the
 * results against a double-precision reference computed from a and the
 * exactly widened b.
 */
static void
check_half_set(const OmenHalfKernels *ks, int setno, const float *a,
			   const OmenHalf *b, int n, HalfDataKind d, Layout l)
{
	double		ref[HK_COUNT] = {0};
	double		sumabs[HK_COUNT] = {0};
	float		got[HK_COUNT];
	char		setname[32];

	for (int i = 0; i < n; i++)
	{
		double		x = a[i];
		double		y = ref_half_to_float(b[i]);
		double		diff = x - y;

		ref[HK_L2SQ] += diff * diff;
		ref[HK_DOT] += x * y;
		ref[HK_L1] += fabs(diff);
		sumabs[HK_DOT] += fabs(x * y);
	}
	sumabs[HK_L2SQ] = ref[HK_L2SQ];
	sumabs[HK_L1] = ref[HK_L1];

	snprintf(setname, sizeof(setname), "half-%s", ks->name);

	fault_armed = 1;
	if (sigsetjmp(fault_jmp, 1) != 0)
	{
		nfailed++;
		printf("FAIL: set=%s data=%s layout=%s n=%d: memory fault "
			   "(read outside the input arrays)\n",
			   setname, half_data_names[d], layout_names[l], n);
		return;
	}
	got[HK_L2SQ] = ks->l2sq(a, b, n);
	got[HK_DOT] = ks->dot(a, b, n);
	got[HK_L1] = ks->l1(a, b, n);
	fault_armed = 0;

	for (int k = 0; k < HK_COUNT; k++)
		check_value(setname, half_output_names[k], half_data_names[d],
					layout_names[l], d == HD_INT, n, got[k], ref[k],
					sumabs[k], &worst_rel_half[setno]);
}

/* all half kernel checks; ga and gb are guarded buffers for MAX_N floats */
static void
test_half_kernels(const GuardedBuf *ga, const GuardedBuf *gb)
{
	const OmenHalfKernels *sets[3];
	int			nsets;
	float	   *srca,
			   *ala;
	OmenHalf   *srcb,
			   *alb;

	nsets = OmenHalfKernelsAvailable(sets);
	printf("half kernel sets tested:");
	for (int s = 0; s < nsets; s++)
		printf(" %s", sets[s]->name);
	printf("\n");

	/* OmenKernelsInit() (already called) must pick the best half set too */
	if (strcmp(omen_half_kernels.name, sets[nsets - 1]->name) == 0 &&
		omen_half_kernels.l2sq == sets[nsets - 1]->l2sq &&
		omen_half_kernels.dot == sets[nsets - 1]->dot &&
		omen_half_kernels.l1 == sets[nsets - 1]->l1)
		npassed++;
	else
	{
		nfailed++;
		printf("FAIL: OmenKernelsInit chose half kernels \"%s\", expected \"%s\"\n",
			   omen_half_kernels.name, sets[nsets - 1]->name);
	}

	srca = malloc(MAX_N * sizeof(float));
	srcb = malloc(MAX_N * sizeof(OmenHalf));
	ala = aligned_alloc(64, (MAX_N + 16) * sizeof(float));
	alb = aligned_alloc(64, (MAX_N + 32) * sizeof(OmenHalf));
	if (!srca || !srcb || !ala || !alb)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}

	for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
	{
		int			n = lengths[li];
		size_t		abytes = (size_t) n * sizeof(float);
		size_t		bbytes = (size_t) n * sizeof(OmenHalf);

		for (int d = 0; d < HD_COUNT; d++)
		{
			fill_half_pair(srca, srcb, n, (HalfDataKind) d);

			for (int l = 0; l < L_COUNT; l++)
			{
				float	   *a;
				OmenHalf   *b;

				switch ((Layout) l)
				{
					case L_ALIGNED:
						a = ala;
						b = alb;
						break;
					case L_OFFSET_A:
						a = ala + 1;
						b = alb;
						break;
					case L_OFFSET_BOTH:
						/* b 6 bytes past alignment: not even 4-aligned */
						a = ala + 1;
						b = alb + 3;
						break;
					case L_GUARD_END:
						a = (float *) (ga->end - abytes);
						b = (OmenHalf *) (gb->end - bbytes);
						break;
					case L_GUARD_START:
						a = (float *) ga->start;
						b = (OmenHalf *) gb->start;
						break;
					default:
						abort();
				}
				memcpy(a, srca, abytes);
				memcpy(b, srcb, bbytes);

				for (int s = 0; s < nsets; s++)
					check_half_set(sets[s], s, a, b, n, (HalfDataKind) d,
								   (Layout) l);
			}
		}
	}

	free(srca);
	free(srcb);
	free(ala);
	free(alb);

	for (int s = 0; s < nsets; s++)
		printf("half-%s: largest |error| / sum |terms| = %.3g\n",
			   sets[s]->name, worst_rel_half[s]);
}

/* ---------------------------------------------------------------------
 * SQ8: kernels and encoder
 * ---------------------------------------------------------------------
 */

static const char *const sq8_output_names[HK_COUNT] = {
	"sq8.l2sq", "sq8.dot", "sq8.l1"
};

/* kinds of input data for the SQ8 kernels */
typedef enum
{
	SD_UNIT,					/* a in [-1, 1]; min in [-1, 0], range in [0, 2] */
	SD_LARGE,					/* the same times 1e4 */
	SD_MIXED,					/* a as D_MIXED; min and range times 2^k, k
								 * in [-20, 20] per dimension */
	SD_INT_NEAR,				/* scale 1, min -128: x = code - 128; a = x
								 * + [-4, 4]: exact l2sq and l1 */
	SD_INT_SMALL,				/* scale 1, min -128, codes 124..132, so x
								 * and a in [-4, 4]: all exact */
	SD_ZERO_SCALE,				/* some dimensions with scale 0 (min = max) */
	SD_COUNT
} Sq8DataKind;

static const char *const sq8_data_names[SD_COUNT] = {
	"unit", "large", "mixed", "int-near", "int-small", "zero-scale"
};

static double worst_rel_sq8[3];

/* the value a code stands for, as the kernels must compute it */
static double
sq8_ref_value(OmenSq8 c, float min, float scale)
{
	return (double) fmaf((float) c, scale, min);
}

/*
 * Fill a, codes b and the per-dimension min and scale with data of a kind.
 * Codes are random bytes over the whole range 0..255 (a sign-extending
 * conversion would be caught).
 */
static void
fill_sq8(float *a, OmenSq8 *b, float *min, float *scale, int n,
		 Sq8DataKind kind)
{
	for (int i = 0; i < n; i++)
	{
		b[i] = (OmenSq8) (rng_next() >> 56);
		switch (kind)
		{
			case SD_UNIT:
			case SD_LARGE:
			case SD_ZERO_SCALE:
				{
					double		f = (kind == SD_LARGE) ? 1e4 : 1.0;

					min[i] = (float) (-f * (rng_unit() + 1.0) / 2.0);
					scale[i] = (float) (f * (rng_unit() + 1.0) / 255.0);
					a[i] = (float) (f * rng_unit());
					if (kind == SD_ZERO_SCALE && (rng_next() & 1))
					{
						scale[i] = 0.0f;
						b[i] = 0;
					}
					break;
				}
			case SD_MIXED:
				{
					int			k = (int) (rng_next() % 41) - 20;

					min[i] = (float) ldexp(-(rng_unit() + 1.0) / 2.0, k);
					scale[i] = (float) ldexp((rng_unit() + 1.0) / 255.0, k);
					a[i] = (float) ldexp(rng_unit(), (int) (rng_next() % 41) - 20);
					break;
				}
			case SD_INT_NEAR:
			case SD_INT_SMALL:
				min[i] = -128.0f;
				scale[i] = 1.0f;
				a[i] = (float) ((int) (rng_next() % 9) - 4);
				if (kind == SD_INT_NEAR)
					a[i] += (float) ((int) b[i] - 128);
				else
					b[i] = (OmenSq8) (124 + rng_next() % 9);
				break;
			default:
				abort();
		}
	}
}

/*
 * Run every kernel of one SQ8 set on a[0..n-1], b[0..n-1] and check the
 * results against a double-precision reference computed from a and the
 * reconstructed values; decode into decoded[0..n-1] (which ends right
 * before a guard page) must give exactly those values.
 */
static void
check_sq8_set(const OmenSq8Kernels *ks, int setno, const float *a,
			  const OmenSq8 *b, const float *min, const float *scale, int n,
			  Sq8DataKind d, Layout l, float *decoded)
{
	double		ref[HK_COUNT] = {0};
	double		sumabs[HK_COUNT] = {0};
	float		got[HK_COUNT];
	char		setname[32];
	int			isint = (d == SD_INT_NEAR || d == SD_INT_SMALL);
	int			bad;

	for (int i = 0; i < n; i++)
	{
		double		x = a[i];
		double		y = sq8_ref_value(b[i], min[i], scale[i]);
		double		diff = x - y;

		ref[HK_L2SQ] += diff * diff;
		ref[HK_DOT] += x * y;
		ref[HK_L1] += fabs(diff);
		sumabs[HK_DOT] += fabs(x * y);
	}
	sumabs[HK_L2SQ] = ref[HK_L2SQ];
	sumabs[HK_L1] = ref[HK_L1];

	snprintf(setname, sizeof(setname), "sq8-%s", ks->name);

	fault_armed = 1;
	if (sigsetjmp(fault_jmp, 1) != 0)
	{
		nfailed++;
		printf("FAIL: set=%s data=%s layout=%s n=%d: memory fault "
			   "(read outside the input arrays)\n",
			   setname, sq8_data_names[d], layout_names[l], n);
		return;
	}
	got[HK_L2SQ] = ks->l2sq(a, b, min, scale, n);
	got[HK_DOT] = ks->dot(a, b, min, scale, n);
	got[HK_L1] = ks->l1(a, b, min, scale, n);
	/* decode into the guarded buffer behind a: bit for bit the reference */
	ks->decode(b, min, scale, decoded, n);
	fault_armed = 0;

	bad = -1;
	for (int i = 0; i < n && bad < 0; i++)
		if ((double) decoded[i] != sq8_ref_value(b[i], min[i], scale[i]))
			bad = i;
	if (bad < 0)
		npassed++;
	else
	{
		nfailed++;
		printf("FAIL: set=%s kernel=sq8.decode data=%s layout=%s n=%d: "
			   "element %d is %.9g, expected %.9g\n",
			   setname, sq8_data_names[d], layout_names[l], n, bad,
			   decoded[bad], sq8_ref_value(b[bad], min[bad], scale[bad]));
	}

	for (int k = 0; k < HK_COUNT; k++)
		check_value(setname, sq8_output_names[k], sq8_data_names[d],
					layout_names[l], isint && sumabs[k] < 16777216.0, n,
					got[k], ref[k], sumabs[k], &worst_rel_sq8[setno]);
}

/*
 * The encoder: on random data within and beyond [min, min + 255 * scale]
 * every code must be the nearest one (within float rounding of the
 * division), clamped at the ends, and 0 where scale is 0.
 */
static void
test_sq8_encode(void)
{
	enum
	{
		NE = 4096
	};
	static float x[NE],
				min[NE],
				scale[NE];
	static OmenSq8 codes[NE];
	long		bad = 0;

	for (int i = 0; i < NE; i++)
	{
		int			k = (int) (rng_next() % 41) - 20;

		min[i] = (float) ldexp(rng_unit(), k);
		scale[i] = (i % 17 == 0) ? 0.0f : (float) ldexp((rng_unit() + 1.0) / 255.0, k);
		/* mostly inside the range, some below and above it */
		x[i] = (float) (min[i] + (rng_unit() * 0.6 + 0.5) * 255.0 * scale[i]);
		if (i % 5 == 0)
			x[i] = (float) (min[i] + ldexp(rng_unit(), k + 1));
	}
	x[1] = min[1];				/* the ends exactly */
	x[2] = (float) (min[2] + 255.0 * scale[2]);
	OmenSq8Encode(x, min, scale, codes, NE);
	for (int i = 0; i < NE; i++)
	{
		double		err = fabs(x[i] - sq8_ref_value(codes[i], min[i], scale[i]));
		int			ok = 1;

		if (scale[i] == 0.0f)
			ok = (codes[i] == 0);
		else
		{
			/* no other code is clearly closer */
			for (int c = 0; c < 256; c++)
				if (fabs(x[i] - sq8_ref_value((OmenSq8) c, min[i], scale[i])) <
					err - 1e-5 * scale[i])
				{
					ok = 0;
					break;
				}
		}
		if (ok)
			npassed++;
		else
		{
			nfailed++;
			if (++bad <= CONV_PRINT_MAX)
				printf("FAIL: sq8 encode x=%.9g min=%.9g scale=%.9g: code %d\n",
					   x[i], min[i], scale[i], codes[i]);
		}
	}
	if (OmenSq8Value(200, -128.0f, 1.0f) == 72.0f &&
		OmenSq8Value(255, 1.0f, 0.0f) == 1.0f)
		npassed++;
	else
	{
		nfailed++;
		printf("FAIL: OmenSq8Value\n");
	}
}

/*
 * all SQ8 checks; ga, gb and gdec are guarded buffers for MAX_N floats
 * (gdec receives decoded vectors)
 */
static void
test_sq8_kernels(const GuardedBuf *ga, const GuardedBuf *gb,
				 const GuardedBuf *gdec)
{
	const OmenSq8Kernels *sets[3];
	int			nsets;
	float	   *srca,
			   *ala,
			   *min,
			   *scale;
	OmenSq8    *srcb,
			   *alb;

	nsets = OmenSq8KernelsAvailable(sets);
	printf("sq8 kernel sets tested:");
	for (int s = 0; s < nsets; s++)
		printf(" %s", sets[s]->name);
	printf("\n");

	/* OmenSq8KernelsInit() must pick the best set */
	OmenSq8KernelsInit();
	if (strcmp(omen_sq8_kernels.name, sets[nsets - 1]->name) == 0 &&
		omen_sq8_kernels.l2sq == sets[nsets - 1]->l2sq &&
		omen_sq8_kernels.dot == sets[nsets - 1]->dot &&
		omen_sq8_kernels.l1 == sets[nsets - 1]->l1)
		npassed++;
	else
	{
		nfailed++;
		printf("FAIL: OmenSq8KernelsInit chose \"%s\", expected \"%s\"\n",
			   omen_sq8_kernels.name, sets[nsets - 1]->name);
	}

	test_sq8_encode();

	srca = malloc(MAX_N * sizeof(float));
	srcb = malloc(MAX_N * sizeof(OmenSq8));
	min = malloc(MAX_N * sizeof(float));
	scale = malloc(MAX_N * sizeof(float));
	ala = aligned_alloc(64, (MAX_N + 16) * sizeof(float));
	alb = aligned_alloc(64, MAX_N + 64);
	if (!srca || !srcb || !min || !scale || !ala || !alb)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}

	for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
	{
		int			n = lengths[li];
		size_t		abytes = (size_t) n * sizeof(float);
		size_t		bbytes = (size_t) n;

		for (int d = 0; d < SD_COUNT; d++)
		{
			fill_sq8(srca, srcb, min, scale, n, (Sq8DataKind) d);

			for (int l = 0; l < L_COUNT; l++)
			{
				float	   *a;
				OmenSq8    *b;

				switch ((Layout) l)
				{
					case L_ALIGNED:
						a = ala;
						b = alb;
						break;
					case L_OFFSET_A:
						a = ala + 1;
						b = alb;
						break;
					case L_OFFSET_BOTH:
						a = ala + 1;
						b = alb + 3;
						break;
					case L_GUARD_END:
						a = (float *) (ga->end - abytes);
						b = (OmenSq8 *) (gb->end - bbytes);
						break;
					case L_GUARD_START:
						a = (float *) ga->start;
						b = (OmenSq8 *) gb->start;
						break;
					default:
						abort();
				}
				memcpy(a, srca, abytes);
				memcpy(b, srcb, bbytes);

				for (int s = 0; s < nsets; s++)
					check_sq8_set(sets[s], s, a, b, min, scale, n,
								  (Sq8DataKind) d, (Layout) l,
								  (float *) (gdec->end - abytes));
			}
		}
	}

	free(srca);
	free(srcb);
	free(min);
	free(scale);
	free(ala);
	free(alb);

	for (int s = 0; s < nsets; s++)
		printf("sq8-%s: largest |error| / sum |terms| = %.3g\n",
			   sets[s]->name, worst_rel_sq8[s]);
}

/* entry point: run all checks and print the summary */
int
main(void)
{
	const OmenKernels *sets[3];
	int			nsets;
	GuardedBuf	ga,
				gb,
				gdec;
	float	   *srca,
			   *srcb;
	float	   *ala,
			   *alb;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fault_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	nsets = OmenKernelsAvailable(sets);
	printf("kernel sets tested:");
	for (int s = 0; s < nsets; s++)
		printf(" %s", sets[s]->name);
	printf("\n");

	/* OmenKernelsInit() must pick the best (last) set */
	OmenKernelsInit();
	if (strcmp(omen_kernels.name, sets[nsets - 1]->name) == 0 &&
		omen_kernels.l2sq == sets[nsets - 1]->l2sq)
		npassed++;
	else
	{
		nfailed++;
		printf("FAIL: OmenKernelsInit chose \"%s\", expected \"%s\"\n",
			   omen_kernels.name, sets[nsets - 1]->name);
	}

	srca = malloc(MAX_N * sizeof(float));
	srcb = malloc(MAX_N * sizeof(float));
	/* aligned buffers with room for a few floats of offset */
	ala = aligned_alloc(64, (MAX_N + 16) * sizeof(float));
	alb = aligned_alloc(64, (MAX_N + 16) * sizeof(float));
	if (!srca || !srcb || !ala || !alb)
	{
		fprintf(stderr, "out of memory\n");
		return 2;
	}
	guarded_alloc(&ga, MAX_N * sizeof(float));
	guarded_alloc(&gb, MAX_N * sizeof(float));

	for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
	{
		int			n = lengths[li];
		size_t		bytes = (size_t) n * sizeof(float);

		for (int d = 0; d < D_COUNT; d++)
		{
			fill(srca, n, (DataKind) d);
			fill(srcb, n, (DataKind) d);

			for (int l = 0; l < L_COUNT; l++)
			{
				float	   *a,
						   *b;

				switch ((Layout) l)
				{
					case L_ALIGNED:
						a = ala;
						b = alb;
						break;
					case L_OFFSET_A:
						a = ala + 1;
						b = alb;
						break;
					case L_OFFSET_BOTH:
						a = ala + 1;
						b = alb + 3;
						break;
					case L_GUARD_END:
						a = (float *) (ga.end - bytes);
						b = (float *) (gb.end - bytes);
						break;
					case L_GUARD_START:
						a = (float *) ga.start;
						b = (float *) gb.start;
						break;
					default:
						abort();
				}
				memcpy(a, srca, bytes);
				memcpy(b, srcb, bytes);

				for (int s = 0; s < nsets; s++)
				{
					cur_set = s;
					check_set(sets[s], a, b, n, (DataKind) d, (Layout) l);
				}
			}
		}
	}

	for (int s = 0; s < nsets; s++)
		printf("%s: largest |error| / sum |terms| = %.3g\n",
			   sets[s]->name, worst_rel[s]);

	init_half_values();
	test_half_kernels(&ga, &gb);
	guarded_alloc(&gdec, MAX_N * sizeof(float));
	test_sq8_kernels(&ga, &gb, &gdec);
	munmap(gdec.base, gdec.total);
	test_conversions();

	munmap(ga.base, ga.total);
	munmap(gb.base, gb.total);
	free(srca);
	free(srcb);
	free(ala);
	free(alb);

	printf("kernels: %d passed, %d failed\n", npassed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
