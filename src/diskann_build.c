/*
 * diskann_build.c
 *		CREATE INDEX for diskann: Vamana in memory, then pages.
 *
 * The heap is scanned once.  Vectors (in index form), heap TIDs and
 * neighbour lists go into flat arrays while they fit in
 * maintenance_work_mem.  The graph is built over them with two Vamana
 * passes (alpha = 1, then alpha = max_alpha) from the medoid, written out
 * page by page, and WAL-logged in bulk with log_newpage_range.
 *
 * If the table does not fit, the nodes collected so far are built and
 * written as above, a NOTICE says so, and every further tuple is inserted
 * into the on-disk graph (much slower, but it finishes).
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "diskann.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/indexfsm.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "vector.h"

/* Sub-phases reported in pg_stat_progress_create_index (see diskann.c) */
#define PHASE_LOAD			2
#define PHASE_PASS1			3
#define PHASE_PASS2			4
#define PHASE_WRITE			5
#define PHASE_DISK_INSERT	6

/* Transparent huge pages, asked for on the build's big random-access arrays */
#define HUGE_PAGE_SIZE		((size_t) 2 * 1024 * 1024)

/*
 * Largest half copy preferred to SQ8: roughly what stays cache-resident on
 * current server CPUs (the L3 size the system reports is not reliable in
 * virtual machines).
 */
#define HALF_COPY_CACHE_LIMIT	((size_t) 16 * 1024 * 1024)

/* Lines of each neighbour's compact vector fetched when a list is read */
#define NEIGHBOR_PREFETCH_LINES	2

/*
 * The in-memory graph of a build.  Distances are computed against a compact
 * copy of the vectors (SQ8 or half precision, see MakeCompactCopy); queries
 * and the pages use the float4 vectors.
 */
typedef struct MemGraph
{
	DiskannGraph g;				/* must be first */
	float	   *vectors;		/* capacity x dimensions */
	void	   *copy_raw;		/* allocation holding halves or codes */
	OmenHalf   *halves;			/* the same in half precision, or NULL */
	float		(*halfdistfn) (const float *, const OmenHalf *, int);
	OmenSq8    *codes;			/* the same scalar-quantised, or NULL */
	float	   *sq8min;			/* per dimension: value of code 0 */
	float	   *sq8scale;		/* per dimension: step between codes */
	float		(*sq8fn) (const float *, const OmenSq8 *, const float *,
						  const float *, int);
	DiskannNode *neighbors;		/* capacity x R */
	uint16	   *degree;			/* capacity */
	ItemPointerData *tids;		/* capacity */
	char	   *filters;		/* capacity x filter record size, or NULL */
	uint32		capacity;
} MemGraph;

typedef struct DiskannBuildState
{
	Relation	heap;
	Relation	index;
	DiskannLayout layout;
	int			search_list_size;
	double		max_alpha;
	double		indtuples;		/* tuples indexed */
	double		reltuples;

	MemGraph	mem;
	uint32		max_in_memory;	/* nodes that fit in maintenance_work_mem */
	size_t		per_node;		/* bytes per node assumed for that */

	/* after overflowing memory: inserting on disk */
	DiskannGraph *disk;

	float	   *vecbuf;			/* one prepared vector */
	char	   *filterbuf;		/* its filter record */
	int			vcol;			/* the vector's key column (0-based) */
	MemoryContext tmpctx;		/* per-tuple */
} DiskannBuildState;

/* MemGraph callback: distance of a node to a vector */
static float
MemNodeDistance(DiskannGraph *g, DiskannNode node, const float *vec)
{
	MemGraph   *mg = (MemGraph *) g;

	if (mg->codes)
	{
		float		d = mg->sq8fn(vec, mg->codes + (size_t) node * g->dimensions,
								  mg->sq8min, mg->sq8scale, g->dimensions);

		switch (g->metric)
		{
			case DISKANN_METRIC_IP:
				return -d;
			case DISKANN_METRIC_COSINE:
				/* 1 - a.b = |a - b|^2 / 2 on unit vectors; 0 for a copy */
				return 0.5f * d;
			default:
				return d;		/* L2 squared, L1 */
		}
	}
	if (mg->halves)
		return mg->halfdistfn(vec, mg->halves + (size_t) node * g->dimensions, g->dimensions);
	return g->distfn(mg->vectors + (size_t) node * g->dimensions, vec, g->dimensions);
}

/*
 * MemGetNeighbors
 *		MemGraph callback: a node's out-neighbours.  Also starts loading the
 *		first lines of each neighbour's compact vector: a search computes
 *		their distances next, and the graph code's own prefetch (two nodes
 *		ahead) is too late to hide a DRAM access.
 */
