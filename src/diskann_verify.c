/*
 * diskann_verify.c
 *		SQL-callable inspection of a diskann index: diskann_verify() walks
 *		the graph and reports structural problems, diskann_stats() reports
 *		its shape.
 *
 * Both take an AccessShareLock on the index and read each node's header
 * and neighbour list under a share lock of its page(s), one node at a
 * time; they see a consistent graph when nothing modifies the index
 * concurrently.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "diskann.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

/* Headers and neighbour lists of all nodes of an index */
typedef struct GraphImage
{
	DiskannMetaPageData meta;
	DiskannLayout layout;
	BlockNumber nblocks;
	uint8	   *flags;
	uint16	   *degree;
	DiskannNode *nbrs;			/* num_slots x R */
} GraphImage;

/*
 * OpenDiskannIndex
 *		Open relid, checking that it is a diskann index.
 */
static Relation
OpenDiskannIndex(Oid relid)
{
	Relation	index = relation_open(relid, AccessShareLock);

	if (index->rd_rel->relkind != RELKIND_INDEX ||
		index->rd_indam == NULL || index->rd_indam->ambuild != diskannbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a diskann index", RelationGetRelationName(index))));
	return index;
}

/*
 * ReadGraphImage
 *		Copy every node's flags and edges into memory.
 */
static void
ReadGraphImage(Relation index, GraphImage *img)
{
	char	   *buf;
	int			R;

	DiskannReadMeta(index, &img->meta);
	DiskannLayoutFromMeta(&img->layout, &img->meta);
	img->nblocks = RelationGetNumberOfBlocks(index);
	R = img->layout.num_neighbors;
	img->flags = palloc0(Max(img->meta.num_slots, 1));
	img->degree = palloc0(sizeof(uint16) * Max(img->meta.num_slots, 1));
	img->nbrs = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(DiskannNode) * R * (Size) Max(img->meta.num_slots, 1));
	buf = palloc(img->layout.vector_offset);
	for (DiskannNode n = 0; n < img->meta.num_slots; n++)
	{
		DiskannNodeHeader *hdr = (DiskannNodeHeader *) buf;
		BlockNumber last;
		uint32		offset;

		CHECK_FOR_INTERRUPTS();
		DiskannNodePosition(&img->layout, n, img->layout.slot_size - 1, &last, &offset);
		if (last >= img->nblocks)
			break;				/* reported by the caller */
		DiskannReadSlotBytes(index, &img->layout, n, 0, img->layout.vector_offset, buf);
		img->flags[n] = hdr->flags;
		img->degree[n] = hdr->num_neighbors;
		memcpy(img->nbrs + (Size) n * R, buf + img->layout.neighbors_offset,
			   sizeof(DiskannNode) * R);
	}
	pfree(buf);
}

/*
 * Report
 *		Add one problem line to the result.
 */
static void
Report(Tuplestorestate *ts, TupleDesc desc, const char *fmt,...)
{
	char		msg[512];
	va_list		args;
	Datum		value;
	bool		isnull = false;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	value = CStringGetTextDatum(msg);
	tuplestore_putvalues(ts, desc, &value, &isnull);
}

/*
 * CheckNodes
 *		Per-node checks: flags, degree, neighbour references; and the
 *		metapage's counts.
 */
static void
CheckNodes(GraphImage *img, Tuplestorestate *ts, TupleDesc desc)
{
	int			R = img->layout.num_neighbors;
	uint32		live = 0,
				deleted = 0,
				freed = 0;

	for (DiskannNode n = 0; n < img->meta.num_slots; n++)
	{
		uint8		f = img->flags[n];
		DiskannNode *list = img->nbrs + (Size) n * R;

		if (f == DISKANN_NODE_LIVE)
			live++;
		else if (f == DISKANN_NODE_DELETED)
			deleted++;
		else if (f == DISKANN_NODE_FREE)
			freed++;
		else
		{
			Report(ts, desc, "node %u has invalid flags 0x%02x", n, f);
			continue;
		}
		if (f == DISKANN_NODE_FREE)
			continue;
		if (img->degree[n] > R)
		{
			Report(ts, desc, "node %u has %u neighbours, more than num_neighbors %d",
				   n, img->degree[n], R);
			continue;
		}
		for (int i = 0; i < img->degree[n]; i++)
		{
			DiskannNode q = list[i];

			if (q >= img->meta.num_slots)
				Report(ts, desc, "node %u has a neighbour %u beyond the last node %u",
					   n, q, img->meta.num_slots - 1);
			else if (q == n)
				Report(ts, desc, "node %u is its own neighbour", n);
			else if (img->flags[q] == DISKANN_NODE_FREE)
				Report(ts, desc, "node %u has a neighbour %u that is a free slot", n, q);
			for (int j = 0; j < i; j++)
				if (list[j] == q)
					Report(ts, desc, "node %u lists neighbour %u twice", n, q);
		}
	}
	if (live != img->meta.num_live)
		Report(ts, desc, "metapage counts %u live nodes, found %u", img->meta.num_live, live);
	if (deleted != img->meta.num_deleted)
		Report(ts, desc, "metapage counts %u deleted nodes, found %u", img->meta.num_deleted, deleted);
	if (freed != img->meta.num_free)
		Report(ts, desc, "metapage counts %u free slots, found %u", img->meta.num_free, freed);
}

