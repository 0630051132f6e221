/*
 * diskann_scan.c
 *		Index scans: a best-first graph walk that goes on while the
 *		executor keeps asking for rows.
 *
 * The scan keeps a window of the L closest nodes found and not yet
 * returned (L = diskann.query_search_list_size), sorted by distance, and a
 * min-heap of the nodes found that fell out of the window.  It expands the
 * closest unexpanded node of the window (reading its neighbour list and
 * computing the distance of each neighbour not seen before) until every
 * node of the window is expanded: that is Vamana's greedy search.  Then it
 * returns window nodes in distance order.  When the window is used up, the
 * closest L nodes of the heap refill it and the walk goes on, so a filtered
 * query keeps getting rows, up to diskann.max_scan_tuples.
 *
 * Under strict_order, a node found later that is closer than a row already
 * returned is not returned (order is kept); relaxed_order returns it.
 *
 * diskann.max_scan_tuples bounds the nodes a scan expands, deleted ones
 * included, so a mostly deleted index cannot make LIMIT 10 walk it all.
 *
 * Slot reuse: a node's distance is computed when it is found, its heap TID
 * is read when it is expanded, later.  The vector carries the generation
 * of the occupant that wrote it and the head the current one's; a node is
 * returned only if the two agree and the head is live, so a slot freed and
 * filled again in between (possible on a standby, which VACUUM's horizon
 * does not protect) never yields a row at another row's distance.
 *
 * Locking: one page at a time, share lock, released before the next page
 * is read; node contents are copied out under the lock.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "diskann.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "vector.h"

/* A node the scan has found */
typedef struct ScanCandidate
{
	DiskannNode node;
	float		distance;
	bool		expanded;
	bool		live;			/* once expanded: may be returned */
	uint32		generation;		/* of the vector the distance came from */
	ItemPointerData heaptid;
} ScanCandidate;

typedef struct DiskannScanOpaqueData
{
	DiskannLayout layout;
	DiskannNode entry_point;
	float		(*distfn) (const float *, const float *, int);
	MemoryContext scanctx;		/* reset on rescan */

	/* per search */
	bool		started;
	bool		empty;			/* nothing to return (no query, empty index) */
	float	   *query;			/* index form */
	int			L;
	ScanCandidate *window;		/* sorted, entries [head, head + len) */
	int			head;
	int			len;
	ScanCandidate *heap;		/* min-heap by distance */
	int			heaplen;
	int			heapcap;
	uint64	   *seen;			/* bitmap by node number */
	uint32		seen_nodes;		/* bits in seen */
	DiskannNode *nbrs;			/* a node's neighbour list */
	float	   *dists;			/* their distances */
	uint32	   *generations;	/* and vector generations */
	float		last_distance;
	int64		returned;
	int64		examined;		/* nodes expanded */
	int64		distances;		/* distances computed */
} DiskannScanOpaqueData;

typedef DiskannScanOpaqueData *DiskannScanOpaque;

/*
 * SeenTestAndSet
 *		True if node was found before in this search; marks it found.
 */
static bool
SeenTestAndSet(DiskannScanOpaque so, DiskannNode node)
{
	uint64		bit;

	if (node >= so->seen_nodes)
	{
		uint32		nwords = (so->seen_nodes + 63) / 64;
		uint32		newnodes = Max(node + 1, so->seen_nodes * 2);
		uint32		newwords = (newnodes + 63) / 64;

		so->seen = repalloc(so->seen, sizeof(uint64) * newwords);
		memset(so->seen + nwords, 0, sizeof(uint64) * (newwords - nwords));
		so->seen_nodes = newwords * 64;
	}
	bit = UINT64CONST(1) << (node % 64);
	if (so->seen[node / 64] & bit)
		return true;
	so->seen[node / 64] |= bit;
	return false;
}

/*
 * HeapPush
 *		Add a candidate to the overflow min-heap.
 */
static void
HeapPush(DiskannScanOpaque so, const ScanCandidate *c)
{
	int			i;

	if (so->heaplen == so->heapcap)
	{
		so->heapcap *= 2;
		so->heap = repalloc_huge(so->heap, sizeof(ScanCandidate) * so->heapcap);
	}
	i = so->heaplen++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (so->heap[parent].distance <= c->distance)
			break;
		so->heap[i] = so->heap[parent];
		i = parent;
	}
	so->heap[i] = *c;
}

/*
 * HeapPop
 *		Remove the closest candidate from the overflow min-heap into *c.
 */
