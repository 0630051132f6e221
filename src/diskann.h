/*
 * diskann.h
 *		The diskann index access method: a Vamana graph in buffer pages.
 *
 * Page layout (see src/README.md for the picture):
 *
 *	block 0		metapage (DiskannMetaPageData after the page header)
 *	block 1..	node groups of pages_per_group pages each
 *
 * Nodes are numbered densely from 0 and come in groups of heads_per_group.
 * A group's pages hold, over their data areas read back to back,
 *
 *		heads_per_group node heads		all within the group's first page
 *		heads_per_group vector slots	back to back, a slot may continue on
 *										the group's next page
 *
 * A head (DiskannNodeHeader + uint32[R] out-neighbours) is everything of a
 * node that changes after it is written: flags, generation, degree and the
 * neighbour list.  It lies within one page, so one buffer lock covers it.
 * A vector slot (uint32 generation + dim float4s) never changes while its
 * node lives: it is written once, when the slot is filled.  Node n's place
 * is pure arithmetic, so slots are reused in place and side arrays indexed
 * by node number stay compact.
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
#include "quant.h"

#define DISKANN_MAGIC_NUMBER		0x0DA7A1CE
#define DISKANN_LAYOUT_VERSION		2
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

/*
 * Storages (the payload of a node's vector slot), the storage option:
 * 'plain' keeps dim float4s, whose distances are exact; 'compressed' keeps
 * a RaBitQ code (quant.h) whose distances are estimates, re-ranked by the
 * exact distance of the vector in the heap.
 */
#define DISKANN_PAYLOAD_FLOAT32		1	/* 'plain' */
#define DISKANN_PAYLOAD_RABITQ		2	/* 'compressed' */

#define DISKANN_DEFAULT_BITS		4
/*
 * From this many dimensions the default is 8 bits: a vector of 512 or more
 * float4s (2 kB and more) is stored out of line, so each row re-ranking
 * reads is a TOAST fetch; 8-bit estimates are tight enough to need few of
 * them.  Measured on Fashion-MNIST (784-d), a LIMIT 10 query at a search
 * list of 20 read 14-20 rows at 4 bits and 4-7 at 8 bits.
 */
#define DISKANN_WIDE_DIMENSIONS		512
/* seed of the quantizer's random rotation (fixed: same index, same codes) */
#define DISKANN_QUANT_SEED			UINT64CONST(0x6f6d656e64620001)

/* Most heads a group may have (keeps the group's heads on its first page) */
#define DISKANN_MAX_HEADS_PER_GROUP	1024
/* Distances computed together (pins held at once) */
#define DISKANN_DISTANCE_BATCH		64

/* Rows an index scan's exact pass sorts in its first round (then doubling) */
#define DISKANN_EXACT_FIRST_ROUND	128

/* Most pages a group may span (an index grows by a group at a time) */
#define DISKANN_MAX_PAGES_PER_GROUP	16

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

/*
 * Filter columns: key columns after the vector column, whose values are
 * stored with each node so that a scan can evaluate WHERE clauses on them
 * without visiting the heap (see diskann_filter.c).  Each node's values
 * form a fixed-size filter record:
 *
 *		uint32 null bitmap (bit i: filter column i is NULL)
 *		per column, in column order: 8 bytes (integers, booleans: the value
 *		as int64; text: a 64-bit hash), or 16 bytes (int2[] and int4[]: a
 *		128-bit signature with one bit set per element)
 *
 * The record is stored twice: in the node's head (after the neighbour
 * list), where a pass over head pages reads it, and in the vector slot
 * (after the generation), where a graph walk reads it together with the
 * vector.  Both are written once per occupant and never change.
 *
 * Indexes with filter columns made since group summaries exist start each
 * group's head page with a summary (summary_size bytes, before the heads)
 * that covers the records of every node the group has held: per column,
 * 16 bytes, the least and greatest stored value (integers compared signed,
 * booleans and text hashes unsigned), or for arrays the OR of the
 * signatures.  A claim widens it in the same WAL record as the head;
 * nothing narrows it (REINDEX does).  A pass over head pages skips a group
 * whose summary no row of the filter can be in.  CREATE INDEX orders the
 * nodes by their records, so that a group's nodes tend to share values.
 */
