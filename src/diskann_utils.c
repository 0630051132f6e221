/*
 * diskann_utils.c
 *		Shared helpers of the diskann AM: metric and options lookup, vector
 *		preparation, slot addressing and reading nodes from buffer pages.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "diskann.h"
#include "distance.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "vector.h"

extern Datum l2_distance(PG_FUNCTION_ARGS);
extern Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum inner_product(PG_FUNCTION_ARGS);
extern Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum cosine_distance(PG_FUNCTION_ARGS);
extern Datum l1_distance(PG_FUNCTION_ARGS);

/*
 * DiskannGetMetric
 *		The metric of the index's operator class, found by comparing its
 *		support function 1 (the SQL distance function) with ours.
 */
DiskannMetric
DiskannGetMetric(Relation index)
{
	FmgrInfo   *proc = index_getprocinfo(index, 1, 1);

	if (proc->fn_addr == l2_distance || proc->fn_addr == vector_l2_squared_distance)
		return DISKANN_METRIC_L2;
	if (proc->fn_addr == vector_negative_inner_product || proc->fn_addr == inner_product)
		return DISKANN_METRIC_IP;
	if (proc->fn_addr == cosine_distance)
		return DISKANN_METRIC_COSINE;
	if (proc->fn_addr == l1_distance)
		return DISKANN_METRIC_L1;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("operator class of index \"%s\" has an unsupported distance function",
					RelationGetRelationName(index))));
	return DISKANN_METRIC_L2;	/* keep compiler quiet */
}

/*
 * DiskannGetNumNeighbors
 *		The index's num_neighbors option.
 */
int
DiskannGetNumNeighbors(Relation index)
{
	DiskannOptions *opts = (DiskannOptions *) index->rd_options;

	return opts ? opts->num_neighbors : DISKANN_DEFAULT_NUM_NEIGHBORS;
}

/*
 * DiskannGetSearchListSize
 *		The index's search_list_size option.
 */
int
DiskannGetSearchListSize(Relation index)
{
	DiskannOptions *opts = (DiskannOptions *) index->rd_options;

	return opts ? opts->search_list_size : DISKANN_DEFAULT_SEARCH_LIST_SIZE;
}

/*
 * DiskannGetMaxAlpha
 *		The index's max_alpha option.
 */
double
DiskannGetMaxAlpha(Relation index)
{
	DiskannOptions *opts = (DiskannOptions *) index->rd_options;

	return opts ? opts->max_alpha : DISKANN_DEFAULT_MAX_ALPHA;
}

/* distance between normalised vectors under cosine: 1 - dot */
static float
CosineIndexDistance(const float *a, const float *b, int n)
{
	return 1.0f - omen_kernels.dot(a, b, n);
}

/* negative inner product */
static float
NegativeDot(const float *a, const float *b, int n)
{
	return -omen_kernels.dot(a, b, n);
}

/* squared L2 */
static float
L2Squared(const float *a, const float *b, int n)
{
	return omen_kernels.l2sq(a, b, n);
}

/* L1 */
static float
L1(const float *a, const float *b, int n)
{
	return omen_kernels.l1(a, b, n);
}

/*
 * DiskannDistanceFunction
 *		The distance the index uses between index-form vectors of a metric.
 *		It orders like the SQL operator but need not equal it (squared L2).
 */
float		(*DiskannDistanceFunction(DiskannMetric metric)) (const float *, const float *, int)
{
	switch (metric)
	{
		case DISKANN_METRIC_L2:
			return L2Squared;
		case DISKANN_METRIC_IP:
			return NegativeDot;
		case DISKANN_METRIC_COSINE:
			return CosineIndexDistance;
		case DISKANN_METRIC_L1:
			return L1;
	}
	elog(ERROR, "unknown diskann metric %d", (int) metric);
	return NULL;
}

/* half-precision versions of the above */
static float
CosineHalf(const float *a, const OmenHalf *b, int n)
{
	return 1.0f - omen_half_kernels.dot(a, b, n);
}

/* negative inner product against a half vector */
static float
NegativeDotHalf(const float *a, const OmenHalf *b, int n)
{
	return -omen_half_kernels.dot(a, b, n);
}

/* squared L2 against a half vector */
static float
L2SquaredHalf(const float *a, const OmenHalf *b, int n)
{
	return omen_half_kernels.l2sq(a, b, n);
}

