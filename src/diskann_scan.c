/*
 * diskann_scan.c
 *		Index scans: a best-first graph walk that goes on while the
 *		executor keeps asking for rows, filtered by the scan keys on filter
 *		columns, and an exact pass that finishes what the walk cannot.
 *
 * The walk keeps a window of the L closest matching nodes found and not
 * yet returned (L = diskann.query_search_list_size), sorted by distance,
 * and a min-heap of the matching nodes found that fell out of the window.
 * It expands the closest unexpanded node of the window (reading its
 * neighbour list and, for each neighbour not seen before, its distance to
 * the query and its stored filter values) until every node of the window
 * is expanded: that is Vamana's greedy search.  Then it returns window
 * nodes in distance order.  When the window is used up, the closest L
 * nodes of the heap refill it and the walk goes on.
 *
 * Filters.  A node matches if its stored filter values satisfy every scan
 * key (diskann_filter.c); only matching nodes enter the window.  A
 * filtered walk first samples head pages spread over the index (the
 * filter's selectivity, and matching seeds) and approaches the query with
 * a short plain greedy search over all nodes, whose matching nodes enter
 * the window; if matches are rare near the query (they are far from it),
 * the exact pass answers at once.  Otherwise the non-matching neighbours
 * of an expanded window node are kept as bridges (a min-heap by distance);
 * a bridge closer than the window's farthest node is expanded before the
 * window's next node (at most L of them), and adds its matching
 * neighbours to the window (its non-matching ones are dropped: two hops at
 * most, as in ACORN).  So the walk crosses regions where matches are
 * scarce without returning what it crosses.  Without scan keys every node
 * matches, no bridges arise and the walk is the plain one.
 *
 * The exact pass.  When the walk has spent its budget (see PlanWalk), or
 * has nothing left to expand, the scan goes on with an exact pass: it
 * reads every head page, computes the distance of every live matching
 * node not returned yet (filter values are in the heads, so non-matching
 * nodes cost no vector read), sorts them and returns them in order, a
 * bounded number at a time (work_mem).  A scan whose sampled filter
 * selectivity makes the exact pass cheaper than a walk starts with it.  So
 * a scan never ends before it has returned every live matching row: a
 * LIMIT is never short because of the index.  After a walk that returned
 * rows, under strict_order, the exact pass returns the rows at or past the
 * walk's last distance first and the ones the walk missed last.
 *
 * Under strict_order, a node the walk finds later that is closer than a
 * row already returned is not returned (order is kept); relaxed_order
 * returns it.
 *
 * Slot reuse: a node's distance is computed when it is found, its heap TID
 * is read when it is expanded, later.  The vector carries the generation
 * of the occupant that wrote it and the head the current one's; a node is
 * returned only if the two agree and the head is live, so a slot freed and
 * filled again in between (possible on a standby, which VACUUM's horizon
 * does not protect) never yields a row at another row's distance.
 *
 * Re-ranking.  Under compressed storage the distances above are estimates
 * from codes, each with an error bound.  Rows the walk and the exact pass
 * produce go through a re-ranking set instead of straight to the
 * executor: each candidate's distance is known to lie in an interval, and
 * the candidate starting lowest is returned once its interval ends below
 * every other's (those to come included); where intervals overlap,
 * candidates' vectors are read from the table (the row version the scan's
 * snapshot sees) to pin their exact distances (see RerankNext).  A
 * candidate whose row the snapshot does not see is dropped (the executor
 * would drop it).
 *
 * Locking: one page at a time, share lock, released before the next page
 * is read; node contents are copied out under the lock.  Re-ranking reads
 * the table through the table AM with no index buffer lock held.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "diskann.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "vector.h"

/* Head pages a filtered scan samples for seeds and its selectivity */
#define SCAN_SAMPLE_PAGES		32
/* List of a filtered walk's first, unfiltered phase (Approach) */
#define SCAN_APPROACH_LIST		16
/* Seeds a filtered walk starts from, besides the entry point */
#define SCAN_MAX_SEEDS			64

/* head pages whose matching nodes the exact pass reads in one batch */
#define EXACT_BATCH_GROUPS		8
/* head pages the exact pass pins (and starts fetching) ahead of reading */
#define EXACT_PIN_AHEAD			8

/* A node the scan has found */
typedef struct ScanCandidate
{
	DiskannNode node;
	float		distance;
	float		bound;			/* of the estimate's error (0: exact) */
	bool		expanded;
	bool		live;			/* once expanded: may be returned */
	bool		match;			/* stored filter values satisfy the keys */
	uint32		generation;		/* of the vector the distance came from */
	ItemPointerData heaptid;
} ScanCandidate;

/* A min-heap of candidates by distance */
typedef struct CandidateHeap
{
	ScanCandidate *items;
	int			len;
	int			cap;
} CandidateHeap;

/* A row of the exact pass */
typedef struct ExactRow
{
	float		distance;
	float		bound;			/* of the estimate's error (0: exact) */
	DiskannNode node;
	ItemPointerData heaptid;
} ExactRow;

/* A candidate of the re-ranking set: where its distance lies */
typedef struct RerankRow
{
	float		lo;				/* the distance is in [lo, hi] */
	float		hi;
	bool		exact;			/* read from the table: lo = hi = distance */
	DiskannNode node;
	ItemPointerData heaptid;
} RerankRow;

/* Reading candidates' vectors from the table (kept across rescans) */
typedef struct HeapVectorReader
{
	IndexFetchTableData *fetch;
	TupleTableSlot *slot;
	AttrNumber	attno;			/* the vector's heap column, 0: expression */
	int			vcol;			/* the vector's key column (0-based) */
	IndexInfo  *indexInfo;		/* for an expression */
	EState	   *estate;
	MemoryContext tmpctx;		/* reset after every read */
} HeapVectorReader;

