/*
 * gen_mixture.c
 *		Generate an embedding-like benchmark data set: base vectors, held-apart
 *		query vectors and their exact k nearest neighbours (L2).
 *
 * Stand-alone C99 (libc, libm, pthreads; no PostgreSQL headers).  Build:
 *
 *	cc -O2 -march=native -o gen_mixture test/bench/gen_mixture.c -lm -lpthread
 *
 * Usage:
 *
 *	gen_mixture [--rows N] [--queries N] [--clusters N] [--dim N] [--seed S]
 *				[--base FILE] [--queries-out FILE] [--format binary|text]
 *				[--gt FILE] [--k K] [--threads N] [--stats] [--help]
 *
 *	--rows N			base vectors, ids 1..N (default 1000000)
 *	--queries N			query vectors, ids 1..N (default 1000)
 *	--clusters N		mixture components (default 2000)
 *	--dim N				dimensions, 1..16000 (default 128)
 *	--seed S			unsigned 64-bit seed (default 42)
 *	--base FILE			write the base vectors (COPY file)
 *	--queries-out FILE	write the query vectors (COPY file)
 *	--format F			binary (default) or text, for --base and --queries-out
 *	--gt FILE			write the exact ground truth (COPY text)
 *	--k K				neighbours per query in the ground truth (default 10)
 *	--threads N			threads for the ground truth (default: online CPUs)
 *	--stats				print sanity numbers to stdout
 *
 * Options may also be written --name=value.  Each file is written only when
 * its option is given.  Progress goes to stderr; nothing goes to stdout but
 * the --stats numbers.  Any error prints a message to stderr and exits with
 * status 1.
 *
 * The mixture.  With d = --dim and C = --clusters:
 *	- cluster c (rank c = 1..C) has weight proportional to 1 / c^0.7;
 *	- its centre has coordinates drawn from N(0, 0.15^2);
 *	- it has 8 directions dir_{c,1..8}, coordinates drawn from N(0, 1/d),
 *	  and a spread s_c drawn uniformly from [0.3, 1.0];
 *	- a point is drawn by picking a cluster c by the weights (a cumulative
 *	  table and a binary search), then
 *		x = centre_c + sum_{j=1..8} s_c * z_j * dir_{c,j} + e
 *	  with z_j ~ N(0, 1) and each coordinate of e ~ N(0, 0.02^2); it is
 *	  computed in double and stored as float4.
 * So points lie near C eight-dimensional patches of different sizes and
 * popularity, like real embeddings, rather than filling the space like
 * uniform random vectors: a query's nearest neighbours are much closer than
 * a random point.
 *
 * Randomness.  xoshiro256** generators seeded through splitmix64 from the
 * seed and a stream number; Gaussians by the Marsaglia polar method.  The
 * model parameters (centres, directions, spreads) come from stream 1, the
 * base points from stream 2 (generated sequentially, so the first N rows are
 * the same for any --rows >= N), the queries from stream 3 (so they are new
 * points of the same mixture, never copies of base points), and the random
 * base points that --stats compares with from stream 4.  The same binary
 * gives the same output on every run (the thread count does not matter);
 * another compiler, libm or -march may change the last bits of some values
 * (e.g. through fused multiply-adds).
 *
 * Formats of --base and --queries-out, for a table (id int4, embedding
 * vector):
 *	- binary: PostgreSQL binary COPY.  The signature "PGCOPY\n\377\r\n\0",
 *	  int32 flags 0, int32 header extension length 0; per tuple int16 2
 *	  (fields), int32 4 and the int32 id, int32 4 + 4 * d and the vector's
 *	  binary form (int16 d, int16 0, d float4s, as vector_recv reads it);
 *	  trailer int16 -1.  All integers and floats in network byte order.
 *	  Load with \copy t FROM 'file' (FORMAT binary).
 *	- text: COPY text lines "id<TAB>[v1,v2,...]", each value printed with
 *	  "%.9g" (which reads back as the same float4).
 *
 * Ground truth (--gt): for each query, the k base ids nearest by squared L2
 * distance computed in double precision over the stored float4 values, ties
 * broken by the smaller id, nearest first, as COPY text lines
 * "qid<TAB>{id1,id2,...,idk}" for a table (qid int, ids int[]).  It is brute
 * force over all base vectors held in memory (rows * d * 4 bytes), split
 * over threads by batches of queries.  A fast pass in float keeps a few more
 * than k candidates per query; their distances are then recomputed in double
 * and ordered.  A bound on the float rounding error shows that the candidates
 * contain every point that can belong to the exact answer; if it does not
 * (near-ties among many points), that query is redone in double.
 *
 * --stats prints "name value" lines: the sizes, the mean L2 norm of the base
 * vectors, the mean L2 distance from a query to its nearest base vector (and
 * the smallest such distance, > 0 as queries are not copies), to its k-th
 * nearest and to 100 random base vectors, and the ratio nearest / random
 * (well below 1 for clustered, embedding-like data; near 1 for uniform
 * noise).
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGNAME			"gen_mixture"

#define MAX_DIM				16000	/* as the vector type allows */
#define NDIRS				8		/* directions per cluster */
#define WEIGHT_EXPONENT		0.7
#define CENTRE_SD			0.15
#define SPREAD_MIN			0.3
#define SPREAD_MAX			1.0
#define NOISE_SD			0.02