static int
MemGetNeighbors(DiskannGraph *g, DiskannNode node, DiskannNode *out, uint8 *flags)
{
	MemGraph   *mg = (MemGraph *) g;
	int			n = mg->degree[node];
	size_t		rowbytes;
	size_t		pflen;
	const char *base;

	memcpy(out, mg->neighbors + (size_t) node * g->max_degree,
		   sizeof(DiskannNode) * n);
	if (flags)
		*flags = DISKANN_NODE_LIVE;
	if (mg->codes)
	{
		base = (const char *) mg->codes;
		rowbytes = sizeof(OmenSq8) * g->dimensions;
	}
	else if (mg->halves)
	{
		base = (const char *) mg->halves;
		rowbytes = sizeof(OmenHalf) * g->dimensions;
	}
	else
		return n;
	pflen = Min(rowbytes, NEIGHBOR_PREFETCH_LINES * 64);
	for (int i = 0; i < n; i++)
	{
		const char *p = base + (size_t) out[i] * rowbytes;

		for (size_t off = 0; off < pflen; off += 64)
			__builtin_prefetch(p + off);
	}
	return n;
}

/*
 * MemUpdateNeighbors
 *		MemGraph callback: replace a node's out-neighbours.  A build is
 *		single-threaded, so the list is always the one expected.
 */
static bool
MemUpdateNeighbors(DiskannGraph *g, DiskannNode node, const DiskannNode *expected,
				   int nexpected, const DiskannNode *nbrs, int n)
{
	MemGraph   *mg = (MemGraph *) g;

	memmove(mg->neighbors + (size_t) node * g->max_degree, nbrs,
			sizeof(DiskannNode) * n);
	mg->degree[node] = n;
	return true;
}

/* MemGraph callback: start loading a node's vector into the cache */
static void
MemPrefetch(DiskannGraph *g, DiskannNode node)
{
	MemGraph   *mg = (MemGraph *) g;
	const char *p;
	size_t		len;

	if (mg->codes)
	{
		p = (const char *) (mg->codes + (size_t) node * g->dimensions);
		len = sizeof(OmenSq8) * g->dimensions;
	}
	else if (mg->halves)
	{
		p = (const char *) (mg->halves + (size_t) node * g->dimensions);
		len = sizeof(OmenHalf) * g->dimensions;
	}
	else
	{
		p = (const char *) (mg->vectors + (size_t) node * g->dimensions);
		len = sizeof(float) * g->dimensions;
	}

	for (size_t off = 0; off < len; off += 64)
		__builtin_prefetch(p + off);
}

/*
 * MemGetVector
 *		MemGraph callback: a node's vector.  Under SQ8 that is its
 *		reconstruction (in buf), so that every distance of the build is
 *		between reconstructed vectors and a copy of a node is at distance
 *		exactly 0, which RobustPrune relies on to recognise copies.
 *		Otherwise the float4 vector, in place.
 */
static const float *
MemGetVector(DiskannGraph *g, DiskannNode node, float *buf)
{
	MemGraph   *mg = (MemGraph *) g;

	if (mg->codes)
	{
		omen_sq8_kernels.decode(mg->codes + (size_t) node * g->dimensions,
								mg->sq8min, mg->sq8scale, buf, g->dimensions);
		return buf;
	}
	if (mg->halves)
	{
		/* widen the half copy, so that a node's copies are at distance 0 */
		const OmenHalf *h = mg->halves + (size_t) node * g->dimensions;

		for (int i = 0; i < g->dimensions; i++)
			buf[i] = OmenHalfToFloat(h[i]);
		return buf;
	}
	return mg->vectors + (size_t) node * g->dimensions;
}

/*
 * MemGraphMaxDegree
 *		Room per node in the in-memory graph: R plus the build slack.
 */
static int
MemGraphMaxDegree(int R)
{
	return (int) (R * DISKANN_BUILD_SLACK + 0.999);
}

/*
 * MemGraphInit
 *		Set up an empty in-memory graph with room for capacity nodes.
 */
static void
MemGraphInit(DiskannBuildState *bs, uint32 capacity)
{
	MemGraph   *mg = &bs->mem;
	int			dim = bs->layout.dimensions;
	int			R = MemGraphMaxDegree(bs->layout.num_neighbors);

	memset(mg, 0, sizeof(MemGraph));
	mg->capacity = Max(capacity, 16);
	mg->vectors = MemoryContextAllocHuge(CurrentMemoryContext,
										 sizeof(float) * dim * (size_t) mg->capacity);
	mg->neighbors = MemoryContextAllocHuge(CurrentMemoryContext,
										   sizeof(DiskannNode) * R * (size_t) mg->capacity);
	mg->degree = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(uint16) * (size_t) mg->capacity);
	mg->tids = MemoryContextAllocHuge(CurrentMemoryContext,
									  sizeof(ItemPointerData) * (size_t) mg->capacity);
	if (bs->layout.filter_size > 0)
		mg->filters = MemoryContextAllocHuge(CurrentMemoryContext,
											 (size_t) bs->layout.filter_size * mg->capacity);
	mg->g.dimensions = dim;
	mg->g.num_neighbors = bs->layout.num_neighbors;
	mg->g.max_degree = R;
	mg->g.search_list_size = bs->search_list_size;
	mg->g.alpha = 1.0f;
	mg->g.metric = bs->layout.metric;
	mg->g.distfn = DiskannDistanceFunction(bs->layout.metric);
	mg->g.node_distance = MemNodeDistance;
	mg->g.get_neighbors = MemGetNeighbors;
	mg->g.update_neighbors = MemUpdateNeighbors;
	mg->g.get_vector = MemGetVector;
	mg->g.prefetch = MemPrefetch;
	mg->g.entry_point = DISKANN_INVALID_NODE;
	mg->g.num_nodes = 0;
}