#define DISKANN_MAX_FILTERS			8
/* Largest filter record: the NULL bitmap and 16 bytes per column */
#define DISKANN_MAX_FILTER_RECORD	(sizeof(uint32) + DISKANN_MAX_FILTERS * 16)

typedef enum DiskannFilterKind
{
	DISKANN_FILTER_INT = 1,		/* smallint, integer, bigint */
	DISKANN_FILTER_BOOL = 2,
	DISKANN_FILTER_TEXT = 3,	/* hashed: matches are rechecked */
	DISKANN_FILTER_INTARRAY = 4 /* int2[], int4[]: signature, rechecked */
} DiskannFilterKind;

/* Strategy numbers of the filter operator classes */
#define DISKANN_LESS_STRATEGY			1
#define DISKANN_LESS_EQUAL_STRATEGY		2
#define DISKANN_EQUAL_STRATEGY			3
#define DISKANN_GREATER_EQUAL_STRATEGY	4
#define DISKANN_GREATER_STRATEGY		5
#define DISKANN_OVERLAP_STRATEGY		6
#define DISKANN_CONTAINS_STRATEGY		7
#define DISKANN_MAX_STRATEGY			7

/* Page opaque data (special space) of every page */
typedef struct DiskannPageOpaqueData
{
	uint16		flags;			/* DISKANN_PAGE_* */
	uint16		page_id;		/* DISKANN_PAGE_ID, for tools */
} DiskannPageOpaqueData;

typedef DiskannPageOpaqueData *DiskannPageOpaque;

#define DISKANN_PAGE_META			(1 << 0)
#define DISKANN_PAGE_NODES			(1 << 1)	/* pages of a group */
#define DISKANN_PAGE_HEADS			(1 << 2)	/* a group's first page */
#define DISKANN_PAGE_QUANT			(1 << 3)	/* the quantizer's centroid */
#define DISKANN_PAGE_ID				0xDA01

#define DiskannPageGetOpaque(page) \
	((DiskannPageOpaque) PageGetSpecialPointer(page))

/* Bytes of node data each node page holds */
#define DISKANN_PAGE_DATA_SIZE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(DiskannPageOpaqueData)))

/*
 * Metapage contents.  Layout fields never change after CREATE INDEX; the
 * entry point changes under the metapage's exclusive lock; the counts are
 * those of the last CREATE INDEX or VACUUM (inserts do not update them, so
 * that the metapage is not a lock every insert waits on).
 */
typedef struct DiskannMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dimensions;
	uint16		metric;			/* DiskannMetric */
	uint16		payload;		/* DISKANN_PAYLOAD_* */
	uint16		num_neighbors;	/* R */
	uint16		search_list_size;	/* L for build and insert */
	float4		max_alpha;
	uint32		head_size;		/* bytes per node head */
	uint32		vector_size;	/* bytes per vector slot */
	uint32		heads_per_group;
	uint32		pages_per_group;
	DiskannNode entry_point;	/* DISKANN_INVALID_NODE when empty */
	uint32		num_live;		/* as of the last build or VACUUM */
	uint32		num_deleted;
	uint32		num_free;
	/* filter columns (zero in indexes made before they existed) */
	uint16		num_filters;
	uint16		filter_size;	/* bytes of a node's filter record */
	uint8		filter_kinds[DISKANN_MAX_FILTERS];	/* DiskannFilterKind */
	/* the quantizer of compressed storage (zero under plain storage) */
	uint16		quant_bits;		/* bits per dimension of a code */
	uint16		quant_pages;	/* blocks 1..quant_pages hold its centroid */
	uint32		quant_trained;	/* rows its centroid was computed from */
	uint64		quant_seed;		/* of its rotation */
	/* group summaries (zero in indexes made before they existed) */
	uint32		summary_size;	/* bytes before the heads of a head page */
} DiskannMetaPageData;

typedef DiskannMetaPageData *DiskannMetaPage;

#define DiskannPageGetMeta(page) ((DiskannMetaPage) PageGetContents(page))

/*
 * Node head: the mutable part of a node.  Followed by uint32[R] neighbour
 * node numbers (unused entries DISKANN_INVALID_NODE).
 *
 * generation counts the slot's occupants: 0 for a slot never used, bumped
 * each time the slot is claimed.  The vector slot carries the generation of
 * the occupant that wrote it, so a reader can tell whether a vector and a
 * head belong to the same node.  A free slot records the transaction id
 * that was next when it was freed (freed_xid_hi/lo, a FullTransactionId);
 * it may be reused once no running snapshot is that old.
 */
