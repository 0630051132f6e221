/*
 * diskann_meta.c
 *		The metapage (block 0): layout, options, entry point and counts.
 *
 * Locking: readers share-lock it just long enough to copy it; the entry
 * point and the counts are changed under its exclusive lock, taken while
 * holding no other buffer lock, and WAL-logged with GenericXLog.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "diskann.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

/*
 * DiskannFillMetaPage
 *		Initialise page as the metapage of an index with the given layout.
 */
void
DiskannFillMetaPage(Page page, const DiskannLayout *layout, int search_list_size,
					double max_alpha, DiskannNode entry, uint32 nlive)
{
	DiskannMetaPage meta;

	DiskannInitPage(page, DISKANN_PAGE_META);
	meta = DiskannPageGetMeta(page);
	memset(meta, 0, sizeof(DiskannMetaPageData));
	meta->magic = DISKANN_MAGIC_NUMBER;
	meta->version = DISKANN_LAYOUT_VERSION;
	meta->dimensions = layout->dimensions;
	meta->metric = layout->metric;
	meta->num_neighbors = layout->num_neighbors;
	meta->search_list_size = search_list_size;
	meta->max_alpha = (float4) max_alpha;
	meta->head_size = layout->head_size;
	meta->vector_size = layout->vector_size;
	meta->heads_per_group = layout->heads_per_group;
	meta->pages_per_group = layout->pages_per_group;
	meta->entry_point = entry;
	meta->num_live = nlive;
	meta->num_filters = layout->num_filters;
	meta->filter_size = layout->filter_size;
	memcpy(meta->filter_kinds, layout->filter_kinds, DISKANN_MAX_FILTERS);
	meta->payload = layout->storage;
	meta->summary_size = layout->summary_size;
	if (layout->storage == DISKANN_PAYLOAD_RABITQ)
	{
		meta->quant_bits = layout->bits;
		meta->quant_pages = layout->first_block - DISKANN_FIRST_NODE_BLKNO;
		meta->quant_trained = layout->quant_trained;
		meta->quant_seed = DISKANN_QUANT_SEED;
	}
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(DiskannMetaPageData)) - (char *) page;
}

/*
 * CheckMeta
 *		Error out unless m is the metapage of a diskann index of the layout
 *		version this code reads.
 */
static void
CheckMeta(Relation index, DiskannMetaPage m)
{
	if (m->magic != DISKANN_MAGIC_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a diskann index",
						RelationGetRelationName(index))));
	if (m->version != DISKANN_LAYOUT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("diskann index \"%s\" has layout version %u, this version of omendb reads only version %u",
						RelationGetRelationName(index), m->version,
						DISKANN_LAYOUT_VERSION),
				 errhint("REINDEX the index.")));
	if (m->dimensions < 1 || m->dimensions > DISKANN_MAX_DIM ||
		m->metric < DISKANN_METRIC_L2 || m->metric > DISKANN_METRIC_L1 ||
		m->num_neighbors < DISKANN_MIN_NUM_NEIGHBORS ||
		m->num_neighbors > DISKANN_MAX_NUM_NEIGHBORS ||
		m->heads_per_group < 1 || m->heads_per_group > DISKANN_MAX_HEADS_PER_GROUP ||
		m->pages_per_group < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("It claims %u dimensions, metric %u, %u neighbours, %u nodes per %u pages.",
						   m->dimensions, m->metric, m->num_neighbors,
						   m->heads_per_group, m->pages_per_group)));
	if (m->num_filters > DISKANN_MAX_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("It claims %u filter columns.", m->num_filters)));
	if ((m->payload != DISKANN_PAYLOAD_FLOAT32 && m->payload != DISKANN_PAYLOAD_RABITQ) ||
		(m->payload == DISKANN_PAYLOAD_RABITQ &&
		 ((m->quant_bits != 1 && m->quant_bits != 2 && m->quant_bits != 4 && m->quant_bits != 8) ||
		  m->quant_seed != DISKANN_QUANT_SEED)))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Its storage is %u with %u bits.", m->payload, m->quant_bits)));
}

/*
 * DiskannReadMeta
 *		Copy the metapage's contents, checking that this is a diskann index
 *		of a layout version we understand.
 */
void
DiskannReadMeta(Relation index, DiskannMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, DISKANN_METAPAGE_BLKNO);
	DiskannMetaPage m;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	m = DiskannPageGetMeta(BufferGetPage(buf));
	memcpy(meta, m, sizeof(DiskannMetaPageData));
	UnlockReleaseBuffer(buf);
	CheckMeta(index, meta);
}

