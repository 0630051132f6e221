/*
 * diskann_insert.c
 *		aminsert for diskann: FreshVamana insertion into the graph in pages.
 *
 * An insert claims a slot (a free one through the free space map, or a new
 * group at the end of the index), writes the vector, searches the graph
 * for it, prunes its out-edges, adds back edges to it, and finally marks
 * it live.  Every step is its own GenericXLog record over one page and
 * leaves a valid graph; the node is returned by scans only once live, and
 * all of it is logged before the transaction's commit record.  Locking:
 * see diskann_storage.c.
 */
#include "postgres.h"

#include "diskann.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "vector.h"

/* What one statement's inserts share (ii_AmCache) */
typedef struct DiskannInsertState
{
	DiskannLayout layout;
	DiskannGraph *graph;
	float	   *vec;			/* the prepared vector */
	char	   *filter;			/* its filter record */
	int			vcol;			/* the vector's key column (0-based) */
	MemoryContext tmpctx;		/* reset after every tuple */
} DiskannInsertState;

/*
 * DiskannInsertTuple
 *		Insert heaptid with index-form vector vec and filter record filter
 *		into the index through the on-disk graph g (whose vectors are in
 *		graph form: vec is coded and rotated under compressed storage).  Takes no lock across steps (see diskann_storage.c).
 */
void
DiskannInsertTuple(Relation index, const DiskannLayout *layout, DiskannGraph *g,
				   ItemPointer heaptid, const float *vec, const char *filter)
{
	DiskannMetaPageData meta;
	DiskannNode node;
	uint32		generation;
	float	   *gbuf = palloc(sizeof(float) * layout->graph_dims);
	const float *gvec = DiskannGraphForm(layout, vec, gbuf);

	DiskannReadMeta(index, &meta);
	node = DiskannClaimSlot(index, layout, heaptid, filter, &generation);
	DiskannWriteVector(index, layout, node, generation, vec, filter);

	if (meta.entry_point == DISKANN_INVALID_NODE)
	{
		bool		changed;

		/* the first node of an empty index becomes its entry point */
		DiskannSetEntryPoint(index, DISKANN_INVALID_NODE, node, &changed);
		if (!changed)
			DiskannReadMeta(index, &meta);
	}
	if (meta.entry_point != DISKANN_INVALID_NODE && meta.entry_point != node)
	{
		g->entry_point = meta.entry_point;
		if (DiskannInsertNode(g, node, gvec) == 0)
		{
			DiskannNodeHeader hdr;
			bool		changed;

			/*
			 * Nothing to link to: every node the search reached was deleted
			 * since (VACUUM emptied the index meanwhile).  Become the entry
			 * point if the old one is gone.
			 */
			DiskannReadHead(index, layout, meta.entry_point, &hdr, NULL);
			if (!DiskannNodeUsable(hdr.flags))
				DiskannSetEntryPoint(index, meta.entry_point, node, &changed);
		}
	}
	DiskannUpdateHead(index, layout, node, generation, DISKANN_NODE_NEW, DISKANN_NODE_LIVE);
	pfree(gbuf);
}

/*
 * DiskannInsertListSize
 *		The search list size of an insert: half the index's search_list_size
 *		(as the build's first pass), at least R.  Measured on Fashion-MNIST,
 *		60,000 rows loaded into an empty index by COPY at the defaults: the
 *		full 100 took 67.6 s and gave recall@10 0.984 / 0.997 / 0.998 at
 *		query list sizes 10 / 20 / 40; 64 took 48.1 s for 0.980 / 0.997 /
 *		0.998.
 */
int
DiskannInsertListSize(DiskannMetaPage meta)
{
	return Max(meta->num_neighbors, meta->search_list_size / 2);
}

/*
 * GetInsertState
 *		The statement's insert state, made on its first insert in the
 *		executor's per-statement context.
 */
static DiskannInsertState *
GetInsertState(Relation index, IndexInfo *indexInfo)
{
	DiskannInsertState *is = indexInfo->ii_AmCache;
	MemoryContext oldctx;
	DiskannMetaPageData meta;

	if (is != NULL)
		return is;
	oldctx = MemoryContextSwitchTo(indexInfo->ii_Context);
	is = palloc0(sizeof(DiskannInsertState));
	DiskannReadMeta(index, &meta);
	DiskannLayoutFromMeta(index, &is->layout, &meta);
	is->graph = DiskannOpenDiskGraph(index, &is->layout, meta.entry_point,
									 DiskannInsertListSize(&meta), meta.max_alpha);
	is->vec = palloc(sizeof(float) * is->layout.dimensions);
	is->filter = palloc0(Max(is->layout.filter_size, 1));
	is->vcol = DiskannVectorColumn(index);
	is->tmpctx = AllocSetContextCreate(indexInfo->ii_Context, "diskann insert",
									   ALLOCSET_DEFAULT_SIZES);
	indexInfo->ii_AmCache = is;
	MemoryContextSwitchTo(oldctx);
	return is;
}

/*
 * diskanninsert
 *		Insert one heap tuple's vector and filter values.  NULL vectors and,
 *		under cosine, zero vectors are not indexed.
 */
bool
diskanninsert(Relation index, Datum *values, bool *isnull,
			  ItemPointer heap_tid, Relation heap,
			  IndexUniqueCheck checkUnique, bool indexUnchanged,
			  IndexInfo *indexInfo)
{
	DiskannInsertState *is;
	MemoryContext oldctx;
	Vector	   *v;

	is = GetInsertState(index, indexInfo);
	if (isnull[is->vcol])
		return false;
	oldctx = MemoryContextSwitchTo(is->tmpctx);
	v = DatumGetVector(values[is->vcol]);
	if (v->dim != (int) is->layout.dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %d", is->layout.dimensions, v->dim)));
	if (DiskannPrepareVector(is->layout.metric, v->x, is->vec, v->dim))
	{
		DiskannFormFilterRecord(index, &is->layout, values, isnull, is->filter);
		DiskannInsertTuple(index, &is->layout, is->graph, heap_tid, is->vec, is->filter);
	}
	MemoryContextSwitchTo(oldctx);
	MemoryContextReset(is->tmpctx);
	return false;
}