typedef struct DiskannScanOpaqueData
{
	DiskannLayout layout;
	DiskannNode entry_point;
	DiskannQuery dq;			/* the query, prepared for node distances */
	MemoryContext scanctx;		/* reset on rescan */
	HeapVectorReader *reader;	/* made on first use, kept across rescans */

	/* per search */
	bool		started;
	bool		empty;			/* nothing to return */
	float	   *query;			/* index form; NULL: no order (all at 0) */
	DiskannFilter *filter;		/* scan keys, NULL if none */
	bool		recheck;		/* matches must be rechecked */
	int			L;
	ScanCandidate *window;		/* sorted, entries [head, head + len) */
	int			head;
	int			len;
	CandidateHeap heap;			/* matching nodes out of the window */
	CandidateHeap bridges;		/* non-matching nodes to cross */
	uint64	   *seen;			/* bitmap by node number: found */
	uint64	   *dropped;		/* known not to match (found by a bridge) */
	uint64	   *returned;		/* returned to the executor */
	uint32		map_nodes;		/* bits in each bitmap */
	DiskannNode *nbrs;			/* a node's neighbour list */
	float	   *dists;			/* their distances */
	float	   *bounds;			/* and their error bounds */
	uint32	   *generations;	/* and vector generations */
	bool	   *matches;		/* and whether they match */
	float		last_distance;
	int64		walk_budget;	/* expansions before the exact pass */
	int64		bridge_budget;	/* bridges the walk may expand */

	/*
	 * live matching nodes of head pages (GroupMatches), room for
	 * EXACT_BATCH_GROUPS pages
	 */
	DiskannNode *grp_nodes;
	uint32	   *grp_headgen;	/* their generations, from the heads */
	ItemPointerData *grp_tids;
	float	   *grp_dists;
	float	   *grp_bounds;
	uint32	   *grp_vecgen;		/* their vectors' generations */
	int			ngrp;			/* how many */

	/* the exact pass */
	bool		exact;			/* walking is over */
	ExactRow   *rows;			/* this round's rows, sorted */
	int			nrows;
	int			nextrow;
	bool		more_rounds;	/* rows beyond this round's remain */
	ExactRow	cursor;			/* last row of the previous round */
	float		exact_floor;	/* strict order: distance of the walk's last row */
	int			exact_phase;	/* 0: rows at or past the floor, 1: before it */
	int64		phase_rounds;	/* rounds of the current phase */
	int			max_rows;		/* rows a round may hold (work_mem) */
	int			round_rows;		/* rows this round may hold */
	int			rows_alloc;		/* room in rows */

	/* re-ranking (compressed storage): the candidates waiting, see RerankNext */
	bool		rerank;
	RerankRow  *rr;
	int			rr_len;
	int			rr_cap;
	bool		source_done;	/* walk and exact pass have no more rows */
	float		source_lower;	/* lower bound of the rows to come */
	float		max_bound;		/* largest error bound of the estimates so far */
	float	   *heapvec;		/* a vector read from the table, index form */

	/* statistics, for the DEBUG line */
	int64		heap_reads;		/* vectors read from the table */
	int64		output_rows;	/* rows given to the executor */
	int64		returned_rows;	/* rows the walk and exact pass produced */
	int64		examined;		/* nodes expanded */
	int64		bridges_expanded;
	int64		approach_expanded;
	int64		distances;		/* distances computed */
	int64		matched;		/* nodes found that matched the filter */
	int64		exact_rounds;
	int64		exact_distances;
	int64		groups_skipped;	/* by their summaries, in the exact pass */
	double		est_selectivity;	/* sampled, -1 if not sampled */
} DiskannScanOpaqueData;

typedef DiskannScanOpaqueData *DiskannScanOpaque;

/*
 * GrowMaps
 *		Make the node bitmaps cover node.
 */
static void
GrowMaps(DiskannScanOpaque so, DiskannNode node)
{
	uint32		nwords = so->map_nodes / 64;
	uint32		newnodes = Max(node + 1, so->map_nodes * 2);
	uint32		newwords = (newnodes + 63) / 64;
	uint64	  **maps[] = {&so->seen, &so->dropped, &so->returned};

	for (int i = 0; i < lengthof(maps); i++)
	{
		*maps[i] = repalloc_huge(*maps[i], sizeof(uint64) * newwords);
		memset(*maps[i] + nwords, 0, sizeof(uint64) * (newwords - nwords));
	}
	so->map_nodes = newwords * 64;
}

/*
 * MapTestAndSet
 *		True if node's bit is set in map (one of so's bitmaps); sets it.
 */
static bool
MapTestAndSet(DiskannScanOpaque so, uint64 **map, DiskannNode node)
{
	uint64		bit = UINT64CONST(1) << (node % 64);

	if (node >= so->map_nodes)
		GrowMaps(so, node);
	if ((*map)[node / 64] & bit)
		return true;
	(*map)[node / 64] |= bit;
	return false;
}

/*
 * MapTest
 *		True if node's bit is set in map.
 */
static bool
MapTest(DiskannScanOpaque so, uint64 *map, DiskannNode node)
{
	return node < so->map_nodes && (map[node / 64] & (UINT64CONST(1) << (node % 64))) != 0;
}

/*
 * HeapInit
 *		An empty candidate heap.
 */
static void
HeapInit(CandidateHeap *h, int cap)
{
	h->items = palloc(sizeof(ScanCandidate) * cap);
	h->len = 0;
	h->cap = cap;
}

/*
 * HeapPush
 *		Add a candidate to a min-heap.
 */
static void
HeapPush(CandidateHeap *h, const ScanCandidate *c)
{
	int			i;

	if (h->len == h->cap)
	{
		h->cap *= 2;
		h->items = repalloc_huge(h->items, sizeof(ScanCandidate) * h->cap);
	}
	i = h->len++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (h->items[parent].distance <= c->distance)
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = *c;
}

/*
 * HeapPop
 *		Remove the closest candidate from a min-heap into *c.
 */
static void
HeapPop(CandidateHeap *h, ScanCandidate *c)
{
	ScanCandidate last = h->items[--h->len];
	int			i = 0;

	*c = h->items[0];
	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len && h->items[child + 1].distance < h->items[child].distance)
			child++;
		if (last.distance <= h->items[child].distance)
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->len > 0)
		h->items[i] = last;
}

/*
 * MakeCandidate
 *		A found, unexpanded candidate.
 */
static ScanCandidate
MakeCandidate(DiskannNode node, float distance, float bound, uint32 generation, bool match)
{
	ScanCandidate c;

	c.node = node;
	c.distance = distance;
	c.bound = bound;
	c.expanded = false;
	c.live = false;
	c.match = match;
	c.generation = generation;
	ItemPointerSetInvalid(&c.heaptid);
	return c;
}

/*
 * WindowInsert
 *		Put a newly found matching node into the window, pushing the
 *		farthest entry to the heap if the window is full (or the new node
 *		itself, if it is farther than all).
 */
