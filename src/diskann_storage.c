/*
 * diskann_storage.c
 *		Changing nodes in buffer pages: claiming slots, extending the index
 *		by a group, writing vectors, updating heads, and the DiskannGraph
 *		callbacks for a graph stored in pages.
 *
 * Lock order (see src/README.md, "Locking"):
 *	- at most one buffer content lock at a time; distances, which read other
 *	  pages, are computed with no lock held, and a change is then applied
 *	  under the head page's exclusive lock only if the list it was based on
 *	  is still there (DiskannUpdateNeighbors), else the caller retries;
 *	- the one exception is extension: under the relation extension lock the
 *	  extender locks the new group's pages, which no other backend can know
 *	  yet, one at a time;
 *	- every change is one GenericXLog record over one page.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "diskann.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* Attempts at claiming a slot before giving up on the free space map */
#define CLAIM_FSM_ATTEMPTS	4

/*
 * InitGroupPage
 *		Initialise a page of a new group from the group image: data area
 *		number i of pages_per_group.
 */
static void
InitGroupPage(Page page, const DiskannLayout *layout, const char *image, uint32 i)
{
	DiskannInitPage(page, i == 0 ? (DISKANN_PAGE_NODES | DISKANN_PAGE_HEADS) :
					DISKANN_PAGE_NODES);
	((PageHeader) page)->pd_lower = ((PageHeader) page)->pd_upper;
	memcpy(PageGetContents(page), image + (size_t) i * DISKANN_PAGE_DATA_SIZE,
		   DISKANN_PAGE_DATA_SIZE);
}

/*
 * LastGroupUnfinished
 *		True if the head page of group (the last one its blocks make up) is
 *		all zero: a crash came after the group's blocks were added and
 *		before its head page was logged.  Under the extension lock, no
 *		extension is in progress, so that is the only way to see one.
 */
static bool
LastGroupUnfinished(Relation index, const DiskannLayout *layout, uint32 group)
{
	Buffer		buf = ReadBuffer(index, DiskannGroupFirstBlock(layout, group));
	bool		unfinished;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	unfinished = PageIsNew(BufferGetPage(buf));
	UnlockReleaseBuffer(buf);
	return unfinished;
}

/*
 * ExtendByGroup
 *		Add an empty group at the end of the index and return its number.
 *		Holds the relation extension lock throughout; completes a trailing
 *		group that a crash left incomplete (blocks missing, or all there
 *		but its head page still zero) instead of adding a new one.
 *		The head page is WAL-logged last, so an initialised head page
 *		always means a complete group.
 */