typedef struct DiskannNodeHeader
{
	ItemPointerData heaptid;	/* 6 bytes */
	uint8		flags;			/* DISKANN_NODE_* */
	uint8		unused;
	uint16		num_neighbors;	/* current out-degree, <= R */
	uint16		unused2;
	uint32		generation;
	uint32		freed_xid_hi;
	uint32		freed_xid_lo;
} DiskannNodeHeader;

/*
 * Node states.  NEW: claimed by an insert that has not finished linking it
 * (walked through, never returned); LIVE: returned by scans; DELETED: its
 * heap tuple is dead, VACUUM has not repaired around it yet (walked
 * through, never returned); REPAIRED: edges around it repaired, the slot
 * is freed by the cleanup sweep; FREE: reusable slot.
 */
#define DISKANN_NODE_LIVE			(1 << 0)
#define DISKANN_NODE_DELETED		(1 << 1)
#define DISKANN_NODE_FREE			(1 << 2)
#define DISKANN_NODE_NEW			(1 << 3)
#define DISKANN_NODE_REPAIRED		(1 << 4)

/* may a node be linked to (chosen as a neighbour)? */
#define DiskannNodeUsable(flags) \
	(((flags) & (DISKANN_NODE_LIVE | DISKANN_NODE_NEW)) != 0)

/* Vector slot header */
typedef struct DiskannVectorHeader
{
	uint32		generation;		/* of the occupant that wrote the vector */
} DiskannVectorHeader;

/* Index options (reloptions) */
typedef struct DiskannOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			num_neighbors;
	int			search_list_size;
	double		max_alpha;
	int			storage;		/* offset of the string, 0 if not given */
	int			bits;
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
#define DISKANN_DEFAULT_QUERY_RESCORE	40
extern int	diskann_query_search_list_size;
extern int	diskann_iterative_scan;
extern int	diskann_max_scan_tuples;
extern int	diskann_query_rescore;

/*
 * Where a node lives.  Derived from the metapage; cached per index scan,
 * build or insert (never across statements).
 */
typedef struct DiskannLayout
{
	uint32		dimensions;
	DiskannMetric metric;
	uint16		num_neighbors;
	uint32		head_size;		/* header + R neighbours + filter record */
	uint32		vector_size;	/* vector header + filter record + floats */
	uint32		heads_per_group;
	uint32		pages_per_group;
	/* filter columns */
	uint16		num_filters;
	uint16		filter_size;	/* bytes of the filter record, 0 if none */
	uint8		filter_kinds[DISKANN_MAX_FILTERS];
	uint32		filter_offset;	/* of the record within a head */
	uint32		summary_size;	/* of a group's summary, 0 if none */
	uint32		vector_offset;	/* of the floats or code within a vector slot */
	/* storage */
	uint16		storage;		/* DISKANN_PAYLOAD_* */
	uint16		bits;			/* compressed: bits per dimension */
	uint32		first_block;	/* of the first group (after quantizer pages) */
	uint32		graph_dims;		/* floats of a graph-form vector (see below) */
	OmenQuantizer *quant;		/* compressed: the quantizer, else NULL */
	uint32		quant_trained;	/* rows its centroid came from (0: origin) */
} DiskannLayout;

/*
 * Vectors come in three forms.  The *index form* is the vector as the
 * operator class sees it (normalised under cosine), dimensions floats.
 * The *graph form* is what the Vamana routines over the pages and
 * DiskannReadVector work with: the index form under plain storage; under
 * compressed storage the rotated vector (graph_dims = the quantizer's
 * padded dimensions), a node's being its code's reconstruction.  A
 * *query* (DiskannQuery) is prepared once from either form and then gives
 * distances to nodes: exact under plain storage, estimates under
 * compressed storage.
 */
typedef struct DiskannQuery
{
	const float *vec;			/* plain: index form */
	float		(*distfn) (const float *, const float *, int);
	OmenQuantQuery qq;			/* compressed */
	void	   *qmem;			/* memory of qq */
	char	   *slot;			/* compressed: a code that spans pages */
} DiskannQuery;

