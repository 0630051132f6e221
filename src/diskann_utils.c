/*
 * diskann_utils.c
 *		Shared helpers of the diskann AM: metric and options lookup, vector
 *		preparation, distance functions, page initialisation.
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
 *		The metric of the vector column's operator class, found by comparing
 *		its support function 1 (the SQL distance function) with ours.
 */
DiskannMetric
DiskannGetMetric(Relation index)
{
	FmgrInfo   *proc = index_getprocinfo(index, DiskannVectorColumn(index) + 1, 1);

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

/*
 * DiskannValidateStorage
 *		Check the value of the storage option.
 */
void
DiskannValidateStorage(const char *value)
{
	if (value == NULL)
		return;
	if (strcmp(value, "compressed") != 0 && strcmp(value, "plain") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for diskann option \"storage\": \"%s\"", value),
				 errdetail("Valid values are \"compressed\" and \"plain\".")));
}

/* the storage option's value, NULL if not given */
static const char *
StorageOption(DiskannOptions *opts)
{
	if (opts == NULL || opts->storage == 0)
		return NULL;
	return (const char *) opts + opts->storage;
}

/*
 * DiskannCheckListSize
 *		Error out unless the build's search list can hold a full neighbour
 *		list (search_list_size >= num_neighbors).
 */
void
DiskannCheckListSize(int num_neighbors, int search_list_size)
{
	if (search_list_size < num_neighbors)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search_list_size must be greater than or equal to num_neighbors"),
				 errdetail("search_list_size is %d, num_neighbors is %d.",
						   search_list_size, num_neighbors)));
}

/*
 * DiskannCheckStorageOptions
 *		Check that storage and bits go together (at CREATE INDEX and ALTER
 *		INDEX ... SET): bits is 1, 2, 4 or 8, and only for compressed
 *		storage.
 */
void
DiskannCheckStorageOptions(DiskannOptions *opts)
{
	const char *storage = StorageOption(opts);

	if (opts->bits != 0 && opts->bits != 1 && opts->bits != 2 && opts->bits != 4 &&
		opts->bits != 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for diskann option \"bits\": %d", opts->bits),
				 errdetail("Valid values are 1, 2, 4 and 8.")));
	if (opts->bits != 0 && storage && strcmp(storage, "plain") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("diskann option \"bits\" applies only to storage \"compressed\"")));
}

/*
 * DiskannGetStorage
 *		The index's storage (DISKANN_PAYLOAD_*): as the storage option says;
 *		by default compressed, except under L1, which codes cannot estimate
 *		(L1 is not invariant under the quantizer's rotation) and which
 *		therefore keeps plain vectors; compressed L1 is refused.
 */
int
DiskannGetStorage(Relation index, DiskannMetric metric)
{
	const char *storage = StorageOption((DiskannOptions *) index->rd_options);

	if (storage == NULL)
		return metric == DISKANN_METRIC_L1 ? DISKANN_PAYLOAD_FLOAT32 : DISKANN_PAYLOAD_RABITQ;
	if (strcmp(storage, "plain") == 0)
		return DISKANN_PAYLOAD_FLOAT32;
	if (metric == DISKANN_METRIC_L1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("diskann storage \"compressed\" does not support L1 distance"),
				 errdetail("Codes estimate distances after a rotation, which L1 distances do not survive."),
				 errhint("Use storage = 'plain' for vector_l1_ops.")));
	return DISKANN_PAYLOAD_RABITQ;
}

/*
 * DiskannGetBits
 *		Bits per dimension of a compressed index's codes: the bits option,
 *		by default 8 for vectors of DISKANN_WIDE_DIMENSIONS or more (stored
 *		out of line, so that each re-ranking read is a TOAST fetch, which
 *		tighter estimates need fewer of) and 4 below.
 */
int
DiskannGetBits(Relation index, int dimensions)
{
	DiskannOptions *opts = (DiskannOptions *) index->rd_options;

	if (opts && opts->bits != 0)
		return opts->bits;
	return dimensions >= DISKANN_WIDE_DIMENSIONS ? 8 : DISKANN_DEFAULT_BITS;
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
 * DiskannPageCorrupted
 *		Raise ERRCODE_INDEX_CORRUPTED for block blkno of index, with detail.
 */
void
DiskannPageCorrupted(Relation index, BlockNumber blkno, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" contains a corrupted page at block %u",
					RelationGetRelationName(index), blkno),
			 errdetail_internal("%s", detail),
			 errhint("Please REINDEX it.")));
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