/*
 * CheckReachability
 *		Every live node must be reachable from the entry point.
 */
static void
CheckReachability(GraphImage *img, Tuplestorestate *ts, TupleDesc desc)
{
	uint32		nslots = img->meta.num_slots;
	DiskannNode entry = img->meta.entry_point;
	int			R = img->layout.num_neighbors;
	bool	   *reached;
	DiskannNode *queue;
	uint32		qhead = 0,
				qtail = 0;
	uint32		unreachable = 0;

	if (entry == DISKANN_INVALID_NODE)
	{
		if (img->meta.num_live > 0)
			Report(ts, desc, "index has %u live nodes but no entry point", img->meta.num_live);
		return;
	}
	if (entry >= nslots || img->flags[entry] == DISKANN_NODE_FREE)
	{
		Report(ts, desc, "entry point %u is not a node", entry);
		return;
	}
	reached = palloc0(nslots);
	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DiskannNode) * nslots);
	reached[entry] = true;
	queue[qtail++] = entry;
	while (qhead < qtail)
	{
		DiskannNode n = queue[qhead++];
		DiskannNode *list = img->nbrs + (Size) n * R;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < Min(img->degree[n], R); i++)
		{
			DiskannNode q = list[i];

			if (q < nslots && !reached[q] && img->flags[q] != DISKANN_NODE_FREE)
			{
				reached[q] = true;
				queue[qtail++] = q;
			}
		}
	}
	for (DiskannNode n = 0; n < nslots; n++)
		if (img->flags[n] == DISKANN_NODE_LIVE && !reached[n])
		{
			if (unreachable < 10)
				Report(ts, desc, "live node %u is unreachable from the entry point %u", n, entry);
			unreachable++;
		}
	if (unreachable > 10)
		Report(ts, desc, "%u live nodes in all are unreachable from the entry point",
			   unreachable);
}

PG_FUNCTION_INFO_V1(diskann_verify);

/*
 * diskann_verify
 *		SQL: diskann_verify(regclass) returns one text row per structural
 *		problem of the index; no rows means healthy.
 */
Datum
diskann_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	index;
	GraphImage	img;
	BlockNumber need;
	uint32		offset;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	index = OpenDiskannIndex(PG_GETARG_OID(0));
	ReadGraphImage(index, &img);

	if (img.meta.num_slots > 0)
	{
		DiskannNodePosition(&img.layout, img.meta.num_slots - 1,
							img.layout.slot_size - 1, &need, &offset);
		if (need >= img.nblocks)
			Report(rsinfo->setResult, rsinfo->setDesc,
				   "metapage counts %u slots but the index has only %u blocks",
				   img.meta.num_slots, img.nblocks);
		else
		{
			CheckNodes(&img, rsinfo->setResult, rsinfo->setDesc);
			CheckReachability(&img, rsinfo->setResult, rsinfo->setDesc);
		}
	}
	else if (img.meta.entry_point != DISKANN_INVALID_NODE)
		Report(rsinfo->setResult, rsinfo->setDesc,
			   "empty index has entry point %u", img.meta.entry_point);

	relation_close(index, AccessShareLock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(diskann_stats);

/*
 * diskann_stats
 *		SQL: diskann_stats(regclass) returns one row describing the index:
 *		nodes, live and deleted nodes, pages, dimensions, R, layout,
 *		average out-degree and entry point.
 */
Datum
diskann_stats(PG_FUNCTION_ARGS)
{
	Relation	index = OpenDiskannIndex(PG_GETARG_OID(0));
	GraphImage	img;
	TupleDesc	desc;
	Datum		values[10];
	bool		nulls[10] = {0};
	uint64		edges = 0;
	uint32		counted = 0;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ReadGraphImage(index, &img);
	for (DiskannNode n = 0; n < img.meta.num_slots; n++)
		if (img.flags[n] == DISKANN_NODE_LIVE || img.flags[n] == DISKANN_NODE_DELETED)
		{
			edges += img.degree[n];
			counted++;
		}

	values[0] = Int64GetDatum(img.meta.num_slots);
	values[1] = Int64GetDatum(img.meta.num_live);
	values[2] = Int64GetDatum(img.meta.num_deleted);
	values[3] = Int64GetDatum(img.nblocks);
	values[4] = Int32GetDatum(img.meta.dimensions);
	values[5] = Int32GetDatum(img.meta.num_neighbors);
	values[6] = CStringGetTextDatum(img.meta.layout == DISKANN_LAYOUT_ALIGNED ? "aligned" : "streamed");
	values[7] = Int32GetDatum(img.meta.slot_size);
	values[8] = Float8GetDatum(counted ? (double) edges / counted : 0.0);
	if (img.meta.entry_point == DISKANN_INVALID_NODE)
		nulls[9] = true;
	else
		values[9] = Int64GetDatum(img.meta.entry_point);

	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