/*
 * Buffers this backend read recently from an index, by block number: a
 * hint that lets a reader pin a page again without a buffer mapping lookup
 * (see ReadNodeBuffer).
 */
#define DISKANN_RECENT_BITS		16

typedef struct DiskannRecentBuffer
{
	BlockNumber blkno;
	Buffer		buffer;
} DiskannRecentBuffer;

typedef struct DiskannRecentBuffers
{
	int			bits;
	DiskannRecentBuffer entries[FLEXIBLE_ARRAY_MEMBER];
} DiskannRecentBuffers;

/* A backend's hints for one index (rd_amcache), see diskann_storage.c */
typedef struct DiskannBackendCache
{
	BlockNumber insert_page;	/* head page of the last slot claimed */
	uint32		known_nodes;	/* slots the index had at the last look */
	DiskannRecentBuffers *recent;
	OmenQuantizer *quant;		/* compressed: the quantizer */
} DiskannBackendCache;

/* A compiled filter: the scan keys on filter columns (diskann_filter.c) */
typedef struct DiskannFilter DiskannFilter;

/* A node's head as read from its page */
typedef struct DiskannHead
{
	DiskannNodeHeader hdr;
	DiskannNode *nbrs;			/* caller-provided, R entries */
} DiskannHead;

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

	/*
	 * out-neighbours of node into out[max_degree]; returns how many, and
	 * the node's DISKANN_NODE_* flags into *flags unless it is NULL
	 */
	int			(*get_neighbors) (DiskannGraph *g, DiskannNode node, DiskannNode *out,
								  uint8 *flags);

	/*
	 * Replace node's out-neighbours with nbrs[n], provided its list is still
	 * expected[nexpected] and the node may still be linked to; returns
	 * false (changing nothing) otherwise.  The caller then reads the list
	 * again and retries.  This is how concurrent writers avoid losing each
	 * other's edges.
	 */
	bool		(*update_neighbors) (DiskannGraph *g, DiskannNode node,
									 const DiskannNode *expected, int nexpected,
									 const DiskannNode *nbrs, int n);
	/* hint that node's vector will be read soon; may be NULL */
	void		(*prefetch) (DiskannGraph *g, DiskannNode node);
	/* node's vector; may return buf (dimensions floats) or internal memory */
	const float *(*get_vector) (DiskannGraph *g, DiskannNode node, float *buf);

	DiskannNode entry_point;
	uint32		num_nodes;		/* node numbers are < num_nodes (in memory) */
	bool		sparse_visited; /* node numbers unbounded: hash the visited set */

	/* scratch space of the Vamana routines (see diskann_graph.c) */
	void	   *scratch;
};

/* A growable array of node numbers */
typedef struct DiskannNodeArray
{
	DiskannNode *nodes;
	uint32		n;
	uint32		cap;
} DiskannNodeArray;

/* A (node, distance) pair */
typedef struct DiskannCandidate
{
	DiskannNode node;
	float		distance;
	bool		expanded;
	uint8		flags;			/* DISKANN_NODE_*, once expanded */
	uint32		tiebreak;		/* orders equal distances in RobustPrune */
} DiskannCandidate;

/* Parameters of the delete repair (IP-DiskANN), see diskann_graph.c */
typedef struct DiskannRepairParams
{
	int			search_list_size;	/* l_d */
	int			candidates;		/* k */
	int			edges;			/* c */
	bool		prune;			/* prune lists that overflow (else skip) */
	bool		start_at_node;	/* search from the deleted node itself */
} DiskannRepairParams;

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
extern int	DiskannGetStorage(Relation index, DiskannMetric metric);
extern int	DiskannGetBits(Relation index, int dimensions);
extern void DiskannValidateStorage(const char *value);
extern void DiskannCheckStorageOptions(DiskannOptions *opts);
extern void DiskannCheckListSize(int num_neighbors, int search_list_size);
extern int	DiskannGetSearchListSize(Relation index);
extern double DiskannGetMaxAlpha(Relation index);
extern float DiskannPruneAlpha(DiskannMetric metric, float alpha);
extern bool DiskannPrepareVector(DiskannMetric metric, const float *in, float *out, int dim);
extern float (*DiskannDistanceFunction(DiskannMetric metric)) (const float *, const float *, int);
extern float (*DiskannHalfDistanceFunction(DiskannMetric metric)) (const float *, const OmenHalf *, int);
extern void DiskannInitPage(Page page, uint16 flags);
extern void DiskannPageCorrupted(Relation index, BlockNumber blkno, const char *detail);

