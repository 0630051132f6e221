/*
 * diskann_node.c
 *		The node format: where a node's head and vector lie, and reading
 *		them from buffer pages.
 *
 * A group of pages_per_group pages holds heads_per_group nodes: their
 * heads on the group's first page, then their vector slots back to back
 * over the group's pages (see diskann.h).  Everything that reads or
 * interprets a head or a vector slot goes through this file.
 *
 * Locking: readers share-lock one page at a time and copy what they need
 * before releasing it.  A head lies within one page, so it is read
 * consistently; a vector may span pages, and is checked against the head
 * by its generation (see src/README.md, "Slot reuse").
 */
#include "postgres.h"

#include <math.h>

#include "access/transam.h"
#include "diskann.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* Elements of a bounded distance computed between checks */
#define DISKANN_BOUND_CHUNK		128

static void ReadSlot(Relation index, const DiskannLayout *layout, DiskannNode node,
					 uint32 from, uint32 len, char *dst);

/*
 * NewRecentBuffers
 *		An empty table of 2^bits recently read buffers, in the current
 *		memory context.
 */
static DiskannRecentBuffers *
NewRecentBuffers(int bits)
{
	DiskannRecentBuffers *recent = palloc(offsetof(DiskannRecentBuffers, entries) +
										  sizeof(DiskannRecentBuffer) * (1 << bits));

	recent->bits = bits;
	for (int i = 0; i < (1 << bits); i++)
		recent->entries[i].blkno = InvalidBlockNumber;
	return recent;
}

/*
 * DiskannGetBackendCache
 *		This backend's hints for an index, kept in its relcache entry
 *		(rd_amcache, in rd_indexcxt) across statements: the head page the
 *		backend last claimed a slot on (consecutive inserts of a backend
 *		fill one group, and a group one backend extends is not contended by
 *		others) and the table of recently read buffers.  Hints only: both
 *		are checked when used.  A relcache invalidation frees rd_amcache at
 *		any lock acquisition, so callers must not keep the pointer.
 */
DiskannBackendCache *
DiskannGetBackendCache(Relation index)
{
	if (index->rd_amcache == NULL)
	{
		MemoryContext oldctx = MemoryContextSwitchTo(index->rd_indexcxt);
		DiskannBackendCache *cache = palloc(sizeof(DiskannBackendCache));

		cache->insert_page = InvalidBlockNumber;
		cache->known_nodes = 0;
		cache->recent = NewRecentBuffers(DISKANN_RECENT_BITS);
		cache->quant = NULL;
		index->rd_amcache = cache;
		MemoryContextSwitchTo(oldctx);
	}
	return (DiskannBackendCache *) index->rd_amcache;
}

/*
 * ReadNodeBuffer
 *		Pin block blkno of index.  A block this backend read before is
 *		pinned through ReadRecentBuffer, which checks that the buffer still
 *		holds it, without a lookup in the buffer mapping table (a graph walk
 *		reads thousands of pages per query, and that lookup cost as much as
 *		a distance's arithmetic).
 */
static Buffer
ReadNodeBuffer(Relation index, BlockNumber blkno)
{
	DiskannRecentBuffers *recent = DiskannGetBackendCache(index)->recent;
	uint32		i = (blkno * 0x9E3779B1u) >> (32 - recent->bits);
	Buffer		buf;

	if (recent->entries[i].blkno == blkno &&
		ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, recent->entries[i].buffer))
		return recent->entries[i].buffer;
	buf = ReadBuffer(index, blkno);

	/* ReadBuffer may have processed invalidations: look the table up again */
	recent = DiskannGetBackendCache(index)->recent;
	recent->entries[i].blkno = blkno;
	recent->entries[i].buffer = buf;
	return buf;
}

/*
 * QuantPages
 *		Blocks after the metapage that hold the rotated centroid of a
 *		compressed index's quantizer (pdim float4s).
 */
static uint32
QuantPages(const DiskannLayout *layout)
{
	if (layout->storage != DISKANN_PAYLOAD_RABITQ)
		return 0;
	return (uint32) ((layout->graph_dims * sizeof(float) + DISKANN_PAGE_DATA_SIZE - 1) /
					 DISKANN_PAGE_DATA_SIZE);
}

/*
 * SetDerivedSizes
 *		Offsets and sizes within heads and vector slots, and the first
 *		group's block, from the layout's dimensions, R, filter record and
 *		storage.  A vector slot holds a DiskannVectorHeader, the filter
 *		record, then the payload: dim float4s (plain) or a code
 *		(compressed, OmenQuantCodeSize bytes).
 */