/* L1 against a half vector */
static float
L1Half(const float *a, const OmenHalf *b, int n)
{
	return omen_half_kernels.l1(a, b, n);
}

/*
 * DiskannHalfDistanceFunction
 *		DiskannDistanceFunction between a float4 and a half vector.
 */
float		(*DiskannHalfDistanceFunction(DiskannMetric metric)) (const float *, const OmenHalf *, int)
{
	switch (metric)
	{
		case DISKANN_METRIC_L2:
			return L2SquaredHalf;
		case DISKANN_METRIC_IP:
			return NegativeDotHalf;
		case DISKANN_METRIC_COSINE:
			return CosineHalf;
		case DISKANN_METRIC_L1:
			return L1Half;
	}
	elog(ERROR, "unknown diskann metric %d", (int) metric);
	return NULL;
}

/*
 * DiskannPruneAlpha
 *		The alpha RobustPrune applies for a metric, given the max_alpha
 *		option.  The option is defined on squared Euclidean distances (as
 *		L2 and cosine, 1 - dot of unit vectors, are); L1 distances are not
 *		squared, so they take its square root to prune alike.  Inner
 *		products are not distances (they go negative), and any relaxation
 *		beyond 1 only makes pruning more aggressive there, so IP prunes
 *		with alpha = 1.
 */
float
DiskannPruneAlpha(DiskannMetric metric, float alpha)
{
	switch (metric)
	{
		case DISKANN_METRIC_L1:
			return sqrtf(alpha);
		case DISKANN_METRIC_IP:
			return 1.0f;
		default:
			return alpha;
	}
}

/*
 * DiskannPrepareVector
 *		Copy a vector into index form: normalised under cosine.  Returns
 *		false if the vector cannot be indexed (zero vector under cosine).
 */
bool
DiskannPrepareVector(DiskannMetric metric, const float *in, float *out, int dim)
{
	if (metric == DISKANN_METRIC_COSINE)
	{
		double		norm = 0.0;

		for (int i = 0; i < dim; i++)
			norm += (double) in[i] * in[i];
		norm = sqrt(norm);
		if (norm == 0.0 || !isfinite(norm))
			return false;
		for (int i = 0; i < dim; i++)
			out[i] = (float) (in[i] / norm);
		return true;
	}
	if (out != in)
		memcpy(out, in, sizeof(float) * dim);
	return true;
}

/*
 * DiskannInitLayout
 *		Work out slot size and slot placement for a new index.
 */
void
DiskannInitLayout(DiskannLayout *layout, int dimensions, DiskannMetric metric,
				  int num_neighbors)
{
	uint32		spp;

	layout->dimensions = dimensions;
	layout->metric = metric;
	layout->num_neighbors = num_neighbors;
	layout->neighbors_offset = sizeof(DiskannNodeHeader);
	layout->vector_offset = layout->neighbors_offset + sizeof(DiskannNode) * num_neighbors;
	layout->slot_size = layout->vector_offset + sizeof(float) * dimensions;

	spp = DISKANN_PAGE_DATA_SIZE / layout->slot_size;
	if (spp >= 1 &&
		(DISKANN_PAGE_DATA_SIZE - spp * layout->slot_size) <=
		DISKANN_MAX_ALIGNED_WASTE * DISKANN_PAGE_DATA_SIZE)
	{
		layout->layout = DISKANN_LAYOUT_ALIGNED;
		layout->slots_per_page = spp;
	}
	else
	{
		layout->layout = DISKANN_LAYOUT_STREAMED;
		layout->slots_per_page = 0;
	}
}

/*
 * DiskannLayoutFromMeta
 *		Rebuild the layout of an existing index from its metapage.
 */
void
DiskannLayoutFromMeta(DiskannLayout *layout, DiskannMetaPage meta)
{
	layout->dimensions = meta->dimensions;
	layout->metric = meta->metric;
	layout->layout = meta->layout;
	layout->num_neighbors = meta->num_neighbors;
	layout->slot_size = meta->slot_size;
	layout->slots_per_page = meta->slots_per_page;
	layout->neighbors_offset = sizeof(DiskannNodeHeader);
	layout->vector_offset = layout->neighbors_offset +
		sizeof(DiskannNode) * meta->num_neighbors;
}

