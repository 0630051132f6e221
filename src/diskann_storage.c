/*
 * diskann_storage.c
 *		Nodes in buffer pages: writing slot bytes, extending the index, and
 *		the DiskannGraph callbacks for a graph stored in pages.
 *
 * Locking: readers share-lock one page at a time (diskann_utils.c);
 * writers here exclusive-lock every page a write touches, in block order,
 * before changing any of them.  During CREATE INDEX nothing else can see
 * the index, and WAL is written in bulk at the end of the build, so the
 * build passes wal = false.
 */
#include "postgres.h"

#include "diskann.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

/*
 * DiskannNewNodePage
 *		Extend the index by one initialised node page and return it,
 *		pinned and exclusive-locked.  Caller must prevent concurrent
 *		extension (relation extension lock, or a build).
 */
Buffer
DiskannNewNodePage(Relation index)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	DiskannInitPage(page, DISKANN_PAGE_NODES);
	((PageHeader) page)->pd_lower = ((PageHeader) page)->pd_upper;
	return buf;
}

/*
 * DiskannEnsureSlot
 *		Make sure every page node's slot touches exists, extending the index
 *		with empty node pages as needed.  Caller must prevent concurrent
 *		extension.
 */
void
DiskannEnsureSlot(Relation index, const DiskannLayout *layout, DiskannNode node)
{
	uint32		offset;
	BlockNumber last;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	DiskannNodePosition(layout, node, layout->slot_size - 1, &last, &offset);
	while (nblocks <= last)
	{
		Buffer		buf = DiskannNewNodePage(index);

		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
		nblocks++;
	}
}

/*
 * DiskannWriteSlotBytes
 *		Overwrite len bytes at byte start of node's slot with data.  All
 *		pages touched are exclusive-locked in block order first.  With wal,
 *		the change is WAL-logged with GenericXLog, at most
 *		MAX_GENERIC_XLOG_PAGES pages per record; a write spanning more
 *		pages (only a wide vector does) is logged in several records.
 */
void
DiskannWriteSlotBytes(Relation index, const DiskannLayout *layout,
					  DiskannNode node, uint32 start, uint32 len,
					  const char *data, bool wal)
{
	BlockNumber blkno;
	uint32		offset;

	DiskannNodePosition(layout, node, start, &blkno, &offset);

	while (len > 0)
	{
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		int			nbufs = 0;
		GenericXLogState *state = NULL;
		uint32		boff = offset;
		uint32		blen = len;

		/* lock up to MAX_GENERIC_XLOG_PAGES pages, in block order */
		while (blen > 0 && nbufs < MAX_GENERIC_XLOG_PAGES)
		{
			uint32		chunk = Min(blen, DISKANN_PAGE_DATA_SIZE - boff);

			bufs[nbufs] = ReadBuffer(index, blkno + nbufs);
			LockBuffer(bufs[nbufs], BUFFER_LOCK_EXCLUSIVE);
			nbufs++;
			blen -= chunk;
			boff = 0;
		}

		if (wal)
			state = GenericXLogStart(index);
		for (int i = 0; i < nbufs; i++)
		{
			uint32		chunk = Min(len, DISKANN_PAGE_DATA_SIZE - offset);
			Page		page;

			if (wal)
				page = GenericXLogRegisterBuffer(state, bufs[i], 0);
			else
				page = BufferGetPage(bufs[i]);
			memcpy(PageGetContents(page) + offset, data, chunk);
			data += chunk;
			len -= chunk;
			offset = 0;
		}
		if (wal)
			GenericXLogFinish(state);
		else
			for (int i = 0; i < nbufs; i++)
				MarkBufferDirty(bufs[i]);
		for (int i = 0; i < nbufs; i++)
			UnlockReleaseBuffer(bufs[i]);
		blkno += nbufs;
	}
}

/*
 * DiskannWriteNewNode
 *		Fill node's slot: a live node pointing at heaptid with no edges and
 *		the given index-form vector.  The slot's pages must exist.
 */
void
DiskannWriteNewNode(Relation index, const DiskannLayout *layout, DiskannNode node,
					ItemPointer heaptid, const float *vec, bool wal)
{
	char	   *slot = palloc0(layout->slot_size);
	DiskannNodeHeader *hdr = (DiskannNodeHeader *) slot;
	DiskannNode *nbrs = (DiskannNode *) (slot + layout->neighbors_offset);

	hdr->heaptid = *heaptid;
	hdr->flags = DISKANN_NODE_LIVE;
	hdr->num_neighbors = 0;
	for (int i = 0; i < layout->num_neighbors; i++)
		nbrs[i] = DISKANN_INVALID_NODE;
	memcpy(slot + layout->vector_offset, vec, sizeof(float) * layout->dimensions);
	DiskannWriteSlotBytes(index, layout, node, 0, layout->slot_size, slot, wal);
	pfree(slot);
}