static void
SetDerivedSizes(DiskannLayout *layout)
{
	uint32		payload;

	layout->filter_offset = sizeof(DiskannNodeHeader) + sizeof(DiskannNode) * layout->num_neighbors;
	layout->head_size = layout->filter_offset + layout->filter_size;
	layout->vector_offset = sizeof(DiskannVectorHeader) + layout->filter_size;
	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		layout->graph_dims = OmenQuantPaddedDim(layout->dimensions);
		payload = OmenQuantCodeSize(layout->dimensions, layout->bits);
	}
	else
	{
		layout->storage = DISKANN_PAYLOAD_FLOAT32;
		layout->graph_dims = layout->dimensions;
		payload = sizeof(float) * layout->dimensions;
	}
	layout->vector_size = layout->vector_offset + payload;
	layout->first_block = DISKANN_FIRST_NODE_BLKNO + QuantPages(layout);
}

/*
 * DiskannInitLayout
 *		Work out head and vector slot sizes, the group summary (with filter
 *		columns) and the group shape for a new index: the number of heads per group whose pages waste the least
 *		space (ties go to more heads, so heads lie densely), within
 *		DISKANN_MAX_PAGES_PER_GROUP pages unless one node needs more.
 */
void
DiskannInitLayout(DiskannLayout *layout, int dimensions, DiskannMetric metric,
				  int num_neighbors, int num_filters, const uint8 *filter_kinds,
				  int storage, int bits)
{
	uint32		node_bytes;
	uint32		max_heads;
	double		best_waste = 2.0;

	memset(layout, 0, sizeof(DiskannLayout));
	layout->dimensions = dimensions;
	layout->metric = metric;
	layout->num_neighbors = num_neighbors;
	layout->num_filters = num_filters;
	if (num_filters > 0)
		memcpy(layout->filter_kinds, filter_kinds, num_filters);
	layout->filter_size = DiskannFilterRecordSize(num_filters, filter_kinds);
	layout->storage = storage;
	layout->bits = (storage == DISKANN_PAYLOAD_RABITQ) ? bits : 0;
	SetDerivedSizes(layout);
	layout->summary_size = DiskannFilterSummarySize(layout);
	node_bytes = layout->head_size + layout->vector_size;
	max_heads = Min((DISKANN_PAGE_DATA_SIZE - layout->summary_size) / layout->head_size,
					DISKANN_MAX_HEADS_PER_GROUP);

	for (uint32 h = 1; h <= max_heads; h++)
	{
		uint64		bytes = layout->summary_size + (uint64) h * node_bytes;
		uint32		pages = (uint32) ((bytes + DISKANN_PAGE_DATA_SIZE - 1) / DISKANN_PAGE_DATA_SIZE);
		double		waste = 1.0 - (double) bytes / ((double) pages * DISKANN_PAGE_DATA_SIZE);

		if (pages > DISKANN_MAX_PAGES_PER_GROUP && h > 1)
			break;
		if (waste <= best_waste + 0.005)
		{
			if (waste < best_waste)
				best_waste = waste;
			layout->heads_per_group = h;
			layout->pages_per_group = pages;
		}
	}
}

/*
 * DiskannLayoutFromMeta
 *		The layout of an existing index, from its metapage; for compressed
 *		storage with its quantizer, allocated in the current memory context.
 */
void
DiskannLayoutFromMeta(Relation index, DiskannLayout *layout, DiskannMetaPage meta)
{
	memset(layout, 0, sizeof(DiskannLayout));
	layout->dimensions = meta->dimensions;
	layout->metric = meta->metric;
	layout->num_neighbors = meta->num_neighbors;
	layout->heads_per_group = meta->heads_per_group;
	layout->pages_per_group = meta->pages_per_group;
	layout->num_filters = Min(meta->num_filters, DISKANN_MAX_FILTERS);
	memcpy(layout->filter_kinds, meta->filter_kinds, layout->num_filters);
	layout->filter_size = meta->filter_size;
	layout->storage = meta->payload;
	layout->bits = meta->quant_bits;
	SetDerivedSizes(layout);
	layout->summary_size = meta->summary_size;
	if (layout->summary_size != 0 && layout->summary_size != DiskannFilterSummarySize(layout))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Its group summary size %u does not fit its %u filter columns.",
						   meta->summary_size, layout->num_filters)));
	if (layout->head_size != meta->head_size || layout->vector_size != meta->vector_size)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Its node sizes (%u, %u) do not follow from its options (%u, %u).",
						   meta->head_size, meta->vector_size,
						   layout->head_size, layout->vector_size)));
	if (layout->summary_size + (uint64) layout->heads_per_group * layout->head_size >
		DISKANN_PAGE_DATA_SIZE ||
		layout->summary_size + (uint64) layout->heads_per_group *
		(layout->head_size + layout->vector_size) >
		(uint64) layout->pages_per_group * DISKANN_PAGE_DATA_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Its %u nodes of %u + %u bytes do not fit %u pages.",
						   layout->heads_per_group, layout->head_size, layout->vector_size,
						   layout->pages_per_group)));
	DiskannCheckNode(index, layout, meta->entry_point, DISKANN_METAPAGE_BLKNO);
	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		const OmenQuantizer *quant = DiskannCachedQuantizer(index, meta);

		layout->quant = palloc(OmenQuantSize(layout->dimensions));
		memcpy(layout->quant, quant, OmenQuantSize(layout->dimensions));
	}
}