/*
 * MemGraphGrow
 *		Double the in-memory graph's capacity, up to max_in_memory.
 */
static void
MemGraphGrow(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	size_t		cap = Min((size_t) mg->capacity * 2, (size_t) bs->max_in_memory);
	int			dim = bs->layout.dimensions;
	int			R = mg->g.max_degree;

	mg->vectors = repalloc_huge(mg->vectors, sizeof(float) * dim * cap);
	mg->neighbors = repalloc_huge(mg->neighbors, sizeof(DiskannNode) * R * cap);
	mg->degree = repalloc_huge(mg->degree, sizeof(uint16) * cap);
	mg->tids = repalloc_huge(mg->tids, sizeof(ItemPointerData) * cap);
	if (mg->filters)
		mg->filters = repalloc_huge(mg->filters, (size_t) bs->layout.filter_size * cap);
	mg->capacity = cap;
}

/*
 * MemGraphCentroid
 *		The centroid of the in-memory graph's vectors (at least one), in
 *		the current memory context; summed in double.
 */
static float *
MemGraphCentroid(MemGraph *mg)
{
	int			dim = mg->g.dimensions;
	uint32		n = mg->g.num_nodes;
	double	   *sum = palloc0(sizeof(double) * dim);
	float	   *centroid = palloc(sizeof(float) * dim);

	for (uint32 i = 0; i < n; i++)
	{
		const float *v = mg->vectors + (size_t) i * dim;

		for (int d = 0; d < dim; d++)
			sum[d] += v[d];
	}
	for (int d = 0; d < dim; d++)
		centroid[d] = (float) (sum[d] / n);
	pfree(sum);
	return centroid;
}

/*
 * FindMedoid
 *		The node closest to the centroid of all nodes: the entry point.
 */
static DiskannNode
FindMedoid(MemGraph *mg)
{
	uint32		n = mg->g.num_nodes;
	float	   *centroid = MemGraphCentroid(mg);
	DiskannNode best = 0;
	float		bestdist = 0;

	for (uint32 i = 0; i < n; i++)
	{
		float		dist = mg->g.node_distance(&mg->g, i, centroid);

		if (i == 0 || dist < bestdist)
		{
			best = i;
			bestdist = dist;
		}
	}
	pfree(centroid);
	return best;
}

/*
 * AdviseHugePages
 *		Ask for transparent huge pages over the whole 2 MB pages within
 *		[p, p + len).  The build reads its arrays at random; with 4 kB pages
 *		nearly every access to a large array also misses the TLB.  Only
 *		pages not yet touched are affected at once.
 */
static void
AdviseHugePages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	start = TYPEALIGN(HUGE_PAGE_SIZE, (uintptr_t) p);
	uintptr_t	end = TYPEALIGN_DOWN(HUGE_PAGE_SIZE, (uintptr_t) p + len);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/*
 * AllocCopyArray
 *		Allocate len bytes for the compact copy, aligned to a huge page and
 *		advised to use huge pages.  The allocation to free is stored in
 *		mg->copy_raw.
 */
static void *
AllocCopyArray(MemGraph *mg, size_t len)
{
	char	   *raw = MemoryContextAllocHuge(CurrentMemoryContext,
											 Max(len, 1) + HUGE_PAGE_SIZE);
	void	   *p = (void *) TYPEALIGN(HUGE_PAGE_SIZE, raw);

	mg->copy_raw = raw;
	AdviseHugePages(p, len);
	return p;
}

/*
 * MakeHalfCopy
 *		Give the graph a half-precision copy of its vectors when the values
 *		suit half precision (largest magnitude between 1e-3 and 6e4).
 *		Returns false (and makes no copy) otherwise.
 */
static bool
MakeHalfCopy(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	size_t		total = (size_t) mg->g.num_nodes * mg->g.dimensions;
	float		maxabs = 0.0f;

	mg->halves = NULL;
	for (size_t i = 0; i < total; i++)
		maxabs = Max(maxabs, fabsf(mg->vectors[i]));
	if (!(maxabs >= 1e-3f && maxabs <= 6e4f))
		return false;
	mg->halves = AllocCopyArray(mg, sizeof(OmenHalf) * total);
	for (size_t i = 0; i < total; i++)
		mg->halves[i] = OmenFloatToHalf(mg->vectors[i]);
	mg->halfdistfn = DiskannHalfDistanceFunction(bs->layout.metric);
	return true;
}