static void
WindowInsert(DiskannScanOpaque so, const ScanCandidate *c)
{
	ScanCandidate *w;
	int			pos;

	if (so->len == so->L)
	{
		if (c->distance >= so->window[so->head + so->len - 1].distance)
		{
			HeapPush(&so->heap, c);
			return;
		}
		HeapPush(&so->heap, &so->window[so->head + so->len - 1]);
		so->len--;
	}
	if (so->head + so->len == so->L)
	{
		memmove(so->window, so->window + so->head, sizeof(ScanCandidate) * so->len);
		so->head = 0;
	}
	w = so->window + so->head;
	pos = so->len;
	while (pos > 0 && w[pos - 1].distance > c->distance)
		pos--;
	memmove(&w[pos + 1], &w[pos], sizeof(ScanCandidate) * (so->len - pos));
	w[pos] = *c;
	so->len++;
	so->max_bound = Max(so->max_bound, c->bound);
}

/*
 * FindNodes
 *		Distances and filter matches of n found nodes (so->nbrs[0..n-1])
 *		into so->dists, so->generations and so->matches.
 */
static void
FindNodes(Relation index, DiskannScanOpaque so, int n)
{
	DiskannNodeDistances(index, &so->layout, so->nbrs, n, &so->dq,
						 so->dists, so->bounds, so->generations, so->filter,
						 so->filter ? so->matches : NULL, get_float4_infinity());
	if (so->filter == NULL)
		memset(so->matches, true, sizeof(bool) * n);
	so->distances += n;
}

/*
 * UnseenNeighbours
 *		Compact the first degree entries of so->nbrs (a node's neighbour
 *		list) to the nodes not seen before (nor known not to match, if
 *		skip_dropped); marks them seen if mark.  Returns how many.
 */
static int
UnseenNeighbours(DiskannScanOpaque so, int degree, bool skip_dropped, bool mark)
{
	int			n = 0;

	for (int i = 0; i < degree; i++)
	{
		DiskannNode q = so->nbrs[i];

		if (q == DISKANN_INVALID_NODE || MapTest(so, so->seen, q) ||
			(skip_dropped && MapTest(so, so->dropped, q)))
			continue;
		if (mark)
			MapTestAndSet(so, &so->seen, q);
		so->nbrs[n++] = q;
	}
	return n;
}

/*
 * ExpandNode
 *		Read a node's head and look at its neighbours not seen before:
 *		matching ones go into the window; non-matching ones become bridges
 *		if the node is a window node (self, not NULL), and are dropped
 *		(remembered as such) if it is a bridge.  A window node is marked
 *		expanded, with whether it may be returned (live, and the occupant
 *		whose vector gave its distance) and its heap TID, before any
 *		neighbour enters the window (which may push it out to the heap).
 */
static void
ExpandNode(Relation index, DiskannScanOpaque so, DiskannNode node, ScanCandidate *self)
{
	DiskannNodeHeader hdr;
	bool		from_bridge = (self == NULL);
	int			n;

	DiskannReadHead(index, &so->layout, node, &hdr, so->nbrs);
	so->examined++;
	if (self)
	{
		self->expanded = true;
		self->live = self->match && hdr.flags == DISKANN_NODE_LIVE &&
			hdr.generation == self->generation;
		self->heaptid = hdr.heaptid;
	}
	n = UnseenNeighbours(so, hdr.num_neighbors, from_bridge, false);
	FindNodes(index, so, n);
	for (int i = 0; i < n; i++)
	{
		ScanCandidate c = MakeCandidate(so->nbrs[i], so->dists[i], so->bounds[i], so->generations[i],
										so->matches[i]);

		if (c.match)
		{
			MapTestAndSet(so, &so->seen, c.node);
			so->matched++;
			WindowInsert(so, &c);
		}
		else if (from_bridge)
			MapTestAndSet(so, &so->dropped, c.node);
		else
		{
			MapTestAndSet(so, &so->seen, c.node);
			HeapPush(&so->bridges, &c);
		}
	}
}

/*
 * BridgeUseful
 *		Should the closest bridge be expanded before window entry pos (-1:
 *		none left unexpanded)?  Yes if it is closer than that entry and than
 *		the window's farthest entry, or if the window is empty; but no more
 *		than L bridges per scan.
 */
static bool
BridgeUseful(DiskannScanOpaque so, int pos)
{
	float		d;

	if (so->bridges.len == 0 || so->bridges_expanded >= so->bridge_budget)
		return false;
	d = so->bridges.items[0].distance;
	if (so->len == 0)
		return true;
	if (pos >= 0 && d >= so->window[so->head + pos].distance)
		return false;
	return d < so->window[so->head + so->len - 1].distance;
}

/*
 * BridgesDominate
 *		True once the walk has crossed its L bridges and they are more than
 *		twice the window nodes it expanded: its matches are far away (the
 *		approach missed it), where a walk's recall is poor (0.93-0.95 on
 *		Fashion-MNIST for another class than the query's, whatever L) and
 *		its cost that of the exact pass, which should answer instead.  A
 *		query near the border of its own class crosses about as many bridges
 *		as it expands window nodes, and walks on without more bridges.
 */
static bool
BridgesDominate(DiskannScanOpaque so)
{
	int64		window_nodes = so->examined - so->approach_expanded - so->bridges_expanded;

	return so->bridges_expanded >= so->bridge_budget &&
		so->bridges_expanded > 2 * window_nodes;
}

/*
 * ExpandWindow
 *		Expand bridges and window nodes, closest first, until every window
 *		node is expanded and no useful bridge is left.  Returns false if the
 *		walk's budget ran out first.
 */