/*
 * DiskannSetQuantizer
 *		Give a compressed layout (of a build) its quantizer, in the current
 *		memory context, around centroid (index form; NULL: the origin).
 */
void
DiskannSetQuantizer(DiskannLayout *layout, const float *centroid)
{
	layout->quant = palloc(OmenQuantSize(layout->dimensions));
	OmenQuantInit(layout->quant, layout->dimensions, layout->bits,
				  DISKANN_QUANT_SEED, centroid);
}

/*
 * DiskannInitQuery
 *		Allocate what a query of this layout needs (current memory context);
 *		DiskannSetQuery then sets it to a vector, any number of times.
 */
void
DiskannInitQuery(const DiskannLayout *layout, DiskannQuery *q)
{
	memset(q, 0, sizeof(DiskannQuery));
	q->distfn = DiskannDistanceFunction(layout->metric);
	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		q->qmem = palloc(OmenQuantQueryBytes(layout->dimensions));
		q->slot = palloc(layout->vector_size);
	}
}

/* the quantizer's name for a metric (compressed storage has no L1) */
static OmenQuantMetric
QuantMetric(DiskannMetric metric)
{
	switch (metric)
	{
		case DISKANN_METRIC_IP:
			return OMEN_QUANT_IP;
		case DISKANN_METRIC_COSINE:
			return OMEN_QUANT_COSINE;
		default:
			return OMEN_QUANT_L2;
	}
}

/*
 * DiskannSetQuery
 *		Make q the query for vec, in index form, or in graph form if
 *		graph_form.  Under plain storage q points at vec, which must stay.
 */
void
DiskannSetQuery(const DiskannLayout *layout, DiskannQuery *q, const float *vec,
				bool graph_form)
{
	q->vec = vec;
	if (layout->storage != DISKANN_PAYLOAD_RABITQ)
		return;
	if (graph_form)
		OmenQuantPrepareRotatedQuery(layout->quant, QuantMetric(layout->metric), vec,
									 &q->qq, q->qmem);
	else
		OmenQuantPrepareQuery(layout->quant, QuantMetric(layout->metric), vec,
							  &q->qq, q->qmem);
}

/*
 * DiskannGraphForm
 *		vec (index form) in graph form: vec itself under plain storage,
 *		else rotated into buf (graph_dims floats).
 */
const float *
DiskannGraphForm(const DiskannLayout *layout, const float *vec, float *buf)
{
	if (layout->storage != DISKANN_PAYLOAD_RABITQ)
		return vec;
	OmenQuantRotate(layout->quant, vec, buf);
	return buf;
}

/*
 * DiskannFillSlotPayload
 *		The payload of a vector slot for vec (index form): the floats, or
 *		their code.
 */
void
DiskannFillSlotPayload(const DiskannLayout *layout, const float *vec, char *payload)
{
	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		float	   *scratch = palloc(sizeof(float) * 2 * layout->graph_dims);

		OmenQuantEncode(layout->quant, vec, (uint8_t *) payload, scratch);
		pfree(scratch);
	}
	else
		memcpy(payload, vec, sizeof(float) * layout->dimensions);
}

/*
 * DiskannGroupFirstBlock
 *		The block holding the heads of a group.
 */
BlockNumber
DiskannGroupFirstBlock(const DiskannLayout *layout, uint32 group)
{
	return layout->first_block + group * layout->pages_per_group;
}

/*
 * DiskannNumGroups
 *		Complete groups in an index of nblocks blocks.  A group left
 *		incomplete by a crash during extension is not counted.
 */
