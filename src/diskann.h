/*
 * diskann.h
 *		The diskann index access method: a Vamana graph in buffer pages.
 *
 * Page layout (see src/README.md for the picture):
 *
 *	block 0		metapage (DiskannMetaPageData after the page header)
 *	block 1..	node pages: fixed-size node slots, numbered densely from 0
 *
 * A node slot is
 *
 *		DiskannNodeHeader	heap TID, flags, current out-degree
 *		uint32[R]			out-neighbours (node numbers), R = num_neighbors
 *		payload				the vector (PAYLOAD_FLOAT32: dim float4s,
 *							normalised first under cosine)
 *
 * Slots are laid out in one of two ways, chosen at build time and recorded in
 * the metapage:
 *
 *	aligned		slots_per_page slots on each page, none crossing a page
 *				boundary; chosen when that wastes little space
 *	streamed	slots packed back to back over the pages' data areas, so a
 *				slot may continue on the next page (and a vector wider than
 *				a page is possible); chosen when aligned packing would waste
 *				more than DISKANN_MAX_ALIGNED_WASTE of every page
 *
 * Either way, node n lives at a position computed by arithmetic alone, so
 * slots can be reused in place and side arrays indexed by node number stay
 * compact.
 */
#ifndef OMENDB_DISKANN_H
#define OMENDB_DISKANN_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "distance.h"

#define DISKANN_MAGIC_NUMBER		0x0DA7A1CE
#define DISKANN_LAYOUT_VERSION		1
#define DISKANN_METAPAGE_BLKNO		0
#define DISKANN_FIRST_NODE_BLKNO	1

/* Node numbers */
typedef uint32 DiskannNode;
#define DISKANN_INVALID_NODE		((DiskannNode) 0xFFFFFFFF)

/* Distance metrics, one per operator class */
typedef enum DiskannMetric
{
	DISKANN_METRIC_L2 = 1,		/* squared Euclidean */
	DISKANN_METRIC_IP = 2,		/* negative inner product */
	DISKANN_METRIC_COSINE = 3,	/* 1 - inner product of normalised vectors */
	DISKANN_METRIC_L1 = 4		/* taxicab */
} DiskannMetric;

/* Payload formats: how the vector is stored in a node slot */
#define DISKANN_PAYLOAD_FLOAT32		1	/* dim float4s, exact distances */
/* reserved: 2 = scalar-quantised bytes with exact re-ranking from the heap */

/* Slot layouts */
#define DISKANN_LAYOUT_ALIGNED		1
#define DISKANN_LAYOUT_STREAMED		2
#define DISKANN_MAX_ALIGNED_WASTE	0.10	/* fraction of a page */

/* Option limits and defaults */
#define DISKANN_DEFAULT_NUM_NEIGHBORS	64
#define DISKANN_MIN_NUM_NEIGHBORS		4
#define DISKANN_MAX_NUM_NEIGHBORS		256
#define DISKANN_DEFAULT_SEARCH_LIST_SIZE 100
#define DISKANN_MIN_SEARCH_LIST_SIZE	10
#define DISKANN_MAX_SEARCH_LIST_SIZE	1000
#define DISKANN_DEFAULT_MAX_ALPHA		1.2
#define DISKANN_MIN_MAX_ALPHA			1.0
#define DISKANN_MAX_MAX_ALPHA			2.0

#define DISKANN_MAX_DIM					16000

/* In-memory builds let lists grow this much over R before pruning */
#define DISKANN_BUILD_SLACK				1.3

/* Page opaque data (special space) of every page */
typedef struct DiskannPageOpaqueData
{
	uint16		flags;			/* DISKANN_PAGE_* */
	uint16		page_id;		/* DISKANN_PAGE_ID, for tools */
} DiskannPageOpaqueData;

typedef DiskannPageOpaqueData *DiskannPageOpaque;

#define DISKANN_PAGE_META			(1 << 0)
#define DISKANN_PAGE_NODES			(1 << 1)
#define DISKANN_PAGE_ID				0xDA01

#define DiskannPageGetOpaque(page) \
	((DiskannPageOpaque) PageGetSpecialPointer(page))

/* Bytes of node data each node page holds */
#define DISKANN_PAGE_DATA_SIZE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(DiskannPageOpaqueData)))