/* A graph in buffer pages */
typedef struct DiskGraph
{
	DiskannGraph g;				/* must be first */
	Relation	index;
	DiskannLayout layout;
	bool		wal;
	char	   *headbuf;		/* header + neighbours of one node */
} DiskGraph;

/* DiskannGraph callback: distance of a node to a vector, read in place */
static float
DiskGraphNodeDistance(DiskannGraph *g, DiskannNode node, const float *vec)
{
	DiskGraph  *dg = (DiskGraph *) g;

	return DiskannNodeDistance(dg->index, &dg->layout, node, vec, g->distfn);
}

/* DiskannGraph callback: a node's out-neighbours */
static int
DiskGraphGetNeighbors(DiskannGraph *g, DiskannNode node, DiskannNode *out)
{
	DiskGraph  *dg = (DiskGraph *) g;
	DiskannNodeHeader *hdr = (DiskannNodeHeader *) dg->headbuf;
	int			n;

	DiskannReadSlotBytes(dg->index, &dg->layout, node, 0,
						 dg->layout.vector_offset, dg->headbuf);
	n = Min(hdr->num_neighbors, dg->layout.num_neighbors);
	memcpy(out, dg->headbuf + dg->layout.neighbors_offset, sizeof(DiskannNode) * n);
	return n;
}

/* DiskannGraph callback: replace a node's out-neighbours */
static void
DiskGraphSetNeighbors(DiskannGraph *g, DiskannNode node,
					  const DiskannNode *nbrs, int n)
{
	DiskGraph  *dg = (DiskGraph *) g;
	DiskannNodeHeader *hdr = (DiskannNodeHeader *) dg->headbuf;
	DiskannNode *list = (DiskannNode *) (dg->headbuf + dg->layout.neighbors_offset);
	uint32		start = offsetof(DiskannNodeHeader, num_neighbors);

	/* rewrite degree and the whole list; heap TID and flags stay as they are */
	hdr->num_neighbors = n;
	hdr->unused2 = 0;
	memcpy(list, nbrs, sizeof(DiskannNode) * n);
	for (int i = n; i < dg->layout.num_neighbors; i++)
		list[i] = DISKANN_INVALID_NODE;
	DiskannWriteSlotBytes(dg->index, &dg->layout, node, start,
						  dg->layout.vector_offset - start, dg->headbuf + start,
						  dg->wal);
}

/* DiskannGraph callback: a node's vector, copied into buf */
static const float *
DiskGraphGetVector(DiskannGraph *g, DiskannNode node, float *buf)
{
	DiskGraph  *dg = (DiskGraph *) g;

	DiskannReadSlotBytes(dg->index, &dg->layout, node, dg->layout.vector_offset,
						 sizeof(float) * dg->layout.dimensions, (char *) buf);
	return buf;
}

/*
 * DiskannOpenDiskGraph
 *		A DiskannGraph over the pages of index, with the given layout and
 *		build parameters.  Allocated in the current memory context.
 */
DiskannGraph *
DiskannOpenDiskGraph(Relation index, const DiskannLayout *layout,
					 DiskannNode entry_point, uint32 num_nodes,
					 int search_list_size, float alpha, bool wal)
{
	DiskGraph  *dg = palloc0(sizeof(DiskGraph));

	dg->index = index;
	dg->layout = *layout;
	dg->wal = wal;
	dg->headbuf = palloc(layout->vector_offset);
	dg->g.dimensions = layout->dimensions;
	dg->g.num_neighbors = layout->num_neighbors;
	dg->g.max_degree = layout->num_neighbors;
	dg->g.search_list_size = search_list_size;
	dg->g.alpha = alpha;
	dg->g.metric = layout->metric;
	dg->g.distfn = DiskannDistanceFunction(layout->metric);
	dg->g.node_distance = DiskGraphNodeDistance;
	dg->g.get_neighbors = DiskGraphGetNeighbors;
	dg->g.set_neighbors = DiskGraphSetNeighbors;
	dg->g.get_vector = DiskGraphGetVector;
	dg->g.entry_point = entry_point;
	dg->g.num_nodes = num_nodes;
	DiskannGraphInitScratch(&dg->g);
	return &dg->g;
}