static void
HeapPop(DiskannScanOpaque so, ScanCandidate *c)
{
	ScanCandidate last = so->heap[--so->heaplen];
	int			i = 0;

	*c = so->heap[0];
	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= so->heaplen)
			break;
		if (child + 1 < so->heaplen && so->heap[child + 1].distance < so->heap[child].distance)
			child++;
		if (last.distance <= so->heap[child].distance)
			break;
		so->heap[i] = so->heap[child];
		i = child;
	}
	if (so->heaplen > 0)
		so->heap[i] = last;
}

/*
 * WindowInsert
 *		Put a newly found node into the window, pushing the farthest entry
 *		to the heap if the window is full (or the new node itself, if it is
 *		farther than all).  Returns its window position or -1.
 */
static int
WindowInsert(DiskannScanOpaque so, DiskannNode node, float distance, uint32 generation)
{
	ScanCandidate c;
	ScanCandidate *w;
	int			pos;

	c.node = node;
	c.distance = distance;
	c.expanded = false;
	c.live = false;
	c.generation = generation;

	if (so->len == so->L)
	{
		if (distance >= so->window[so->head + so->len - 1].distance)
		{
			HeapPush(so, &c);
			return -1;
		}
		HeapPush(so, &so->window[so->head + so->len - 1]);
		so->len--;
	}
	if (so->head + so->len == so->L)
	{
		memmove(so->window, so->window + so->head, sizeof(ScanCandidate) * so->len);
		so->head = 0;
	}
	w = so->window + so->head;
	pos = so->len;
	while (pos > 0 && w[pos - 1].distance > distance)
		pos--;
	memmove(&w[pos + 1], &w[pos], sizeof(ScanCandidate) * (so->len - pos));
	w[pos] = c;
	so->len++;
	return pos;
}

/*
 * ExpandCandidate
 *		Read a node's head, record whether it may be returned (live, and
 *		the occupant whose vector gave its distance) and its heap TID, and
 *		put each neighbour not seen before into the window with its
 *		distance to the query.
 */
static void
ExpandCandidate(Relation index, DiskannScanOpaque so, int pos)
{
	DiskannNodeHeader hdr;
	ScanCandidate *c = &so->window[so->head + pos];
	int			n = 0;

	DiskannReadHead(index, &so->layout, c->node, &hdr, so->nbrs);
	c->expanded = true;
	c->live = hdr.flags == DISKANN_NODE_LIVE && hdr.generation == c->generation;
	c->heaptid = hdr.heaptid;
	so->examined++;

	/* the neighbours not seen before, then their distances in one batch */
	for (int i = 0; i < hdr.num_neighbors; i++)
	{
		DiskannNode q = so->nbrs[i];

		if (q != DISKANN_INVALID_NODE && !SeenTestAndSet(so, q))
			so->nbrs[n++] = q;
	}
	DiskannNodeDistances(index, &so->layout, so->nbrs, n, so->query, so->distfn,
						 so->dists, so->generations);
	for (int i = 0; i < n; i++)
		WindowInsert(so, so->nbrs[i], so->dists[i], so->generations[i]);
	so->distances += n;
}

/*
 * ExpandWindow
 *		Expand window nodes, closest first, until all are expanded or the
 *		scan has expanded diskann.max_scan_tuples nodes.
 */
static void
ExpandWindow(Relation index, DiskannScanOpaque so)
{
	for (;;)
	{
		int			pos = -1;

		if (so->examined >= diskann_max_scan_tuples)
			return;

		for (int i = 0; i < so->len; i++)
			if (!so->window[so->head + i].expanded)
			{
				pos = i;
				break;
			}
		if (pos < 0)
			return;
		CHECK_FOR_INTERRUPTS();
		ExpandCandidate(index, so, pos);
	}
}

/*
 * RefillWindow
 *		Move the closest L nodes of the heap into the empty window.
 *		Returns false if there are none.
 */
static bool
RefillWindow(DiskannScanOpaque so)
{
	so->head = 0;
	while (so->len < so->L && so->heaplen > 0)
		HeapPop(so, &so->window[so->len++]);
	return so->len > 0;
}

/*
 * StartSearch
 *		Set up a search for the query in the scan's ORDER BY key.
 */