uint32
DiskannNumGroups(const DiskannLayout *layout, BlockNumber nblocks)
{
	if (nblocks <= layout->first_block)
		return 0;
	return (nblocks - layout->first_block) / layout->pages_per_group;
}

/*
 * DiskannHeadOffset
 *		Offset of head i of a group within its head page's data area (after
 *		the group summary, if any).
 */
uint32
DiskannHeadOffset(const DiskannLayout *layout, uint32 i)
{
	return layout->summary_size + i * layout->head_size;
}

/*
 * DiskannSlotOffset
 *		Offset of vector slot i of a group from the start of the group's
 *		data (its pages' data areas back to back): after the summary and
 *		all heads.
 */
uint64
DiskannSlotOffset(const DiskannLayout *layout, uint32 i)
{
	return DiskannHeadOffset(layout, layout->heads_per_group) +
		(uint64) i * layout->vector_size;
}

/*
 * DiskannHeadPosition
 *		Block and offset (within the page's data area) of node's head.
 */
void
DiskannHeadPosition(const DiskannLayout *layout, DiskannNode node,
					BlockNumber *blkno, uint32 *offset)
{
	*blkno = DiskannGroupFirstBlock(layout, node / layout->heads_per_group);
	*offset = DiskannHeadOffset(layout, node % layout->heads_per_group);
}

/*
 * DiskannVectorPosition
 *		Block and offset of the start of node's vector slot; the slot may
 *		continue on the following blocks of its group.
 */
void
DiskannVectorPosition(const DiskannLayout *layout, DiskannNode node,
					  BlockNumber *blkno, uint32 *offset)
{
	uint64		pos = DiskannSlotOffset(layout, node % layout->heads_per_group);

	*blkno = DiskannGroupFirstBlock(layout, node / layout->heads_per_group) +
		(BlockNumber) (pos / DISKANN_PAGE_DATA_SIZE);
	*offset = (uint32) (pos % DISKANN_PAGE_DATA_SIZE);
}

/*
 * DiskannPageHead
 *		Head number i of a group's head page.
 */
DiskannNodeHeader *
DiskannPageHead(Page page, const DiskannLayout *layout, uint32 i)
{
	return (DiskannNodeHeader *) (PageGetContents(page) + DiskannHeadOffset(layout, i));
}

/*
 * DiskannGroupSummary
 *		The summary of a group's filter records on its head page (in
 *		indexes that have one: layout->summary_size > 0).
 */
char *
DiskannGroupSummary(Page page)
{
	return PageGetContents(page);
}

/*
 * DiskannHeadNeighbors
 *		The neighbour list that follows a head.
 */
DiskannNode *
DiskannHeadNeighbors(DiskannNodeHeader *hdr)
{
	return (DiskannNode *) ((char *) hdr + sizeof(DiskannNodeHeader));
}

/*
 * DiskannHeadFilter
 *		The filter record that follows a head's neighbour list.
 */
char *
DiskannHeadFilter(DiskannNodeHeader *hdr, const DiskannLayout *layout)
{
	return (char *) hdr + layout->filter_offset;
}

/*
 * DiskannIsHeadPage
 *		True if page is an initialised head page of a group.
 */
bool
DiskannIsHeadPage(Page page)
{
	return !PageIsNew(page) &&
		PageGetSpecialSize(page) == MAXALIGN(sizeof(DiskannPageOpaqueData)) &&
		DiskannPageGetOpaque(page)->page_id == DISKANN_PAGE_ID &&
		(DiskannPageGetOpaque(page)->flags & DISKANN_PAGE_HEADS) != 0;
}

/*
 * DiskannHeadPageOk
 *		Is buf (locked) an initialised head page?  An all-zero page (left by
 *		a crash while a group was being added) is not, and holds no nodes;
 *		any other page that is not a diskann head page means the index is
 *		corrupted (the block is a group's first by arithmetic).
 */
bool
DiskannHeadPageOk(Relation index, Buffer buf)
{
	Page		page = BufferGetPage(buf);

	if (PageIsNew(page))
		return false;
	if (!DiskannIsHeadPage(page))
		DiskannPageCorrupted(index, BufferGetBlockNumber(buf),
							 "The first page of a group is not a diskann head page.");
	return true;
}

/*
 * DiskannLockHead
 *		Pin and lock (BUFFER_LOCK_SHARE or _EXCLUSIVE) node's head page;
 *		returns the buffer and sets *hdr to the head within the page (NULL
 *		if the page is not an initialised head page).
 */