#define STREAM_MODEL		1
#define STREAM_BASE			2
#define STREAM_QUERY		3
#define STREAM_STATS		4

#define LANES				16		/* float accumulators in the fast pass */
#define QUERY_BATCH			16		/* queries scanned together */
#define EXTRA_CANDIDATES	16		/* candidates kept beyond k */
#define STATS_RANDOM		100		/* random base points per query (--stats) */

#define OUT_BUFFER_SIZE		(4 * 1024 * 1024)

/* A xoshiro256** generator with a spare Gaussian (polar method). */
typedef struct Rng
{
	uint64_t	s[4];
	int			has_spare;
	double		spare;
} Rng;

/* The mixture's parameters. */
typedef struct Model
{
	int			dim;
	int			nclusters;
	double	   *cum;			/* cumulative weights, last one 1.0 */
	double	   *centre;			/* nclusters x dim */
	double	   *dir;			/* nclusters x NDIRS x dim */
	double	   *spread;			/* nclusters */
} Model;

/* Command line settings. */
typedef struct Options
{
	long		rows;
	long		queries;
	long		clusters;
	long		dim;
	uint64_t	seed;
	const char *base_path;
	const char *queries_path;
	const char *gt_path;
	int			binary;
	long		k;
	long		threads;
	int			stats;
} Options;

/* An output COPY file. */
typedef struct OutFile
{
	FILE	   *fp;
	const char *path;
	int			binary;
	char	   *buf;			/* one tuple or line */
} OutFile;

/* Shared state of the ground truth threads. */
typedef struct GtJob
{
	const float *base;
	size_t		rows;
	const float *queries;
	int			nqueries;
	int			dim;
	int			k;
	int			ncand;			/* candidates kept per query in float */
	double		rel;			/* bound on the relative rounding error */
	int32_t    *ids;			/* nqueries x k result ids */
	double	   *dist;			/* nqueries x k squared distances */

	pthread_mutex_t lock;
	int			next_batch;
	int			done;
	int			next_report;
	int			nredone;
	double		start;
} GtJob;

/* A candidate of the ground truth. */
typedef struct Cand
{
	float		fdist;
	int32_t		idx;			/* base row, 0-based */
	double		dist;
} Cand;

static const char *usage_text =
"Usage: " PROGNAME " [--rows N] [--queries N] [--clusters N] [--dim N] [--seed S]\n"
"                   [--base FILE] [--queries-out FILE] [--format binary|text]\n"
"                   [--gt FILE] [--k K] [--threads N] [--stats] [--help]\n"
"\n"
"Generates a Gaussian-mixture data set shaped like real embeddings, held-apart\n"
"queries from the same mixture, and their exact L2 nearest neighbours.\n"
"\n"
"  --rows N            base vectors, ids 1..N (default 1000000)\n"
"  --queries N         query vectors, ids 1..N (default 1000)\n"
"  --clusters N        mixture components (default 2000)\n"
"  --dim N             dimensions, 1..16000 (default 128)\n"
"  --seed S            unsigned 64-bit seed (default 42)\n"
"  --base FILE         write base vectors as a COPY file (id int4, embedding vector)\n"
"  --queries-out FILE  write query vectors, same format\n"
"  --format F          binary (default) or text\n"
"  --gt FILE           write ground truth as COPY text (qid int, ids int[])\n"
"  --k K               neighbours per query (default 10)\n"
"  --threads N         threads for the ground truth (default: online CPUs)\n"
"  --stats             print sanity numbers (norms, distances) to stdout\n"
"  --help              show this help\n"
"\n"
"Options may also be written --name=value.  Progress goes to stderr.\n";

/*
 * die
 *		Print a message to stderr and exit with status 1.
 */
static void
die(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * usage_error
 *		Report a bad command line and exit with status 1.
 */
static void
usage_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"%s --help\" for more information.\n", PROGNAME);
	exit(1);
}

/*
 * xmalloc
 *		malloc() that exits with a message when memory runs out.
 */
static void *
xmalloc(size_t size, const char *what)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		die("out of memory allocating %zu bytes for %s", size, what);
	return p;
}

/*
 * now_seconds
 *		Monotonic clock in seconds.
 */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * splitmix64
 *		Advance a splitmix64 state and return its next output.
 */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/*
 * rng_init
 *		Seed a generator for one stream of a seed.
 */
static void
rng_init(Rng *rng, uint64_t seed, uint64_t stream)
{
	uint64_t	sm = seed;

	/* mix the seed first, then the stream, so nearby seeds don't overlap */
	sm = splitmix64(&sm) ^ (stream * UINT64_C(0xD1B54A32D192ED03));
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&sm);
	if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
		rng->s[0] = 1;			/* the all-zero state is not allowed */
	rng->has_spare = 0;
	rng->spare = 0.0;
}