/*
 * DiskannSetEntryPoint
 *		Make entry the entry point if the current one is still expected;
 *		*changed says whether it was.
 */
void
DiskannSetEntryPoint(Relation index, DiskannNode expected, DiskannNode entry,
					 bool *changed)
{
	Buffer		buf = ReadBuffer(index, DISKANN_METAPAGE_BLKNO);
	GenericXLogState *state;
	DiskannMetaPage meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = DiskannPageGetMeta(BufferGetPage(buf));
	*changed = (meta->entry_point == expected);
	if (*changed && entry != expected)
	{
		state = GenericXLogStart(index);
		meta = DiskannPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
		meta->entry_point = entry;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/*
 * DiskannSetMetaCounts
 *		Record the node counts a VACUUM found.
 */
void
DiskannSetMetaCounts(Relation index, uint32 live, uint32 deleted, uint32 nfree)
{
	Buffer		buf = ReadBuffer(index, DISKANN_METAPAGE_BLKNO);
	GenericXLogState *state;
	DiskannMetaPage meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	meta = DiskannPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
	meta->num_live = live;
	meta->num_deleted = deleted;
	meta->num_free = nfree;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * DiskannFillQuantPage
 *		Initialise page as quantizer page i (0-based, block 1 + i) of a
 *		compressed index: its share of the rotated centroid.
 */
void
DiskannFillQuantPage(Page page, const DiskannLayout *layout, uint32 i)
{
	const float *centroid = OmenQuantRotatedCentroid(layout->quant);
	uint32		per_page = DISKANN_PAGE_DATA_SIZE / sizeof(float);
	uint32		from = i * per_page;
	uint32		n = Min(per_page, layout->graph_dims - from);

	DiskannInitPage(page, DISKANN_PAGE_QUANT);
	memcpy(PageGetContents(page), centroid + from, sizeof(float) * n);
	((PageHeader) page)->pd_lower = (PageGetContents(page) + sizeof(float) * n) - (char *) page;
}

/*
 * DiskannCachedQuantizer
 *		The quantizer of a compressed index: its rotation (from the seed)
 *		around the rotated centroid stored in blocks 1.. (the origin if the
 *		index was built on no rows).  Made once per backend and kept in the
 *		index's rd_amcache (OmenQuantSize bytes, no pointers inside): the
 *		returned memory is valid until the next buffer read (which may
 *		process a relcache invalidation), so copy it at once.
 */
const OmenQuantizer *
DiskannCachedQuantizer(Relation index, const DiskannMetaPageData *meta)
{
	DiskannBackendCache *cache = DiskannGetBackendCache(index);
	uint32		pdim = OmenQuantPaddedDim(meta->dimensions);
	uint32		per_page = DISKANN_PAGE_DATA_SIZE / sizeof(float);
	float	   *centroid = NULL;
	OmenQuantizer *quant;

	if (cache->quant)
		return cache->quant;
	if (meta->quant_trained > 0)
	{
		centroid = palloc(sizeof(float) * pdim);
		for (uint32 i = 0; i < meta->quant_pages; i++)
		{
			Buffer		buf = ReadBuffer(index, DISKANN_FIRST_NODE_BLKNO + i);
			Page		page;
			uint32		from = i * per_page;

			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			if (PageIsNew(page) || !(DiskannPageGetOpaque(page)->flags & DISKANN_PAGE_QUANT) ||
				from >= pdim)
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("diskann index \"%s\" has no quantizer page at block %u",
								RelationGetRelationName(index), DISKANN_FIRST_NODE_BLKNO + i)));
			memcpy(centroid + from, PageGetContents(page),
				   sizeof(float) * Min(per_page, pdim - from));
			UnlockReleaseBuffer(buf);
		}
	}
	quant = MemoryContextAlloc(index->rd_indexcxt, OmenQuantSize(meta->dimensions));
	OmenQuantInitRotatedCentroid(quant, meta->dimensions, meta->quant_bits, meta->quant_seed,
								 centroid);
	if (centroid)
		pfree(centroid);
	/* the reads may have reset rd_amcache */
	cache = DiskannGetBackendCache(index);
	if (cache->quant)
		pfree(quant);
	else
		cache->quant = quant;
	return cache->quant;
}
