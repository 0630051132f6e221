/*
 * diskann_graph.c
 *		The Vamana routines: greedy search, RobustPrune and insertion.
 *
 * They work on a DiskannGraph, whose callbacks hide whether nodes live in
 * memory (during a build) or in buffer pages.  They keep their working
 * memory in g->scratch, allocated once per graph, so a build or an insert
 * does not palloc per visited node.  The caller provides whatever locking
 * the graph's callbacks need.
 */
#include "postgres.h"

#include <float.h>

#include "diskann.h"
#include "common/hashfn.h"
#include "miscadmin.h"

/* How many nodes ahead of use vectors are prefetched (memory latency) */
#define PREFETCH_AHEAD 2

/* Per-graph working memory */
typedef struct DiskannScratch
{
	uint32	   *mark;			/* visited marks, one per node number */
	uint32		mark_size;		/* entries allocated in mark */
	uint32		generation;		/* current mark value */
	DiskannCandidate *list;		/* greedy search list, L + 1 entries */
	DiskannCandidate *visited;	/* expanded nodes of the last search */
	int			visited_cap;
	DiskannCandidate *pool;		/* RobustPrune candidates */
	int			pool_cap;
	DiskannNode *nbrs;			/* a neighbour list, R entries */
	DiskannNode *nbrs2;			/* a second one */
	float	   *vec1;			/* vector buffers, dimensions floats each */
	float	   *vec2;
	bool	   *pruned;
} DiskannScratch;

/*
 * DiskannGraphInitScratch
 *		Allocate g's working memory in the current memory context.
 */
void
DiskannGraphInitScratch(DiskannGraph *g)
{
	DiskannScratch *s = palloc0(sizeof(DiskannScratch));
	int			L = g->search_list_size;
	int			R = Max(g->num_neighbors, g->max_degree);

	s->mark_size = Max(g->num_nodes, 1024);
	s->mark = palloc0(sizeof(uint32) * s->mark_size);
	s->generation = 0;
	s->list = palloc(sizeof(DiskannCandidate) * (L + 1));
	s->visited_cap = 4 * L;
	s->visited = palloc(sizeof(DiskannCandidate) * s->visited_cap);
	s->pool_cap = 4 * L + 2 * R + 2;
	s->pool = palloc(sizeof(DiskannCandidate) * s->pool_cap);
	s->pruned = palloc(sizeof(bool) * s->pool_cap);
	s->nbrs = palloc(sizeof(DiskannNode) * (R + 1));
	s->nbrs2 = palloc(sizeof(DiskannNode) * (R + 1));
	s->vec1 = palloc(sizeof(float) * g->dimensions);
	s->vec2 = palloc(sizeof(float) * g->dimensions);
	g->scratch = s;
}

/*
 * ScratchNewGeneration
 *		Start a new search: forget all visited marks in O(1), growing the
 *		mark array if the graph has grown.
 */
static void
ScratchNewGeneration(DiskannGraph *g)
{
	DiskannScratch *s = g->scratch;

	if (g->num_nodes > s->mark_size)
	{
		uint32		newsize = Max(g->num_nodes, s->mark_size * 2);

		s->mark = repalloc(s->mark, sizeof(uint32) * newsize);
		memset(s->mark + s->mark_size, 0, sizeof(uint32) * (newsize - s->mark_size));
		s->mark_size = newsize;
	}
	s->generation++;
	if (s->generation == 0)
	{
		memset(s->mark, 0, sizeof(uint32) * s->mark_size);
		s->generation = 1;
	}
}

/*
 * TestAndMark
 *		True if node was already seen in this search; marks it seen.
 */
static inline bool
TestAndMark(DiskannScratch *s, DiskannNode node)
{
	if (s->mark[node] == s->generation)
		return true;
	s->mark[node] = s->generation;
	return false;
}

/*
 * ListInsert
 *		Insert (node, dist) into the sorted list of at most L entries.
 *		Returns the position used, or -1 if it did not make the list.
 */