static void
StartSearch(IndexScanDesc scan)
{
	DiskannScanOpaque so = (DiskannScanOpaque) scan->opaque;
	DiskannMetaPageData meta;
	ScanKey		key = &scan->orderByData[0];
	Vector	   *v;
	float		distance;
	uint32		generation;

	so->started = true;
	so->empty = true;
	DiskannReadMeta(scan->indexRelation, &meta);
	DiskannLayoutFromMeta(&so->layout, &meta);
	so->entry_point = meta.entry_point;
	so->distfn = DiskannDistanceFunction(so->layout.metric);
	if (scan->numberOfOrderBys == 0 || (key->sk_flags & SK_ISNULL) ||
		meta.entry_point == DISKANN_INVALID_NODE)
		return;

	v = DatumGetVector(key->sk_argument);
	if (v->dim != (int) so->layout.dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %u and %d",
						so->layout.dimensions, v->dim)));
	so->query = palloc(sizeof(float) * v->dim);
	if (!DiskannPrepareVector(so->layout.metric, v->x, so->query, v->dim))
		return;					/* zero vector under cosine: no order */

	so->L = diskann_query_search_list_size;
	so->window = palloc(sizeof(ScanCandidate) * so->L);
	so->head = 0;
	so->len = 0;
	so->heapcap = 1024;
	so->heap = palloc(sizeof(ScanCandidate) * so->heapcap);
	so->heaplen = 0;
	so->seen_nodes = 8192;
	so->seen = palloc0(sizeof(uint64) * (so->seen_nodes / 64));
	so->nbrs = palloc(sizeof(DiskannNode) * so->layout.num_neighbors);
	so->dists = palloc(sizeof(float) * so->layout.num_neighbors);
	so->generations = palloc(sizeof(uint32) * so->layout.num_neighbors);
	so->last_distance = -get_float4_infinity();
	so->returned = 0;
	so->examined = 0;
	so->distances = 1;
	so->empty = false;

	SeenTestAndSet(so, so->entry_point);
	distance = DiskannNodeDistance(scan->indexRelation, &so->layout, so->entry_point,
								   so->query, so->distfn, &generation);
	WindowInsert(so, so->entry_point, distance, generation);
}

/*
 * diskannbeginscan
 *		Start an index scan.
 */
IndexScanDesc
diskannbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	DiskannScanOpaque so = palloc0(sizeof(DiskannScanOpaqueData));

	so->scanctx = AllocSetContextCreate(CurrentMemoryContext, "diskann scan",
										ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

/*
 * diskannrescan
 *		Restart a scan, possibly with a new query vector.
 */
void
diskannrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
			  ScanKey orderbys, int norderbys)
{
	DiskannScanOpaque so = (DiskannScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	MemoryContextReset(so->scanctx);
	so->started = false;
}

/*
 * diskanngettuple
 *		Return the next heap TID in distance order.
 */
bool
diskanngettuple(IndexScanDesc scan, ScanDirection dir)
{
	DiskannScanOpaque so = (DiskannScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	MemoryContext oldctx;
	bool		found = false;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "diskann index scans only go forward");

	oldctx = MemoryContextSwitchTo(so->scanctx);
	if (!so->started)
	{
		StartSearch(scan);
		pgstat_count_index_scan(index);
	}

	while (!so->empty && !found)
	{
		ScanCandidate c;

		if (so->len == 0)
		{
			if (diskann_iterative_scan == DISKANN_ITERATIVE_OFF ||
				!RefillWindow(so))
				break;
		}
		ExpandWindow(index, so);

		c = so->window[so->head];
		if (!c.expanded)
			break;				/* diskann.max_scan_tuples reached */
		so->head++;
		so->len--;
		if (!c.live)
			continue;
		if (diskann_iterative_scan == DISKANN_ITERATIVE_STRICT &&
			c.distance < so->last_distance)
			continue;
		so->last_distance = Max(so->last_distance, c.distance);
		so->returned++;
		scan->xs_heaptid = c.heaptid;
		scan->xs_recheck = false;
		scan->xs_recheckorderby = false;
		found = true;
	}
	MemoryContextSwitchTo(oldctx);
	return found;
}

/*
 * diskannendscan
 *		End a scan and free its memory.
 */
void
diskannendscan(IndexScanDesc scan)
{
	DiskannScanOpaque so = (DiskannScanOpaque) scan->opaque;

	if (so->started && !so->empty)
	{
		elog(DEBUG1, "diskann scan: returned " INT64_FORMAT " rows, expanded " INT64_FORMAT " nodes",
			 so->returned, so->examined);
		elog(DEBUG2, "diskann scan: computed " INT64_FORMAT " distances", so->distances);
	}
	MemoryContextDelete(so->scanctx);
	pfree(so);
	scan->opaque = NULL;
}
