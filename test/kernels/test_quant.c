/*
 * test_quant.c
 *		Stand-alone unit test of the RaBitQ-style quantiser (src/quant.c,
 *		no PostgreSQL).
 *
 * 1. Kernels: every kernel set the CPU runs.  code_dot (sum u_i x_i over
 *	  bit planes) against a double reference for every number of bits and
 *	  several pdims, exactly on integer data; fwht bit for bit against the
 *	  scalar version, which is checked against the definition of the
 *	  Hadamard matrix; grid_stats against a double reference.  Inputs are
 *	  placed at aligned and unaligned addresses and against PROT_NONE guard
 *	  pages (a read outside the arrays faults and is reported).
 * 2. Rotation: for several dimensions and seeds, P keeps norms and inner
 *	  products, Unrotate inverts Rotate (also in place), the same seed gives
 *	  the same block and output and another seed another output, and
 *	  vectors with all their mass in one coordinate (every basis vector, for
 *	  some dimensions) or in the middle of a "pixel image" come out spread:
 *	  max |coordinate| <= SPREAD_MAX / sqrt(pdim) * |v|.  A few rotated
 *	  coordinates are compared with values recorded once, so that a change
 *	  of the generator (which would break every stored index) is noticed.
 * 3. The code format (header identities against a double recomputation of
 *	  r and u read from the planes), and the estimator on Gaussian and on
 *	  clustered, non-centred "pixel" data for dims 128, 784, 3000, B = 1, 2,
 *	  4, 8 and the three metrics, centroid = mean of the data: the fraction
 *	  of estimates outside the reported bound (at most the stated
 *	  probability over all pairs, and within 3 binomial standard deviations
 *	  of it per set), the mean signed error (bias) and the mean |error|,
 *	  both relative to the mean |distance|; the error must fall as B grows.
 *	  DecodeRotated + Unrotate must give the vector back with an error
 *	  falling with B; PrepareRotatedQuery(P q) must equal PrepareQuery(q).
 *	  Unbiasedness is also checked over 300 rotations for one fixed pair.
 * 4. Edge cases: a vector equal to the centroid, the zero vector (also as
 *	  the query), dim 1, dim 16000 with B = 8, InitRotatedCentroid.
 * 5. Timings (printed only): ns per OmenQuantDistance at pdim 832 and 128
 *	  for every kernel set, ns per Encode and per PrepareQuery at dim 784.
 *
 * Prints one line per failure and finally "quant: N passed, M failed";
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
#include <time.h>
#include <unistd.h>

#include "quant.h"

/* the rotated coordinates may not exceed this many times |v| / sqrt(pdim) */
#define SPREAD_MAX	6.0

/* float tolerance of the rotation checks, relative */
#define ROT_TOL		2e-6

static int	npassed = 0;
static int	nfailed = 0;

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed = 0;

static uint64_t rng_state = UINT64_C(0x2545F4914F6CDD1D);

/* record a check; print the message if it failed */
static void
check(int ok, const char *what, double got, double limit)
{
	if (ok)
	{
		npassed++;
		return;
	}
	nfailed++;
	printf("FAIL: %s: %.9g (limit %.9g)\n", what, got, limit);
}

/* xorshift64*: small, fixed-seed pseudo-random numbers */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

/* uniform double in [0, 1) */
static double
rng_uniform(void)
{
	return (double) (rng_next() >> 11) / (double) (UINT64_C(1) << 53);
}