static int
ListInsert(DiskannCandidate *list, int *len, int L, DiskannNode node, float dist)
{
	int			pos = *len;

	if (*len == L && dist >= list[L - 1].distance)
		return -1;
	while (pos > 0 && list[pos - 1].distance > dist)
		pos--;
	memmove(&list[pos + 1], &list[pos],
			sizeof(DiskannCandidate) * (Min(*len, L - 1) - pos));
	list[pos].node = node;
	list[pos].distance = dist;
	list[pos].expanded = false;
	if (*len < L)
		(*len)++;
	return pos;
}

/*
 * AddVisited
 *		Append an expanded node to the scratch visited array.
 */
static void
AddVisited(DiskannScratch *s, int *nvisited, DiskannCandidate *c)
{
	if (*nvisited >= s->visited_cap)
	{
		s->visited_cap *= 2;
		s->visited = repalloc(s->visited, sizeof(DiskannCandidate) * s->visited_cap);
	}
	s->visited[(*nvisited)++] = *c;
}

/*
 * DiskannGreedySearch
 *		Vamana's GreedySearch from the entry point towards query with list
 *		size L.  Returns the number of nodes in the final list (closest
 *		first, in the scratch list); *visited gets every expanded node with
 *		its distance, and *nvisited their count.  Node skip (or
 *		DISKANN_INVALID_NODE) is never put on the list.
 */
int
DiskannGreedySearch(DiskannGraph *g, const float *query, int L,
					DiskannNode skip, DiskannCandidate **visited, int *nvisited)
{
	DiskannScratch *s = g->scratch;
	DiskannCandidate *list = s->list;
	int			len = 0;
	int			cur = 0;
	int			nv = 0;

	*nvisited = 0;
	*visited = s->visited;
	if (g->entry_point == DISKANN_INVALID_NODE)
		return 0;

	ScratchNewGeneration(g);
	TestAndMark(s, g->entry_point);
	ListInsert(list, &len, L, g->entry_point,
			   g->node_distance(g, g->entry_point, query));

	while (cur < len)
	{
		DiskannCandidate *c = &list[cur];
		int			n;
		int			nnew;

		c->expanded = true;
		if (c->node != skip)
			AddVisited(s, &nv, c);
		n = g->get_neighbors(g, c->node, s->nbrs);
		cur++;

		/* keep the unseen neighbours, and start fetching their vectors */
		nnew = 0;
		for (int i = 0; i < n; i++)
			if (!TestAndMark(s, s->nbrs[i]))
				s->nbrs[nnew++] = s->nbrs[i];
		if (g->prefetch)
			for (int i = 0; i < Min(nnew, PREFETCH_AHEAD); i++)
				g->prefetch(g, s->nbrs[i]);

		for (int i = 0; i < nnew; i++)
		{
			DiskannNode q = s->nbrs[i];
			int			pos;

			if (g->prefetch && i + PREFETCH_AHEAD < nnew)
				g->prefetch(g, s->nbrs[i + PREFETCH_AHEAD]);
			pos = ListInsert(list, &len, L, q, g->node_distance(g, q, query));
			if (pos >= 0 && pos < cur)
				cur = pos;
		}
		while (cur < len && list[cur].expanded)
			cur++;
	}

	*visited = s->visited;
	*nvisited = nv;
	return len;
}

/*
 * CandidateCmp
 *		qsort comparator: by distance, then tiebreak, then node number.
 */
static int
CandidateCmp(const void *a, const void *b)
{
	const DiskannCandidate *ca = a;
	const DiskannCandidate *cb = b;

	if (ca->distance < cb->distance)
		return -1;
	if (ca->distance > cb->distance)
		return 1;
	if (ca->tiebreak != cb->tiebreak)
		return ca->tiebreak < cb->tiebreak ? -1 : 1;
	if (ca->node < cb->node)
		return -1;
	return ca->node > cb->node;
}