/* diskann_meta.c */
extern void DiskannFillMetaPage(Page page, const DiskannLayout *layout,
								int search_list_size, double max_alpha,
								DiskannNode entry, uint32 nlive);
extern void DiskannReadMeta(Relation index, DiskannMetaPageData *meta);
extern void DiskannSetEntryPoint(Relation index, DiskannNode expected, DiskannNode entry,
								 bool *changed);
extern void DiskannSetMetaCounts(Relation index, uint32 live, uint32 deleted, uint32 nfree);
extern void DiskannFillQuantPage(Page page, const DiskannLayout *layout, uint32 i);
extern const OmenQuantizer *DiskannCachedQuantizer(Relation index,
												   const DiskannMetaPageData *meta);

/* diskann_node.c */
extern void DiskannInitLayout(DiskannLayout *layout, int dimensions, DiskannMetric metric,
							  int num_neighbors, int num_filters, const uint8 *filter_kinds,
							  int storage, int bits);
extern void DiskannLayoutFromMeta(Relation index, DiskannLayout *layout, DiskannMetaPage meta);
extern void DiskannSetQuantizer(DiskannLayout *layout, const float *centroid);
extern void DiskannInitQuery(const DiskannLayout *layout, DiskannQuery *q);
extern void DiskannSetQuery(const DiskannLayout *layout, DiskannQuery *q, const float *vec,
							bool graph_form);
extern const float *DiskannGraphForm(const DiskannLayout *layout, const float *vec, float *buf);
extern BlockNumber DiskannGroupFirstBlock(const DiskannLayout *layout, uint32 group);
extern uint32 DiskannNumGroups(const DiskannLayout *layout, BlockNumber nblocks);
extern void DiskannHeadPosition(const DiskannLayout *layout, DiskannNode node,
								BlockNumber *blkno, uint32 *offset);
extern void DiskannVectorPosition(const DiskannLayout *layout, DiskannNode node,
								  BlockNumber *blkno, uint32 *offset);
extern DiskannNodeHeader *DiskannPageHead(Page page, const DiskannLayout *layout, uint32 i);
extern DiskannNode *DiskannHeadNeighbors(DiskannNodeHeader *hdr);
extern bool DiskannIsHeadPage(Page page);
extern bool DiskannHeadPageOk(Relation index, Buffer buf);
extern uint32 DiskannHeadOffset(const DiskannLayout *layout, uint32 i);
extern uint64 DiskannSlotOffset(const DiskannLayout *layout, uint32 i);
extern DiskannBackendCache *DiskannGetBackendCache(Relation index);
extern Buffer DiskannLockHead(Relation index, const DiskannLayout *layout, DiskannNode node,
							  int mode, DiskannNodeHeader **hdr);
extern Buffer DiskannPinHeadPage(Relation index, const DiskannLayout *layout, uint32 group);
extern void DiskannPrefetchHeads(Page page, const DiskannLayout *layout);
extern void DiskannCheckHead(Relation index, const DiskannLayout *layout, DiskannNode node,
							 const DiskannNodeHeader *hdr, const DiskannNode *nbrs);
extern void DiskannCheckNode(Relation index, const DiskannLayout *layout, DiskannNode node,
							 BlockNumber blkno);
extern void DiskannCopyHead(Relation index, const DiskannLayout *layout,
							DiskannNode node,
							DiskannNodeHeader *hdr, DiskannNode *nbrs);
extern void DiskannReadHead(Relation index, const DiskannLayout *layout,
							DiskannNode node,
							DiskannNodeHeader *hdr, DiskannNode *nbrs);
extern float DiskannNodeDistance(Relation index, const DiskannLayout *layout,
								 DiskannNode node, const DiskannQuery *query,
								 uint32 *generation);
extern void DiskannNodeDistances(Relation index, const DiskannLayout *layout,
								 const DiskannNode *nodes, int n, const DiskannQuery *query,
								 float *distances, float *bounds, uint32 *generations,
								 const DiskannFilter *filter, bool *matches, float bound);
extern uint32 DiskannReadVector(Relation index, const DiskannLayout *layout,
								DiskannNode node, float *out);