/*
 * MakeSq8Copy
 *		Give the graph a scalar-quantised copy of its vectors: one byte per
 *		dimension, with each dimension's minimum and step (range / 255)
 *		over all collected vectors.  The kernels reconstruct min + step *
 *		code and compute the metric's own distance from it.
 */
static void
MakeSq8Copy(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	int			dim = mg->g.dimensions;
	uint32		n = mg->g.num_nodes;
	float	   *max = palloc(sizeof(float) * dim);

	OmenSq8KernelsInit();
	mg->sq8min = palloc(sizeof(float) * dim);
	mg->sq8scale = palloc(sizeof(float) * dim);
	memcpy(mg->sq8min, mg->vectors, sizeof(float) * dim);
	memcpy(max, mg->vectors, sizeof(float) * dim);
	for (uint32 i = 1; i < n; i++)
	{
		const float *v = mg->vectors + (size_t) i * dim;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int d = 0; d < dim; d++)
		{
			mg->sq8min[d] = Min(mg->sq8min[d], v[d]);
			max[d] = Max(max[d], v[d]);
		}
	}
	/* in double: max - min can overflow float */
	for (int d = 0; d < dim; d++)
		mg->sq8scale[d] = (float) (((double) max[d] - mg->sq8min[d]) / 255.0);
	pfree(max);

	mg->codes = AllocCopyArray(mg, sizeof(OmenSq8) * dim * (size_t) n);
	for (uint32 i = 0; i < n; i++)
	{
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		OmenSq8Encode(mg->vectors + (size_t) i * dim, mg->sq8min, mg->sq8scale,
					  mg->codes + (size_t) i * dim, dim);
	}
	switch (bs->layout.metric)
	{
		case DISKANN_METRIC_L2:
		case DISKANN_METRIC_COSINE:
			mg->sq8fn = omen_sq8_kernels.l2sq;
			break;
		case DISKANN_METRIC_L1:
			mg->sq8fn = omen_sq8_kernels.l1;
			break;
		case DISKANN_METRIC_IP:
			mg->sq8fn = omen_sq8_kernels.dot;
			break;
	}
}

/*
 * MakeCompactCopy
 *		Give the graph the compact copy of its vectors that its distance
 *		computations use; final vectors in the index stay float4, the copy
 *		only steers the graph's construction.
 *
 *		Once the vectors no longer fit in the cache, the build is bound by
 *		memory traffic and SQ8 (a quarter of float4) is fastest.  While a
 *		half copy stays cache-resident, the cheaper half kernel wins
 *		(measured: 10,000 x 128 builds in 3.6 s with half, 4.8 s with SQ8),
 *		so half is used then, provided it stays within the budget the
 *		memory accounting assumed (SQ8 per node) and the values suit it.
 */
static void
MakeCompactCopy(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	size_t		halfbytes = sizeof(OmenHalf) * mg->g.dimensions * (size_t) mg->g.num_nodes;
	size_t		sq8bytes = sizeof(OmenSq8) * mg->g.dimensions * (size_t) mg->g.num_nodes;
	size_t		withhalf = (size_t) mg->g.num_nodes *
		(bs->per_node + (sizeof(OmenHalf) - sizeof(OmenSq8)) * mg->g.dimensions);

	/* the neighbour lists are read at random too; not written yet */
	AdviseHugePages(mg->neighbors,
					sizeof(DiskannNode) * mg->g.max_degree * (size_t) mg->capacity);

	if (halfbytes <= HALF_COPY_CACHE_LIMIT &&
		withhalf <= (size_t) maintenance_work_mem * 1024 &&
		MakeHalfCopy(bs))
	{
		elog(DEBUG1, "diskann build: half-precision copy of the vectors (%zu kB)",
			 halfbytes / 1024);
		return;
	}
	MakeSq8Copy(bs);
	elog(DEBUG1, "diskann build: SQ8 copy of the vectors (%zu kB)", sq8bytes / 1024);
}

/*
 * BuildMemGraph
 *		Vamana over the collected nodes: insert every node in random order
 *		with alpha = 1 (medoid first), then refine every node with
 *		alpha = max_alpha.
 */