/*
 * RobustPrune
 *		Vamana's RobustPrune: choose at most R out-neighbours for node p
 *		(whose vector is pvec) from the n candidates in pool, which carry
 *		their distances to p.  Writes the choice into out and returns its
 *		length.  The pool is sorted in place; p itself and duplicates of
 *		a candidate are dropped.
 */
static int
RobustPrune(DiskannGraph *g, DiskannNode p, DiskannCandidate *pool, int n,
			DiskannNode *out)
{
	DiskannScratch *s = g->scratch;
	bool	   *pruned = s->pruned;
	int			R = g->num_neighbors;
	int			nout = 0;
	int			ncopies = 0;
	float		alpha = DiskannPruneAlpha(g->metric, g->alpha);

	/* 1 - dot of a unit vector with itself is only 0 up to rounding */
	float		copy_distance = g->metric == DISKANN_METRIC_COSINE ? 1e-6f : 0.0f;

	/*
	 * Equal distances (copies of a vector) are ordered by a hash of the pair
	 * rather than by node number: otherwise every copy would pick the same
	 * few copies as neighbours and the others would get no in-edges.
	 */
	for (int i = 0; i < n; i++)
		pool[i].tiebreak = murmurhash32(pool[i].node ^ (p * 0x9E3779B9u));
	qsort(pool, n, sizeof(DiskannCandidate), CandidateCmp);
	for (int i = 0; i < n; i++)
		pruned[i] = (pool[i].node == p ||
					 (i > 0 && pool[i].node == pool[i - 1].node));

	for (int i = 0; i < n && nout < R; i++)
	{
		const float *starvec;

		if (pruned[i])
			continue;

		/*
		 * A copy of p (distance 0) says nothing about direction: with it as
		 * p*, every other candidate would be pruned and groups of identical
		 * vectors would close into islands.  Keep up to R/2 copies without
		 * letting them prune.
		 */
		if (g->metric != DISKANN_METRIC_IP && pool[i].distance <= copy_distance)
		{
			if (ncopies < R / 2)
			{
				out[nout++] = pool[i].node;
				ncopies++;
			}
			continue;
		}
		out[nout++] = pool[i].node;
		if (nout == R)
			break;
		starvec = g->get_vector(g, pool[i].node, s->vec2);
		for (int j = i + 1; j < n; j++)
		{
			if (pruned[j])
				continue;
			if (g->prefetch && j + PREFETCH_AHEAD < n)
				g->prefetch(g, pool[j + PREFETCH_AHEAD].node);
			if (alpha * g->node_distance(g, pool[j].node, starvec) <= pool[j].distance)
				pruned[j] = true;
		}
	}
	return nout;
}

/*
 * EnsurePool
 *		Make room for n prune candidates in the scratch pool.
 */
static void
EnsurePool(DiskannScratch *s, int n)
{
	if (n <= s->pool_cap)
		return;
	s->pool_cap = n * 2;
	s->pool = repalloc(s->pool, sizeof(DiskannCandidate) * s->pool_cap);
	s->pruned = repalloc(s->pruned, sizeof(bool) * s->pool_cap);
}

/*
 * PruneNeighbors
 *		Cut node j's n out-neighbours in nbrs (plus extra, unless it is
 *		DISKANN_INVALID_NODE) down to at most R with RobustPrune, and store
 *		the result.
 */
static void
PruneNeighbors(DiskannGraph *g, DiskannNode j, DiskannNode *nbrs, int n,
			   DiskannNode extra)
{
	DiskannScratch *s = g->scratch;
	const float *jvec;

	EnsurePool(s, n + 1);
	jvec = g->get_vector(g, j, s->vec2);
	memcpy(s->vec2, jvec, sizeof(float) * g->dimensions);
	jvec = s->vec2;
	for (int i = 0; i < n; i++)
	{
		s->pool[i].node = nbrs[i];
		s->pool[i].distance = g->node_distance(g, nbrs[i], jvec);
	}
	if (extra != DISKANN_INVALID_NODE)
	{
		s->pool[n].node = extra;
		s->pool[n].distance = g->node_distance(g, extra, jvec);
		n++;
	}
	n = RobustPrune(g, j, s->pool, n, nbrs);
	g->set_neighbors(g, j, nbrs, n);
}

