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
 * Prints one line per failure and finally "kernels: N passed, M failed";
 * exits non-zero if anything failed.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "distance.h"

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
report(int ok, const char *set, KernelOutput k, DataKind d, Layout l, int n,
	   double got, double ref, double tol)
{
	if (ok)
	{
		npassed++;
		return;
	}
	nfailed++;
	printf("FAIL: set=%s kernel=%s data=%s layout=%s n=%d: got %.9g, "
		   "reference %.9g, |error| %.3g > tolerance %.3g\n",
		   set, output_names[k], data_names[d], layout_names[l], n,
		   got, ref, fabs(got - ref), tol);
}

/* compare one kernel output with its reference */
static void
check_value(const char *set, KernelOutput k, DataKind d, Layout l, int n,
			float got, double ref, double sumabs)
{
	double		tol;
	int			ok;

	if (d == D_INT)
	{
		tol = 0.0;
		ok = ((double) got == ref);
	}
	else
	{
		tol = REL_TOL_PER_SQRT_N * (sqrt((double) n) + 1.0) * FLT_EPSILON *
			sumabs + ABS_TOL;
		if (sumabs > 0 && fabs((double) got - ref) / sumabs > worst_rel[cur_set])
			worst_rel[cur_set] = fabs((double) got - ref) / sumabs;
		ok = (fabs((double) got - ref) <= tol);
	}
	report(ok, set, k, d, l, n, got, ref, tol);
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
		check_value(ks->name, (KernelOutput) k, d, l, n, got[k], ref[k],
					sumabs[k]);
}

/* entry point: run all checks and print the summary */
int
main(void)
{
	const OmenKernels *sets[3];
	int			nsets;
	GuardedBuf	ga,
				gb;
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

	munmap(ga.base, ga.total);
	munmap(gb.base, gb.total);
	free(srca);
	free(srcb);
	free(ala);
	free(alb);

	for (int s = 0; s < nsets; s++)
		printf("%s: largest |error| / sum |terms| = %.3g\n",
			   sets[s]->name, worst_rel[s]);
	printf("kernels: %d passed, %d failed\n", npassed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