Buffer
DiskannLockHead(Relation index, const DiskannLayout *layout, DiskannNode node, int mode,
				DiskannNodeHeader **hdr)
{
	BlockNumber blkno;
	uint32		offset;
	Buffer		buf;
	Page		page;

	DiskannHeadPosition(layout, node, &blkno, &offset);
	buf = ReadNodeBuffer(index, blkno);
	LockBuffer(buf, mode);
	page = BufferGetPage(buf);
	*hdr = DiskannHeadPageOk(index, buf) ?
		(DiskannNodeHeader *) (PageGetContents(page) + offset) : NULL;
	return buf;
}

/*
 * DiskannCheckNode
 *		Error out (index corrupted, naming blkno, where node was found)
 *		unless node is DISKANN_INVALID_NODE or a slot the index has.  The
 *		slot count is the one this backend saw last, read afresh when node
 *		is beyond it (concurrent inserts may have added groups since).
 */
void
DiskannCheckNode(Relation index, const DiskannLayout *layout, DiskannNode node,
				 BlockNumber blkno)
{
	DiskannBackendCache *cache;
	uint32		nodes;
	char		detail[128];

	if (node == DISKANN_INVALID_NODE || node < DiskannGetBackendCache(index)->known_nodes)
		return;
	nodes = DiskannNumGroups(layout, RelationGetNumberOfBlocks(index)) * layout->heads_per_group;
	cache = DiskannGetBackendCache(index);
	cache->known_nodes = Max(cache->known_nodes, nodes);
	if (node < nodes)
		return;
	snprintf(detail, sizeof(detail), "Node number %u is beyond the index's %u slots.",
			 node, nodes);
	DiskannPageCorrupted(index, blkno, detail);
}

/*
 * DiskannCheckHead
 *		Error out (index corrupted) unless hdr, node's head, lists at most R
 *		neighbours (nbrs: its list, or a copy of it), each a slot the index
 *		has (DiskannCheckNode).  For every head a graph routine or VACUUM
 *		reads, so that damage never makes them read or write out of bounds.
 */
void
DiskannCheckHead(Relation index, const DiskannLayout *layout, DiskannNode node,
				 const DiskannNodeHeader *hdr, const DiskannNode *nbrs)
{
	/* the head page's block, only needed to name it in an error */
	BlockNumber blkno = DiskannGroupFirstBlock(layout, node / layout->heads_per_group);
	uint32		known = DiskannGetBackendCache(index)->known_nodes;

	if (hdr->num_neighbors > layout->num_neighbors)
	{
		char		detail[128];

		snprintf(detail, sizeof(detail), "Node %u lists %u neighbours, more than num_neighbors %d.",
				 node, hdr->num_neighbors, layout->num_neighbors);
		DiskannPageCorrupted(index, blkno, detail);
	}
	for (int i = 0; i < hdr->num_neighbors; i++)
	{
		/* the common case without a call: a number below the known count */
		if (nbrs[i] >= known && nbrs[i] != DISKANN_INVALID_NODE)
		{
			DiskannCheckNode(index, layout, nbrs[i], blkno);
			known = DiskannGetBackendCache(index)->known_nodes;
		}
	}
}

/*
 * DiskannPinHeadPage
 *		Pin the head page of group (no lock) and ask the CPU to start
 *		fetching what a pass over its heads reads first: the page header
 *		and group summary, or without a summary each head's flags and filter
 *		record (DiskannPrefetchHeads).  Only a hint: the caller reads the
 *		page under a share lock after it has done other work, so that the
 *		fetches overlap that work.
 */
Buffer
DiskannPinHeadPage(Relation index, const DiskannLayout *layout, uint32 group)
{
	Buffer		buf = ReadNodeBuffer(index, DiskannGroupFirstBlock(layout, group));

	__builtin_prefetch(BufferGetPage(buf));
	if (layout->summary_size == 0)
		DiskannPrefetchHeads(BufferGetPage(buf), layout);
	return buf;
}

/*
 * DiskannPrefetchHeads
 *		Ask the CPU to start fetching each head's flags and filter record of
 *		a head page (a hint; no lock needed).
 */
void
DiskannPrefetchHeads(Page page, const DiskannLayout *layout)
{
	for (uint32 i = 0; i < layout->heads_per_group; i++)
	{
		const char *head = (const char *) DiskannPageHead(page, layout, i);

		__builtin_prefetch(head);
		if (layout->filter_size > 0)
			__builtin_prefetch(head + layout->filter_offset);
	}
}