static bool
ExpandWindow(Relation index, DiskannScanOpaque so)
{
	for (;;)
	{
		int			pos = -1;

		if (so->examined >= so->walk_budget || BridgesDominate(so))
			return false;
		for (int i = 0; i < so->len; i++)
			if (!so->window[so->head + i].expanded)
			{
				pos = i;
				break;
			}
		CHECK_FOR_INTERRUPTS();
		if (BridgeUseful(so, pos))
		{
			ScanCandidate b;

			HeapPop(&so->bridges, &b);
			ExpandNode(index, so, b.node, NULL);
			so->bridges_expanded++;
		}
		else if (pos >= 0)
			ExpandNode(index, so, so->window[so->head + pos].node,
					   &so->window[so->head + pos]);
		else
			return true;
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
	while (so->len < so->L && so->heap.len > 0)
	{
		HeapPop(&so->heap, &so->window[so->len]);
		so->max_bound = Max(so->max_bound, so->window[so->len].bound);
		so->len++;
	}
	return so->len > 0;
}

/*
 * ExactRowBefore
 *		Order of exact-pass rows: by distance, then node number.
 */
static bool
ExactRowBefore(const ExactRow *a, const ExactRow *b)
{
	return a->distance < b->distance ||
		(a->distance == b->distance && a->node < b->node);
}

/*
 * ExactRowCompare
 *		qsort comparator for ExactRowBefore.
 */
static int
ExactRowCompare(const void *a, const void *b)
{
	if (ExactRowBefore(a, b))
		return -1;
	return ExactRowBefore(b, a) ? 1 : 0;
}

/*
 * OfferExactRow
 *		Keep row if it is among the round_rows first of this round: rows[]
 *		is a max-heap (by ExactRowBefore) while a round collects.  Sets
 *		more_rounds if a row is turned away.
 */
static void
OfferExactRow(DiskannScanOpaque so, const ExactRow *row)
{
	int			i;

	so->max_bound = Max(so->max_bound, row->bound);
	if (so->nrows == so->round_rows)
	{
		so->more_rounds = true;
		if (!ExactRowBefore(row, &so->rows[0]))
			return;
		/* replace the root, sift down */
		i = 0;
		for (;;)
		{
			int			child = 2 * i + 1;

			if (child >= so->nrows)
				break;
			if (child + 1 < so->nrows && ExactRowBefore(&so->rows[child], &so->rows[child + 1]))
				child++;
			if (!ExactRowBefore(row, &so->rows[child]))
				break;
			so->rows[i] = so->rows[child];
			i = child;
		}
		so->rows[i] = *row;
		return;
	}
	i = so->nrows++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (!ExactRowBefore(&so->rows[parent], row))
			break;
		so->rows[i] = so->rows[parent];
		i = parent;
	}
	so->rows[i] = *row;
}

/*
 * GroupMatches
 *		The live nodes of group whose stored filter values match (and, if
 *		skip_returned, that the scan has not returned), with their heap
 *		TIDs and head generations, appended to so->grp_* at so->ngrp;
 *		returns how many, and the group's live nodes into *live.  buf is
 *		the group's head page, pinned (DiskannPinHeadPage); the heads are
 *		copied under its share lock (an all-zero head page, left by a crash
 *		during extension, holds none), and the pin is released.  If
 *		use_summary, a group whose summary rules the filter out is skipped
 *		(its live nodes are then not counted).
 */
static int
GroupMatches(Relation index, DiskannScanOpaque so, Buffer buf, uint32 group,
			 bool skip_returned, bool use_summary, uint64 *live)
{
	const DiskannLayout *layout = &so->layout;
	Page		page = BufferGetPage(buf);
	int			n = 0;
	uint32		heads;

	*live = 0;
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	heads = DiskannHeadPageOk(index, buf) ? layout->heads_per_group : 0;
	if (heads > 0 && layout->summary_size > 0)
	{
		if (use_summary && !DiskannFilterSummaryMatches(so->filter, DiskannGroupSummary(page)))
		{
			so->groups_skipped++;
			heads = 0;
		}
		else
			DiskannPrefetchHeads(page, layout);
	}
	for (uint32 i = 0; i < heads; i++)
	{
		DiskannNodeHeader *hdr = DiskannPageHead(page, layout, i);
		DiskannNode node = group * layout->heads_per_group + i;
		int			at = so->ngrp + n;

		if (hdr->flags != DISKANN_NODE_LIVE)
			continue;
		(*live)++;
		if ((skip_returned && MapTest(so, so->returned, node)) ||
			!DiskannFilterMatches(so->filter, DiskannHeadFilter(hdr, layout)))
			continue;
		so->grp_nodes[at] = node;
		so->grp_headgen[at] = hdr->generation;
		so->grp_tids[at] = hdr->heaptid;
		n++;
	}
	UnlockReleaseBuffer(buf);
	so->ngrp += n;
	return n;
}

/*
 * ExactOffer
 *		Offer the nodes collected in so->grp_* to the exact pass's round,
 *		with their distances computed in one batch (after the head pages'
 *		locks are released); a node whose vector is of another occupant
 *		than its head (the slot was reused meanwhile) is left out.
 */
static void
ExactOffer(Relation index, DiskannScanOpaque so, bool first_round)
{
	const DiskannLayout *layout = &so->layout;
	int			n = so->ngrp;

	if (so->query)
	{
		/* a full round's farthest row bounds the distances worth finishing */
		float		bound = get_float4_infinity();

		if (layout->metric == DISKANN_METRIC_L2 || layout->metric == DISKANN_METRIC_L1)
		{
			if (so->nrows == so->round_rows)
				bound = so->rows[0].distance;
			if (so->exact_phase == 1)
				bound = Min(bound, so->exact_floor);
		}
		DiskannNodeDistances(index, layout, so->grp_nodes, n, &so->dq,
							 so->grp_dists, so->grp_bounds, so->grp_vecgen, NULL, NULL, bound);
		so->exact_distances += n;
	}
	for (int i = 0; i < n; i++)
	{
		ExactRow	row;

		if (so->query && so->grp_vecgen[i] != so->grp_headgen[i])
			continue;
		row.distance = so->query ? so->grp_dists[i] : 0.0f;
		row.bound = so->query ? so->grp_bounds[i] : 0.0f;
		row.node = so->grp_nodes[i];
		row.heaptid = so->grp_tids[i];
		if (!first_round && !ExactRowBefore(&so->cursor, &row))
			continue;
		if ((so->exact_phase == 0) != (row.distance >= so->exact_floor))
			continue;
		OfferExactRow(so, &row);
	}
	so->ngrp = 0;
}

/*
 * ExactRound
 *		Collect and sort the next round of the exact pass: the first
 *		round_rows rows after the previous round's last.  Returns false if
 *		there are none.  The head pages are read in order, each pinned and
 *		its first lines prefetched EXACT_PIN_AHEAD groups ahead; the
 *		matching nodes of EXACT_BATCH_GROUPS groups get their distances in
 *		one batch.
 */