static void
BuildMemGraph(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	uint32		n = mg->g.num_nodes;
	DiskannNode *order;
	DiskannNode medoid;
	float	   *qbuf;
	pg_prng_state rng;
	TimestampTz start;
	uint32		repaired;

	if (n == 0)
		return;
	memset(mg->degree, 0, sizeof(uint16) * n);
	DiskannGraphInitScratch(&mg->g);
	MakeCompactCopy(bs);

	/* a random order, fixed per build, with the medoid first */
	medoid = FindMedoid(mg);
	order = palloc(sizeof(DiskannNode) * n);
	for (uint32 i = 0; i < n; i++)
		order[i] = i;
	pg_prng_seed(&rng, 0x0DA7A1CE);
	for (uint32 i = n - 1; i > 0; i--)
	{
		uint32		j = (uint32) pg_prng_uint64_range(&rng, 0, i);
		DiskannNode t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (uint32 i = 0; i < n; i++)
		if (order[i] == medoid)
		{
			order[i] = order[0];
			order[0] = medoid;
			break;
		}

	start = GetCurrentTimestamp();
	qbuf = palloc(sizeof(float) * mg->g.dimensions);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PHASE_PASS1);
	mg->g.alpha = 1.0f;
	mg->g.entry_point = DISKANN_INVALID_NODE;
	mg->g.search_list_size = Max(bs->layout.num_neighbors, bs->search_list_size / 2);
	for (uint32 i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		DiskannInsertNode(&mg->g, order[i], MemGetVector(&mg->g, order[i], qbuf));
		if ((i & 1023) == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, i);
	}

	elog(DEBUG1, "diskann build: pass 1 over %u nodes took %.3f s", n,
		 TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()) / 1000.0);
	start = GetCurrentTimestamp();
	if (bs->max_alpha > 1.0)
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PHASE_PASS2);
		mg->g.alpha = (float) bs->max_alpha;
		mg->g.search_list_size = bs->search_list_size;
		for (uint32 i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			DiskannRefineNode(&mg->g, order[i]);
			if ((i & 1023) == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, i);
		}
	}
	/* lists that grew into the slack are cut back to R */
	for (uint32 i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		DiskannTrimNode(&mg->g, i);
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, n);
	elog(DEBUG1, "diskann build: pass 2 took %.3f s",
		 TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()) / 1000.0);
	repaired = DiskannRepairReachability(&mg->g);
	elog(DEBUG1, "diskann build: %u nodes needed an in-edge to be reachable", repaired);
	pfree(order);
	pfree(qbuf);
}

/*
 * WriteMetaPage
 *		Fill block 0 (already allocated) with the metapage: entry point and
 *		live count as given.
 */
static void
WriteMetaPage(DiskannBuildState *bs, DiskannNode entry, uint32 nlive)
{
	Buffer		buf = ReadBuffer(bs->index, DISKANN_METAPAGE_BLKNO);

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	DiskannFillMetaPage(BufferGetPage(buf), &bs->layout, bs->search_list_size,
						bs->max_alpha, entry, nlive);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/*
 * NewGroupPage
 *		Extend the index by one initialised page of a group (its head page
 *		if head) and return it, pinned and exclusive-locked.  Only for a
 *		build, which nothing else sees.
 */
static Buffer
NewGroupPage(Relation index, bool head)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	DiskannInitPage(page, head ? (DISKANN_PAGE_NODES | DISKANN_PAGE_HEADS) :
					DISKANN_PAGE_NODES);
	((PageHeader) page)->pd_lower = ((PageHeader) page)->pd_upper;
	return buf;
}

/*
 * WriteGroup
 *		Write group number group of the in-memory graph (its nodes that
 *		exist; the rest of the group's slots free and never used) into new
 *		pages at the end of the index.
 */