/*
 * DiskannCopyHead
 *		Copy node's header and (if nbrs is not NULL) its R neighbour
 *		entries, under a share lock of the head's page, unchecked: degree
 *		and numbers as stored (a degree beyond R too).  A head on a page
 *		not yet initialised reads as flags 0, no neighbours.  For
 *		diskann_verify, which reports what is wrong; others use
 *		DiskannReadHead.
 */
void
DiskannCopyHead(Relation index, const DiskannLayout *layout, DiskannNode node,
				DiskannNodeHeader *hdr, DiskannNode *nbrs)
{
	DiskannNodeHeader *h;
	Buffer		buf = DiskannLockHead(index, layout, node, BUFFER_LOCK_SHARE, &h);

	if (h)
	{
		*hdr = *h;
		if (nbrs)
			memcpy(nbrs, DiskannHeadNeighbors(h), sizeof(DiskannNode) * layout->num_neighbors);
	}
	else
		memset(hdr, 0, sizeof(DiskannNodeHeader));
	UnlockReleaseBuffer(buf);
}

/*
 * DiskannReadHead
 *		DiskannCopyHead, and (if nbrs is not NULL) DiskannCheckHead: an
 *		error if the degree or a neighbour number is out of range.
 */
void
DiskannReadHead(Relation index, const DiskannLayout *layout, DiskannNode node,
				DiskannNodeHeader *hdr, DiskannNode *nbrs)
{
	DiskannCopyHead(index, layout, node, hdr, nbrs);
	if (nbrs)
		DiskannCheckHead(index, layout, node, hdr, nbrs);
	hdr->num_neighbors = Min(hdr->num_neighbors, layout->num_neighbors);
}

/*
 * SlotDistance
 *		Distance between node's vector and query, computed on the buffer
 *		pages in place; the generation stored with the vector into
 *		*generation and, if record is not NULL, its filter record.
 *		The slot may continue over several pages (so may its filter
 *		record); distances are sums over elements, so they are computed
 *		piece by piece; a code is copied whole first.  Share-locks each
 *		page touched in turn.
 */
static float
SlotDistance(Relation index, const DiskannLayout *layout, DiskannNode node,
			 const DiskannQuery *q, uint32 *generation, char *record, float *errbound)
{
	BlockNumber blkno;
	uint32		offset;
	uint32		prefix = 0;		/* bytes of the slot's header read so far */
	char		header[sizeof(DiskannVectorHeader) + DISKANN_MAX_FILTER_RECORD];
	int			remaining = layout->dimensions;
	const float *query = q->vec;
	float		sum = 0.0f;
	float		bias = 0.0f;

	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		ReadSlot(index, layout, node, 0, layout->vector_size, q->slot);
		*generation = ((DiskannVectorHeader *) q->slot)->generation;
		if (record)
			memcpy(record, q->slot + sizeof(DiskannVectorHeader), layout->filter_size);
		return OmenQuantDistance(&q->qq, (const uint8_t *) q->slot + layout->vector_offset,
								 errbound);
	}
	if (errbound)
		*errbound = 0.0f;

	DiskannVectorPosition(layout, node, &blkno, &offset);

	/* cosine is 1 - dot: add the pieces of -dot and the 1 once */
	if (layout->metric == DISKANN_METRIC_COSINE)
		bias = 1.0f;

	while (remaining > 0)
	{
		Buffer		buf = ReadNodeBuffer(index, blkno);
		const char *data;
		uint32		room = DISKANN_PAGE_DATA_SIZE - offset;
		int			chunk;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		data = PageGetContents(BufferGetPage(buf)) + offset;
		if (prefix < layout->vector_offset)
		{
			uint32		n = Min(layout->vector_offset - prefix, room);

			memcpy(header + prefix, data, n);
			prefix += n;
			data += n;
			room -= n;
		}
		chunk = Min(remaining, (int) (room / sizeof(float)));
		if (chunk > 0)
			sum += q->distfn(query, (const float *) data, chunk) - bias;
		UnlockReleaseBuffer(buf);
		query += chunk;
		remaining -= chunk;
		offset = 0;
		blkno++;
	}
	*generation = ((DiskannVectorHeader *) header)->generation;
	if (record)
		memcpy(record, header + sizeof(DiskannVectorHeader), layout->filter_size);
	return sum + bias;
}

/*
 * DiskannNodeDistance
 *		Distance between node's vector and query, and the generation
 *		stored with the vector.
 */
float
DiskannNodeDistance(Relation index, const DiskannLayout *layout, DiskannNode node,
					const DiskannQuery *query, uint32 *generation)
{
	return SlotDistance(index, layout, node, query, generation, NULL, NULL);
}