static uint32
ExtendByGroup(Relation index, const DiskannLayout *layout)
{
	char	   *image = palloc((size_t) layout->pages_per_group * DISKANN_PAGE_DATA_SIZE);
	BlockNumber nblocks;
	uint32		group;
	BlockNumber first;

	DiskannFillGroupImage(layout, image);
	LockRelationForExtension(index, ExclusiveLock);
	nblocks = RelationGetNumberOfBlocks(index);
	group = DiskannNumGroups(layout, nblocks);
	if (group > 0 && LastGroupUnfinished(index, layout, group - 1))
		group--;
	first = DiskannGroupFirstBlock(layout, group);

	/* pages of the group, head page last */
	for (uint32 i = layout->pages_per_group; i-- > 0;)
	{
		BlockNumber blkno = first + i;
		Buffer		buf;
		GenericXLogState *state;
		Page		page;

		/* blocks before the end are created on the way to later ones */
		while (RelationGetNumberOfBlocks(index) <= blkno)
			ReleaseBuffer(ReadBuffer(index, P_NEW));
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
		InitGroupPage(page, layout, image, i);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
	UnlockRelationForExtension(index, ExclusiveLock);
	pfree(image);
	return group;
}

/*
 * AdvertiseFreeHead
 *		Tell the free space map that head page blkno has reusable slots,
 *		and make that visible to searches of the map at once.
 */
static void
AdvertiseFreeHead(Relation index, BlockNumber blkno)
{
	RecordFreeIndexPage(index, blkno);
	FreeSpaceMapVacuumRange(index, blkno, blkno + 1);
}

/* What a head page had to offer an insert */
typedef enum ClaimResult
{
	CLAIM_DONE,					/* a slot was claimed */
	CLAIM_FULL,					/* no free slot */
	CLAIM_NOT_YET				/* free slots, none reusable yet */
} ClaimResult;

/*
 * TryClaimOnPage
 *		Claim a reusable slot of group's head page for heaptid with filter
 *		record filter: the head becomes NEW with a new generation and no
 *		edges.  *more says whether more reusable slots remain on the page.
 */
static ClaimResult
TryClaimOnPage(Relation index, const DiskannLayout *layout, uint32 group,
			   ItemPointer heaptid, const char *filter, DiskannNode *node,
			   uint32 *generation, bool *more)
{
	BlockNumber blkno = DiskannGroupFirstBlock(layout, group);
	Buffer		buf = ReadBuffer(index, blkno);
	Page		page;
	int			found = -1;
	uint32		heads;
	bool		anyfree = false;

	*more = false;
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	heads = DiskannHeadPageOk(index, buf) ? layout->heads_per_group : 0;
	for (uint32 i = 0; i < heads; i++)
	{
		DiskannNodeHeader *hdr = DiskannPageHead(page, layout, i);

		anyfree |= (hdr->flags == DISKANN_NODE_FREE);
		if (!DiskannSlotReusable(hdr))
			continue;
		if (found >= 0)
		{
			*more = true;
			break;
		}
		found = i;
	}
	if (found >= 0)
	{
		GenericXLogState *state = GenericXLogStart(index);
		DiskannNodeHeader *hdr;

		page = GenericXLogRegisterBuffer(state, buf, 0);
		hdr = DiskannPageHead(page, layout, found);
		hdr->heaptid = *heaptid;
		hdr->flags = DISKANN_NODE_NEW;
		hdr->num_neighbors = 0;
		hdr->generation++;
		DiskannSetFreed(hdr, InvalidFullTransactionId);
		if (layout->filter_size > 0)
			memcpy(DiskannHeadFilter(hdr, layout), filter, layout->filter_size);
		if (layout->summary_size > 0)
			DiskannFilterSummaryAdd(layout, DiskannGroupSummary(page), filter);
		*generation = hdr->generation;
		*node = group * layout->heads_per_group + found;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
	if (found >= 0)
		return CLAIM_DONE;
	return anyfree ? CLAIM_NOT_YET : CLAIM_FULL;
}

/*
 * HeadPageGroup
 *		The group whose head page is blkno, or -1 if blkno is not the head
 *		page of a complete group.
 */
static int64
HeadPageGroup(const DiskannLayout *layout, BlockNumber blkno, uint32 ngroups)
{
	uint32		group;

	if (blkno == InvalidBlockNumber || blkno < layout->first_block ||
		(blkno - layout->first_block) % layout->pages_per_group != 0)
		return -1;
	group = (blkno - layout->first_block) / layout->pages_per_group;
	return group < ngroups ? group : -1;
}

/*
 * DiskannClaimSlot
 *		Claim a slot for heaptid: on the backend's last head page, else on
 *		a head page the free space map offers, else in a new group at the
 *		end of the index.  Pages the map offers whose free slots are not
 *		reusable yet (see DiskannSlotReusable) go back into the map.
 *		Returns the node number; *generation gets the new occupant's
 *		generation.  filter is the node's filter record (layout->filter_size
 *		bytes).
 */
DiskannNode
DiskannClaimSlot(Relation index, const DiskannLayout *layout, ItemPointer heaptid,
				 const char *filter, uint32 *generation)
{
	uint32		ngroups = DiskannNumGroups(layout, RelationGetNumberOfBlocks(index));
	int64		group = HeadPageGroup(layout, DiskannGetBackendCache(index)->insert_page,
									  ngroups);
	DiskannNode node;
	bool		more;

	if (group >= 0 &&
		TryClaimOnPage(index, layout, group, heaptid, filter, &node, generation, &more) == CLAIM_DONE)
		return node;

	for (int attempt = 0; attempt < CLAIM_FSM_ATTEMPTS; attempt++)
	{
		BlockNumber blkno = GetFreeIndexPage(index);
		ClaimResult r;

		if (blkno == InvalidBlockNumber)
			break;
		group = HeadPageGroup(layout, blkno, ngroups);
		if (group < 0)
			continue;			/* a stale entry */
		r = TryClaimOnPage(index, layout, group, heaptid, filter, &node, generation, &more);
		if (r == CLAIM_NOT_YET || (r == CLAIM_DONE && more))
			AdvertiseFreeHead(index, blkno);
		if (r == CLAIM_DONE)
		{
			DiskannGetBackendCache(index)->insert_page = blkno;
			return node;
		}
	}
	for (;;)
	{
		group = ExtendByGroup(index, layout);
		DiskannGetBackendCache(index)->insert_page = DiskannGroupFirstBlock(layout, group);
		if (TryClaimOnPage(index, layout, group, heaptid, filter, &node, generation, &more) == CLAIM_DONE)
			return node;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * DiskannWriteVector
 *		Write node's vector slot: generation, filter record and vector (vec,
 *		index form; its code under compressed storage).  The pages are
 *		written last first, one record each, so that a reader, which reads
 *		first to last, that sees the new generation on the first page also
 *		sees the new vector on the pages after it.
 */
void
DiskannWriteVector(Relation index, const DiskannLayout *layout, DiskannNode node,
				   uint32 generation, const float *vec, const char *filter)
{
	char	   *slot = palloc(layout->vector_size);
	BlockNumber first;
	uint32		offset;
	uint32		npages;

	((DiskannVectorHeader *) slot)->generation = generation;
	if (layout->filter_size > 0)
		memcpy(slot + sizeof(DiskannVectorHeader), filter, layout->filter_size);
	DiskannFillSlotPayload(layout, vec, slot + layout->vector_offset);
	DiskannVectorPosition(layout, node, &first, &offset);
	npages = (offset + layout->vector_size + DISKANN_PAGE_DATA_SIZE - 1) / DISKANN_PAGE_DATA_SIZE;

	for (uint32 i = npages; i-- > 0;)
	{
		/* piece i: bytes [from, to) of the slot */
		uint32		from = (i == 0) ? 0 : i * DISKANN_PAGE_DATA_SIZE - offset;
		uint32		to = Min(layout->vector_size, (i + 1) * DISKANN_PAGE_DATA_SIZE - offset);
		uint32		pageoff = (i == 0) ? offset : 0;
		Buffer		buf = ReadBuffer(index, first + i);
		GenericXLogState *state;
		Page		page;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		memcpy(PageGetContents(page) + pageoff, slot + from, to - from);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
	pfree(slot);
}

/*
 * DiskannUpdateHead
 *		Change node's flags from expect_flags to new_flags, provided it is
 *		still that occupant (generation) in that state.  Returns whether it
 *		did.
 */
bool
DiskannUpdateHead(Relation index, const DiskannLayout *layout, DiskannNode node,
				  uint32 generation, uint8 expect_flags, uint8 new_flags)
{
	DiskannNodeHeader *hdr;
	Buffer		buf = DiskannLockHead(index, layout, node, BUFFER_LOCK_EXCLUSIVE, &hdr);
	bool		ok = hdr && hdr->generation == generation && hdr->flags == expect_flags;

	if (ok)
	{
		GenericXLogState *state = GenericXLogStart(index);
		uint32		offset = (char *) hdr - BufferGetPage(buf);

		hdr = (DiskannNodeHeader *) (GenericXLogRegisterBuffer(state, buf, 0) + offset);
		hdr->flags = new_flags;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
	return ok;
}

/*
 * DiskannUpdateNeighbors
 *		Replace node's list with nbrs[n] if it is still expected[nexpected]
 *		and the node may still be linked to (NEW or LIVE).  Returns false,
 *		changing nothing, otherwise.
 */
bool
DiskannUpdateNeighbors(Relation index, const DiskannLayout *layout, DiskannNode node,
					   const DiskannNode *expected, int nexpected,
					   const DiskannNode *nbrs, int n)
{
	DiskannNodeHeader *hdr;
	Buffer		buf = DiskannLockHead(index, layout, node, BUFFER_LOCK_EXCLUSIVE, &hdr);
	bool		ok;

	Assert(n <= layout->num_neighbors);
	ok = hdr && DiskannNodeUsable(hdr->flags) &&
		hdr->num_neighbors == nexpected &&
		memcmp(DiskannHeadNeighbors(hdr), expected, sizeof(DiskannNode) * nexpected) == 0;
	if (ok)
	{
		GenericXLogState *state = GenericXLogStart(index);
		uint32		offset = (char *) hdr - BufferGetPage(buf);
		DiskannNode *list;

		hdr = (DiskannNodeHeader *) (GenericXLogRegisterBuffer(state, buf, 0) + offset);
		list = DiskannHeadNeighbors(hdr);
		memcpy(list, nbrs, sizeof(DiskannNode) * n);
		for (int i = n; i < hdr->num_neighbors; i++)
			list[i] = DISKANN_INVALID_NODE;
		hdr->num_neighbors = n;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
	return ok;
}

/* A graph in buffer pages; its vectors are in graph form */
typedef struct DiskGraph
{
	DiskannGraph g;				/* must be first */
	Relation	index;
	DiskannLayout layout;
	DiskannQuery query;
	float	   *qvec;			/* compressed: the vector query is prepared for */
	bool		qset;
} DiskGraph;

/*
 * DiskannGraph callback: distance of a node to a vector, read in place.
 * Under compressed storage the query must be prepared for the vector
 * (O(dimensions)); the Vamana routines compute runs of distances to one
 * vector, so the last one prepared is kept, with a copy of the vector to
 * tell whether a call is about the same one (comparing is cheaper than
 * preparing, and callers reuse buffers for other vectors).
 */
static float
DiskGraphNodeDistance(DiskannGraph *g, DiskannNode node, const float *vec)
{
	DiskGraph  *dg = (DiskGraph *) g;
	uint32		generation;

	if (dg->layout.storage != DISKANN_PAYLOAD_RABITQ)
		DiskannSetQuery(&dg->layout, &dg->query, vec, true);
	else if (!dg->qset || memcmp(dg->qvec, vec, sizeof(float) * g->dimensions) != 0)
	{
		memcpy(dg->qvec, vec, sizeof(float) * g->dimensions);
		DiskannSetQuery(&dg->layout, &dg->query, dg->qvec, true);
		dg->qset = true;
	}
	return DiskannNodeDistance(dg->index, &dg->layout, node, &dg->query, &generation);
}

/* DiskannGraph callback: a node's out-neighbours and flags */
static int
DiskGraphGetNeighbors(DiskannGraph *g, DiskannNode node, DiskannNode *out, uint8 *flags)
{
	DiskGraph  *dg = (DiskGraph *) g;
	DiskannNodeHeader hdr;

	DiskannReadHead(dg->index, &dg->layout, node, &hdr, out);
	if (flags)
		*flags = hdr.flags;
	return hdr.num_neighbors;
}

/* DiskannGraph callback: replace a node's out-neighbours if unchanged */
static bool
DiskGraphUpdateNeighbors(DiskannGraph *g, DiskannNode node,
						 const DiskannNode *expected, int nexpected,
						 const DiskannNode *nbrs, int n)
{
	DiskGraph  *dg = (DiskGraph *) g;

	return DiskannUpdateNeighbors(dg->index, &dg->layout, node, expected, nexpected,
								  nbrs, n);
}

/* DiskannGraph callback: a node's vector, copied into buf */
static const float *
DiskGraphGetVector(DiskannGraph *g, DiskannNode node, float *buf)
{
	DiskGraph  *dg = (DiskGraph *) g;

	DiskannReadVector(dg->index, &dg->layout, node, buf);
	return buf;
}

/*
 * DiskannOpenDiskGraph
 *		A DiskannGraph over the pages of index.  Allocated in the current
 *		memory context; its visited set grows with the nodes a search
 *		visits, not with the index.
 */
DiskannGraph *
DiskannOpenDiskGraph(Relation index, const DiskannLayout *layout,
					 DiskannNode entry_point, int search_list_size, float alpha)
{
	DiskGraph  *dg = palloc0(sizeof(DiskGraph));

	dg->index = index;
	dg->layout = *layout;
	dg->g.dimensions = layout->graph_dims;
	dg->g.num_neighbors = layout->num_neighbors;
	dg->g.max_degree = layout->num_neighbors;
	dg->g.search_list_size = search_list_size;
	dg->g.alpha = alpha;
	dg->g.metric = layout->metric;
	dg->g.distfn = DiskannDistanceFunction(layout->metric);
	dg->g.node_distance = DiskGraphNodeDistance;
	dg->g.get_neighbors = DiskGraphGetNeighbors;
	dg->g.update_neighbors = DiskGraphUpdateNeighbors;
	dg->g.get_vector = DiskGraphGetVector;
	dg->g.entry_point = entry_point;
	dg->g.num_nodes = 0;
	dg->g.sparse_visited = true;
	DiskannInitQuery(layout, &dg->query);
	dg->qvec = palloc(sizeof(float) * layout->graph_dims);
	DiskannGraphInitScratch(&dg->g);
	return &dg->g;
}