/*
 * AddBackEdge
 *		Give node j an edge to p.  A list may grow to g->max_degree (slack
 *		over R during an in-memory build); beyond that, j's neighbours plus
 *		p are pruned to R.
 */
static void
AddBackEdge(DiskannGraph *g, DiskannNode j, DiskannNode p)
{
	DiskannScratch *s = g->scratch;
	DiskannNode *nbrs = s->nbrs2;
	int			n = g->get_neighbors(g, j, nbrs);

	for (int i = 0; i < n; i++)
		if (nbrs[i] == p)
			return;
	if (n < g->max_degree)
	{
		nbrs[n++] = p;
		g->set_neighbors(g, j, nbrs, n);
		return;
	}
	PruneNeighbors(g, j, nbrs, n, p);
}

/*
 * DiskannTrimNode
 *		Prune a node whose list grew past R (build slack) back to R.
 */
void
DiskannTrimNode(DiskannGraph *g, DiskannNode node)
{
	DiskannScratch *s = g->scratch;
	int			n = g->get_neighbors(g, node, s->nbrs2);

	if (n > g->num_neighbors)
		PruneNeighbors(g, node, s->nbrs2, n, DISKANN_INVALID_NODE);
}

/*
 * LinkNode
 *		Choose node p's out-neighbours from the nodes the last search
 *		expanded (plus its current out-neighbours) and add back edges.
 */
static void
LinkNode(DiskannGraph *g, DiskannNode p, const float *vec,
		 DiskannCandidate *visited, int nvisited)
{
	DiskannScratch *s = g->scratch;
	DiskannNode *out;
	int			ncur;
	int			n;

	ncur = g->get_neighbors(g, p, s->nbrs);
	EnsurePool(s, nvisited + ncur);
	memcpy(s->pool, visited, sizeof(DiskannCandidate) * nvisited);
	for (int i = 0; i < ncur; i++)
	{
		s->pool[nvisited + i].node = s->nbrs[i];
		s->pool[nvisited + i].distance = g->node_distance(g, s->nbrs[i], vec);
	}
	out = palloc(sizeof(DiskannNode) * g->num_neighbors);
	n = RobustPrune(g, p, s->pool, nvisited + ncur, out);
	g->set_neighbors(g, p, out, n);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		AddBackEdge(g, out[i], p);
	}
	pfree(out);
}

/*
 * DiskannInsertNode
 *		FreshVamana insert of node (vector vec, already stored in the graph
 *		with no out-edges): search for it, prune, add back edges.  The first
 *		node becomes the entry point.
 */
void
DiskannInsertNode(DiskannGraph *g, DiskannNode node, const float *vec)
{
	DiskannCandidate *visited;
	int			nvisited;

	if (g->entry_point == DISKANN_INVALID_NODE)
	{
		g->entry_point = node;
		return;
	}
	DiskannGreedySearch(g, vec, g->search_list_size, node, &visited, &nvisited);
	LinkNode(g, node, vec, visited, nvisited);
}

/*
 * DiskannRefineNode
 *		Vamana's second pass for one node: search for its own vector and
 *		re-prune its out-neighbours with the graph's current alpha.
 */
void
DiskannRefineNode(DiskannGraph *g, DiskannNode node)
{
	DiskannScratch *s = g->scratch;
	DiskannCandidate *visited;
	int			nvisited;
	float	   *vec = palloc(sizeof(float) * g->dimensions);

	memcpy(vec, g->get_vector(g, node, s->vec1), sizeof(float) * g->dimensions);
	DiskannGreedySearch(g, vec, g->search_list_size, node, &visited, &nvisited);
	LinkNode(g, node, vec, visited, nvisited);
	pfree(vec);
}