/*
 * BoundedDistance
 *		distfn(a, b, dim), or, if bound is finite, a partial sum above bound
 *		as soon as one is (computed a piece at a time).
 */
static inline float
BoundedDistance(const float *a, const float *b, int dim,
				float (*distfn) (const float *, const float *, int), float bound)
{
	float		sum = 0.0f;

	if (isinf(bound))
		return distfn(a, b, dim);
	for (int i = 0; i < dim; i += DISKANN_BOUND_CHUNK)
	{
		sum += distfn(a + i, b + i, Min(DISKANN_BOUND_CHUNK, dim - i));
		if (sum > bound)
			break;
	}
	return sum;
}

/*
 * DiskannNodeDistances
 *		DiskannNodeDistance for n nodes at once: all their first vector
 *		pages are pinned and their first cache lines requested before any
 *		distance is computed, so the memory latency of the buffer lookups
 *		and of the vectors overlaps instead of adding up.  Pins are held
 *		(no locks) across the batch; each page is share-locked while read.
 *		With a filter, matches[i] says whether node i's stored filter values
 *		satisfy it.  A finite bound (only for metrics whose partial sums
 *		only grow: L2, L1) lets a distance stop early, at some value above
 *		bound, once its partial sum exceeds it (plain storage only).
 *		bounds, unless NULL, gets each distance's error bound: 0 under
 *		plain storage (exact), the quantizer's bound on the estimate under
 *		compressed storage.
 */
void
DiskannNodeDistances(Relation index, const DiskannLayout *layout,
					 const DiskannNode *nodes, int n, const DiskannQuery *query,
					 float *distances, float *bounds, uint32 *generations,
					 const DiskannFilter *filter, bool *matches, float bound)
{
	Buffer		bufs[DISKANN_DISTANCE_BATCH];
	uint32		offsets[DISKANN_DISTANCE_BATCH];
	char		record[DISKANN_MAX_FILTER_RECORD];

	/* a code is read whole; a float vector's first lines start the stream */
	int			lines = (layout->storage == DISKANN_PAYLOAD_RABITQ) ?
		Min((layout->vector_size + 63) / 64 + 1, 16) : 4;

	for (int start = 0; start < n; start += DISKANN_DISTANCE_BATCH)
	{
		int			m = Min(n - start, DISKANN_DISTANCE_BATCH);

		for (int i = 0; i < m; i++)
		{
			BlockNumber blkno;
			const char *p;

			DiskannVectorPosition(layout, nodes[start + i], &blkno, &offsets[i]);
			if (i > 0 && blkno == BufferGetBlockNumber(bufs[i - 1]))
			{
				/* nodes of one group often share a page: pin it again */
				IncrBufferRefCount(bufs[i - 1]);
				bufs[i] = bufs[i - 1];
			}
			else
				bufs[i] = ReadNodeBuffer(index, blkno);
			p = PageGetContents(BufferGetPage(bufs[i])) + offsets[i];
			for (int line = 0; line < lines; line++)
				__builtin_prefetch(p + line * 64);
		}
		for (int i = 0; i < m; i++)
		{
			int			k = start + i;
			const char *data;

			if (offsets[i] + layout->vector_size > DISKANN_PAGE_DATA_SIZE)
			{
				/* continues on the next page(s): the general path */
				ReleaseBuffer(bufs[i]);
				distances[k] = SlotDistance(index, layout, nodes[k], query,
											&generations[k], record,
											bounds ? &bounds[k] : NULL);
			}
			else
			{
				LockBuffer(bufs[i], BUFFER_LOCK_SHARE);
				data = PageGetContents(BufferGetPage(bufs[i])) + offsets[i];
				generations[k] = ((const DiskannVectorHeader *) data)->generation;
				if (matches)
					memcpy(record, data + sizeof(DiskannVectorHeader), layout->filter_size);
				if (layout->storage == DISKANN_PAYLOAD_RABITQ)
					distances[k] = OmenQuantDistance(&query->qq,
													 (const uint8_t *) data + layout->vector_offset,
													 bounds ? &bounds[k] : NULL);
				else
				{
					distances[k] = BoundedDistance(query->vec,
												   (const float *) (data + layout->vector_offset),
												   layout->dimensions, query->distfn, bound);
					if (bounds)
						bounds[k] = 0.0f;
				}
				UnlockReleaseBuffer(bufs[i]);
			}
			if (matches)
				matches[k] = DiskannFilterMatches(filter, record);
		}
	}
}