static bool
ExactRound(Relation index, DiskannScanOpaque so)
{
	uint32		ngroups = DiskannNumGroups(&so->layout, RelationGetNumberOfBlocks(index));
	bool		first_round;
	Buffer		ahead[EXACT_PIN_AHEAD];

	if (so->phase_rounds > 0 && !so->more_rounds)
	{
		/* the rows at or past the floor are done: now those before it */
		if (so->exact_phase == 1 || isinf(so->exact_floor))
			return false;
		so->exact_phase = 1;
		so->phase_rounds = 0;
		so->round_rows = 0;
	}
	first_round = (so->phase_rounds == 0);

	/*
	 * Rounds start small (a LIMIT query needs one) and double, up to what
	 * work_mem holds.  After a walk that returned rows the executor still
	 * wants more of (a filter it applies rejects most), they start at what
	 * work_mem holds: small rounds would each read the whole index again
	 * (six passes, 160 ms a query, for a far class on Fashion-MNIST).
	 */
	if (so->round_rows == 0)
		so->round_rows = so->returned_rows > 0 ? so->max_rows :
			Min(DISKANN_EXACT_FIRST_ROUND, so->max_rows);
	else
		so->round_rows = Min(so->round_rows * 2, so->max_rows);
	if (so->rows == NULL || so->rows_alloc < so->round_rows)
	{
		so->rows = so->rows ? repalloc(so->rows, sizeof(ExactRow) * so->round_rows) :
			palloc(sizeof(ExactRow) * so->round_rows);
		so->rows_alloc = so->round_rows;
	}
	so->nrows = 0;
	so->nextrow = 0;
	so->more_rounds = false;
	so->ngrp = 0;
	for (uint32 group = 0; group < Min(ngroups, EXACT_PIN_AHEAD); group++)
		ahead[group] = DiskannPinHeadPage(index, &so->layout, group);
	for (uint32 group = 0; group < ngroups; group++)
	{
		Buffer		buf = ahead[group % EXACT_PIN_AHEAD];
		uint64		live;

		CHECK_FOR_INTERRUPTS();
		if (group + EXACT_PIN_AHEAD < ngroups)
			ahead[group % EXACT_PIN_AHEAD] =
				DiskannPinHeadPage(index, &so->layout, group + EXACT_PIN_AHEAD);
		GroupMatches(index, so, buf, group, true, true, &live);
		if ((group + 1) % EXACT_BATCH_GROUPS == 0 || group + 1 == ngroups)
			ExactOffer(index, so, first_round);
	}
	qsort(so->rows, so->nrows, sizeof(ExactRow), ExactRowCompare);
	if (so->nrows > 0)
		so->cursor = so->rows[so->nrows - 1];
	so->exact_rounds++;
	so->phase_rounds++;
	if (so->nrows == 0)
		return ExactRound(index, so);	/* perhaps the next phase */
	return true;
}

/*
 * ExactNext
 *		The next row of the exact pass into *row; false when there is none.
 */
static bool
ExactNext(Relation index, DiskannScanOpaque so, ExactRow *row)
{
	for (;;)
	{
		if (so->nextrow < so->nrows)
		{
			*row = so->rows[so->nextrow++];
			if (MapTest(so, so->returned, row->node))
				continue;
			return true;
		}
		if (!ExactRound(index, so))
			return false;
	}
}

/*
 * SampleHeads
 *		Look at the heads of up to SCAN_SAMPLE_PAGES head pages spread over
 *		the index: estimate the fraction of live nodes that match the
 *		filter, and put matching ones (at most SCAN_MAX_SEEDS, spread over
 *		the pages) into the window as seeds.  Returns the number of groups.
 */
static uint32
SampleHeads(Relation index, DiskannScanOpaque so)
{
	const DiskannLayout *layout = &so->layout;
	uint32		ngroups = DiskannNumGroups(layout, RelationGetNumberOfBlocks(index));
	uint32		npages = Min(ngroups, SCAN_SAMPLE_PAGES);
	int			per_page = npages > 0 ? (SCAN_MAX_SEEDS + npages - 1) / npages : 0;
	uint64		live = 0;
	uint64		matching = 0;
	int			n = 0;

	for (uint32 p = 0; p < npages; p++)
	{
		uint32		group = (uint32) ((uint64) p * ngroups / npages);
		uint64		group_live;
		int			m;
		int			taken = 0;

		so->ngrp = 0;
		m = GroupMatches(index, so, DiskannPinHeadPage(index, layout, group), group, false,
						 false, &group_live);

		live += group_live;
		matching += m;
		for (int i = 0; i < m && taken < per_page && n < layout->num_neighbors; i++)
		{
			if (MapTestAndSet(so, &so->seen, so->grp_nodes[i]))
				continue;
			so->nbrs[n++] = so->grp_nodes[i];
			taken++;
		}
	}
	so->est_selectivity = live > 0 ? (double) matching / live : 0.0;

	FindNodes(index, so, n);
	for (int i = 0; i < n; i++)
	{
		ScanCandidate c = MakeCandidate(so->nbrs[i], so->dists[i], so->bounds[i], so->generations[i], true);

		so->matched++;
		WindowInsert(so, &c);
	}
	return ngroups;
}

/*
 * Approach
 *		The first phase of a filtered walk: a plain greedy search from the
 *		entry point over all nodes, matching or not, with a list of
 *		SCAN_APPROACH_LIST nodes, that gets the walk to the query's
 *		neighbourhood.  Every matching node it finds enters the window: the
 *		matches nearest the query are found through the nodes nearest it,
 *		Its non-matching nodes are seen and not walked again.  Returns
 *		false if matches are rare near the query: they are far from it
 *		(another class than the query's), where a walk restricted to
 *		matching nodes plateaus at poor recall (0.93-0.95 on Fashion-MNIST
 *		whatever L), so the exact pass should answer.
 */
static bool
Approach(Relation index, DiskannScanOpaque so, const ScanCandidate *entry)
{
	int			P = SCAN_APPROACH_LIST;
	ScanCandidate *list = palloc(sizeof(ScanCandidate) * (P + 1));
	int			len = 0;
	int64		found = 0;
	int64		found_matching = 0;
	bool		near;

	list[len++] = *entry;
	if (entry->match)
	{
		so->matched++;
		WindowInsert(so, entry);
	}
	for (;;)
	{
		DiskannNodeHeader hdr;
		int			pos;
		int			n;

		for (pos = 0; pos < len && list[pos].expanded; pos++)
			;
		if (pos == len || so->examined >= so->walk_budget)
			break;
		CHECK_FOR_INTERRUPTS();
		list[pos].expanded = true;
		DiskannReadHead(index, &so->layout, list[pos].node, &hdr, so->nbrs);
		so->examined++;
		so->approach_expanded++;
		n = UnseenNeighbours(so, hdr.num_neighbors, false, true);
		FindNodes(index, so, n);
		for (int i = 0; i < n; i++)
		{
			ScanCandidate c = MakeCandidate(so->nbrs[i], so->dists[i], so->bounds[i], so->generations[i],
											so->matches[i]);
			int			j;

			found++;
			if (c.match)
			{
				found_matching++;
				so->matched++;
				WindowInsert(so, &c);
			}
			if (len == P && c.distance >= list[len - 1].distance)
				continue;
			for (j = Min(len, P - 1); j > 0 && list[j - 1].distance > c.distance; j--)
				list[j] = list[j - 1];
			list[j] = c;
			len = Min(len + 1, P);
		}
	}
	pfree(list);

	/*
	 * Near the query, matches are about as frequent as everywhere (or more,
	 * when the filter is correlated with where the query is).  If they are
	 * much rarer (a quarter of the sampled selectivity), they are far from
	 * the query, where a walk serves badly.
	 */
	near = found_matching >= 0.25 * so->est_selectivity * found;
	return near;
}