/*
 * rotl
 *		Rotate a 64-bit word left by k bits.
 */
static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * rng_next
 *		Next 64 random bits (xoshiro256**).
 */
static inline uint64_t
rng_next(Rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/*
 * rng_uniform
 *		A uniform double in [0, 1), 53 random bits.
 */
static inline double
rng_uniform(Rng *rng)
{
	return (rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * rng_gauss
 *		A standard normal deviate (Marsaglia polar method; the second value of
 *		each pair is kept for the next call).
 */
static inline double
rng_gauss(Rng *rng)
{
	double		u,
				v,
				s,
				f;

	if (rng->has_spare)
	{
		rng->has_spare = 0;
		return rng->spare;
	}
	do
	{
		u = 2.0 * rng_uniform(rng) - 1.0;
		v = 2.0 * rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	f = sqrt(-2.0 * log(s) / s);
	rng->spare = v * f;
	rng->has_spare = 1;
	return u * f;
}

/*
 * model_build
 *		Draw the mixture's parameters from the model stream.
 */
static void
model_build(Model *m, int nclusters, int dim, uint64_t seed)
{
	Rng			rng;
	double		total = 0.0;
	double		dir_sd = sqrt(1.0 / dim);
	size_t		csize = (size_t) nclusters * dim;

	m->dim = dim;
	m->nclusters = nclusters;
	m->cum = xmalloc(sizeof(double) * nclusters, "cluster weights");
	m->centre = xmalloc(sizeof(double) * csize, "cluster centres");
	m->dir = xmalloc(sizeof(double) * csize * NDIRS, "cluster directions");
	m->spread = xmalloc(sizeof(double) * nclusters, "cluster spreads");

	for (int c = 0; c < nclusters; c++)
	{
		total += 1.0 / pow(c + 1, WEIGHT_EXPONENT);
		m->cum[c] = total;
	}
	for (int c = 0; c < nclusters; c++)
		m->cum[c] /= total;
	m->cum[nclusters - 1] = 1.0;

	rng_init(&rng, seed, STREAM_MODEL);
	for (int c = 0; c < nclusters; c++)
	{
		double	   *centre = m->centre + (size_t) c * dim;
		double	   *dir = m->dir + (size_t) c * NDIRS * dim;

		for (int i = 0; i < dim; i++)
			centre[i] = CENTRE_SD * rng_gauss(&rng);
		for (int i = 0; i < NDIRS * dim; i++)
			dir[i] = dir_sd * rng_gauss(&rng);
		m->spread[c] = SPREAD_MIN + (SPREAD_MAX - SPREAD_MIN) * rng_uniform(&rng);
	}
}

/*
 * model_free
 *		Release a model's arrays.
 */
static void
model_free(Model *m)
{
	free(m->cum);
	free(m->centre);
	free(m->dir);
	free(m->spread);
}

/*
 * pick_cluster
 *		The cluster whose cumulative-weight interval holds u in [0, 1): the
 *		first c with cum[c] > u, by binary search.
 */
static int
pick_cluster(const Model *m, double u)
{
	int			lo = 0,
				hi = m->nclusters - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (m->cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * model_point
 *		Draw one point of the mixture from rng into out (dim float4s).
 */
static void
model_point(const Model *m, Rng *rng, float *out)
{
	int			dim = m->dim;
	int			c = pick_cluster(m, rng_uniform(rng));
	const double *centre = m->centre + (size_t) c * dim;
	const double *dir = m->dir + (size_t) c * NDIRS * dim;
	double		coef[NDIRS];

	for (int j = 0; j < NDIRS; j++)
		coef[j] = m->spread[c] * rng_gauss(rng);
	for (int i = 0; i < dim; i++)
	{
		double		v = centre[i];

		for (int j = 0; j < NDIRS; j++)
			v += coef[j] * dir[(size_t) j * dim + i];
		v += NOISE_SD * rng_gauss(rng);
		out[i] = (float) v;
	}
}

/*
 * put16, put32
 *		Store an integer in network byte order; return the next position.
 */
static inline unsigned char *
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char) (v >> 8);
	p[1] = (unsigned char) v;
	return p + 2;
}

static inline unsigned char *
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) (v >> 24);
	p[1] = (unsigned char) (v >> 16);
	p[2] = (unsigned char) (v >> 8);
	p[3] = (unsigned char) v;
	return p + 4;
}

/*
 * out_write
 *		fwrite() that exits on a write error.
 */
static void
out_write(OutFile *f, const void *data, size_t len)
{
	if (fwrite(data, 1, len, f->fp) != len)
		die("could not write to \"%s\": %s", f->path, strerror(errno));
}

/*
 * out_open
 *		Create a COPY file for vectors of dim dimensions and write the binary
 *		header if needed.
 */
static void
out_open(OutFile *f, const char *path, int binary, int dim)
{
	static const unsigned char signature[11] =
	{'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0};
	unsigned char header[8];

	f->path = path;
	f->binary = binary;
	f->fp = fopen(path, "wb");
	if (f->fp == NULL)
		die("could not open \"%s\" for writing: %s", path, strerror(errno));
	if (setvbuf(f->fp, NULL, _IOFBF, OUT_BUFFER_SIZE) != 0)
		die("could not set up a buffer for \"%s\"", path);
	/* a binary tuple needs 18 + 4 * dim bytes, a text line < 17 per value */
	f->buf = xmalloc((size_t) dim * 17 + 64, "an output line");

	if (binary)
	{
		out_write(f, signature, sizeof(signature));
		put32(put32(header, 0), 0);
		out_write(f, header, sizeof(header));
	}
}

/*
 * out_vector
 *		Append one (id, vector) tuple.
 */
static void
out_vector(OutFile *f, int32_t id, const float *v, int dim)
{
	if (f->binary)
	{
		unsigned char *p = (unsigned char *) f->buf;

		p = put16(p, 2);
		p = put32(p, 4);
		p = put32(p, (uint32_t) id);
		p = put32(p, (uint32_t) (4 + 4 * dim));
		p = put16(p, (uint16_t) dim);
		p = put16(p, 0);
		for (int i = 0; i < dim; i++)
		{
			uint32_t	bits;

			memcpy(&bits, &v[i], sizeof(bits));
			p = put32(p, bits);
		}
		out_write(f, f->buf, (size_t) (p - (unsigned char *) f->buf));
	}
	else
	{
		char	   *p = f->buf;

		p += sprintf(p, "%d\t[", (int) id);
		for (int i = 0; i < dim; i++)
		{
			if (i > 0)
				*p++ = ',';
			p += sprintf(p, "%.9g", (double) v[i]);
		}
		*p++ = ']';
		*p++ = '\n';
		out_write(f, f->buf, (size_t) (p - f->buf));
	}
}

/*
 * out_close
 *		Write the binary trailer if needed, then flush and close, exiting on
 *		an error.
 */
static void
out_close(OutFile *f)
{
	if (f->binary)
	{
		unsigned char trailer[2];

		put16(trailer, 0xFFFF);
		out_write(f, trailer, sizeof(trailer));
	}
	if (fflush(f->fp) != 0 || ferror(f->fp))
		die("could not write to \"%s\": %s", f->path, strerror(errno));
	if (fclose(f->fp) != 0)
		die("could not close \"%s\": %s", f->path, strerror(errno));
	free(f->buf);
	f->fp = NULL;
	f->buf = NULL;
}

/*
 * l2_float
 *		Squared L2 distance in float, accumulated in LANES independent lanes
 *		(a loop gcc turns into vector code) and summed pairwise.
 */
static inline float
l2_float(const float *restrict a, const float *restrict b, int dim)
{
	float		acc[LANES] = {0};
	float		sum = 0.0f;
	int			i = 0;

	for (; i + LANES <= dim; i += LANES)
	{
		for (int l = 0; l < LANES; l++)
		{
			float		d = a[i + l] - b[i + l];

			acc[l] += d * d;
		}
	}
	for (int w = LANES / 2; w > 0; w /= 2)
		for (int l = 0; l < w; l++)
			acc[l] += acc[l + w];
	for (; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return acc[0] + sum;
}

/*
 * l2_double
 *		Squared L2 distance in double over float4 values: the distance the
 *		ground truth is ordered by.
 */
static double
l2_double(const float *a, const float *b, int dim)
{
	double		sum = 0.0;

	for (int i = 0; i < dim; i++)
	{
		double		d = (double) a[i] - (double) b[i];

		sum += d * d;
	}
	return sum;
}

/*
 * float_error_bound
 *		A bound r on the relative difference between l2_float() or
 *		l2_double() and the exact squared distance: each is within a factor
 *		(1 +- r) of it.  All terms are non-negative, so a chain of n roundings
 *		errs by at most about n units of the last place; twice that is used.
 */
static double
float_error_bound(int dim)
{
	double		nf = dim / LANES + dim % LANES + 4 + 3;	/* adds, sub, mul */
	double		nd = dim + 3;

	return 2.0 * (nf * FLT_EPSILON / 2 + nd * DBL_EPSILON / 2);
}

/*
 * heap_push
 *		Offer (d, idx) to a max-heap by float distance holding at most cap
 *		entries: add it, or replace the root when the heap is full.  The
 *		caller has checked that d is below the root of a full heap.
 */
static inline void
heap_push(float *hd, int32_t *hi, int *n, int cap, float d, int32_t idx)
{
	int			pos;

	if (*n < cap)
	{
		pos = (*n)++;
		while (pos > 0)
		{
			int			parent = (pos - 1) / 2;

			if (hd[parent] >= d)
				break;
			hd[pos] = hd[parent];
			hi[pos] = hi[parent];
			pos = parent;
		}
	}
	else
	{
		pos = 0;
		for (;;)
		{
			int			child = 2 * pos + 1;

			if (child >= cap)
				break;
			if (child + 1 < cap && hd[child + 1] > hd[child])
				child++;
			if (hd[child] <= d)
				break;
			hd[pos] = hd[child];
			hi[pos] = hi[child];
			pos = child;
		}
	}
	hd[pos] = d;
	hi[pos] = idx;
}

/*
 * cmp_cand_float
 *		qsort order of candidates by float distance.
 */
static int
cmp_cand_float(const void *a, const void *b)
{
	const Cand *x = a;
	const Cand *y = b;

	if (x->fdist != y->fdist)
		return x->fdist < y->fdist ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * cmp_cand_exact
 *		qsort order of candidates by double distance, then smaller id.
 */
static int
cmp_cand_exact(const void *a, const void *b)
{
	const Cand *x = a;
	const Cand *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * gt_exact_query
 *		The k nearest base rows of one query in double precision alone, kept
 *		in a sorted array (used only when the float pass cannot be trusted).
 */
static void
gt_exact_query(const GtJob *job, const float *q, int32_t *ids, double *dist)
{
	int			n = 0;
	int			k = job->k;

	for (size_t i = 0; i < job->rows; i++)
	{
		double		d = l2_double(job->base + i * job->dim, q, job->dim);
		int			pos;

		/* rows come in id order, so an equal distance never displaces */
		if (n == k && d >= dist[k - 1])
			continue;
		if (n < k)
			n++;
		pos = n - 1;
		while (pos > 0 && dist[pos - 1] > d)
		{
			dist[pos] = dist[pos - 1];
			ids[pos] = ids[pos - 1];
			pos--;
		}
		dist[pos] = d;
		ids[pos] = (int32_t) (i + 1);
	}
}

/*
 * gt_batch
 *		Answer queries q0 .. q0 + nq - 1: one float pass over the base set for
 *		all of them, then the exact ordering of each query's candidates.
 *		Returns how many queries had to be redone in double.
 */
static int
gt_batch(GtJob *job, int q0, int nq, float *hd, int32_t *hi, Cand *cand)
{
	const int	dim = job->dim;
	const int	k = job->k;
	const int	cap = job->ncand;
	const float *qv = job->queries + (size_t) q0 * dim;
	int			count[QUERY_BATCH];
	float		worst[QUERY_BATCH];
	int			redone = 0;

	for (int q = 0; q < nq; q++)
	{
		count[q] = 0;
		worst[q] = INFINITY;
	}

	for (size_t i = 0; i < job->rows; i++)
	{
		const float *x = job->base + i * dim;

		for (int q = 0; q < nq; q++)
		{
			float		d = l2_float(x, qv + (size_t) q * dim, dim);

			if (d < worst[q])
			{
				heap_push(hd + (size_t) q * cap, hi + (size_t) q * cap,
						  &count[q], cap, d, (int32_t) i);
				if (count[q] == cap)
					worst[q] = hd[(size_t) q * cap];
			}
		}
	}

	for (int q = 0; q < nq; q++)
	{
		const float *query = qv + (size_t) q * dim;
		int32_t    *ids = job->ids + (size_t) (q0 + q) * k;
		double	   *dist = job->dist + (size_t) (q0 + q) * k;
		int			n = count[q];
		double		ratio,
					bound;

		for (int j = 0; j < n; j++)
		{
			cand[j].fdist = hd[(size_t) q * cap + j];
			cand[j].idx = hi[(size_t) q * cap + j];
		}
		qsort(cand, n, sizeof(Cand), cmp_cand_float);

		/*
		 * The k candidates up to the k-th float distance t have exact
		 * distances <= t / (1 - r), so every point of the exact answer has
		 * a float distance <= t (1 + r) / (1 - r)^2 (plus a little for
		 * underflow).  If everything the heap dropped is beyond that, the
		 * candidates hold the answer, including all ties at the k-th place.
		 */
		ratio = (1.0 + job->rel) / (1.0 - job->rel);
		bound = cand[k - 1].fdist * ratio * ratio + dim * 4.0 * (FLT_MIN * FLT_EPSILON);
		if ((size_t) n < job->rows && !((double) cand[n - 1].fdist > bound))
		{
			gt_exact_query(job, query, ids, dist);
			redone++;
			continue;
		}

		for (int j = 0; j < n; j++)
			cand[j].dist = l2_double(job->base + (size_t) cand[j].idx * dim,
									 query, dim);
		qsort(cand, n, sizeof(Cand), cmp_cand_exact);
		for (int j = 0; j < k; j++)
		{
			ids[j] = cand[j].idx + 1;
			dist[j] = cand[j].dist;
		}
	}
	return redone;
}

/*
 * progress_mark
 *		The count at which the step-th tenth of total is reached.
 */
static long
progress_mark(long step, long total)
{
	return (step * total + 9) / 10;
}

/*
 * gt_worker
 *		Thread body: take batches of queries until none are left, reporting
 *		progress every ~10% of the queries.
 */
static void *
gt_worker(void *arg)
{
	GtJob	   *job = arg;
	size_t		hsize = (size_t) QUERY_BATCH * job->ncand;
	float	   *hd = xmalloc(sizeof(float) * hsize, "candidate heaps");
	int32_t    *hi = xmalloc(sizeof(int32_t) * hsize, "candidate heaps");
	Cand	   *cand = xmalloc(sizeof(Cand) * job->ncand, "candidates");

	for (;;)
	{
		int			batch,
					q0,
					nq,
					redone;

		pthread_mutex_lock(&job->lock);
		batch = job->next_batch++;
		pthread_mutex_unlock(&job->lock);

		q0 = batch * QUERY_BATCH;
		if (q0 >= job->nqueries)
			break;
		nq = job->nqueries - q0;
		if (nq > QUERY_BATCH)
			nq = QUERY_BATCH;

		redone = gt_batch(job, q0, nq, hd, hi, cand);

		pthread_mutex_lock(&job->lock);
		job->done += nq;
		job->nredone += redone;
		if (job->done < job->nqueries &&
			job->done >= progress_mark(job->next_report, job->nqueries))
		{
			fprintf(stderr, "%s: ground truth %d/%d queries (%d%%), %.1f s\n",
					PROGNAME, job->done, job->nqueries,
					(int) (100.0 * job->done / job->nqueries),
					now_seconds() - job->start);
			while (job->done >= progress_mark(job->next_report, job->nqueries))
				job->next_report++;
		}
		pthread_mutex_unlock(&job->lock);
	}
	free(hd);
	free(hi);
	free(cand);
	return NULL;
}

/*
 * ground_truth
 *		Fill ids and dist (nqueries x k) with the exact k nearest base rows of
 *		every query, using nthreads threads.
 */
static void
ground_truth(const float *base, size_t rows, const float *queries,
			 int nqueries, int dim, int k, int nthreads,
			 int32_t *ids, double *dist)
{
	GtJob		job;
	pthread_t  *threads;
	int			nbatches = (nqueries + QUERY_BATCH - 1) / QUERY_BATCH;
	double		start = now_seconds();

	memset(&job, 0, sizeof(job));
	job.base = base;
	job.rows = rows;
	job.queries = queries;
	job.nqueries = nqueries;
	job.dim = dim;
	job.k = k;
	job.ncand = (rows < (size_t) k + EXTRA_CANDIDATES) ?
		(int) rows : k + EXTRA_CANDIDATES;
	job.rel = float_error_bound(dim);
	job.ids = ids;
	job.dist = dist;
	job.next_report = 1;
	job.start = start;
	if (pthread_mutex_init(&job.lock, NULL) != 0)
		die("could not create a mutex");

	if (nthreads > nbatches)
		nthreads = nbatches;
	threads = xmalloc(sizeof(pthread_t) * nthreads, "threads");
	for (int t = 0; t < nthreads; t++)
	{
		int			rc = pthread_create(&threads[t], NULL, gt_worker, &job);

		if (rc != 0)
			die("could not create a thread: %s", strerror(rc));
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(threads[t], NULL);
	free(threads);
	pthread_mutex_destroy(&job.lock);

	fprintf(stderr, "%s: ground truth for %d queries (k = %d) in %.1f s "
			"with %d thread%s",
			PROGNAME, nqueries, k, now_seconds() - start, nthreads,
			nthreads == 1 ? "" : "s");
	if (job.nredone > 0)
		fprintf(stderr, " (%d redone in double)", job.nredone);
	fputc('\n', stderr);
}

/*
 * write_gt
 *		Write the ground truth as COPY text lines "qid<TAB>{id1,...,idk}".
 */
static void
write_gt(const char *path, const int32_t *ids, int nqueries, int k)
{
	FILE	   *fp = fopen(path, "w");

	if (fp == NULL)
		die("could not open \"%s\" for writing: %s", path, strerror(errno));
	for (int q = 0; q < nqueries; q++)
	{
		const int32_t *row = ids + (size_t) q * k;

		fprintf(fp, "%d\t{", q + 1);
		for (int j = 0; j < k; j++)
			fprintf(fp, j == 0 ? "%d" : ",%d", (int) row[j]);
		fputs("}\n", fp);
	}
	if (fflush(fp) != 0 || ferror(fp))
		die("could not write to \"%s\": %s", path, strerror(errno));
	if (fclose(fp) != 0)
		die("could not close \"%s\": %s", path, strerror(errno));
}

/*
 * parse_long
 *		An option's value as an integer in [min, max], or a usage error.
 */
static long
parse_long(const char *opt, const char *val, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || v < min || v > max)
		usage_error("invalid value \"%s\" for %s: expected an integer from %ld to %ld",
					val, opt, min, max);
	return v;
}

/*
 * parse_seed
 *		An option's value as an unsigned 64-bit integer, or a usage error.
 */
static uint64_t
parse_seed(const char *opt, const char *val)
{
	char	   *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || strchr(val, '-') != NULL)
		usage_error("invalid value \"%s\" for %s: expected an unsigned 64-bit integer",
					val, opt);
	return (uint64_t) v;
}

/*
 * parse_options
 *		Read the command line into o (defaults for what is not given).
 */
static void
parse_options(int argc, char **argv, Options *o)
{
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->rows = 1000000;
	o->queries = 1000;
	o->clusters = 2000;
	o->dim = 128;
	o->seed = 42;
	o->binary = 1;
	o->k = 10;
	o->threads = ncpu >= 1 ? (ncpu > 1024 ? 1024 : ncpu) : 1;

	for (int i = 1; i < argc; i++)
	{
		const char *arg = argv[i];
		const char *eq;
		const char *val = NULL;
		char		name[32];
		size_t		len;

		if (strncmp(arg, "--", 2) != 0)
			usage_error("unexpected argument \"%s\"", arg);
		eq = strchr(arg, '=');
		len = eq ? (size_t) (eq - arg) : strlen(arg);
		if (len >= sizeof(name))
			usage_error("unknown option \"%.*s\"", (int) len, arg);
		memcpy(name, arg, len);
		name[len] = '\0';
		if (eq)
			val = eq + 1;

		if (strcmp(name, "--help") == 0 || strcmp(name, "--stats") == 0)
		{
			if (val)
				usage_error("option %s takes no value", name);
			if (strcmp(name, "--help") == 0)
			{
				fputs(usage_text, stdout);
				exit(0);
			}
			o->stats = 1;
			continue;
		}

		if (strcmp(name, "--rows") != 0 && strcmp(name, "--queries") != 0 &&
			strcmp(name, "--clusters") != 0 && strcmp(name, "--dim") != 0 &&
			strcmp(name, "--seed") != 0 && strcmp(name, "--base") != 0 &&
			strcmp(name, "--queries-out") != 0 && strcmp(name, "--format") != 0 &&
			strcmp(name, "--gt") != 0 && strcmp(name, "--k") != 0 &&
			strcmp(name, "--threads") != 0)
			usage_error("unknown option \"%s\"", name);
		if (val == NULL)
		{
			if (i + 1 >= argc)
				usage_error("option %s needs a value", name);
			val = argv[++i];
		}

		if (strcmp(name, "--rows") == 0)
			o->rows = parse_long(name, val, 1, INT32_MAX);
		else if (strcmp(name, "--queries") == 0)
			o->queries = parse_long(name, val, 1, 100000000);
		else if (strcmp(name, "--clusters") == 0)
			o->clusters = parse_long(name, val, 1, 100000000);
		else if (strcmp(name, "--dim") == 0)
			o->dim = parse_long(name, val, 1, MAX_DIM);
		else if (strcmp(name, "--seed") == 0)
			o->seed = parse_seed(name, val);
		else if (strcmp(name, "--k") == 0)
			o->k = parse_long(name, val, 1, 1000000);
		else if (strcmp(name, "--threads") == 0)
			o->threads = parse_long(name, val, 1, 1024);
		else if (strcmp(name, "--format") == 0)
		{
			if (strcmp(val, "binary") == 0)
				o->binary = 1;
			else if (strcmp(val, "text") == 0)
				o->binary = 0;
			else
				usage_error("invalid value \"%s\" for --format: expected binary or text",
							val);
		}
		else if (val[0] == '\0')
			usage_error("option %s needs a file name", name);
		else if (strcmp(name, "--base") == 0)
			o->base_path = val;
		else if (strcmp(name, "--queries-out") == 0)
			o->queries_path = val;
		else
			o->gt_path = val;
	}

	if (!o->base_path && !o->queries_path && !o->gt_path && !o->stats)
		usage_error("nothing to do: give --base, --queries-out, --gt or --stats");
	if ((o->gt_path || o->stats) && o->k > o->rows)
		usage_error("--k (%ld) cannot exceed --rows (%ld)", o->k, o->rows);
}

/*
 * main
 *		Build the model, then generate (and write) the base set, the queries,
 *		the ground truth and the statistics that were asked for.
 */
int
main(int argc, char **argv)
{
	Options		o;
	Model		m;
	Rng			rng;
	int			dim;
	size_t		rows;
	int			nqueries;
	int			k;
	int			keep_base;
	float	   *base = NULL;
	float	   *queries = NULL;
	int32_t    *gt_ids = NULL;
	double	   *gt_dist = NULL;
	double		norm_sum = 0.0;
	double		start = now_seconds();
	double		t;

	parse_options(argc, argv, &o);
	dim = (int) o.dim;
	rows = (size_t) o.rows;
	nqueries = (int) o.queries;
	k = (int) o.k;
	keep_base = (o.gt_path != NULL || o.stats);

	model_build(&m, (int) o.clusters, dim, o.seed);

	/* the base set, streamed to its file and kept in memory if needed */
	if (o.base_path || keep_base)
	{
		OutFile		out;
		float	   *point = NULL;
		long		step = 1;

		t = now_seconds();
		if (keep_base)
			base = xmalloc(sizeof(float) * rows * dim, "the base vectors");
		else
			point = xmalloc(sizeof(float) * dim, "a vector");
		if (o.base_path)
			out_open(&out, o.base_path, o.binary, dim);

		rng_init(&rng, o.seed, STREAM_BASE);
		for (size_t i = 0; i < rows; i++)
		{
			float	   *v = keep_base ? base + i * dim : point;
			double		norm2 = 0.0;

			model_point(&m, &rng, v);
			for (int j = 0; j < dim; j++)
				norm2 += (double) v[j] * v[j];
			norm_sum += sqrt(norm2);
			if (o.base_path)
				out_vector(&out, (int32_t) (i + 1), v, dim);

			if (i + 1 < rows && (long) (i + 1) >= progress_mark(step, (long) rows))
			{
				fprintf(stderr, "%s: base %zu/%zu rows (%d%%), %.1f s\n",
						PROGNAME, i + 1, rows, (int) (100.0 * (i + 1) / rows),
						now_seconds() - t);
				while ((long) (i + 1) >= progress_mark(step, (long) rows))
					step++;
			}
		}
		if (o.base_path)
			out_close(&out);
		free(point);
		fprintf(stderr, "%s: generated %zu base rows in %.1f s%s%s%s\n",
				PROGNAME, rows, now_seconds() - t,
				o.base_path ? " (written to \"" : "",
				o.base_path ? o.base_path : "",
				o.base_path ? "\")" : "");
	}

	/* the queries, from their own stream */
	if (o.queries_path || keep_base)
	{
		t = now_seconds();
		queries = xmalloc(sizeof(float) * (size_t) nqueries * dim, "the queries");
		rng_init(&rng, o.seed, STREAM_QUERY);
		for (int q = 0; q < nqueries; q++)
			model_point(&m, &rng, queries + (size_t) q * dim);
		if (o.queries_path)
		{
			OutFile		out;

			out_open(&out, o.queries_path, o.binary, dim);
			for (int q = 0; q < nqueries; q++)
				out_vector(&out, q + 1, queries + (size_t) q * dim, dim);
			out_close(&out);
		}
		fprintf(stderr, "%s: generated %d queries in %.1f s%s%s%s\n",
				PROGNAME, nqueries, now_seconds() - t,
				o.queries_path ? " (written to \"" : "",
				o.queries_path ? o.queries_path : "",
				o.queries_path ? "\")" : "");
	}
	model_free(&m);

	/* exact neighbours, needed by --gt and --stats */
	if (keep_base)
	{
		gt_ids = xmalloc(sizeof(int32_t) * (size_t) nqueries * k, "the ground truth");
		gt_dist = xmalloc(sizeof(double) * (size_t) nqueries * k, "the ground truth");
		ground_truth(base, rows, queries, nqueries, dim, k, (int) o.threads,
					 gt_ids, gt_dist);
		if (o.gt_path)
			write_gt(o.gt_path, gt_ids, nqueries, k);
	}

	if (o.stats)
	{
		double		nn_sum = 0.0,
					nn_min = INFINITY,
					kth_sum = 0.0,
					rand_sum = 0.0;

		rng_init(&rng, o.seed, STREAM_STATS);
		for (int q = 0; q < nqueries; q++)
		{
			const float *query = queries + (size_t) q * dim;

			nn_sum += sqrt(gt_dist[(size_t) q * k]);
			if (sqrt(gt_dist[(size_t) q * k]) < nn_min)
				nn_min = sqrt(gt_dist[(size_t) q * k]);
			kth_sum += sqrt(gt_dist[(size_t) q * k + k - 1]);
			for (int r = 0; r < STATS_RANDOM; r++)
			{
				size_t		idx = (size_t) (rng_uniform(&rng) * rows);

				rand_sum += sqrt(l2_double(base + idx * dim, query, dim));
			}
		}
		nn_sum /= nqueries;
		kth_sum /= nqueries;
		rand_sum /= (double) nqueries * STATS_RANDOM;
		printf("rows %zu\n", rows);
		printf("queries %d\n", nqueries);
		printf("dim %d\n", dim);
		printf("clusters %ld\n", o.clusters);
		printf("mean_base_norm %.6f\n", norm_sum / rows);
		printf("mean_nn_dist %.6f\n", nn_sum);
		printf("min_nn_dist %.6f\n", nn_min);
		printf("mean_kth_nn_dist %.6f (k = %d)\n", kth_sum, k);
		printf("mean_random_dist %.6f\n", rand_sum);
		printf("nn_random_ratio %.4f\n", nn_sum / rand_sum);
		if (fflush(stdout) != 0 || ferror(stdout))
			die("could not write to standard output: %s", strerror(errno));
	}

	free(base);
	free(queries);
	free(gt_ids);
	free(gt_dist);
	fprintf(stderr, "%s: done in %.1f s\n", PROGNAME, now_seconds() - start);
	return 0;
}
