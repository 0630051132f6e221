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
#include "utils/memutils.h"

/* How many nodes ahead of use vectors are prefetched (memory latency) */
#define PREFETCH_AHEAD 2

/* Per-graph working memory */
typedef struct DiskannScratch
{
	uint32	   *mark;			/* visited marks, one per node number */
	uint32		mark_size;		/* entries allocated in mark */
	uint32		generation;		/* current mark value */
	DiskannNode *hash;			/* sparse visited set: open addressing */
	uint32		hash_size;		/* a power of 2 */
	uint32		hash_used;
	DiskannNode watch;			/* node whose in-neighbours a search records */
	DiskannNodeArray innbrs;	/* expanded nodes listing watch */
	DiskannCandidate *list;		/* greedy search list, list_cap entries */
	int			list_cap;
	DiskannCandidate *visited;	/* expanded nodes of the last search */
	int			visited_cap;
	DiskannCandidate *pool;		/* RobustPrune candidates */
	int			pool_cap;
	DiskannNode *nbrs;			/* a neighbour list, R entries */
	DiskannNode *nbrs2;			/* a second one */
	DiskannNode *nbrs3;			/* a third one */
	DiskannNodeArray handover;	/* nodes dropped for the node being linked */
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

	if (g->sparse_visited)
	{
		s->hash_size = 1024;
		s->hash = palloc(sizeof(DiskannNode) * s->hash_size);
	}
	else
	{
		s->mark_size = Max(g->num_nodes, 1024);
		s->mark = palloc0(sizeof(uint32) * s->mark_size);
	}
	s->generation = 0;
	s->watch = DISKANN_INVALID_NODE;
	DiskannNodeArrayInit(&s->innbrs, 2 * R + 2);
	s->list_cap = L + 1;
	s->list = palloc(sizeof(DiskannCandidate) * s->list_cap);
	s->visited_cap = 4 * L;
	s->visited = palloc(sizeof(DiskannCandidate) * s->visited_cap);
	s->pool_cap = 4 * L + 2 * R + 2;
	s->pool = palloc(sizeof(DiskannCandidate) * s->pool_cap);
	s->pruned = palloc(sizeof(bool) * s->pool_cap);
	s->nbrs = palloc(sizeof(DiskannNode) * (R + 1));
	s->nbrs2 = palloc(sizeof(DiskannNode) * (R + 1));
	s->nbrs3 = palloc(sizeof(DiskannNode) * (R + 1));
	DiskannNodeArrayInit(&s->handover, 2 * R + 2);
	s->vec1 = palloc(sizeof(float) * g->dimensions);
	s->vec2 = palloc(sizeof(float) * g->dimensions);
	g->scratch = s;
}

/*
 * DiskannNodeArrayInit
 *		An empty array of node numbers with room for cap, in the current
 *		memory context (growing keeps it there).
 */
void
DiskannNodeArrayInit(DiskannNodeArray *a, uint32 cap)
{
	a->cap = Max(cap, 1);
	a->n = 0;
	a->nodes = palloc(sizeof(DiskannNode) * a->cap);
}

/*
 * DiskannNodeArrayAppend
 *		Append node to a, doubling its room when full.
 */