/* Metapage contents */
typedef struct DiskannMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dimensions;
	uint16		metric;			/* DiskannMetric */
	uint16		payload;		/* DISKANN_PAYLOAD_* */
	uint16		layout;			/* DISKANN_LAYOUT_* */
	uint16		num_neighbors;	/* R */
	uint16		search_list_size;	/* L for build and insert */
	uint16		unused;
	float4		max_alpha;
	uint32		slot_size;		/* bytes per node slot */
	uint32		slots_per_page; /* aligned layout only */
	DiskannNode entry_point;	/* DISKANN_INVALID_NODE when empty */
	uint32		num_slots;		/* slots ever allocated (high-water mark) */
	uint32		num_live;		/* nodes pointing at live heap tuples */
	uint32		num_deleted;	/* nodes marked deleted, slot not yet free */
	uint32		num_free;		/* free slots, reusable */
} DiskannMetaPageData;

typedef DiskannMetaPageData *DiskannMetaPage;

#define DiskannPageGetMeta(page) ((DiskannMetaPage) PageGetContents(page))

/* Node slot header */
typedef struct DiskannNodeHeader
{
	ItemPointerData heaptid;	/* 6 bytes */
	uint8		flags;			/* DISKANN_NODE_* */
	uint8		unused;
	uint16		num_neighbors;	/* current out-degree, <= R */
	uint16		unused2;
} DiskannNodeHeader;

#define DISKANN_NODE_LIVE			(1 << 0)
#define DISKANN_NODE_DELETED		(1 << 1)
#define DISKANN_NODE_FREE			(1 << 2)

/* Index options (reloptions) */
typedef struct DiskannOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			num_neighbors;
	int			search_list_size;
	double		max_alpha;
} DiskannOptions;

/* Iterative scan modes */
typedef enum DiskannIterativeScan
{
	DISKANN_ITERATIVE_OFF,
	DISKANN_ITERATIVE_RELAXED,
	DISKANN_ITERATIVE_STRICT
} DiskannIterativeScan;

/* Settings */
#define DISKANN_DEFAULT_QUERY_SEARCH_LIST_SIZE	150
extern int	diskann_query_search_list_size;
extern int	diskann_iterative_scan;
extern int	diskann_max_scan_tuples;

/*
 * Where a node lives.  Derived from the metapage; cached per index scan,
 * build or insert (never across statements).
 */
typedef struct DiskannLayout
{
	uint32		dimensions;
	DiskannMetric metric;
	uint16		layout;
	uint16		num_neighbors;
	uint32		slot_size;
	uint32		slots_per_page;
	uint32		neighbors_offset;	/* within a slot */
	uint32		vector_offset;	/* within a slot */
} DiskannLayout;

/*
 * A graph the Vamana routines work on: in memory during a build, in buffer
 * pages otherwise.  Vectors handed to and returned by the callbacks are in
 * index form (normalised under cosine).
 */
typedef struct DiskannGraph DiskannGraph;

struct DiskannGraph
{
	int			dimensions;
	int			num_neighbors;	/* R */
	int			max_degree;		/* lists may grow to this before pruning */
	int			search_list_size;	/* L */
	float		alpha;			/* current pass's alpha */
	DiskannMetric metric;
	float		(*distfn) (const float *a, const float *b, int n);

	/* distance from node to an index-form vector */
	float		(*node_distance) (DiskannGraph *g, DiskannNode node, const float *vec);
	/* out-neighbours of node into out[R]; returns how many */
	int			(*get_neighbors) (DiskannGraph *g, DiskannNode node, DiskannNode *out);
	/* replace node's out-neighbours */
	void		(*set_neighbors) (DiskannGraph *g, DiskannNode node,
								  const DiskannNode *nbrs, int n);
	/* hint that node's vector will be read soon; may be NULL */
	void		(*prefetch) (DiskannGraph *g, DiskannNode node);
	/* node's vector; may return buf (dimensions floats) or internal memory */
	const float *(*get_vector) (DiskannGraph *g, DiskannNode node, float *buf);

	DiskannNode entry_point;
	uint32		num_nodes;		/* node numbers are < num_nodes */

	/* scratch space of the Vamana routines (see diskann_graph.c) */
	void	   *scratch;
};