/* standard normal (Box-Muller) */
static double
rng_gauss(void)
{
	double		u = rng_uniform();
	double		v = rng_uniform();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* wall-clock nanoseconds */
static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* malloc that cannot fail (64-byte aligned) */
static void *
xalloc(size_t bytes)
{
	void	   *p = aligned_alloc(64, (bytes + 63) / 64 * 64);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* a quantiser in freshly allocated memory */
static OmenQuantizer *
new_quant(int dim, int bits, uint64_t seed, const float *centroid)
{
	OmenQuantizer *q = xalloc(OmenQuantSize(dim));

	OmenQuantInit(q, dim, bits, seed, centroid);
	return q;
}

/* double helpers */
static double
dot_d(const float *a, const float *b, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

static double
norm_d(const float *a, int n)
{
	return sqrt(dot_d(a, a, n));
}

/* largest |a[i]| */
static double
maxabs_d(const float *a, int n)
{
	double		m = 0.0;

	for (int i = 0; i < n; i++)
		if (fabs(a[i]) > m)
			m = fabs(a[i]);
	return m;
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
	char	   *base;
	size_t		total;
	char	   *start;			/* first usable byte */
	char	   *end;			/* one past the last usable byte */
} GuardedBuf;

/* map a guarded buffer with room for at least bytes bytes */
static void
guarded_alloc(GuardedBuf *g, size_t bytes)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		usable = (bytes + page - 1) / page * page;

	g->total = usable + 2 * page;
	g->base = mmap(NULL, g->total, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->base == MAP_FAILED ||
		mprotect(g->base, page, PROT_NONE) != 0 ||
		mprotect(g->base + page + usable, page, PROT_NONE) != 0)
	{
		perror("mmap");
		exit(2);
	}
	g->start = g->base + page;
	g->end = g->start + usable;
}

/*
 * A 28x28-like "pixel image" of dim values: zeros on a border, positive
 * values in the middle, about a third of the inner pixels lit.
 */
static void
fill_pixels(float *v, int dim)
{
	int			side = (int) ceil(sqrt((double) dim));
	int			border = side / 7;

	for (int i = 0; i < dim; i++)
	{
		int			r = i / side,
					c = i % side;
		int			inner = (r >= border && r < side - border &&
							 c >= border && c < side - border);

		v[i] = (inner && rng_uniform() < 0.35) ?
			(float) (128.0 + 127.0 * rng_uniform()) : 0.0f;
	}
}

/* ----------------------------------------------------------------
 * 1. Rotation
 * ----------------------------------------------------------------
 */

/*
 * Rotated coordinates recorded once (seed GOLDEN_SEED, input v[i] = (i % 7)
 * - 3 + 0.25 i / dim): they change only if the generator or the structure
 * of P changes.
 */
#define GOLDEN_SEED UINT64_C(0x0123456789ABCDEF)
typedef struct Golden
{
	int			dim;
	int			index[4];
	float		value[4];
} Golden;

static const Golden goldens[] = {
	{100, {0, 1, 77, 127}, {0.321289122f, 0.0634429753f, 0.518134832f, -0.753710568f}},
	{784, {0, 5, 400, 831}, {1.2121408f, 0.288206547f, -1.40348923f, -0.150577202f}},
	{3000, {0, 17, 2047, 3007}, {-0.0101067722f, -3.4823041f, 1.26747167f, 0.980164886f}},
	{16000, {0, 8191, 8192, 15999}, {-2.15366387f, 1.09262478f, -1.21155357f, -3.77612329f}},
};

/* the input of the golden check */
static void
golden_input(float *v, int dim)
{
	for (int i = 0; i < dim; i++)
		v[i] = (float) (i % 7) - 3.0f + 0.25f * (float) i / (float) dim;
}

static void
test_rotation(void)
{
	static const int dims[] = {1, 3, 64, 100, 128, 784, 1000, 2048, 3000, 16000};
	static const uint64_t seeds[] = {1, 42, UINT64_C(0xDEADBEEFCAFEF00D), 7777};
	int			maxp = (int) OmenQuantPaddedDim(OMEN_QUANT_MAX_DIM);
	float	   *a = xalloc(maxp * sizeof(float));
	float	   *b = xalloc(maxp * sizeof(float));
	float	   *pa = xalloc(maxp * sizeof(float));
	float	   *pb = xalloc(maxp * sizeof(float));
	float	   *back = xalloc(maxp * sizeof(float));
	float	   *scratch = xalloc(maxp * sizeof(float));
	double		worst_norm = 0,
				worst_dot = 0,
				worst_inv = 0,
				worst_spread = 0;
	char		what[200];

	for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
	{
		int			dim = dims[di];
		int			pdim = (int) OmenQuantPaddedDim(dim);

		for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++)
		{
			OmenQuantizer *q = new_quant(dim, 1, seeds[si], NULL);
			OmenQuantizer *q2 = new_quant(dim, 1, seeds[si], NULL);
			OmenQuantizer *q3 = new_quant(dim, 1, seeds[si] + 1, NULL);
			double		na,
						nb,
						e;

			check(OmenQuantDim(q) == dim && OmenQuantPdim(q) == pdim &&
				  pdim % 64 == 0 && pdim >= dim && pdim < dim + 64,
				  "rotation: pdim", pdim, dim);

			for (int i = 0; i < dim; i++)
			{
				a[i] = (float) rng_gauss();
				b[i] = (float) (rng_gauss() + 0.5 * a[i]);
			}
			OmenQuantRotate(q, a, pa);
			OmenQuantRotate(q, b, pb);
			na = norm_d(a, dim);
			nb = norm_d(b, dim);

			/* norms and inner products */
			e = fabs(norm_d(pa, pdim) - na) / na;
			if (e > worst_norm)
				worst_norm = e;
			snprintf(what, sizeof(what), "rotation dim %d seed %d: | |Pa| - |a| | / |a|", dim, (int) si);
			check(e <= ROT_TOL, what, e, ROT_TOL);
			e = fabs(dot_d(pa, pb, pdim) - dot_d(a, b, dim)) / (na * nb);
			if (e > worst_dot)
				worst_dot = e;
			snprintf(what, sizeof(what), "rotation dim %d seed %d: |<Pa,Pb> - <a,b>| / |a||b|", dim, (int) si);
			check(e <= ROT_TOL, what, e, ROT_TOL);

			/* the inverse */
			OmenQuantUnrotate(q, pa, back, scratch);
			e = 0;
			for (int i = 0; i < dim; i++)
				e += ((double) back[i] - a[i]) * ((double) back[i] - a[i]);
			e = sqrt(e) / na;
			if (e > worst_inv)
				worst_inv = e;
			snprintf(what, sizeof(what), "rotation dim %d seed %d: |P^T P a - a| / |a|", dim, (int) si);
			check(e <= ROT_TOL, what, e, ROT_TOL);

			/* in place */
			memcpy(back, a, dim * sizeof(float));
			OmenQuantRotate(q, back, back);
			snprintf(what, sizeof(what), "rotation dim %d seed %d: in-place Rotate differs", dim, (int) si);
			check(memcmp(back, pa, pdim * sizeof(float)) == 0, what, 1, 0);
			OmenQuantUnrotate(q, back, back, back);
			e = 0;
			for (int i = 0; i < dim; i++)
				e += ((double) back[i] - a[i]) * ((double) back[i] - a[i]);
			snprintf(what, sizeof(what), "rotation dim %d seed %d: in-place Unrotate", dim, (int) si);
			check(sqrt(e) / na <= ROT_TOL, what, sqrt(e) / na, ROT_TOL);

			/* determinism */
			snprintf(what, sizeof(what), "rotation dim %d seed %d: same seed, different block", dim, (int) si);
			check(memcmp(q, q2, OmenQuantSize(dim)) == 0, what, 1, 0);
			OmenQuantRotate(q2, a, back);
			snprintf(what, sizeof(what), "rotation dim %d seed %d: same seed, different output", dim, (int) si);
			check(memcmp(back, pa, pdim * sizeof(float)) == 0, what, 1, 0);
			OmenQuantRotate(q3, a, back);
			snprintf(what, sizeof(what), "rotation dim %d seed %d: seed + 1 gives the same output", dim, (int) si);
			check(memcmp(back, pa, pdim * sizeof(float)) != 0, what, 0, 1);

			/* spreading: e_0, e_{dim-1}, a pixel image */
			for (int kind = 0; kind < 3; kind++)
			{
				double		s;

				memset(a, 0, dim * sizeof(float));
				if (kind == 0)
					a[0] = 1.0f;
				else if (kind == 1)
					a[dim - 1] = -2.5f;
				else
				{
					fill_pixels(a, dim);
					if (norm_d(a, dim) == 0)
						a[0] = 1.0f;
				}
				OmenQuantRotate(q, a, pa);
				s = maxabs_d(pa, pdim) * sqrt((double) pdim) / norm_d(a, dim);
				if (s > worst_spread)
					worst_spread = s;
				snprintf(what, sizeof(what), "rotation dim %d seed %d: spread of %s, max|Pv| sqrt(pdim)/|v|",
						 dim, (int) si, kind == 2 ? "pixels" : "basis vector");
				check(s <= SPREAD_MAX, what, s, SPREAD_MAX);
			}
			free(q);
			free(q2);
			free(q3);
		}
	}
	printf("rotation: worst relative error: norm %.2g, inner product %.2g, inverse %.2g\n",
		   worst_norm, worst_dot, worst_inv);
	printf("rotation: worst max|Pv| sqrt(pdim)/|v| over e_0, e_dim-1, pixels: %.2f\n",
		   worst_spread);

	/* every basis vector, for dimensions where pdim is not a power of two */
	{
		static const int bdims[] = {100, 784, 1000, 3000, 16000};

		for (size_t di = 0; di < sizeof(bdims) / sizeof(bdims[0]); di++)
		{
			int			dim = bdims[di];
			int			pdim = (int) OmenQuantPaddedDim(dim);
			OmenQuantizer *q = new_quant(dim, 1, 42, NULL);
			double		worst = 0,
						mean = 0;

			int			step = dim > 3000 ? 37 : 1;
			int			count = 0;

			for (int k = 0; k < dim; k += step)
			{
				double		s;

				count++;
				memset(a, 0, dim * sizeof(float));
				a[k] = 1.0f;
				OmenQuantRotate(q, a, pa);
				s = maxabs_d(pa, pdim) * sqrt((double) pdim);
				mean += s;
				if (s > worst)
					worst = s;
			}
			printf("rotation: dim %d (pdim %d): max|P e_k| sqrt(pdim) over %s k: worst %.2f, mean %.2f\n",
				   dim, pdim, step > 1 ? "every 37th" : "all", worst, mean / count);
			snprintf(what, sizeof(what), "rotation dim %d: spread of every basis vector", dim);
			check(worst <= SPREAD_MAX, what, worst, SPREAD_MAX);
			free(q);
		}
	}

	/* recorded values */
	for (size_t g = 0; g < sizeof(goldens) / sizeof(goldens[0]); g++)
	{
		const Golden *gd = &goldens[g];
		OmenQuantizer *q = new_quant(gd->dim, 1, GOLDEN_SEED, NULL);

		golden_input(a, gd->dim);
		OmenQuantRotate(q, a, pa);
		if (getenv("QUANT_PRINT_GOLDEN"))
			printf("\t{%d, {%d, %d, %d, %d}, {%.9gf, %.9gf, %.9gf, %.9gf}},\n",
				   gd->dim, gd->index[0], gd->index[1], gd->index[2], gd->index[3],
				   pa[gd->index[0]], pa[gd->index[1]], pa[gd->index[2]], pa[gd->index[3]]);
		for (int k = 0; k < 4; k++)
		{
			double		got = pa[gd->index[k]];

			snprintf(what, sizeof(what), "rotation dim %d: recorded value of coordinate %d changed",
					 gd->dim, gd->index[k]);
			check(fabs(got - gd->value[k]) <= 1e-5 * (1.0 + fabs(gd->value[k])), what,
				  got, gd->value[k]);
		}
		free(q);
	}

	free(a);
	free(b);
	free(pa);
	free(pb);
	free(back);
	free(scratch);
}

/* ----------------------------------------------------------------
 * 2. Kernels
 * ----------------------------------------------------------------
 */

/* grid value u_i from bit planes, as the format defines it */
static int
code_u(const uint8_t *planes, int pdim, int bits, int i)
{
	int			u = 0;

	for (int b = 0; b < bits; b++)
		u |= ((planes[(size_t) b * (pdim / 8) + i / 8] >> (i % 8)) & 1) << b;
	return u;
}

/* code_dot under the fault handler; 0 if it read outside its inputs */
static int
call_code_dot(const OmenQuantKernels *ks, const float *x, const uint8_t *p,
			  int pdim, int bits, float *out)
{
	fault_armed = 1;
	if (sigsetjmp(fault_jmp, 1) != 0)
		return 0;
	*out = ks->code_dot(x, p, pdim, bits);
	fault_armed = 0;
	return 1;
}

/* fwht under the fault handler */
static int
call_fwht(const OmenQuantKernels *ks, float *x, int n)
{
	fault_armed = 1;
	if (sigsetjmp(fault_jmp, 1) != 0)
		return 0;
	ks->fwht(x, n, (float) (1.0 / sqrt((double) n)));
	fault_armed = 0;
	return 1;
}

/* grid_stats under the fault handler */
static int
call_grid_stats(const OmenQuantKernels *ks, const float *a, int n, float inv,
				float kmax, float *dot, float *un)
{
	fault_armed = 1;
	if (sigsetjmp(fault_jmp, 1) != 0)
		return 0;
	ks->grid_stats(a, n, inv, kmax, dot, un);
	fault_armed = 0;
	return 1;
}

static const char *const layouts[] = {"aligned", "unaligned", "guard-end", "guard-start"};

/* where layout l puts an input of bytes bytes (align: the aligned buffer) */
static char *
place(int l, char *align, const GuardedBuf *g, size_t bytes, size_t offset)
{
	switch (l)
	{
		case 0:
			return align;
		case 1:
			return align + offset;
		case 2:
			return g->end - bytes;
		default:
			return g->start;
	}
}

/* the code_dot kernels against a double reference */
static void
test_code_dot(const OmenQuantKernels **sets, int nsets, GuardedBuf *gx,
			  GuardedBuf *gp)
{
	static const int pdims[] = {64, 128, 192, 832, 1024, 3008, 16000};
	static const int bitss[] = {1, 2, 4, 8};
	int			maxp = 16000;
	float	   *srcx = xalloc(maxp * sizeof(float));
	uint8_t    *srcp = xalloc(maxp);
	char	   *alx = xalloc((maxp + 16) * sizeof(float));
	char	   *alp = xalloc(maxp + 64);
	double		worst[3] = {0, 0, 0};
	char		what[200];

	for (size_t pi = 0; pi < sizeof(pdims) / sizeof(pdims[0]); pi++)
	{
		int			pdim = pdims[pi];

		for (size_t bi = 0; bi < sizeof(bitss) / sizeof(bitss[0]); bi++)
		{
			int			bits = bitss[bi];
			size_t		pbytes = (size_t) bits * pdim / 8;

			for (int integer = 0; integer < 2; integer++)
			{
				double		ref = 0,
							sumabs = 0;

				for (int i = 0; i < pdim; i++)
					srcx[i] = integer ? (float) ((int) (rng_next() % 5) - 2) :
						(float) rng_gauss();
				for (size_t k = 0; k < pbytes; k++)
					srcp[k] = (uint8_t) rng_next();
				/* an all-one and an all-zero byte */
				srcp[0] = 0xFF;
				srcp[pbytes - 1] = 0;
				for (int i = 0; i < pdim; i++)
				{
					double		t = (double) code_u(srcp, pdim, bits, i) * srcx[i];

					ref += t;
					sumabs += fabs(t);
				}

				for (int l = 0; l < 4; l++)
				{
					float	   *x = (float *) place(l, alx, gx, pdim * sizeof(float), sizeof(float));
					uint8_t    *p = (uint8_t *) place(l, alp, gp, pbytes, 3);

					memcpy(x, srcx, pdim * sizeof(float));
					memcpy(p, srcp, pbytes);
					for (int s = 0; s < nsets; s++)
					{
						float		got = 0;
						double		err,
									tol;

						snprintf(what, sizeof(what), "code_dot %s pdim %d bits %d %s data layout %s",
								 sets[s]->name, pdim, bits, integer ? "integer" : "gaussian", layouts[l]);
						if (!call_code_dot(sets[s], x, p, pdim, bits, &got))
						{
							check(0, strcat(what, ": memory fault"), 1, 0);
							continue;
						}
						err = fabs((double) got - ref);
						if (integer)
							tol = 0;
						else
						{
							tol = 4.0 * (sqrt((double) pdim) + 1.0) * FLT_EPSILON * sumabs;
							if (sumabs > 0 && err / sumabs > worst[s])
								worst[s] = err / sumabs;
						}
						check(err <= tol, strcat(what, ": |error|"), err, tol);
					}
				}
			}
		}
	}
	for (int s = 0; s < nsets; s++)
		printf("code_dot %s: largest |error| / sum |u_i x_i| = %.3g\n",
			   sets[s]->name, worst[s]);
	free(srcx);
	free(srcp);
	free(alx);
	free(alp);
}

/*
 * The Walsh-Hadamard kernels: the scalar one against the definition
 * (H_ij = (-1)^popcount(i & j) / sqrt(n), in double) for n <= 1024 and
 * against norm preservation and involution for larger n; every other
 * version bit for bit against the scalar one.
 */
static void
test_fwht(const OmenQuantKernels **sets, int nsets, GuardedBuf *gx)
{
	int			maxn = 8192;
	float	   *src = xalloc(maxn * sizeof(float));
	float	   *ref = xalloc(maxn * sizeof(float));
	char	   *al = xalloc((maxn + 16) * sizeof(float));
	char		what[200];

	for (int n = 64; n <= maxn; n *= 2)
	{
		double		norm = 0,
					e = 0;

		for (int i = 0; i < n; i++)
		{
			src[i] = (float) rng_gauss();
			norm += (double) src[i] * src[i];
		}
		memcpy(ref, src, n * sizeof(float));
		sets[0]->fwht(ref, n, (float) (1.0 / sqrt((double) n)));
		if (n <= 1024)
		{
			for (int i = 0; i < n; i++)
			{
				double		s = 0;

				for (int j = 0; j < n; j++)
					s += (__builtin_popcount((unsigned) (i & j)) & 1) ? -src[j] : src[j];
				s /= sqrt((double) n);
				e = fmax(e, fabs(s - ref[i]));
			}
			snprintf(what, sizeof(what), "fwht scalar n %d: max |error| against the definition", n);
			check(e <= 1e-5 * sqrt(norm), what, e, 1e-5 * sqrt(norm));
		}
		else
		{
			double		n2 = 0;

			for (int i = 0; i < n; i++)
				n2 += (double) ref[i] * ref[i];
			snprintf(what, sizeof(what), "fwht scalar n %d: | |Hx|^2 - |x|^2 | / |x|^2", n);
			check(fabs(n2 - norm) <= 1e-5 * norm, what, fabs(n2 - norm) / norm, 1e-5);
			memcpy(al, ref, n * sizeof(float));
			sets[0]->fwht((float *) al, n, (float) (1.0 / sqrt((double) n)));
			for (int i = 0; i < n; i++)
				e = fmax(e, fabs((double) ((float *) al)[i] - src[i]));
			snprintf(what, sizeof(what), "fwht scalar n %d: max |HHx - x|", n);
			check(e <= 1e-5 * sqrt(norm), what, e, 1e-5 * sqrt(norm));
		}
		for (int s = 1; s < nsets; s++)
		{
			for (int l = 0; l < 4; l++)
			{
				float	   *x = (float *) place(l, al, gx, n * sizeof(float), sizeof(float));

				memcpy(x, src, n * sizeof(float));
				snprintf(what, sizeof(what), "fwht %s n %d layout %s", sets[s]->name, n, layouts[l]);
				if (!call_fwht(sets[s], x, n))
					check(0, strcat(what, ": memory fault"), 1, 0);
				else
					check(memcmp(x, ref, n * sizeof(float)) == 0,
						  strcat(what, ": differs from scalar"), 1, 0);
			}
		}
	}
	free(src);
	free(ref);
	free(al);
}

/* The grid sums of every set against a double reference */
static void
test_grid_stats(const OmenQuantKernels **sets, int nsets, GuardedBuf *gx)
{
	static const int ns[] = {64, 128, 832, 3008, 16000};
	int			maxn = 16000;
	float	   *src = xalloc(maxn * sizeof(float));
	char	   *al = xalloc((maxn + 16) * sizeof(float));
	char		what[200];

	for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
	{
		int			n = ns[ni];

		for (int bits = 1; bits <= 8; bits *= 2)
		{
			float		kmax = (float) ((1 << (bits - 1)) - 1);
			float		maxa = 0;
			float		inv;
			double		dref = 0,
						sref = 0;

			for (int i = 0; i < n; i++)
			{
				src[i] = (float) fabs(rng_gauss());
				if (src[i] > maxa)
					maxa = src[i];
			}
			src[n / 2] = 0.0f;
			inv = (float) ((kmax + 0.5) / (0.6 * maxa));
			for (int i = 0; i < n; i++)
			{
				float		k = src[i] * inv;
				double		v;

				k = k < kmax ? k : kmax;
				v = floor(k) + 0.5;
				dref += v * src[i];
				sref += v * v;
			}
			for (int s = 0; s < nsets; s++)
			{
				for (int l = 0; l < 4; l++)
				{
					float	   *a = (float *) place(l, al, gx, n * sizeof(float), sizeof(float));
					float		d = 0,
								u = 0;
					double		tol;

					memcpy(a, src, n * sizeof(float));
					snprintf(what, sizeof(what), "grid_stats %s n %d bits %d layout %s",
							 sets[s]->name, n, bits, layouts[l]);
					if (!call_grid_stats(sets[s], a, n, inv, kmax, &d, &u))
					{
						check(0, strcat(what, ": memory fault"), 1, 0);
						continue;
					}
					tol = 4.0 * (sqrt((double) n) + 1.0) * FLT_EPSILON;
					check(fabs(d - dref) <= tol * dref && fabs(u - sref) <= tol * sref,
						  strcat(what, ": relative error of dot"), fabs(d - dref) / dref, tol);
				}
			}
		}
	}
	free(src);
	free(al);
}

static void
test_kernels(void)
{
	const OmenQuantKernels *sets[3];
	int			nsets = OmenQuantKernelsAvailable(sets);
	GuardedBuf	gx,
				gp;

	printf("quant kernel sets tested:");
	for (int s = 0; s < nsets; s++)
		printf(" %s", sets[s]->name);
	printf("\n");

	OmenQuantKernelsInit();
	check(strcmp(omen_quant_kernels.name, sets[nsets - 1]->name) == 0 &&
		  omen_quant_kernels.code_dot == sets[nsets - 1]->code_dot,
		  "OmenQuantKernelsInit did not choose the best set", 0, 0);

	guarded_alloc(&gx, 16000 * sizeof(float));
	guarded_alloc(&gp, 16000);
	test_code_dot(sets, nsets, &gx, &gp);
	test_fwht(sets, nsets, &gx);
	test_grid_stats(sets, nsets, &gx);
	munmap(gx.base, gx.total);
	munmap(gp.base, gp.total);
}

/* ----------------------------------------------------------------
 * 3. Code format and estimator
 * ----------------------------------------------------------------
 */

static const char *const metric_names[] = {"", "l2", "ip", "cosine"};

/* exact distance in double */
static double
exact_distance(OmenQuantMetric metric, const float *o, const float *q, int dim)
{
	double		s = 0;

	if (metric == OMEN_QUANT_L2)
	{
		for (int i = 0; i < dim; i++)
			s += ((double) o[i] - q[i]) * ((double) o[i] - q[i]);
		return s;
	}
	s = dot_d(o, q, dim);
	return metric == OMEN_QUANT_IP ? -s : 1.0 - s;
}

/*
 * Check the header of code against r = P o - c' recomputed in double and
 * u read from the planes; returns rho.
 */
static double
check_format(const OmenQuantizer *q, const float *o, const uint8_t *code,
			 float *rot, const char *label)
{
	int			pdim = OmenQuantPdim(q);
	int			bits = OmenQuantBits(q);
	const float *cr = OmenQuantRotatedCentroid(q);
	const uint8_t *planes = code + sizeof(OmenQuantCodeHeader);
	double		m = ((1 << bits) - 1) / 2.0;
	double		norm2 = 0,
				rc = 0,
				dot = 0,
				unorm2 = 0,
				rho,
				err;
	int			signs_ok = 1;
	OmenQuantCodeHeader h;
	char		what[200];

	memcpy(&h, code, sizeof(h));
	OmenQuantRotate(q, o, rot);
	for (int i = 0; i < pdim; i++)
	{
		double		r = (double) rot[i] - cr[i];
		double		v = code_u(planes, pdim, bits, i) - m;

		norm2 += r * r;
		rc += r * cr[i];
		dot += v * r;
		unorm2 += v * v;
		/* u - m has the sign of r (ties aside) */
		if ((r > 1e-6 && v < 0) || (r < -1e-6 && v > 0))
			signs_ok = 0;
	}
	rho = dot / sqrt(unorm2 * norm2);
	err = sqrt(norm2) * sqrt(fmax(0.0, 1.0 - rho * rho)) / rho;
	snprintf(what, sizeof(what), "format %s: norm2", label);
	check(fabs(h.norm2 - norm2) <= 1e-5 * norm2, what, h.norm2, norm2);
	snprintf(what, sizeof(what), "format %s: rc", label);
	check(fabs(h.rc - rc) <= 1e-5 * (sqrt(norm2) * norm_d(cr, pdim) + 1e-30), what, h.rc, rc);
	snprintf(what, sizeof(what), "format %s: scale", label);
	check(fabs(h.scale - norm2 / dot) <= 1e-5 * fabs(norm2 / dot), what, h.scale, norm2 / dot);
	snprintf(what, sizeof(what), "format %s: err", label);
	check(fabs(h.err - err) <= 1e-4 * err + 1e-6 * sqrt(norm2), what, h.err, err);
	snprintf(what, sizeof(what), "format %s: u - m has the sign of r", label);
	check(signs_ok, what, signs_ok, 1);
	return rho;
}

/*
 * The best rho over a fine grid of steps (the encoder tries a coarse one),
 * to show how much the encoder's search gives away.
 */
static double
best_rho_fine(const OmenQuantizer *q, const float *o, float *rot)
{
	int			pdim = OmenQuantPdim(q);
	int			bits = OmenQuantBits(q);
	int			top = (1 << bits) - 1;
	double		m = top / 2.0;
	const float *cr = OmenQuantRotatedCentroid(q);
	double		maxabs = 0,
				norm2 = 0,
				best = 0;

	OmenQuantRotate(q, o, rot);
	for (int i = 0; i < pdim; i++)
	{
		rot[i] -= cr[i];
		norm2 += (double) rot[i] * rot[i];
		if (fabs(rot[i]) > maxabs)
			maxabs = fabs(rot[i]);
	}
	for (int c = 0; c <= 400; c++)
	{
		double		delta = (0.1 + 1.1 * c / 400.0) * maxabs / m;
		double		dot = 0,
					un = 0;

		for (int i = 0; i < pdim; i++)
		{
			double		u = floor(rot[i] / delta + m + 0.5);
			double		v;

			if (u < 0)
				u = 0;
			if (u > top)
				u = top;
			v = u - m;
			dot += v * rot[i];
			un += v * v;
		}
		if (dot / sqrt(un * norm2) > best)
			best = dot / sqrt(un * norm2);
	}
	return best;
}

#define EST_N	400				/* data vectors per set */
#define EST_Q	40				/* queries per set */
#define NBITS	4

static const int est_bits[NBITS] = {1, 2, 4, 8};

/* totals of one (dim, data, metric) over the bits */
typedef struct EstStats
{
	double		n;
	double		viol;
	double		sum_err;
	double		sum_abserr;
	double		sum_absd;
} EstStats;

static double total_pairs = 0,
			total_viol = 0;

static void
test_estimator(void)
{
	static const int dims[] = {128, 784, 3000};
	static const char *const kinds[] = {"gaussian", "pixels"};
	char		what[300];

	printf("estimator: %d data x %d queries per set; eps0 = %.1f, stated failure probability %.4f\n",
		   EST_N, EST_Q, OMEN_QUANT_EPS0, OMEN_QUANT_BOUND_FAIL);
	printf("%-6s %-9s %-7s %4s %10s %12s %12s %10s %10s\n",
		   "dim", "data", "metric", "B", "outside", "bias/mean|d|", "mean|e|/|d|",
		   "mean rho", "fine rho");

	for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
	{
		int			dim = dims[di];
		int			pdim = (int) OmenQuantPaddedDim(dim);
		size_t		qbytes = OmenQuantQueryBytes(dim);
		float	   *data = xalloc((size_t) EST_N * dim * sizeof(float));
		float	   *queries = xalloc((size_t) EST_Q * dim * sizeof(float));
		float	   *centroid = xalloc(dim * sizeof(float));
		float	   *scratch = xalloc(2 * pdim * sizeof(float));
		float	   *rot = xalloc(pdim * sizeof(float));
		float	   *back = xalloc(dim * sizeof(float));
		double	   *exact = xalloc((size_t) EST_N * EST_Q * sizeof(double));
		void	   *qmem = (char *) xalloc(qbytes + 64) + 8;	/* misaligned */
		void	   *qrmem = xalloc(qbytes);

		for (int kind = 0; kind < 2; kind++)
		{
			/* cluster prototypes of the pixel data */
			float	   *proto = xalloc((size_t) 10 * dim * sizeof(float));

			for (int k = 0; k < 10; k++)
				fill_pixels(proto + (size_t) k * dim, dim);

			for (int v = 0; v < EST_N + EST_Q; v++)
			{
				float	   *o = v < EST_N ? data + (size_t) v * dim :
					queries + (size_t) (v - EST_N) * dim;

				if (kind == 0)
				{
					for (int i = 0; i < dim; i++)
						o[i] = (float) rng_gauss();
				}
				else
				{
					const float *p = proto + (size_t) (rng_next() % 10) * dim;

					/* a prototype with jitter, some pixels dropped or added */
					fill_pixels(o, dim);
					for (int i = 0; i < dim; i++)
					{
						double		u = rng_uniform();

						if (p[i] > 0 && u < 0.85)
							o[i] = (float) fmin(255.0, p[i] + 30.0 * rng_gauss());
						else if (u < 0.9)
							o[i] = o[i] * 0.5f;
						else
							o[i] = 0.0f;
					}
				}
			}

			for (int metric = OMEN_QUANT_L2; metric <= OMEN_QUANT_COSINE; metric++)
			{
				EstStats	st[NBITS];
				double		dec_err[NBITS];

				memset(st, 0, sizeof(st));
				if (metric == OMEN_QUANT_COSINE)
				{
					for (int v = 0; v < EST_N + EST_Q; v++)
					{
						float	   *o = v < EST_N ? data + (size_t) v * dim :
							queries + (size_t) (v - EST_N) * dim;
						double		n = norm_d(o, dim);

						for (int i = 0; i < dim; i++)
							o[i] = (float) (o[i] / n);
					}
				}
				for (int i = 0; i < dim; i++)
				{
					double		s = 0;

					for (int v = 0; v < EST_N; v++)
						s += data[(size_t) v * dim + i];
					centroid[i] = (float) (s / EST_N);
				}
				for (int qi = 0; qi < EST_Q; qi++)
					for (int v = 0; v < EST_N; v++)
						exact[(size_t) qi * EST_N + v] =
							exact_distance((OmenQuantMetric) metric, data + (size_t) v * dim,
										   queries + (size_t) qi * dim, dim);

				for (int bi = 0; bi < NBITS; bi++)
				{
					int			bits = est_bits[bi];
					size_t		csize = OmenQuantCodeSize(dim, bits);
					uint8_t    *codes = xalloc((size_t) EST_N * csize);
					OmenQuantizer *q = new_quant(dim, bits, 1000 + bits, centroid);
					double		rho_sum = 0,
								fine_sum = 0,
								dsum = 0;
					int			nfine = 0;

					for (int v = 0; v < EST_N; v++)
					{
						const float *o = data + (size_t) v * dim;
						uint8_t    *code = codes + (size_t) v * csize;
						double		d2 = 0,
									r2 = 0;

						OmenQuantEncode(q, o, code, scratch);
						snprintf(what, sizeof(what), "dim %d %s %s B=%d vector %d",
								 dim, kinds[kind], metric_names[metric], bits, v);
						if (metric == OMEN_QUANT_L2 && v < 10)
						{
							rho_sum += check_format(q, o, code, rot, what);
							if (bits > 1)
								fine_sum += best_rho_fine(q, o, rot);
							nfine++;
						}

						/* decoding */
						OmenQuantDecodeRotated(q, code, rot);
						OmenQuantUnrotate(q, rot, back, scratch);
						for (int i = 0; i < dim; i++)
						{
							d2 += ((double) back[i] - o[i]) * ((double) back[i] - o[i]);
							r2 += ((double) o[i] - centroid[i]) * ((double) o[i] - centroid[i]);
						}
						dsum += sqrt(d2 / r2);
					}
					dec_err[bi] = dsum / EST_N;

					for (int qi = 0; qi < EST_Q; qi++)
					{
						const float *qv = queries + (size_t) qi * dim;
						OmenQuantQuery qq;
						double		xn = 0,
									qc = 0;

						OmenQuantPrepareQuery(q, (OmenQuantMetric) metric, qv, &qq, qmem);
						if (qi == 0)
						{
							/* the same from P q */
							OmenQuantQuery qr;

							OmenQuantRotate(q, qv, rot);
							OmenQuantPrepareRotatedQuery(q, (OmenQuantMetric) metric, rot, &qr, qrmem);
							snprintf(what, sizeof(what), "dim %d %s %s B=%d: PrepareRotatedQuery differs from PrepareQuery",
									 dim, kinds[kind], metric_names[metric], bits);
							check(qr.sum_x == qq.sum_x && qr.xnorm2 == qq.xnorm2 && qr.qc == qq.qc &&
								  qr.bound_factor == qq.bound_factor &&
								  memcmp(qr.x, qq.x, pdim * sizeof(float)) == 0 &&
								  OmenQuantDistance(&qr, codes, NULL) == OmenQuantDistance(&qq, codes, NULL),
								  what, 1, 0);
							check(((uintptr_t) qq.x & 63) == 0, "query x is not 64-byte aligned", 1, 0);
						}
						for (int i = 0; i < dim; i++)
						{
							xn += ((double) qv[i] - centroid[i]) * ((double) qv[i] - centroid[i]);
							qc += (double) qv[i] * centroid[i];
						}
						for (int v = 0; v < EST_N; v++)
						{
							const float *o = data + (size_t) v * dim;
							float		bound;
							double		est = OmenQuantDistance(&qq, codes + (size_t) v * csize, &bound);
							double		ex = exact[(size_t) qi * EST_N + v];
							double		r2 = 0,
										rc = 0,
										slack;

							for (int i = 0; i < dim; i++)
							{
								double		r = (double) o[i] - centroid[i];

								r2 += r * r;
								rc += r * centroid[i];
							}
							/* room for float rounding of the terms */
							slack = 4e-6 * (r2 + xn + sqrt(r2 * xn) + fabs(qc) + fabs(rc));
							st[bi].n++;
							if (fabs(est - ex) > bound + slack)
								st[bi].viol++;
							st[bi].sum_err += est - ex;
							st[bi].sum_abserr += fabs(est - ex);
							st[bi].sum_absd += fabs(ex);
						}
					}

					if (metric == OMEN_QUANT_L2)
						printf("%-6d %-9s %-7s %4d %10.5f %12.2e %12.2e %10.5f %10.5f\n",
							   dim, kinds[kind], metric_names[metric], bits,
							   st[bi].viol / st[bi].n, st[bi].sum_err / st[bi].sum_absd,
							   st[bi].sum_abserr / st[bi].sum_absd,
							   rho_sum / nfine, bits > 1 ? fine_sum / nfine : rho_sum / nfine);
					else
						printf("%-6d %-9s %-7s %4d %10.5f %12.2e %12.2e\n",
							   dim, kinds[kind], metric_names[metric], bits,
							   st[bi].viol / st[bi].n, st[bi].sum_err / st[bi].sum_absd,
							   st[bi].sum_abserr / st[bi].sum_absd);
					total_pairs += st[bi].n;
					total_viol += st[bi].viol;

					/*
					 * The fraction outside the bound: at most the stated
					 * probability plus 3 standard deviations of a binomial
					 * count over these pairs (the stated probability itself
					 * is checked on all pairs together, below).
					 */
					{
						double		p = OMEN_QUANT_BOUND_FAIL;
						double		lim = p + 3.0 * sqrt(p * (1.0 - p) / st[bi].n);

						snprintf(what, sizeof(what), "estimator dim %d %s %s B=%d: fraction outside the bound",
								 dim, kinds[kind], metric_names[metric], bits);
						check(st[bi].viol / st[bi].n <= lim, what, st[bi].viol / st[bi].n, lim);
					}

					/*
					 * Bias: the mean signed error must be a small part of the
					 * mean |error| (pairs share data and queries, so the mean
					 * of 9000 errors is noisier than independent ones).
					 */
					snprintf(what, sizeof(what), "estimator dim %d %s %s B=%d: |mean error| / mean |error|",
							 dim, kinds[kind], metric_names[metric], bits);
					check(fabs(st[bi].sum_err) <= 0.25 * st[bi].sum_abserr, what,
						  fabs(st[bi].sum_err) / st[bi].sum_abserr, 0.25);

					if (bi > 0)
					{
						snprintf(what, sizeof(what), "estimator dim %d %s %s: mean |error| B=%d vs B=%d",
								 dim, kinds[kind], metric_names[metric], bits, est_bits[bi - 1]);
						check(st[bi].sum_abserr < 0.8 * st[bi - 1].sum_abserr, what,
							  st[bi].sum_abserr, 0.8 * st[bi - 1].sum_abserr);
						snprintf(what, sizeof(what), "decode dim %d %s %s: error B=%d vs B=%d",
								 dim, kinds[kind], metric_names[metric], bits, est_bits[bi - 1]);
						check(dec_err[bi] < 0.8 * dec_err[bi - 1], what,
							  dec_err[bi], 0.8 * dec_err[bi - 1]);
					}
					free(codes);
					free(q);
				}
				printf("%-6d %-9s %-7s decode |o - o^|/|o - c| for B = 1, 2, 4, 8: %.4f %.4f %.5f %.6f\n",
					   dim, kinds[kind], metric_names[metric],
					   dec_err[0], dec_err[1], dec_err[2], dec_err[3]);
				snprintf(what, sizeof(what), "decode dim %d %s %s: error at B=8", dim,
						 kinds[kind], metric_names[metric]);
				check(dec_err[3] < 0.01, what, dec_err[3], 0.01);
			}
			free(proto);
		}
		free(data);
		free(queries);
		free(centroid);
		free(scratch);
		free(rot);
		free(back);
		free(exact);
		free((char *) qmem - 8);
		free(qrmem);
	}
	printf("estimator: outside the bound overall: %.0f of %.0f = %.5f (stated %.4f)\n",
		   total_viol, total_pairs, total_viol / total_pairs, OMEN_QUANT_BOUND_FAIL);
	check(total_viol / total_pairs <= OMEN_QUANT_BOUND_FAIL,
		  "estimator: fraction outside the bound over all pairs",
		  total_viol / total_pairs, OMEN_QUANT_BOUND_FAIL);
}

/*
 * Unbiasedness over rotations: for fixed pixel-like vectors o and q (and
 * centroid), the mean over many seeds of est - exact must be within 4
 * standard errors of 0.
 */
#define UNB_SEEDS	300

static void
test_unbiased(void)
{
	int			dim = 784;
	int			pdim = (int) OmenQuantPaddedDim(dim);
	float	   *o = xalloc(dim * sizeof(float));
	float	   *qv = xalloc(dim * sizeof(float));
	float	   *c = xalloc(dim * sizeof(float));
	float	   *scratch = xalloc(2 * pdim * sizeof(float));
	void	   *mem = xalloc(OmenQuantQueryBytes(dim));
	uint8_t    *code = xalloc(OmenQuantCodeSize(dim, 8));
	OmenQuantizer *q = xalloc(OmenQuantSize(dim));
	char		what[200];

	fill_pixels(o, dim);
	fill_pixels(qv, dim);
	fill_pixels(c, dim);
	for (int i = 0; i < dim; i++)
		c[i] = 0.5f * (c[i] + o[i]);
	for (int bits = 1; bits <= 8; bits *= 4)
	{
		for (int metric = OMEN_QUANT_L2; metric <= OMEN_QUANT_IP; metric++)
		{
			double		ex = exact_distance((OmenQuantMetric) metric, o, qv, dim);
			double		sum = 0,
						sum2 = 0,
						mean,
						se;
			int			out = 0;

			for (int seed = 0; seed < UNB_SEEDS; seed++)
			{
				OmenQuantQuery qq;
				float		bound;
				double		e;

				OmenQuantInit(q, dim, bits, UINT64_C(0x5EED0000) + seed, c);
				OmenQuantEncode(q, o, code, scratch);
				OmenQuantPrepareQuery(q, (OmenQuantMetric) metric, qv, &qq, mem);
				e = OmenQuantDistance(&qq, code, &bound) - ex;
				sum += e;
				sum2 += e * e;
				if (fabs(e) > bound)
					out++;
			}
			mean = sum / UNB_SEEDS;
			se = sqrt((sum2 / UNB_SEEDS - mean * mean) / (UNB_SEEDS - 1));
			printf("unbiased: dim %d pixels %s B=%d over %d rotations: mean error %.3g, "
				   "standard error %.3g (t = %.2f), sd / |exact| %.3g, outside the bound %d\n",
				   dim, metric_names[metric], bits, UNB_SEEDS, mean, se, mean / se,
				   se * sqrt((double) UNB_SEEDS) / fabs(ex), out);
			snprintf(what, sizeof(what), "unbiased %s B=%d: |mean error| / standard error",
					 metric_names[metric], bits);
			check(fabs(mean) <= 4.0 * se, what, fabs(mean) / se, 4.0);
		}
	}
	free(o);
	free(qv);
	free(c);
	free(scratch);
	free(mem);
	free(code);
	free(q);
}

/* ----------------------------------------------------------------
 * 4. Edge cases
 * ----------------------------------------------------------------
 */

/* estimate every metric for o (code) against qv; check within bound */
static void
check_pair(const OmenQuantizer *q, const float *o, const uint8_t *code,
		   const float *qv, int dim, double extra_tol, const char *label)
{
	void	   *mem = xalloc(OmenQuantQueryBytes(dim));
	char		what[300];

	for (int metric = OMEN_QUANT_L2; metric <= OMEN_QUANT_IP; metric++)
	{
		OmenQuantQuery qq;
		float		bound;
		double		est,
					ex,
					tol;

		OmenQuantPrepareQuery(q, (OmenQuantMetric) metric, qv, &qq, mem);
		est = OmenQuantDistance(&qq, code, &bound);
		ex = exact_distance((OmenQuantMetric) metric, o, qv, dim);
		tol = bound + extra_tol * (1.0 + fabs(ex) + norm_d(o, dim) * norm_d(qv, dim));
		snprintf(what, sizeof(what), "edge %s %s: |est - exact|", label, metric_names[metric]);
		check(isfinite(est) && fabs(est - ex) <= tol, what, fabs(est - ex), tol);
	}
	free(mem);
}

static void
test_edges(void)
{
	char		what[200];

	/* a vector equal to the centroid, and the zero vector */
	{
		int			dim = 784;
		int			pdim = (int) OmenQuantPaddedDim(dim);
		float	   *c = xalloc(dim * sizeof(float));
		float	   *z = xalloc(dim * sizeof(float));
		float	   *qv = xalloc(dim * sizeof(float));
		float	   *scratch = xalloc(2 * pdim * sizeof(float));
		float	   *rot = xalloc(pdim * sizeof(float));
		float	   *back = xalloc(dim * sizeof(float));

		for (int i = 0; i < dim; i++)
		{
			c[i] = (float) rng_gauss();
			qv[i] = (float) rng_gauss();
			z[i] = 0.0f;
		}
		for (int bits = 1; bits <= 8; bits *= 2)
		{
			OmenQuantizer *q = new_quant(dim, bits, 5, c);
			OmenQuantizer *q0 = new_quant(dim, bits, 5, NULL);
			uint8_t    *code = xalloc(OmenQuantCodeSize(dim, bits));
			OmenQuantCodeHeader h;
			double		e = 0;

			/* o = c: r = 0 */
			OmenQuantEncode(q, c, code, scratch);
			memcpy(&h, code, sizeof(h));
			snprintf(what, sizeof(what), "edge o = centroid B=%d: header is zero", bits);
			check(h.scale == 0 && h.norm2 == 0 && h.rc == 0 && h.err == 0, what, h.norm2, 0);
			snprintf(what, sizeof(what), "o = centroid B=%d", bits);
			check_pair(q, c, code, qv, dim, 1e-5, what);
			OmenQuantDecodeRotated(q, code, rot);
			OmenQuantUnrotate(q, rot, back, scratch);
			for (int i = 0; i < dim; i++)
				e += fabs((double) back[i] - c[i]);
			snprintf(what, sizeof(what), "edge o = centroid B=%d: decode", bits);
			check(e <= 1e-4 * dim, what, e, 1e-4 * dim);

			/* the zero vector, with the origin and with c as centroid */
			OmenQuantEncode(q0, z, code, scratch);
			memcpy(&h, code, sizeof(h));
			snprintf(what, sizeof(what), "edge zero vector, origin centroid, B=%d: header is zero", bits);
			check(h.scale == 0 && h.norm2 == 0 && h.err == 0, what, h.norm2, 0);
			snprintf(what, sizeof(what), "zero vector origin B=%d", bits);
			check_pair(q0, z, code, qv, dim, 1e-5, what);
			OmenQuantEncode(q, z, code, scratch);
			snprintf(what, sizeof(what), "zero vector centroid c B=%d", bits);
			check_pair(q, z, code, qv, dim, 1e-5, what);
			/* a zero query */
			OmenQuantEncode(q, qv, code, scratch);
			snprintf(what, sizeof(what), "zero query B=%d", bits);
			check_pair(q, qv, code, z, dim, 1e-5, what);

			free(q);
			free(q0);
			free(code);
		}
		free(c);
		free(z);
		free(qv);
		free(scratch);
		free(rot);
		free(back);
	}

	/* dim 1 and dim 16000 with B = 8 */
	{
		static const int dims[] = {1, 16000};

		for (size_t di = 0; di < 2; di++)
		{
			int			dim = dims[di];
			int			pdim = (int) OmenQuantPaddedDim(dim);
			float	   *o = xalloc(dim * sizeof(float));
			float	   *qv = xalloc(dim * sizeof(float));
			float	   *c = xalloc(dim * sizeof(float));
			float	   *scratch = xalloc(2 * pdim * sizeof(float));
			float	   *rot = xalloc(pdim * sizeof(float));
			float	   *back = xalloc(dim * sizeof(float));

			for (int bits = 1; bits <= 8; bits *= 2)
			{
				OmenQuantizer *q;
				uint8_t    *code = xalloc(OmenQuantCodeSize(dim, bits));
				double		e = 0,
							n = 0,
							lim;

				if (dim == 16000 && bits != 8)
				{
					free(code);
					continue;
				}
				for (int i = 0; i < dim; i++)
				{
					o[i] = (float) rng_gauss();
					qv[i] = (float) rng_gauss();
					c[i] = (float) (0.1 * rng_gauss());
				}
				q = new_quant(dim, bits, 99, c);
				check(OmenQuantCodeSize(dim, bits) == 16 + (size_t) bits * pdim / 8,
					  "edge: code size", (double) OmenQuantCodeSize(dim, bits),
					  16 + bits * pdim / 8.0);
				OmenQuantEncode(q, o, code, scratch);
				snprintf(what, sizeof(what), "dim %d B=%d", dim, bits);
				check_format(q, o, code, rot, what);
				check_pair(q, o, code, qv, dim, 1e-5, what);
				OmenQuantDecodeRotated(q, code, rot);
				OmenQuantUnrotate(q, rot, back, scratch);
				for (int i = 0; i < dim; i++)
				{
					e += ((double) back[i] - o[i]) * ((double) back[i] - o[i]);
					n += ((double) o[i] - c[i]) * ((double) o[i] - c[i]);
				}
				/* |r - rhat| = |r| sqrt(1 - rho^2), rho about 0.8 for 1 bit */
				lim = bits == 1 ? 0.7 : bits == 2 ? 0.4 : bits == 4 ? 0.1 : 0.01;
				snprintf(what, sizeof(what), "edge dim %d B=%d: decode |o - o^| / |o - c|", dim, bits);
				check(sqrt(e / n) <= lim, what, sqrt(e / n), lim);
				free(q);
				free(code);
			}
			free(o);
			free(qv);
			free(c);
			free(scratch);
			free(rot);
			free(back);
		}
	}

	/* InitRotatedCentroid with c' of Init gives the same quantiser */
	{
		int			dim = 300;
		float	   *c = xalloc(dim * sizeof(float));
		OmenQuantizer *q1,
				   *q2;

		for (int i = 0; i < dim; i++)
			c[i] = (float) rng_gauss();
		q1 = new_quant(dim, 4, 31, c);
		q2 = xalloc(OmenQuantSize(dim));
		OmenQuantInitRotatedCentroid(q2, dim, 4, 31, OmenQuantRotatedCentroid(q1));
		check(memcmp(q1, q2, OmenQuantSize(dim)) == 0,
			  "edge: InitRotatedCentroid(RotatedCentroid) differs from Init", 1, 0);
		free(q1);
		free(q2);
		free(c);
	}
}

/* ----------------------------------------------------------------
 * 5. Timings
 * ----------------------------------------------------------------
 */

#define TIME_CODES	1024

static volatile float sink;

/* ns per OmenQuantDistance with the kernels in use */
static double
time_distance(int dim, int bits)
{
	int			pdim = (int) OmenQuantPaddedDim(dim);
	size_t		csize = OmenQuantCodeSize(dim, bits);
	uint8_t    *codes = xalloc(TIME_CODES * csize);
	float	   *v = xalloc(dim * sizeof(float));
	float	   *scratch = xalloc(2 * pdim * sizeof(float));
	void	   *mem = xalloc(OmenQuantQueryBytes(dim));
	OmenQuantizer *q = new_quant(dim, bits, 3, NULL);
	OmenQuantQuery qq;
	double		t0,
				t1,
				best = 1e30;
	float		acc = 0;

	for (int k = 0; k < TIME_CODES; k++)
	{
		for (int i = 0; i < dim; i++)
			v[i] = (float) rng_gauss();
		OmenQuantEncode(q, v, codes + (size_t) k * csize, scratch);
	}
	OmenQuantPrepareQuery(q, OMEN_QUANT_L2, v, &qq, mem);
	for (int rep = 0; rep < 30; rep++)
	{
		t0 = now_ns();
		for (int k = 0; k < TIME_CODES; k++)
			acc += OmenQuantDistance(&qq, codes + (size_t) k * csize, NULL);
		t1 = now_ns();
		if ((t1 - t0) / TIME_CODES < best)
			best = (t1 - t0) / TIME_CODES;
	}
	sink = acc;
	free(codes);
	free(v);
	free(scratch);
	free(mem);
	free(q);
	return best;
}

static void
test_timings(void)
{
	const OmenQuantKernels *sets[3];
	int			nsets = OmenQuantKernelsAvailable(sets);
	static const int bitss[] = {1, 2, 4, 8};

	for (int s = 0; s < nsets; s++)
	{
		omen_quant_kernels = *sets[s];
		printf("timing %-6s ns per OmenQuantDistance:", sets[s]->name);
		for (int d = 0; d < 2; d++)
			for (int b = 0; b < 4; b++)
				printf(" pdim %d B=%d %.1f;", d == 0 ? 832 : 128, bitss[b],
					   time_distance(d == 0 ? 784 : 128, bitss[b]));
		printf("\n");
	}
	OmenQuantKernelsInit();

	/* encoding and query preparation at dim 784 */
	{
		int			dim = 784;
		int			pdim = (int) OmenQuantPaddedDim(dim);
		int			nv = 200;
		float	   *v = xalloc((size_t) nv * dim * sizeof(float));
		float	   *scratch = xalloc(2 * pdim * sizeof(float));
		void	   *mem = xalloc(OmenQuantQueryBytes(dim));
		uint8_t    *code = xalloc(OmenQuantCodeSize(dim, 8));

		for (int i = 0; i < nv * dim; i++)
			v[i] = (float) rng_gauss();
		printf("timing ns per Encode at dim 784:");
		for (int b = 0; b < 4; b++)
		{
			OmenQuantizer *q = new_quant(dim, bitss[b], 3, v);
			double		t0,
						best = 1e30;

			for (int rep = 0; rep < 5; rep++)
			{
				t0 = now_ns();
				for (int k = 0; k < nv; k++)
					OmenQuantEncode(q, v + (size_t) k * dim, code, scratch);
				if ((now_ns() - t0) / nv < best)
					best = (now_ns() - t0) / nv;
			}
			printf(" B=%d %.0f;", bitss[b], best);
			free(q);
		}
		printf("\n");
		{
			OmenQuantizer *q = new_quant(dim, 4, 3, v);
			OmenQuantQuery qq;
			double		t0,
						best = 1e30;

			for (int rep = 0; rep < 5; rep++)
			{
				t0 = now_ns();
				for (int k = 0; k < nv; k++)
					OmenQuantPrepareQuery(q, OMEN_QUANT_L2, v + (size_t) k * dim, &qq, mem);
				if ((now_ns() - t0) / nv < best)
					best = (now_ns() - t0) / nv;
			}
			printf("timing ns per PrepareQuery (rotation) at dim 784: %.0f\n", best);
			free(q);
		}
		free(v);
		free(scratch);
		free(mem);
		free(code);
	}
}

/* entry point: run all checks and print the summary */
int
main(void)
{
	struct sigaction sa;
	double		t0 = now_ns();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fault_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	test_kernels();
	OmenQuantKernelsInit();
	test_rotation();
	test_estimator();
	test_unbiased();
	test_edges();
	test_timings();

	printf("quant: %.1f s\n", (now_ns() - t0) / 1e9);
	printf("quant: %d passed, %d failed\n", npassed, nfailed);
	return nfailed == 0 ? 0 : 1;
}