/*
 * ReadSlot
 *		Copy len bytes of node's vector slot, from byte from on, into dst
 *		(the slot may continue over several pages).
 */
static void
ReadSlot(Relation index, const DiskannLayout *layout, DiskannNode node,
		 uint32 from, uint32 len, char *dst)
{
	BlockNumber blkno;
	uint32		offset;
	uint32		done = 0;

	DiskannVectorPosition(layout, node, &blkno, &offset);
	blkno += (offset + from) / DISKANN_PAGE_DATA_SIZE;
	offset = (offset + from) % DISKANN_PAGE_DATA_SIZE;
	while (done < len)
	{
		Buffer		buf = ReadNodeBuffer(index, blkno);
		uint32		chunk = Min(len - done, DISKANN_PAGE_DATA_SIZE - offset);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(dst + done, PageGetContents(BufferGetPage(buf)) + offset, chunk);
		UnlockReleaseBuffer(buf);
		done += chunk;
		offset = 0;
		blkno++;
	}
}

/*
 * DiskannReadVector
 *		Node's vector in graph form into out (graph_dims floats): a copy, or
 *		its code's reconstruction; returns the generation stored with it.
 *		The generation is read first and the vector after, page by page;
 *		a slot is rewritten last page first (DiskannWriteVector), so a
 *		vector read here belongs to the generation returned or a later one
 *		that the caller's check against the head rejects.
 */
uint32
DiskannReadVector(Relation index, const DiskannLayout *layout, DiskannNode node,
				  float *out)
{
	DiskannVectorHeader vh;

	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		/* a code is small: read the slot at once */
		char	   *slot = palloc(layout->vector_size);

		ReadSlot(index, layout, node, 0, layout->vector_size, slot);
		vh = *(DiskannVectorHeader *) slot;
		OmenQuantDecodeRotated(layout->quant, (const uint8_t *) slot + layout->vector_offset,
							   out);
		pfree(slot);
		return vh.generation;
	}
	ReadSlot(index, layout, node, 0, sizeof(DiskannVectorHeader), (char *) &vh);
	ReadSlot(index, layout, node, layout->vector_offset,
			 sizeof(float) * layout->dimensions, (char *) out);
	return vh.generation;
}

/*
 * DiskannReadSlotFilter
 *		Copy the filter record stored in node's vector slot.
 */
void
DiskannReadSlotFilter(Relation index, const DiskannLayout *layout, DiskannNode node,
					  char *record)
{
	ReadSlot(index, layout, node, sizeof(DiskannVectorHeader), layout->filter_size, record);
}

/*
 * DiskannFillGroupImage
 *		Fill image (pages_per_group data areas back to back) with an empty
 *		group: a summary that covers nothing, every head a free slot never
 *		used, vectors zero.
 */
void
DiskannFillGroupImage(const DiskannLayout *layout, char *image)
{
	memset(image, 0, (size_t) layout->pages_per_group * DISKANN_PAGE_DATA_SIZE);
	if (layout->summary_size > 0)
		DiskannFilterSummaryInit(layout, image);
	for (uint32 i = 0; i < layout->heads_per_group; i++)
	{
		DiskannNodeHeader *hdr = (DiskannNodeHeader *) (image + DiskannHeadOffset(layout, i));
		DiskannNode *nbrs = DiskannHeadNeighbors(hdr);

		hdr->flags = DISKANN_NODE_FREE;
		for (int j = 0; j < layout->num_neighbors; j++)
			nbrs[j] = DISKANN_INVALID_NODE;
	}
}

/*
 * DiskannSetFreed
 *		Stamp a head with the transaction id after which it was freed.
 */
void
DiskannSetFreed(DiskannNodeHeader *hdr, FullTransactionId fxid)
{
	uint64		v = U64FromFullTransactionId(fxid);

	hdr->freed_xid_hi = (uint32) (v >> 32);
	hdr->freed_xid_lo = (uint32) v;
}

/*
 * DiskannSlotReusable
 *		True if a free slot may be filled again: never used, or freed
 *		before every snapshot still running was taken, so that no scan or
 *		insert can still hold the old occupant's node number.
 */
bool
DiskannSlotReusable(const DiskannNodeHeader *hdr)
{
	FullTransactionId fxid;

	if (hdr->flags != DISKANN_NODE_FREE)
		return false;
	fxid = FullTransactionIdFromU64(((uint64) hdr->freed_xid_hi << 32) | hdr->freed_xid_lo);
	if (!FullTransactionIdIsValid(fxid))
		return true;
	return GlobalVisCheckRemovableFullXid(NULL, fxid);
}
