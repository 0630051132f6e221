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
	meta->payload = DISKANN_PAYLOAD_FLOAT32;
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
	if (m->num_filters > DISKANN_MAX_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("diskann index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("It claims %u filter columns.", m->num_filters)));
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