/*
 * PlanWalk
 *		Set the walk's budgets.  Costs are counted in vector reads: an exact
 *		pass reads a head page per group and a vector per matching node; a
 *		walk's expansion reads about R / 4 vectors (neighbours not seen
 *		before), and a walk to the window's convergence expands about L
 *		nodes.  A filtered walk gives way to the exact pass once it has
 *		spent what the exact pass costs; an unfiltered one after a quarter
 *		of that (an unfiltered walk that runs long serves a filter the
 *		executor applies, and one whose matches are far from the query
 *		walked 26,000 rows for 10 on Fashion-MNIST, 266 ms against 34 ms for
 *		a btree and a sort); both at most diskann.max_scan_tuples
 *		expansions.  A filtered walk crosses at most L bridges (a query near
 *		the border of its class at L = 100 crossed 100 and more).  A
 *		filtered scan starts with the exact pass when that is cheaper than
 *		two walks to convergence, or when fewer nodes match than the window
 *		holds.  The walk may always expand 2 L nodes (its first window's
 *		convergence), and without an iterative scan it walks to convergence.
 */
static void
PlanWalk(DiskannScanOpaque so, uint32 ngroups, double selectivity)
{
	double		per_expansion = Max(so->layout.num_neighbors / 4, 1);
	double		nodes = (double) ngroups * so->layout.heads_per_group;
	double		exact_reads = ngroups + nodes * selectivity;
	double		walk_reads = 2.0 * so->L * per_expansion;

	/* enough for the first window to converge, within max_scan_tuples */
	so->walk_budget = (int64) Max(exact_reads / per_expansion / (so->filter ? 1 : 4),
								  2.0 * so->L);
	if (diskann_iterative_scan == DISKANN_ITERATIVE_OFF)
		so->walk_budget = PG_INT64_MAX;
	so->walk_budget = Min(so->walk_budget, (int64) diskann_max_scan_tuples);
	so->walk_budget = Max(so->walk_budget, 1);
	so->bridge_budget = so->filter ? so->L : PG_INT64_MAX;
	if (so->filter && (exact_reads < walk_reads || nodes * selectivity < so->L))
		so->walk_budget = 0;
}

/*
 * StartSearch
 *		Set up a search for the query in the scan's ORDER BY key, with the
 *		scan's keys as the filter.
 */
static void
StartSearch(IndexScanDesc scan)
{
	DiskannScanOpaque so = (DiskannScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	DiskannMetaPageData meta;
	ScanKey		key = &scan->orderByData[0];
	uint32		ngroups;
	uint32		grp_cap;
	ScanCandidate entry;

	so->started = true;
	so->empty = true;
	DiskannReadMeta(index, &meta);
	DiskannLayoutFromMeta(index, &so->layout, &meta);
	so->entry_point = meta.entry_point;
	DiskannInitQuery(&so->layout, &so->dq);
	so->filter = DiskannCompileFilter(index, &so->layout, scan->keyData,
									  scan->numberOfKeys, &so->recheck);
	if (DiskannFilterNeverMatches(so->filter) || meta.entry_point == DISKANN_INVALID_NODE)
		return;

	so->L = Max(diskann_query_search_list_size, 1);
	so->window = palloc(sizeof(ScanCandidate) * so->L);
	HeapInit(&so->heap, 1024);
	HeapInit(&so->bridges, 1024);
	so->map_nodes = 8192;
	so->seen = palloc0(sizeof(uint64) * (so->map_nodes / 64));
	so->dropped = palloc0(sizeof(uint64) * (so->map_nodes / 64));
	so->returned = palloc0(sizeof(uint64) * (so->map_nodes / 64));
	so->nbrs = palloc(sizeof(DiskannNode) * so->layout.num_neighbors);
	so->dists = palloc(sizeof(float) * so->layout.num_neighbors);
	so->bounds = palloc(sizeof(float) * so->layout.num_neighbors);
	so->generations = palloc(sizeof(uint32) * so->layout.num_neighbors);
	so->matches = palloc(sizeof(bool) * so->layout.num_neighbors);
	grp_cap = so->layout.heads_per_group * EXACT_BATCH_GROUPS;
	so->grp_nodes = palloc(sizeof(DiskannNode) * grp_cap);
	so->grp_headgen = palloc(sizeof(uint32) * grp_cap);
	so->grp_tids = palloc(sizeof(ItemPointerData) * grp_cap);
	so->grp_dists = palloc(sizeof(float) * grp_cap);
	so->grp_bounds = palloc(sizeof(float) * grp_cap);
	so->grp_vecgen = palloc(sizeof(uint32) * grp_cap);
	so->last_distance = -get_float4_infinity();
	so->exact_floor = -get_float4_infinity();
	so->max_rows = (int) Max(1024, Min((double) work_mem * 1024 / sizeof(ExactRow),
									   MaxAllocSize / sizeof(ExactRow)));
	so->est_selectivity = -1;
	so->empty = false;

	/* no order (no ORDER BY, a NULL query, a zero query under cosine) */
	if (scan->numberOfOrderBys > 0 && !(key->sk_flags & SK_ISNULL))
	{
		Vector	   *v = DatumGetVector(key->sk_argument);

		if (v->dim != (int) so->layout.dimensions)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %u and %d",
							so->layout.dimensions, v->dim)));
		so->query = palloc(sizeof(float) * v->dim);
		if (!DiskannPrepareVector(so->layout.metric, v->x, so->query, v->dim))
			so->query = NULL;
	}
	if (so->query == NULL)
	{
		so->exact = true;
		return;
	}
	DiskannSetQuery(&so->layout, &so->dq, so->query, false);
	if (so->layout.storage == DISKANN_PAYLOAD_RABITQ && diskann_query_rescore > 0)
	{
		so->rerank = true;
		so->rr_cap = diskann_query_rescore;
		so->rr = palloc(sizeof(RerankRow) * so->rr_cap);
		so->heapvec = palloc(sizeof(float) * so->layout.dimensions);
	}

	/* the entry point */
	so->nbrs[0] = so->entry_point;
	MapTestAndSet(so, &so->seen, so->entry_point);
	FindNodes(index, so, 1);
	entry = MakeCandidate(so->entry_point, so->dists[0], so->bounds[0], so->generations[0],
						  so->matches[0]);
	if (so->filter == NULL)
	{
		WindowInsert(so, &entry);
		PlanWalk(so, DiskannNumGroups(&so->layout, RelationGetNumberOfBlocks(index)), 1.0);
		return;
	}
	ngroups = SampleHeads(index, so);
	PlanWalk(so, ngroups, so->est_selectivity);
	if (so->walk_budget > 0 && !Approach(index, so, &entry))
		so->walk_budget = 0;
	if (so->walk_budget == 0)
		so->exact = true;
}