extern void DiskannReadSlotFilter(Relation index, const DiskannLayout *layout,
								  DiskannNode node, char *record);
extern char *DiskannHeadFilter(DiskannNodeHeader *hdr, const DiskannLayout *layout);
extern char *DiskannGroupSummary(Page page);
extern void DiskannFillGroupImage(const DiskannLayout *layout, char *image);
extern void DiskannFillSlotPayload(const DiskannLayout *layout, const float *vec, char *payload);
extern void DiskannSetFreed(DiskannNodeHeader *hdr, FullTransactionId fxid);
extern bool DiskannSlotReusable(const DiskannNodeHeader *hdr);

/* diskann_storage.c */
extern DiskannNode DiskannClaimSlot(Relation index, const DiskannLayout *layout,
									ItemPointer heaptid, const char *filter,
									uint32 *generation);
extern void DiskannWriteVector(Relation index, const DiskannLayout *layout,
							   DiskannNode node, uint32 generation, const float *vec,
							   const char *filter);
extern bool DiskannUpdateHead(Relation index, const DiskannLayout *layout, DiskannNode node,
							  uint32 generation, uint8 expect_flags, uint8 new_flags);
extern bool DiskannUpdateNeighbors(Relation index, const DiskannLayout *layout,
								   DiskannNode node,
								   const DiskannNode *expected, int nexpected,
								   const DiskannNode *nbrs, int n);
extern DiskannGraph *DiskannOpenDiskGraph(Relation index, const DiskannLayout *layout,
										  DiskannNode entry_point, int search_list_size,
										  float alpha);

/* diskann_insert.c */
extern int	DiskannInsertListSize(DiskannMetaPage meta);
extern void DiskannInsertTuple(Relation index, const DiskannLayout *layout,
							   DiskannGraph *g, ItemPointer heaptid, const float *vec,
							   const char *filter);

/* diskann_filter.c */
extern int	DiskannVectorColumn(Relation index);
extern int	DiskannIndexFilterKinds(Relation index, uint8 *kinds);
extern uint32 DiskannFilterRecordSize(int num_filters, const uint8 *kinds);
extern void DiskannFormFilterRecord(Relation index, const DiskannLayout *layout,
									const Datum *values, const bool *isnull, char *record);
extern DiskannFilter *DiskannCompileFilter(Relation index, const DiskannLayout *layout,
										   ScanKey keys, int nkeys, bool *recheck);
extern bool DiskannFilterNeverMatches(const DiskannFilter *filter);
extern bool DiskannFilterMatches(const DiskannFilter *filter, const char *record);
extern uint32 DiskannFilterSummarySize(const DiskannLayout *layout);
extern void DiskannFilterSummaryInit(const DiskannLayout *layout, char *summary);
extern void DiskannFilterSummaryAdd(const DiskannLayout *layout, char *summary,
									const char *record);
extern bool DiskannFilterSummaryCovers(const DiskannLayout *layout, const char *summary,
									   const char *record);
extern bool DiskannFilterSummaryMatches(const DiskannFilter *filter, const char *summary);
extern int	DiskannFilterRecordCompare(const DiskannLayout *layout, const char *a,
									   const char *b);

/* diskann_graph.c */
extern void DiskannNodeArrayInit(DiskannNodeArray *a, uint32 cap);
extern void DiskannNodeArrayAppend(DiskannNodeArray *a, DiskannNode node);
extern void DiskannGraphInitScratch(DiskannGraph *g);
extern int	DiskannGreedySearch(DiskannGraph *g, const float *query, int L,
								DiskannNode skip, DiskannCandidate **visited,
								int *nvisited);
extern int	DiskannInsertNode(DiskannGraph *g, DiskannNode node, const float *vec);
extern void DiskannRefineNode(DiskannGraph *g, DiskannNode node);
extern void DiskannTrimNode(DiskannGraph *g, DiskannNode node);
extern uint32 DiskannRepairReachability(DiskannGraph *g);
extern void DiskannRepairDeleted(DiskannGraph *g, DiskannNode p, const float *pvec,
								 const DiskannRepairParams *params);
extern DiskannNode DiskannClosestUsable(DiskannGraph *g, const float *vec, DiskannNode skip);

#endif							/* OMENDB_DISKANN_H */