/*
 * MarkReachable
 *		Breadth-first walk from start over nodes not yet marked, marking
 *		them in reached.  queue has room for every node.
 */
static void
MarkReachable(DiskannGraph *g, DiskannNode start, bool *reached, DiskannNode *queue)
{
	DiskannScratch *s = g->scratch;
	uint32		head = 0,
				tail = 0;

	if (reached[start])
		return;
	reached[start] = true;
	queue[tail++] = start;
	while (head < tail)
	{
		int			n = g->get_neighbors(g, queue[head++], s->nbrs2);

		for (int i = 0; i < n; i++)
			if (!reached[s->nbrs2[i]])
			{
				reached[s->nbrs2[i]] = true;
				queue[tail++] = s->nbrs2[i];
			}
	}
}

/*
 * LinkFromReachable
 *		Give unreachable node u an in-edge from the closest reachable node
 *		that has room, found by a greedy search for u's vector (a search
 *		only walks reachable nodes).  If none of them has room, splice u
 *		into the closest one's last edge: v -> w becomes v -> u -> w.  That
 *		strands nothing: u was unreachable, so no path went through its
 *		out-edges, and w stays reachable through u.
 */
static void
LinkFromReachable(DiskannGraph *g, DiskannNode u)
{
	DiskannScratch *s = g->scratch;
	DiskannCandidate *visited;
	int			nvisited;
	int			len;
	float	   *vec = s->vec1;
	DiskannNode v = DISKANN_INVALID_NODE;
	DiskannNode w;
	int			n;

	memcpy(vec, g->get_vector(g, u, s->vec1), sizeof(float) * g->dimensions);
	len = DiskannGreedySearch(g, vec, g->search_list_size, u, &visited, &nvisited);
	for (int i = 0; i < len; i++)
	{
		if (s->list[i].node == u)
			continue;
		if (v == DISKANN_INVALID_NODE)
			v = s->list[i].node;
		n = g->get_neighbors(g, s->list[i].node, s->nbrs2);
		if (n < g->num_neighbors)
		{
			s->nbrs2[n++] = u;
			g->set_neighbors(g, s->list[i].node, s->nbrs2, n);
			return;
		}
	}
	if (v == DISKANN_INVALID_NODE)
		v = g->entry_point;

	/* splice: v -> u -> w */
	n = g->get_neighbors(g, v, s->nbrs2);
	w = s->nbrs2[n - 1];
	s->nbrs2[n - 1] = u;
	g->set_neighbors(g, v, s->nbrs2, n);

	n = g->get_neighbors(g, u, s->nbrs2);
	for (int i = 0; i < n; i++)
		if (s->nbrs2[i] == w)
			return;
	if (n < g->num_neighbors)
		s->nbrs2[n++] = w;
	else
		s->nbrs2[n - 1] = w;
	g->set_neighbors(g, u, s->nbrs2, n);
}

/*
 * DiskannRepairReachability
 *		Make every node reachable from the entry point: Vamana's pruning
 *		can leave a few nodes without in-edges.  Each unreachable node gets
 *		an in-edge from a nearby reachable one.  Returns how many nodes
 *		needed one.
 */
uint32
DiskannRepairReachability(DiskannGraph *g)
{
	bool	   *reached;
	DiskannNode *queue;
	uint32		repaired = 0;

	if (g->entry_point == DISKANN_INVALID_NODE)
		return 0;
	reached = palloc0(sizeof(bool) * g->num_nodes);
	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DiskannNode) * g->num_nodes);

	/* linking never strands a reached node, so one sweep suffices */
	MarkReachable(g, g->entry_point, reached, queue);
	for (DiskannNode u = 0; u < g->num_nodes; u++)
	{
		CHECK_FOR_INTERRUPTS();
		if (reached[u])
			continue;
		LinkFromReachable(g, u);
		MarkReachable(g, u, reached, queue);
		repaired++;
	}
	pfree(reached);
	pfree(queue);
	return repaired;
}