/*
 * WalkNext
 *		The next row the walk returns into *c.  Returns false when the walk
 *		is over (nothing left to expand, or its budget spent).
 */
static bool
WalkNext(Relation index, DiskannScanOpaque so, ScanCandidate *c)
{
	for (;;)
	{
		if (so->len == 0)
		{
			/* a walk that used up its bridges leaves the rest to the exact pass */
			if (so->bridges_expanded >= so->bridge_budget ||
				(!RefillWindow(so) && so->bridges.len == 0))
				return false;
			if (diskann_iterative_scan == DISKANN_ITERATIVE_OFF && so->returned_rows > 0)
				return false;
		}
		if (!ExpandWindow(index, so))
			return false;		/* budget spent: not converged, not trusted */
		if (so->len == 0)
			continue;			/* bridges found nothing yet */
		*c = so->window[so->head];
		so->head++;
		so->len--;
		if (!c->live)
			continue;
		if (diskann_iterative_scan == DISKANN_ITERATIVE_STRICT &&
			c->distance < so->last_distance)
			continue;
		so->last_distance = Max(so->last_distance, c->distance);
		return true;
	}
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
 * ResetSearch
 *		Forget the current search (its memory goes with scanctx); the
 *		table reader stays.
 */
static void
ResetSearch(DiskannScanOpaque so)
{
	MemoryContext scanctx = so->scanctx;
	HeapVectorReader *reader = so->reader;

	MemoryContextReset(scanctx);
	memset(so, 0, sizeof(DiskannScanOpaqueData));
	so->scanctx = scanctx;
	so->reader = reader;
}

/*
 * diskannrescan
 *		Restart a scan, possibly with new keys and a new query vector.
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
	ResetSearch(so);
}

/*
 * ScanNext
 *		The next row of the search, by distance as the index knows it
 *		(estimated under compressed storage): the walk's rows, then the
 *		exact pass's; *distance gets that distance, *bound its error
 *		bound (0 if it is exact).
 *		Marks it returned.  False when there are no more.
 */
static bool
ScanNext(Relation index, DiskannScanOpaque so, DiskannNode *node, ItemPointer tid,
		 float *distance, float *bound)
{
	if (!so->exact)
	{
		ScanCandidate c;

		if (WalkNext(index, so, &c))
		{
			*node = c.node;
			*tid = c.heaptid;
			*distance = c.distance;
			*bound = c.bound;
			goto found;
		}
		if (diskann_iterative_scan == DISKANN_ITERATIVE_OFF)
			return false;
		so->exact = true;
		if (diskann_iterative_scan == DISKANN_ITERATIVE_STRICT && so->returned_rows > 0)
			so->exact_floor = so->last_distance;
	}
	{
		ExactRow	row;

		if (!ExactNext(index, so, &row))
			return false;
		*node = row.node;
		*tid = row.heaptid;
		*distance = row.distance;
		*bound = row.bound;
	}
found:
	MapTestAndSet(so, &so->returned, *node);
	so->returned_rows++;
	return true;
}

/*
 * OpenReader
 *		Set up reading vectors from the table: a fetch state and a slot,
 *		made in the scan's own memory context (which outlives rescans).
 */
static HeapVectorReader *
OpenReader(IndexScanDesc scan, DiskannScanOpaque so)
{
	MemoryContext oldctx = MemoryContextSwitchTo(GetMemoryChunkContext(so));
	HeapVectorReader *r = palloc0(sizeof(HeapVectorReader));
	Relation	index = scan->indexRelation;

	r->fetch = table_index_fetch_begin(scan->heapRelation);
	r->slot = table_slot_create(scan->heapRelation, NULL);
	r->vcol = DiskannVectorColumn(index);
	r->attno = index->rd_index->indkey.values[r->vcol];
	if (r->attno == 0)
	{
		r->indexInfo = BuildIndexInfo(index);
		r->estate = CreateExecutorState();
		GetPerTupleExprContext(r->estate)->ecxt_scantuple = r->slot;
	}
	r->tmpctx = AllocSetContextCreate(CurrentMemoryContext, "diskann heap vectors",
									  ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(oldctx);
	return r;
}

/*
 * CloseReader
 *		Release what OpenReader set up.
 */
static void
CloseReader(HeapVectorReader *r)
{
	table_index_fetch_end(r->fetch);
	ExecDropSingleTupleTableSlot(r->slot);
	if (r->estate)
		FreeExecutorState(r->estate);
	MemoryContextDelete(r->tmpctx);
	pfree(r);
}

/*
 * HeapDistance
 *		The exact distance between the query and the vector of the row
 *		version at tid that the scan's snapshot sees.  False if it sees
 *		none (or its vector is NULL, or zero under cosine).
 */
static bool
HeapDistance(IndexScanDesc scan, DiskannScanOpaque so, ItemPointer tid, float *distance)
{
	HeapVectorReader *r = so->reader;
	ItemPointerData t = *tid;
	bool		call_again = false;
	bool		all_dead = false;
	bool		ok = false;
	MemoryContext oldctx;
	Datum		value;
	bool		isnull;

	if (r == NULL)
		r = so->reader = OpenReader(scan, so);
	so->heap_reads++;
	if (!table_index_fetch_tuple(r->fetch, &t, scan->xs_snapshot, r->slot,
								 &call_again, &all_dead))
		return false;
	oldctx = MemoryContextSwitchTo(r->tmpctx);
	if (r->attno > 0)
		value = slot_getattr(r->slot, r->attno, &isnull);
	else
	{
		Datum		values[INDEX_MAX_KEYS];
		bool		isnulls[INDEX_MAX_KEYS];

		ResetExprContext(GetPerTupleExprContext(r->estate));
		FormIndexDatum(r->indexInfo, r->slot, r->estate, values, isnulls);
		value = values[r->vcol];
		isnull = isnulls[r->vcol];
	}
	if (!isnull)
	{
		Vector	   *v = DatumGetVector(value);

		if (v->dim == (int) so->layout.dimensions &&
			DiskannPrepareVector(so->layout.metric, v->x, so->heapvec, v->dim))
		{
			*distance = so->dq.distfn(so->query, so->heapvec, v->dim);
			ok = true;
		}
	}
	MemoryContextSwitchTo(oldctx);
	MemoryContextReset(r->tmpctx);
	ExecClearTuple(r->slot);
	return ok;
}

/*
 * RerankPull
 *		Take the next candidate into the re-ranking set, its distance known
 *		to lie within its estimate's error bound.  False if there is none.
 */
static bool
RerankPull(Relation index, DiskannScanOpaque so)
{
	RerankRow  *row = &so->rr[so->rr_len];
	float		estimate;
	float		bound;

	if (!ScanNext(index, so, &row->node, &row->heaptid, &estimate, &bound))
	{
		so->source_done = true;
		return false;
	}
	row->lo = estimate - bound;
	row->hi = estimate + bound;
	row->exact = false;
	so->rr_len++;
	so->source_lower = estimate - so->max_bound;
	return true;
}

/*
 * RerankRead
 *		Read candidate i's row from the table and pin its distance down to
 *		the exact one; a candidate whose row the snapshot does not see
 *		leaves the set.
 */
static void
RerankRead(IndexScanDesc scan, DiskannScanOpaque so, int i)
{
	RerankRow  *row = &so->rr[i];
	float		distance;

	if (HeapDistance(scan, so, &row->heaptid, &distance))
	{
		row->lo = row->hi = distance;
		row->exact = true;
	}
	else
		so->rr[i] = so->rr[--so->rr_len];
}

/*
 * RerankNext
 *		The next row in exact distance order, reading as few rows from the
 *		table as the estimates' error bounds allow.  Each candidate taken in
 *		(in the index's estimated order) has an interval that holds its
 *		distance: its estimate plus or minus its error bound, or its exact
 *		distance once read.  The candidate whose interval starts lowest is
 *		returned as soon as its interval ends at or below where every other
 *		candidate's starts, those still to come included (estimated no
 *		closer than the last one taken, less the largest error bound of the
 *		scan's window): then no row can be closer, whether or not anything
 *		was read.  Until then: take in the next candidate while one to come
 *		could be closer, else read the lowest candidate exactly, else the
 *		overlapping candidate that starts lowest.  At most
 *		diskann.query_rescore candidates wait; a full set whose overlapping
 *		candidates are all read returns its closest.  False when there are
 *		no more rows.
 */
static bool
RerankNext(IndexScanDesc scan, DiskannScanOpaque so, RerankRow *out)
{
	Relation	index = scan->indexRelation;
	int			best;

	for (;;)
	{
		int			overlap = -1;
		float		floor = so->source_done ? get_float4_infinity() : so->source_lower;
		float		others = floor;

		CHECK_FOR_INTERRUPTS();
		best = -1;
		for (int i = 0; i < so->rr_len; i++)
			if (best < 0 || so->rr[i].lo < so->rr[best].lo ||
				(so->rr[i].lo == so->rr[best].lo && so->rr[i].node < so->rr[best].node))
				best = i;
		if (best < 0)
		{
			if (!so->source_done && RerankPull(index, so))
				continue;
			return false;
		}
		for (int i = 0; i < so->rr_len; i++)
		{
			if (i == best)
				continue;
			others = Min(others, so->rr[i].lo);
			if (!so->rr[i].exact && so->rr[i].lo < so->rr[best].hi &&
				(overlap < 0 || so->rr[i].lo < so->rr[overlap].lo))
				overlap = i;
		}
		if (so->rr[best].hi <= others)
			break;
		if (floor < so->rr[best].hi && so->rr_len < so->rr_cap && RerankPull(index, so))
			continue;
		if (!so->rr[best].exact)
			RerankRead(scan, so, best);
		else if (overlap >= 0)
			RerankRead(scan, so, overlap);
		else
			break;				/* the set is full or the candidates are done */
	}
	*out = so->rr[best];
	so->rr[best] = so->rr[--so->rr_len];
	return true;
}

/*
 * diskanngettuple
 *		Return the next heap TID: the walk's rows in distance order, then
 *		the exact pass's (re-ranked by exact distance under compressed
 *		storage).
 */
bool
diskanngettuple(IndexScanDesc scan, ScanDirection dir)
{
	DiskannScanOpaque so = (DiskannScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	MemoryContext oldctx;
	ItemPointerData tid;
	DiskannNode node;
	bool		found;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "diskann index scans only go forward");

	oldctx = MemoryContextSwitchTo(so->scanctx);
	if (!so->started)
	{
		StartSearch(scan);
		pgstat_count_index_scan(index);
	}
	if (so->empty)
		found = false;
	else if (so->rerank)
	{
		RerankRow	row;

		found = RerankNext(scan, so, &row);
		tid = row.heaptid;
	}
	else
	{
		float		distance;
		float		bound;

		found = ScanNext(index, so, &node, &tid, &distance, &bound);
	}
	if (!found)
		so->empty = true;
	else
	{
		so->output_rows++;
		scan->xs_heaptid = tid;
		scan->xs_recheck = so->recheck;
		scan->xs_recheckorderby = false;
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

	if (so->started)
		elog(DEBUG1, "diskann scan: returned " INT64_FORMAT " rows; walk expanded "
			 INT64_FORMAT " nodes (" INT64_FORMAT " approaching, " INT64_FORMAT
			 " bridges), found " INT64_FORMAT
			 " matching; exact pass: " INT64_FORMAT " rounds, " INT64_FORMAT
			 " distances, " INT64_FORMAT " groups skipped; sampled selectivity %.4f; "
			 INT64_FORMAT
			 " candidates, " INT64_FORMAT " vectors read from the table",
			 so->output_rows, so->examined, so->approach_expanded,
			 so->bridges_expanded, so->matched,
			 so->exact_rounds, so->exact_distances, so->groups_skipped, so->est_selectivity,
			 so->returned_rows, so->heap_reads);
	elog(DEBUG2, "diskann scan: walk computed " INT64_FORMAT " distances", so->distances);
	if (so->reader)
		CloseReader(so->reader);
	MemoryContextDelete(so->scanctx);
	pfree(so);
	scan->opaque = NULL;
}