void
DiskannNodeArrayAppend(DiskannNodeArray *a, DiskannNode node)
{
	if (a->n == a->cap)
	{
		a->cap *= 2;
		a->nodes = repalloc_huge(a->nodes, sizeof(DiskannNode) * a->cap);
	}
	a->nodes[a->n++] = node;
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

	if (g->sparse_visited)
	{
		memset(s->hash, 0xFF, sizeof(DiskannNode) * s->hash_size);
		s->hash_used = 0;
		return;
	}
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
 * HashTestAndAdd
 *		The sparse visited set: true if node is in it; adds it.  Grows at
 *		half load, so its size follows the nodes a search visits.
 */
static bool
HashTestAndAdd(DiskannScratch *s, DiskannNode node)
{
	uint32		mask = s->hash_size - 1;
	uint32		i = murmurhash32(node) & mask;

	while (s->hash[i] != DISKANN_INVALID_NODE)
	{
		if (s->hash[i] == node)
			return true;
		i = (i + 1) & mask;
	}
	s->hash[i] = node;
	if (++s->hash_used * 2 > s->hash_size)
	{
		DiskannNode *old = s->hash;
		uint32		oldsize = s->hash_size;

		s->hash_size *= 2;
		s->hash = MemoryContextAlloc(GetMemoryChunkContext(old),
									 sizeof(DiskannNode) * s->hash_size);
		memset(s->hash, 0xFF, sizeof(DiskannNode) * s->hash_size);
		mask = s->hash_size - 1;
		for (uint32 j = 0; j < oldsize; j++)
		{
			if (old[j] == DISKANN_INVALID_NODE)
				continue;
			i = murmurhash32(old[j]) & mask;
			while (s->hash[i] != DISKANN_INVALID_NODE)
				i = (i + 1) & mask;
			s->hash[i] = old[j];
		}
		pfree(old);
	}
	return false;
}

/*
 * TestAndMark
 *		True if node was already seen in this search; marks it seen.
 */
static inline bool
TestAndMark(DiskannScratch *s, DiskannNode node)
{
	if (s->hash)
		return HashTestAndAdd(s, node);
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
	list[pos].flags = 0;
	list[pos].tiebreak = 0;		/* equal distances: by node number */
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
	s->innbrs.n = 0;
	if (L + 1 > s->list_cap)
	{
		/* a search with a longer list than the graph's (delete repair) */
		s->list_cap = L + 1;
		s->list = repalloc(s->list, sizeof(DiskannCandidate) * s->list_cap);
	}
	list = s->list;
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
		n = g->get_neighbors(g, c->node, s->nbrs, &c->flags);
		if (c->node != skip)
			AddVisited(s, &nv, c);
		cur++;

		/* keep the unseen neighbours, and start fetching their vectors */
		nnew = 0;
		for (int i = 0; i < n; i++)
		{
			if (s->nbrs[i] == s->watch)
				DiskannNodeArrayAppend(&s->innbrs, c->node);
			if (s->nbrs[i] != DISKANN_INVALID_NODE && !TestAndMark(s, s->nbrs[i]))
				s->nbrs[nnew++] = s->nbrs[i];
		}
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
				pruned[i] = true;	/* taken */
				ncopies++;
			}
			continue;
		}
		out[nout++] = pool[i].node;
		pruned[i] = true;		/* taken */
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

	/*
	 * Room left: in a graph in pages, fill it with the copies the R/2 cap
	 * passed over rather than leave it empty: among many copies of one
	 * vector, an insert's prune that cuts a list to R/2 strands the copies
	 * it drops.  (A build repairs reachability at its end instead.)
	 */
	for (int i = 0; g->sparse_visited && i < n && nout < R; i++)
		if (!pruned[i] && g->metric != DISKANN_METRIC_IP && pool[i].distance <= copy_distance)
			out[nout++] = pool[i].node;
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

/* Attempts at a conditional list update before an edge is given up */
#define UPDATE_ATTEMPTS 10

/*
 * PruneList
 *		RobustPrune node j's n candidate neighbours in nbrs (plus extra,
 *		unless it is DISKANN_INVALID_NODE) down to at most R, into out.
 *		Returns the new length.  Takes no locks beyond reading vectors.
 */
static int
PruneList(DiskannGraph *g, DiskannNode j, const DiskannNode *nbrs, int n,
		  DiskannNode extra, DiskannNode *out)
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
	return RobustPrune(g, j, s->pool, n, out);
}

/*
 * ListContains
 *		True if node is among the n entries of list.
 */
static bool
ListContains(const DiskannNode *list, int n, DiskannNode node)
{
	for (int i = 0; i < n; i++)
		if (list[i] == node)
			return true;
	return false;
}

/*
 * AddBackEdge
 *		Give node j an edge to p.  A list may grow to g->max_degree (slack
 *		over R during an in-memory build); beyond that, j's neighbours plus
 *		p are pruned to R (and if p does not survive the prune, j is left
 *		as it was).  The change is applied only to the list it was computed
 *		from; a concurrent change makes it start over.  Nodes that may not
 *		be linked to (deleted, free) get no edges.  Without prune, a full
 *		list is left as it is.  Returns whether j's list holds p afterwards.
 */