/* A (node, distance) pair */
typedef struct DiskannCandidate
{
	DiskannNode node;
	float		distance;
	bool		expanded;
	uint32		tiebreak;		/* orders equal distances in RobustPrune */
} DiskannCandidate;

/* diskann.c */
extern void DiskannInit(void);
extern IndexBuildResult *diskannbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void diskannbuildempty(Relation index);
extern bool diskanninsert(Relation index, Datum *values, bool *isnull,
						  ItemPointer heap_tid, Relation heap,
						  IndexUniqueCheck checkUnique, bool indexUnchanged,
						  IndexInfo *indexInfo);
extern IndexBulkDeleteResult *diskannbulkdelete(IndexVacuumInfo *info,
												IndexBulkDeleteResult *stats,
												IndexBulkDeleteCallback callback,
												void *callback_state);
extern IndexBulkDeleteResult *diskannvacuumcleanup(IndexVacuumInfo *info,
												   IndexBulkDeleteResult *stats);
extern IndexScanDesc diskannbeginscan(Relation index, int nkeys, int norderbys);
extern void diskannrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
						  ScanKey orderbys, int norderbys);
extern bool diskanngettuple(IndexScanDesc scan, ScanDirection dir);
extern void diskannendscan(IndexScanDesc scan);

/* diskann_utils.c */
extern DiskannMetric DiskannGetMetric(Relation index);
extern int	DiskannGetNumNeighbors(Relation index);
extern int	DiskannGetSearchListSize(Relation index);
extern double DiskannGetMaxAlpha(Relation index);
extern float DiskannPruneAlpha(DiskannMetric metric, float alpha);
extern bool DiskannPrepareVector(DiskannMetric metric, const float *in, float *out, int dim);
extern float (*DiskannDistanceFunction(DiskannMetric metric)) (const float *, const float *, int);
extern float (*DiskannHalfDistanceFunction(DiskannMetric metric)) (const float *, const OmenHalf *, int);
extern void DiskannInitLayout(DiskannLayout *layout, int dimensions, DiskannMetric metric,
							  int num_neighbors);
extern void DiskannLayoutFromMeta(DiskannLayout *layout, DiskannMetaPage meta);
extern void DiskannNodePosition(const DiskannLayout *layout, DiskannNode node,
								uint32 start, BlockNumber *blkno, uint32 *offset);
extern void DiskannInitPage(Page page, uint16 flags);
extern void DiskannReadMeta(Relation index, DiskannMetaPageData *meta);
extern void DiskannReadSlotBytes(Relation index, const DiskannLayout *layout,
								 DiskannNode node, uint32 start, uint32 len, char *out);
extern float DiskannNodeDistance(Relation index, const DiskannLayout *layout,
								 DiskannNode node, const float *query,
								 float (*distfn) (const float *, const float *, int));

/* diskann_storage.c */
extern Buffer DiskannNewNodePage(Relation index);
extern void DiskannEnsureSlot(Relation index, const DiskannLayout *layout, DiskannNode node);
extern void DiskannWriteSlotBytes(Relation index, const DiskannLayout *layout,
								  DiskannNode node, uint32 start, uint32 len,
								  const char *data, bool wal);
extern void DiskannWriteNewNode(Relation index, const DiskannLayout *layout,
								DiskannNode node, ItemPointer heaptid,
								const float *vec, bool wal);
extern DiskannGraph *DiskannOpenDiskGraph(Relation index, const DiskannLayout *layout,
										  DiskannNode entry_point, uint32 num_nodes,
										  int search_list_size, float alpha, bool wal);

/* diskann_graph.c */
extern void DiskannGraphInitScratch(DiskannGraph *g);
extern int	DiskannGreedySearch(DiskannGraph *g, const float *query, int L,
								DiskannNode skip, DiskannCandidate **visited,
								int *nvisited);
extern void DiskannInsertNode(DiskannGraph *g, DiskannNode node, const float *vec);
extern void DiskannRefineNode(DiskannGraph *g, DiskannNode node);
extern void DiskannTrimNode(DiskannGraph *g, DiskannNode node);
extern uint32 DiskannRepairReachability(DiskannGraph *g);

#endif							/* OMENDB_DISKANN_H */