/*
 * DiskannNodePosition
 *		Block and byte offset (within the page's data area) of byte start
 *		of node's slot.  Under the streamed layout a slot may continue on
 *		the following blocks, so start may lie on a later block than the
 *		slot's beginning.
 */
void
DiskannNodePosition(const DiskannLayout *layout, DiskannNode node, uint32 start,
					BlockNumber *blkno, uint32 *offset)
{
	uint64		pos;

	if (layout->layout == DISKANN_LAYOUT_ALIGNED)
		pos = (uint64) (node / layout->slots_per_page) * DISKANN_PAGE_DATA_SIZE +
			(node % layout->slots_per_page) * layout->slot_size;
	else
		pos = (uint64) node * layout->slot_size;
	pos += start;
	*blkno = DISKANN_FIRST_NODE_BLKNO + (BlockNumber) (pos / DISKANN_PAGE_DATA_SIZE);
	*offset = (uint32) (pos % DISKANN_PAGE_DATA_SIZE);
}

/*
 * DiskannInitPage
 *		Initialise a diskann page with the given flags.
 */
void
DiskannInitPage(Page page, uint16 flags)
{
	DiskannPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(DiskannPageOpaqueData));
	opaque = DiskannPageGetOpaque(page);
	opaque->flags = flags;
	opaque->page_id = DISKANN_PAGE_ID;
}

/*
 * DiskannReadMeta
 *		Copy the metapage's contents, checking that this is a diskann index
 *		of a layout version we understand.  Takes and releases a share lock
 *		on the metapage.
 */
void
DiskannReadMeta(Relation index, DiskannMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, DISKANN_METAPAGE_BLKNO);
	DiskannMetaPage m;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	m = DiskannPageGetMeta(BufferGetPage(buf));
	if (m->magic != DISKANN_MAGIC_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a diskann index",
						RelationGetRelationName(index))));
	if (m->version != DISKANN_LAYOUT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has layout version %u, expected %u",
						RelationGetRelationName(index), m->version,
						DISKANN_LAYOUT_VERSION),
				 errhint("REINDEX the index.")));
	memcpy(meta, m, sizeof(DiskannMetaPageData));
	UnlockReleaseBuffer(buf);
}

/*
 * DiskannReadSlotBytes
 *		Copy len bytes starting at byte start of node's slot into out,
 *		share-locking each page touched in turn.
 */
void
DiskannReadSlotBytes(Relation index, const DiskannLayout *layout,
					 DiskannNode node, uint32 start, uint32 len, char *out)
{
	BlockNumber blkno;
	uint32		offset;

	DiskannNodePosition(layout, node, start, &blkno, &offset);
	while (len > 0)
	{
		uint32		chunk = Min(len, DISKANN_PAGE_DATA_SIZE - offset);
		Buffer		buf = ReadBuffer(index, blkno);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(out, PageGetContents(BufferGetPage(buf)) + offset, chunk);
		UnlockReleaseBuffer(buf);
		out += chunk;
		len -= chunk;
		offset = 0;
		blkno++;
	}
}

/*
 * DiskannNodeDistance
 *		Distance between node's vector and query (index form), computed on
 *		the buffer pages in place.  Distances are sums over elements, so a
 *		vector that continues on the next page is done piece by piece.
 *		Share-locks each page touched in turn.
 */
float
DiskannNodeDistance(Relation index, const DiskannLayout *layout,
					DiskannNode node, const float *query,
					float (*distfn) (const float *, const float *, int))
{
	BlockNumber blkno;
	uint32		offset;
	int			remaining = layout->dimensions;
	float		sum = 0.0f;
	float		bias = 0.0f;

	DiskannNodePosition(layout, node, layout->vector_offset, &blkno, &offset);

	/* cosine is 1 - dot: add the pieces of -dot and the 1 once */
	if (layout->metric == DISKANN_METRIC_COSINE)
		bias = 1.0f;

	while (remaining > 0)
	{
		int			chunk = Min(remaining,
								(int) ((DISKANN_PAGE_DATA_SIZE - offset) / sizeof(float)));
		Buffer		buf = ReadBuffer(index, blkno);
		const float *v;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		v = (const float *) (PageGetContents(BufferGetPage(buf)) + offset);
		sum += distfn(query, v, chunk) - bias;
		UnlockReleaseBuffer(buf);
		query += chunk;
		remaining -= chunk;
		offset = 0;
		blkno++;
	}
	return sum + bias;
}
