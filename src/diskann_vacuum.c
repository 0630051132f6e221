/*
 * diskann_vacuum.c
 *		VACUUM support: mark the nodes of dead heap tuples deleted.
 *
 * A deleted node keeps its edges so that searches still walk through it,
 * but it is never returned.  Repairing the edges around deleted nodes and
 * reusing their slots (IP-DiskANN) comes with in-place updates.
 *
 * Locking: the header of each node is rewritten under exclusive locks of
 * the page(s) it lies on (DiskannWriteSlotBytes), WAL-logged with
 * GenericXLog; the metapage's counts are updated last, under its own
 * exclusive lock.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "diskann.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

/*
 * UpdateMetaCounts
 *		Move ndeleted nodes from the live to the deleted count.
 */
static void
UpdateMetaCounts(Relation index, uint32 ndeleted)
{
	Buffer		buf = ReadBuffer(index, DISKANN_METAPAGE_BLKNO);
	GenericXLogState *state;
	DiskannMetaPage meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	meta = DiskannPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
	meta->num_live -= Min(meta->num_live, ndeleted);
	meta->num_deleted += ndeleted;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * diskannbulkdelete
 *		Mark deleted every live node whose heap tuple the callback says is
 *		dead.
 */
IndexBulkDeleteResult *
diskannbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	DiskannMetaPageData meta;
	DiskannLayout layout;
	DiskannNodeHeader hdr;
	uint32		ndeleted = 0;

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));

	DiskannReadMeta(index, &meta);
	DiskannLayoutFromMeta(&layout, &meta);
	for (DiskannNode n = 0; n < meta.num_slots; n++)
	{
		vacuum_delay_point();
		DiskannReadSlotBytes(index, &layout, n, 0, sizeof(hdr), (char *) &hdr);
		if (!(hdr.flags & DISKANN_NODE_LIVE))
			continue;
		if (callback(&hdr.heaptid, callback_state))
		{
			hdr.flags = DISKANN_NODE_DELETED;
			DiskannWriteSlotBytes(index, &layout, n, 0, sizeof(hdr), (char *) &hdr, true);
			ndeleted++;
			stats->tuples_removed++;
		}
		else
			stats->num_index_tuples++;
	}
	if (ndeleted > 0)
		UpdateMetaCounts(index, ndeleted);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

/*
 * diskannvacuumcleanup
 *		Report the index's size after VACUUM.
 */
IndexBulkDeleteResult *
diskannvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	DiskannMetaPageData meta;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
		DiskannReadMeta(info->index, &meta);
		stats->num_index_tuples = meta.num_live;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