static void
WriteGroup(DiskannBuildState *bs, uint32 group, char *image)
{
	MemGraph   *mg = &bs->mem;
	const DiskannLayout *layout = &bs->layout;
	uint32		H = layout->heads_per_group;

	DiskannFillGroupImage(layout, image);
	for (uint32 i = 0; i < H; i++)
	{
		DiskannNode n = group * H + i;
		DiskannNodeHeader *hdr = (DiskannNodeHeader *) (image + DiskannHeadOffset(layout, i));
		char	   *vslot = image + DiskannSlotOffset(layout, i);
		int			deg;

		if (n >= mg->g.num_nodes)
			break;
		deg = mg->degree[n];
		Assert(deg <= layout->num_neighbors);
		hdr->heaptid = mg->tids[n];
		hdr->flags = DISKANN_NODE_LIVE;
		hdr->num_neighbors = deg;
		hdr->generation = 1;
		memcpy(DiskannHeadNeighbors(hdr), mg->neighbors + (size_t) n * mg->g.max_degree,
			   sizeof(DiskannNode) * deg);
		((DiskannVectorHeader *) vslot)->generation = 1;
		if (mg->filters)
		{
			const char *rec = mg->filters + (size_t) n * layout->filter_size;

			memcpy(DiskannHeadFilter(hdr, layout), rec, layout->filter_size);
			memcpy(vslot + sizeof(DiskannVectorHeader), rec, layout->filter_size);
			if (layout->summary_size > 0)
				DiskannFilterSummaryAdd(layout, image, rec);
		}
		DiskannFillSlotPayload(layout, mg->vectors + (size_t) n * layout->dimensions,
							   vslot + layout->vector_offset);
	}
	for (uint32 p = 0; p < layout->pages_per_group; p++)
	{
		Buffer		buf = NewGroupPage(bs->index, p == 0);

		Assert(BufferGetBlockNumber(buf) == DiskannGroupFirstBlock(layout, group) + p);
		memcpy(PageGetContents(BufferGetPage(buf)),
			   image + (size_t) p * DISKANN_PAGE_DATA_SIZE, DISKANN_PAGE_DATA_SIZE);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * WriteMemGraph
 *		Write the in-memory graph's nodes into groups of pages, starting at
 *		block 1.  A last group with unused slots is entered into the free
 *		space map, for inserts.
 */
static void
WriteMemGraph(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	const DiskannLayout *layout = &bs->layout;
	uint32		ngroups = (mg->g.num_nodes + layout->heads_per_group - 1) /
		layout->heads_per_group;
	char	   *image = palloc((size_t) layout->pages_per_group * DISKANN_PAGE_DATA_SIZE);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PHASE_WRITE);
	for (uint32 group = 0; group < ngroups; group++)
	{
		CHECK_FOR_INTERRUPTS();
		WriteGroup(bs, group, image);
	}
	if (mg->g.num_nodes % layout->heads_per_group != 0)
		RecordFreeIndexPage(bs->index, DiskannGroupFirstBlock(layout, ngroups - 1));
	pfree(image);
}

/*
 * TrainQuantizer
 *		Under compressed storage, centre the quantizer on the centroid of
 *		the vectors collected (the origin if there are none) and write its
 *		pages (blocks 1.., allocated by AllocQuantPages).  This is the only
 *		time an index's quantizer is trained: rows inserted later are coded
 *		around the same centroid until REINDEX.
 */
static void
TrainQuantizer(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	DiskannLayout *layout = &bs->layout;
	uint32		n = mg->g.num_nodes;

	if (layout->storage != DISKANN_PAYLOAD_RABITQ)
		return;
	DiskannSetQuantizer(layout, n > 0 ? MemGraphCentroid(mg) : NULL);
	layout->quant_trained = n;
	for (uint32 i = 0; i < layout->first_block - DISKANN_FIRST_NODE_BLKNO; i++)
	{
		Buffer		buf = ReadBuffer(bs->index, DISKANN_FIRST_NODE_BLKNO + i);

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		DiskannFillQuantPage(BufferGetPage(buf), layout, i);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * AllocQuantPages
 *		Under compressed storage, add the blocks of the quantizer after the
 *		metapage (filled in by TrainQuantizer), so that groups start after
 *		them.
 */
static void
AllocQuantPages(DiskannBuildState *bs)
{
	for (uint32 i = 0; i < bs->layout.first_block - DISKANN_FIRST_NODE_BLKNO; i++)
	{
		Buffer		buf = ReadBufferExtended(bs->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);

		Assert(BufferGetBlockNumber(buf) == DISKANN_FIRST_NODE_BLKNO + i);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		DiskannInitPage(BufferGetPage(buf), DISKANN_PAGE_QUANT);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * PermuteArray
 *		Reorder n elements of size es at base so that element i becomes
 *		what element perm[i] was, in place (following the permutation's
 *		cycles, with one element of scratch space).
 */
static void
PermuteArray(char *base, size_t es, const uint32 *perm, uint32 n)
{
	char	   *tmp = palloc(es);
	bool	   *done = palloc0(sizeof(bool) * n);

	for (uint32 start = 0; start < n; start++)
	{
		uint32		j = start;

		if (done[start] || perm[start] == start)
			continue;
		memcpy(tmp, base + es * start, es);
		for (;;)
		{
			uint32		k = perm[j];

			done[j] = true;
			if (k == start)
			{
				memcpy(base + es * j, tmp, es);
				break;
			}
			memcpy(base + es * j, base + es * k, es);
			j = k;
		}
	}
	pfree(done);
	pfree(tmp);
}

/*
 * RecordOrder
 *		qsort_arg comparator of node numbers by their filter records.
 */
static int
RecordOrder(const void *a, const void *b, void *arg)
{
	DiskannBuildState *bs = (DiskannBuildState *) arg;
	uint32		na = *(const uint32 *) a;
	uint32		nb = *(const uint32 *) b;
	size_t		size = bs->layout.filter_size;
	int			c = DiskannFilterRecordCompare(&bs->layout, bs->mem.filters + size * na,
											   bs->mem.filters + size * nb);

	if (c != 0)
		return c;
	return na < nb ? -1 : (na > nb ? 1 : 0);
}

/*
 * ClusterByFilter
 *		Number the collected nodes in the order of their filter records,
 *		so that the nodes of a group share filter values and an exact pass
 *		can skip the groups whose summaries rule its filter out.  The graph
 *		is built after this, in its own random order, so its quality does
 *		not depend on the numbering.
 */
static void
ClusterByFilter(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;
	uint32		n = mg->g.num_nodes;
	uint32	   *perm;

	if (bs->layout.summary_size == 0 || n <= bs->layout.heads_per_group)
		return;
	perm = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * (size_t) n);
	for (uint32 i = 0; i < n; i++)
		perm[i] = i;
	qsort_arg(perm, n, sizeof(uint32), RecordOrder, bs);
	PermuteArray((char *) mg->vectors, sizeof(float) * bs->layout.dimensions, perm, n);
	PermuteArray((char *) mg->tids, sizeof(ItemPointerData), perm, n);
	PermuteArray(mg->filters, bs->layout.filter_size, perm, n);
	pfree(perm);
}

/*
 * FlushMemGraph
 *		Build the graph over the nodes collected so far (numbered in the
 *		order of their filter records) and write it out (with the quantizer
 *		trained on them, under compressed storage).
 */
static void
FlushMemGraph(DiskannBuildState *bs)
{
	ClusterByFilter(bs);
	BuildMemGraph(bs);
	TrainQuantizer(bs);
	WriteMemGraph(bs);
}

/*
 * SwitchToDisk
 *		Memory is full: write what we have and insert the rest on disk.
 */
static void
SwitchToDisk(DiskannBuildState *bs)
{
	MemGraph   *mg = &bs->mem;

	ereport(NOTICE,
			(errmsg("diskann graph no longer fits into maintenance_work_mem after %u tuples",
					mg->g.num_nodes),
			 errdetail("Building will take significantly more time."),
			 errhint("Increase maintenance_work_mem to speed up builds.")));
	FlushMemGraph(bs);
	WriteMetaPage(bs, mg->g.entry_point, mg->g.num_nodes);
	bs->disk = DiskannOpenDiskGraph(bs->index, &bs->layout, mg->g.entry_point,
									bs->search_list_size, (float) bs->max_alpha);
	pfree(mg->vectors);
	pfree(mg->neighbors);
	pfree(mg->degree);
	pfree(mg->tids);
	if (mg->filters)
		pfree(mg->filters);
	mg->filters = NULL;
	if (mg->copy_raw)
		pfree(mg->copy_raw);
	mg->vectors = NULL;
	mg->copy_raw = NULL;
	mg->halves = NULL;
	mg->codes = NULL;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PHASE_DISK_INSERT);
}

/*
 * DiskInsert
 *		Insert one node into the on-disk graph of a build, as aminsert does.
 */
static void
DiskInsert(DiskannBuildState *bs, ItemPointer tid, const float *vec)
{
	DiskannInsertTuple(bs->index, &bs->layout, bs->disk, tid, vec, bs->filterbuf);
}

/*
 * BuildCallback
 *		Called for every heap tuple: collect its vector (or insert it on
 *		disk once memory is full).  NULLs and, under cosine, zero vectors
 *		are not indexed.
 */
static void
BuildCallback(Relation index, ItemPointer tid, Datum *values,
			  bool *isnull, bool tupleIsAlive, void *state)
{
	DiskannBuildState *bs = (DiskannBuildState *) state;
	MemoryContext oldctx;
	Vector	   *v;
	bool		ok;

	if (isnull[bs->vcol])
		return;

	oldctx = MemoryContextSwitchTo(bs->tmpctx);
	v = DatumGetVector(values[bs->vcol]);
	if (v->dim != (int) bs->layout.dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", bs->layout.dimensions, v->dim)));
	ok = DiskannPrepareVector(bs->layout.metric, v->x, bs->vecbuf, v->dim);
	if (ok)
		DiskannFormFilterRecord(index, &bs->layout, values, isnull, bs->filterbuf);
	MemoryContextSwitchTo(oldctx);
	MemoryContextReset(bs->tmpctx);
	if (!ok)
		return;

	if (bs->disk == NULL && bs->mem.g.num_nodes >= bs->max_in_memory)
		SwitchToDisk(bs);

	if (bs->disk != NULL)
		DiskInsert(bs, tid, bs->vecbuf);
	else
	{
		MemGraph   *mg = &bs->mem;
		uint32		n = mg->g.num_nodes;

		if (n >= mg->capacity)
			MemGraphGrow(bs);
		memcpy(mg->vectors + (size_t) n * bs->layout.dimensions, bs->vecbuf,
			   sizeof(float) * bs->layout.dimensions);
		mg->tids[n] = *tid;
		if (mg->filters)
			memcpy(mg->filters + (size_t) n * bs->layout.filter_size, bs->filterbuf,
				   bs->layout.filter_size);
		mg->degree[n] = 0;
		mg->g.num_nodes++;
	}
	bs->indtuples++;
	if (((uint64) bs->indtuples & 1023) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
}

/*
 * GetIndexDimensions
 *		Dimensions of the indexed column, from its type modifier, with
 *		clear errors for columns the index cannot hold.
 */
static int
GetIndexDimensions(Relation index)
{
	int			dim = TupleDescAttr(RelationGetDescr(index), DiskannVectorColumn(index))->atttypmod;

	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions"),
				 errhint("Declare the column with a dimension count, for example vector(3).")));
	if (dim > DISKANN_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for diskann index",
						DISKANN_MAX_DIM)));
	return dim;
}

/*
 * InitBuildState
 *		Read options, check them and work out the layout and memory budget.
 */
static void
InitBuildState(DiskannBuildState *bs, Relation heap, Relation index)
{
	int			R = DiskannGetNumNeighbors(index);
	size_t		per_node;
	uint8		kinds[DISKANN_MAX_FILTERS];
	int			nfilters;

	memset(bs, 0, sizeof(DiskannBuildState));
	bs->heap = heap;
	bs->index = index;
	bs->search_list_size = DiskannGetSearchListSize(index);
	bs->max_alpha = DiskannGetMaxAlpha(index);
	DiskannCheckListSize(R, bs->search_list_size);
	nfilters = DiskannIndexFilterKinds(index, kinds);
	bs->vcol = DiskannVectorColumn(index);
	DiskannInitLayout(&bs->layout, GetIndexDimensions(index), DiskannGetMetric(index), R,
					  nfilters, kinds, DiskannGetStorage(index, DiskannGetMetric(index)),
					  DiskannGetBits(index, GetIndexDimensions(index)));

	/*
	 * vector and its SQ8 copy, edges, degree, TID and visited mark (a half
	 * copy is only made when it fits as well, see MakeCompactCopy)
	 */
	per_node = (sizeof(float) + sizeof(OmenSq8)) * bs->layout.dimensions +
		sizeof(DiskannNode) * MemGraphMaxDegree(R) +
		sizeof(uint16) + sizeof(ItemPointerData) + sizeof(uint32) +
		bs->layout.filter_size;
	bs->per_node = per_node;
	bs->max_in_memory = (uint32) Min((size_t) maintenance_work_mem * 1024 / per_node,
									 (size_t) PG_UINT32_MAX - 1);
	bs->max_in_memory = Max(bs->max_in_memory, 2);
	bs->vecbuf = palloc(sizeof(float) * bs->layout.dimensions);
	bs->filterbuf = palloc0(Max(bs->layout.filter_size, 1));
	bs->tmpctx = AllocSetContextCreate(CurrentMemoryContext, "diskann build tuple",
									   ALLOCSET_DEFAULT_SIZES);
}


/*
 * diskannbuild
 *		Build a new diskann index over heap.
 */
IndexBuildResult *
diskannbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	DiskannBuildState bs;
	Buffer		metabuf;
	double		est;
	MemoryContext buildctx;
	MemoryContext oldctx;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	buildctx = AllocSetContextCreate(CurrentMemoryContext, "diskann build",
									 ALLOCSET_DEFAULT_SIZES);
	oldctx = MemoryContextSwitchTo(buildctx);

	InitBuildState(&bs, heap, index);

	/* block 0: the metapage, filled in at the end */
	metabuf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(metabuf) == DISKANN_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	DiskannFillMetaPage(BufferGetPage(metabuf), &bs.layout, bs.search_list_size,
						bs.max_alpha, DISKANN_INVALID_NODE, 0);
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	AllocQuantPages(&bs);

	est = heap->rd_rel->reltuples > 0 ? heap->rd_rel->reltuples : 1024;
	MemGraphInit(&bs, (uint32) Min(est, (double) bs.max_in_memory));

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) est);
	bs.reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
										  BuildCallback, &bs, NULL);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) bs.indtuples);

	if (bs.disk == NULL)
	{
		FlushMemGraph(&bs);
		WriteMetaPage(&bs, bs.mem.g.entry_point, bs.mem.g.num_nodes);
	}
	else
	{
		/* the entry point is in the metapage already; the count is known */
		DiskannMetaPageData meta;

		DiskannReadMeta(index, &meta);
		WriteMetaPage(&bs, meta.entry_point, (uint32) bs.indtuples);
	}
	IndexFreeSpaceMapVacuum(index);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(index), true);

	MemoryContextSwitchTo(oldctx);
	MemoryContextDelete(buildctx);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/*
 * diskannbuildempty
 *		Write an empty index (just the metapage) to the init fork of an
 *		unlogged index.
 */
void
diskannbuildempty(Relation index)
{
	DiskannBuildState bs;
	Buffer		buf;
	MemoryContext buildctx = AllocSetContextCreate(CurrentMemoryContext, "diskann build empty",
												   ALLOCSET_SMALL_SIZES);
	MemoryContext oldctx = MemoryContextSwitchTo(buildctx);

	InitBuildState(&bs, NULL, index);
	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	DiskannFillMetaPage(BufferGetPage(buf), &bs.layout, bs.search_list_size,
						bs.max_alpha, DISKANN_INVALID_NODE, 0);
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
	MemoryContextSwitchTo(oldctx);
	MemoryContextDelete(buildctx);
}