static bool
AddBackEdge(DiskannGraph *g, DiskannNode j, DiskannNode p, bool prune)
{
	DiskannScratch *s = g->scratch;
	DiskannNode *nbrs = s->nbrs2;
	DiskannNode *out = s->nbrs3;

	for (int attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++)
	{
		uint8		flags;
		int			n = g->get_neighbors(g, j, nbrs, &flags);
		int			nout;

		if (!DiskannNodeUsable(flags))
			return false;
		if (ListContains(nbrs, n, p))
			return true;
		if (n < g->max_degree)
		{
			memcpy(out, nbrs, sizeof(DiskannNode) * n);
			out[n] = p;
			nout = n + 1;
		}
		else if (!prune)
			return false;
		else
		{
			nout = PruneList(g, j, nbrs, n, p, out);

			/*
			 * p did not survive: leave j as it is, unless j's list is in
			 * the build's slack over R, where the pruned list makes room
			 * for the next back edges (else every one of them prunes j
			 * again)
			 */
			if (!ListContains(out, nout, p) && n <= g->num_neighbors)
				return false;
		}
		if (g->update_neighbors(g, j, nbrs, n, out, nout))
		{
			/*
			 * the nodes j dropped for p: p takes them over (see LinkNode; a
			 * build repairs reachability at its end instead)
			 */
			for (int i = 0; g->sparse_visited && nout <= n && i < n; i++)
				if (!ListContains(out, nout, nbrs[i]))
					DiskannNodeArrayAppend(&s->handover, nbrs[i]);
			return ListContains(out, nout, p);
		}
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * TakeOver
 *		Give p edges to the nodes its neighbours' prunes dropped when they
 *		took an edge to p: j -> x became j -> p, so p -> x keeps x reachable
 *		(a prune may have dropped x's last in-edge; nobody knows in-degrees).
 *		Where p's list is full, the handed-over nodes replace p's own
 *		farthest out-edges, which are not needed for reachability: they
 *		lead to nodes that had in-edges before p existed (those that lost
 *		them to a prune here are handed over themselves and kept).
 *		Conditional, retried.
 */
static void
TakeOver(DiskannGraph *g, DiskannNode p)
{
	DiskannScratch *s = g->scratch;

	for (int attempt = 0; attempt < UPDATE_ATTEMPTS && s->handover.n > 0; attempt++)
	{
		int			n = g->get_neighbors(g, p, s->nbrs2, NULL);
		int			nn = n;
		int			replace_at = n - 1;
		bool		changed = false;

		memcpy(s->nbrs3, s->nbrs2, sizeof(DiskannNode) * n);
		for (uint32 i = 0; i < s->handover.n; i++)
		{
			DiskannNode h = s->handover.nodes[i];

			if (h == p || ListContains(s->nbrs3, nn, h))
				continue;
			if (nn < g->num_neighbors)
				s->nbrs3[nn++] = h;
			else
			{
				while (replace_at >= 0 &&
					   ListContains(s->handover.nodes, s->handover.n, s->nbrs3[replace_at]))
					replace_at--;
				if (replace_at < 0)
					break;
				s->nbrs3[replace_at--] = h;
			}
			changed = true;
		}
		if (!changed || g->update_neighbors(g, p, s->nbrs2, n, s->nbrs3, nn))
			break;
	}
	s->handover.n = 0;
}

/*
 * SpliceEdge
 *		Make u reachable through v without stranding anything: v's last
 *		edge v -> w becomes v -> u, and u gets an edge to w, so w stays
 *		reachable (when v has room, u is just added).  Conditional updates,
 *		retried on concurrent changes.  Returns whether v links to u.
 */
static bool
SpliceEdge(DiskannGraph *g, DiskannNode v, DiskannNode u)
{
	DiskannScratch *s = g->scratch;
	DiskannNode w = DISKANN_INVALID_NODE;
	bool		linked = false;

	for (int attempt = 0; attempt < UPDATE_ATTEMPTS && !linked; attempt++)
	{
		uint8		flags;
		int			n = g->get_neighbors(g, v, s->nbrs2, &flags);
		int			nn = n;

		if (!DiskannNodeUsable(flags) || v == u)
			return false;
		if (ListContains(s->nbrs2, n, u))
			return true;
		memcpy(s->nbrs3, s->nbrs2, sizeof(DiskannNode) * n);
		if (n < g->num_neighbors)
			s->nbrs3[nn++] = u;
		else
		{
			w = s->nbrs3[n - 1];
			s->nbrs3[n - 1] = u;
		}
		linked = g->update_neighbors(g, v, s->nbrs2, n, s->nbrs3, nn);
	}
	if (!linked || w == DISKANN_INVALID_NODE || w == u)
		return linked;
	for (int attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++)
	{
		int			n = g->get_neighbors(g, u, s->nbrs2, NULL);
		int			nn = n;

		if (ListContains(s->nbrs2, n, w))
			break;
		memcpy(s->nbrs3, s->nbrs2, sizeof(DiskannNode) * n);
		if (n < g->num_neighbors)
			s->nbrs3[nn++] = w;
		else
			s->nbrs3[n - 1] = w;
		if (g->update_neighbors(g, u, s->nbrs2, n, s->nbrs3, nn))
			break;
	}
	return true;
}

/*
 * DiskannTrimNode
 *		Prune a node whose list grew past R (build slack) back to R.
 */
void
DiskannTrimNode(DiskannGraph *g, DiskannNode node)
{
	DiskannScratch *s = g->scratch;

	for (int attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++)
	{
		int			n = g->get_neighbors(g, node, s->nbrs2, NULL);
		int			nout;

		if (n <= g->num_neighbors)
			return;
		nout = PruneList(g, node, s->nbrs2, n, DISKANN_INVALID_NODE, s->nbrs3);
		if (g->update_neighbors(g, node, s->nbrs2, n, s->nbrs3, nout))
			return;
	}
}

/*
 * LinkNode
 *		Choose node p's out-neighbours from the nodes the last search
 *		expanded that may be linked to (plus its current out-neighbours),
 *		and add back edges.  Returns p's out-degree.
 */
static int
LinkNode(DiskannGraph *g, DiskannNode p, const float *vec,
		 DiskannCandidate *visited, int nvisited)
{
	DiskannScratch *s = g->scratch;
	DiskannNode *out = palloc(sizeof(DiskannNode) * g->num_neighbors);
	int			n = 0;
	int			linked = 0;

	for (int attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++)
	{
		int			ncur = g->get_neighbors(g, p, s->nbrs, NULL);
		int			npool = 0;

		EnsurePool(s, nvisited + ncur);
		for (int i = 0; i < nvisited; i++)
			if (DiskannNodeUsable(visited[i].flags))
				s->pool[npool++] = visited[i];
		for (int i = 0; i < ncur; i++)
		{
			s->pool[npool].node = s->nbrs[i];
			s->pool[npool].distance = g->node_distance(g, s->nbrs[i], vec);
			npool++;
		}
		n = RobustPrune(g, p, s->pool, npool, out);
		if (g->update_neighbors(g, p, s->nbrs, ncur, out, n))
			break;
		n = 0;
	}
	s->handover.n = 0;
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (AddBackEdge(g, out[i], p, true))
			linked++;
	}
	if (g->sparse_visited)
		TakeOver(g, p);
	s->handover.n = 0;

	/* every neighbour pruned p away: splice it in, or it is unreachable */
	if (n > 0 && linked == 0)
		SpliceEdge(g, out[0], p);
	pfree(out);
	return n;
}

/*
 * DiskannInsertNode
 *		FreshVamana insert of node (vector vec, already stored in the graph
 *		with no out-edges): search for it, prune, add back edges.  The first
 *		node becomes the entry point.  Returns the node's out-degree.
 */
int
DiskannInsertNode(DiskannGraph *g, DiskannNode node, const float *vec)
{
	DiskannCandidate *visited;
	int			nvisited;

	if (g->entry_point == DISKANN_INVALID_NODE)
	{
		g->entry_point = node;
		return 0;
	}
	DiskannGreedySearch(g, vec, g->search_list_size, node, &visited, &nvisited);
	return LinkNode(g, node, vec, visited, nvisited);
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
		uint8		flags;
		int			n = g->get_neighbors(g, queue[head++], s->nbrs2, &flags);

		if (flags & DISKANN_NODE_FREE)
			continue;			/* a stale list */
		for (int i = 0; i < n; i++)
			if (s->nbrs2[i] < g->num_nodes && !reached[s->nbrs2[i]])
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

	memcpy(vec, g->get_vector(g, u, s->vec1), sizeof(float) * g->dimensions);
	len = DiskannGreedySearch(g, vec, g->search_list_size, u, &visited, &nvisited);
	for (int i = 0; i < len; i++)
	{
		DiskannNode c = s->list[i].node;
		int			n;

		if (c == u || !DiskannNodeUsable(s->list[i].flags))
			continue;
		if (v == DISKANN_INVALID_NODE)
			v = c;
		n = g->get_neighbors(g, c, s->nbrs2, NULL);
		if (ListContains(s->nbrs2, n, u))
			return;				/* linked meanwhile (concurrent insert) */
		if (n < g->num_neighbors)
		{
			memcpy(s->nbrs3, s->nbrs2, sizeof(DiskannNode) * n);
			s->nbrs3[n] = u;
			if (g->update_neighbors(g, c, s->nbrs2, n, s->nbrs3, n + 1))
				return;
		}
	}
	SpliceEdge(g, v != DISKANN_INVALID_NODE ? v : g->entry_point, u);
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
	DiskannScratch *s = g->scratch;
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
		uint8		flags;

		CHECK_FOR_INTERRUPTS();
		if (reached[u])
			continue;
		g->get_neighbors(g, u, s->nbrs2, &flags);
		if (flags != DISKANN_NODE_LIVE)
			continue;
		LinkFromReachable(g, u);
		MarkReachable(g, u, reached, queue);
		repaired++;
	}
	pfree(reached);
	pfree(queue);
	return repaired;
}

/*
 * ClosestCandidates
 *		Sort the n usable candidates in cand by distance to vec (skipping
 *		node skip) and keep the closest max; returns how many.
 */
static int
ClosestCandidates(DiskannGraph *g, const float *vec, DiskannNode skip,
				  const DiskannCandidate *cand, int n, int max, DiskannCandidate *out)
{
	int			nout = 0;

	for (int i = 0; i < n; i++)
	{
		if (cand[i].node == skip)
			continue;
		out[nout].node = cand[i].node;
		out[nout].distance = g->node_distance(g, cand[i].node, vec);
		out[nout].tiebreak = 0;
		nout++;
	}
	qsort(out, nout, sizeof(DiskannCandidate), CandidateCmp);
	return Min(nout, max);
}

/*
 * ReplaceEdge
 *		IP-DiskANN's fix of in-neighbour z of deleted node p: drop z's edge
 *		to p and add edges to z's params->edges closest candidates
 *		(pruning z if its list overflows).  Applied to the list it was
 *		computed from, retried on a concurrent change.
 */
static void
ReplaceEdge(DiskannGraph *g, DiskannNode z, DiskannNode p,
			const DiskannCandidate *cand, int ncand, const DiskannRepairParams *params)
{
	DiskannScratch *s = g->scratch;
	DiskannCandidate *close = palloc(sizeof(DiskannCandidate) * Max(ncand, 1));
	float	   *zvec = palloc(sizeof(float) * g->dimensions);
	DiskannNode *merged = palloc(sizeof(DiskannNode) * (g->num_neighbors + params->edges + 1));
	int			nclose;

	nclose = ClosestCandidates(g, g->get_vector(g, z, zvec), z, cand, ncand,
							   params->edges, close);
	for (int attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++)
	{
		uint8		flags;
		int			n = g->get_neighbors(g, z, s->nbrs2, &flags);
		int			nmerged = 0;
		int			nout;

		if (!DiskannNodeUsable(flags) || !ListContains(s->nbrs2, n, p))
			break;
		for (int i = 0; i < n; i++)
			if (s->nbrs2[i] != p)
				merged[nmerged++] = s->nbrs2[i];
		for (int i = 0; i < nclose; i++)
			if (!ListContains(merged, nmerged, close[i].node))
				merged[nmerged++] = close[i].node;
		if (nmerged > g->num_neighbors && params->prune)
			nout = PruneList(g, z, merged, nmerged, DISKANN_INVALID_NODE, s->nbrs3);
		else if (nmerged > g->num_neighbors)
		{
			/* keep the old edges, and the candidates that fit */
			memcpy(s->nbrs3, merged, sizeof(DiskannNode) * g->num_neighbors);
			nout = g->num_neighbors;
		}
		else
		{
			memcpy(s->nbrs3, merged, sizeof(DiskannNode) * nmerged);
			nout = nmerged;
		}
		if (g->update_neighbors(g, z, s->nbrs2, n, s->nbrs3, nout))
			break;
		CHECK_FOR_INTERRUPTS();
	}
	pfree(close);
	pfree(zvec);
	pfree(merged);
}

/*
 * DiskannRepairDeleted
 *		IP-DiskANN's repair around deleted node p (vector pvec), which is
 *		already marked deleted: a greedy search for pvec finds p's
 *		approximate in-neighbours (expanded nodes whose list holds p, no
 *		distances needed) and replacement candidates (the params->candidates
 *		closest usable nodes found).  Each in-neighbour trades its edge to
 *		p for edges to its params->edges closest candidates; each usable
 *		out-neighbour of p gets an edge from each of its params->edges
 *		closest candidates.  Edges to p that the search did not find are
 *		swept later, without distances.
 */
void
DiskannRepairDeleted(DiskannGraph *g, DiskannNode p, const float *pvec,
					 const DiskannRepairParams *params)
{
	DiskannScratch *s = g->scratch;
	DiskannCandidate *visited;
	int			nvisited;
	DiskannCandidate *cand;
	int			ncand = 0;
	DiskannNode *innbrs;
	uint32		ninnbrs;
	DiskannNode *outnbrs = palloc(sizeof(DiskannNode) * (g->max_degree + 1));
	int			nout;
	DiskannCandidate *close;
	DiskannNode entry;

	/*
	 * The search starts at p itself (deleted, but its edges still lead to
	 * its neighbourhood, where its in-neighbours are), not at the entry
	 * point: that saves the walk there.
	 */
	entry = g->entry_point;
	if (params->start_at_node)
		g->entry_point = p;
	s->watch = p;
	DiskannGreedySearch(g, pvec, params->search_list_size, p, &visited, &nvisited);
	s->watch = DISKANN_INVALID_NODE;
	g->entry_point = entry;

	/* candidates: the closest usable nodes expanded (sorted by distance) */
	cand = palloc(sizeof(DiskannCandidate) * Max(nvisited, 1));
	for (int i = 0; i < nvisited; i++)
		if (DiskannNodeUsable(visited[i].flags))
			cand[ncand++] = visited[i];
	qsort(cand, ncand, sizeof(DiskannCandidate), CandidateCmp);
	ncand = Min(ncand, params->candidates);

	innbrs = palloc(sizeof(DiskannNode) * Max(s->innbrs.n, 1));
	ninnbrs = s->innbrs.n;
	memcpy(innbrs, s->innbrs.nodes, sizeof(DiskannNode) * ninnbrs);
	for (uint32 i = 0; i < ninnbrs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		ReplaceEdge(g, innbrs[i], p, cand, ncand, params);
	}

	nout = g->get_neighbors(g, p, outnbrs, NULL);
	close = palloc(sizeof(DiskannCandidate) * Max(ncand, 1));
	for (int i = 0; i < nout; i++)
	{
		uint8		flags;
		int			nclose;

		CHECK_FOR_INTERRUPTS();
		g->get_neighbors(g, outnbrs[i], s->nbrs2, &flags);
		if (!DiskannNodeUsable(flags))
			continue;
		nclose = ClosestCandidates(g, g->get_vector(g, outnbrs[i], s->vec1), outnbrs[i],
								   cand, ncand, params->edges, close);
		for (int j = 0; j < nclose; j++)
			AddBackEdge(g, close[j].node, outnbrs[i], params->prune);
	}
	pfree(close);
	pfree(cand);
	pfree(innbrs);
	pfree(outnbrs);
}

/*
 * DiskannClosestUsable
 *		The usable node closest to vec that a greedy search finds, other
 *		than skip; DISKANN_INVALID_NODE if there is none.
 */
DiskannNode
DiskannClosestUsable(DiskannGraph *g, const float *vec, DiskannNode skip)
{
	DiskannCandidate *visited;
	int			nvisited;
	DiskannNode best = DISKANN_INVALID_NODE;
	float		bestdist = 0;

	DiskannGreedySearch(g, vec, g->search_list_size, skip, &visited, &nvisited);
	for (int i = 0; i < nvisited; i++)
		if (DiskannNodeUsable(visited[i].flags) &&
			(best == DISKANN_INVALID_NODE || visited[i].distance < bestdist))
		{
			best = visited[i].node;
			bestdist = visited[i].distance;
		}
	return best;
}
