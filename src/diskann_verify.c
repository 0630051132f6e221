/*
 * diskann_verify.c
 *		SQL-callable inspection of a diskann index: diskann_verify() walks
 *		the index and reports structural problems, diskann_stats() reports
 *		its shape, diskann_tids() lists the heap TIDs of its live nodes.
 *
 * All three read the head pages one at a time (a share lock while the
 * page's heads are copied), so their memory does not grow with the index
 * beyond what verify's reachability walk needs (a few bytes per node).
 * They take an AccessShareLock on the index; under concurrent inserts and
 * VACUUM they see each page as it was when read.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "diskann.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

/* An index opened for inspection, and a copy of one head page's heads */
typedef struct Inspect
{
	Relation	index;
	DiskannMetaPageData meta;
	DiskannLayout layout;
	BlockNumber nblocks;
	uint32		ngroups;
	char	   *heads;			/* heads_per_group heads */
	bool		head_page_ok;	/* the last page read was a head page */
	bool		head_page_new;	/* ... or an all-zero page */
} Inspect;

/*
 * OpenInspect
 *		Open relid, checking that it is a diskann index, and read its
 *		metapage.
 */
static void
OpenInspect(Oid relid, Inspect *in)
{
	Relation	index = relation_open(relid, AccessShareLock);

	if (index->rd_rel->relkind != RELKIND_INDEX ||
		index->rd_indam == NULL || index->rd_indam->ambuild != diskannbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a diskann index", RelationGetRelationName(index))));
	in->index = index;
	DiskannReadMeta(index, &in->meta);
	DiskannLayoutFromMeta(in->index, &in->layout, &in->meta);
	in->nblocks = RelationGetNumberOfBlocks(index);
	in->ngroups = DiskannNumGroups(&in->layout, in->nblocks);
	in->heads = palloc(DiskannHeadOffset(&in->layout, in->layout.heads_per_group));
}

/*
 * ReadGroupHeads
 *		Copy group's summary and heads into in->heads; in->head_page_ok says
 *		whether its first page is an initialised head page, in->head_page_new
 *		whether it is all zero.  If strict, a page that is neither is an
 *		error (index corrupted); diskann_verify reports it instead.
 */
static void
ReadGroupHeads(Inspect *in, uint32 group, bool strict)
{
	Buffer		buf = ReadBuffer(in->index, DiskannGroupFirstBlock(&in->layout, group));
	Page		page;

	CHECK_FOR_INTERRUPTS();
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	in->head_page_ok = strict ? DiskannHeadPageOk(in->index, buf) : DiskannIsHeadPage(page);
	in->head_page_new = PageIsNew(page);
	if (in->head_page_ok)
		memcpy(in->heads, PageGetContents(page),
			   DiskannHeadOffset(&in->layout, in->layout.heads_per_group));
	UnlockReleaseBuffer(buf);
}

/*
 * GroupHead
 *		Head i of the group last read.
 */
static DiskannNodeHeader *
GroupHead(Inspect *in, uint32 i)
{
	return (DiskannNodeHeader *) (in->heads + DiskannHeadOffset(&in->layout, i));
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
 * CheckHead
 *		Checks of one head: flags, free-slot stamp, degree, neighbour
 *		references, that its vector is its occupant's (generation), that
 *		the filter values stored twice agree and that the group's summary
 *		covers them.
 *		Returns false if the node's flags are invalid.
 */
static bool
CheckHead(Inspect *in, DiskannNode n, DiskannNodeHeader *hdr,
		  Tuplestorestate *ts, TupleDesc desc)
{
	uint32		nnodes = in->ngroups * in->layout.heads_per_group;
	DiskannNode *list = DiskannHeadNeighbors(hdr);
	uint8		f = hdr->flags;
	uint32		vgen;

	if (f != DISKANN_NODE_LIVE && f != DISKANN_NODE_NEW && f != DISKANN_NODE_DELETED &&
		f != DISKANN_NODE_REPAIRED && f != DISKANN_NODE_FREE)
	{
		Report(ts, desc, "node %u has invalid flags 0x%02x", n, f);
		return false;
	}
	if (f == DISKANN_NODE_FREE)
	{
		uint64		stamp = ((uint64) hdr->freed_xid_hi << 32) | hdr->freed_xid_lo;

		if (hdr->generation == 0 && stamp != 0)
			Report(ts, desc, "free slot %u was never used but has a free stamp", n);
		if (stamp > U64FromFullTransactionId(ReadNextFullTransactionId()))
			Report(ts, desc, "free slot %u was freed by a future transaction", n);
		return true;
	}
	if (hdr->generation == 0)
		Report(ts, desc, "node %u is in use but has generation 0", n);
	if (in->layout.summary_size > 0 &&
		!DiskannFilterSummaryCovers(&in->layout, in->heads, DiskannHeadFilter(hdr, &in->layout)))
		Report(ts, desc, "node %u has filter values outside its group's summary", n);
	/* a node not yet live, or never live, may lack its vector (crash) */
	if (f == DISKANN_NODE_LIVE)
	{
		float	   *vec = palloc(sizeof(float) * in->layout.graph_dims);

		vgen = DiskannReadVector(in->index, &in->layout, n, vec);
		pfree(vec);
		if (vgen != hdr->generation)
			Report(ts, desc, "node %u has generation %u but its vector generation %u",
				   n, hdr->generation, vgen);
		else if (in->layout.filter_size > 0)
		{
			char	   *record = palloc(in->layout.filter_size);

			DiskannReadSlotFilter(in->index, &in->layout, n, record);
			if (memcmp(record, DiskannHeadFilter(hdr, &in->layout), in->layout.filter_size) != 0)
				Report(ts, desc, "node %u has filter values in its head that differ from those with its vector",
					   n);
			pfree(record);
		}
	}
	if (hdr->num_neighbors > in->layout.num_neighbors)
	{
		Report(ts, desc, "node %u has %u neighbours, more than num_neighbors %d",
			   n, hdr->num_neighbors, in->layout.num_neighbors);
		return true;
	}
	for (int i = 0; i < hdr->num_neighbors; i++)
	{
		DiskannNode q = list[i];

		if (q >= nnodes)
			Report(ts, desc, "node %u has a neighbour %u beyond the last slot %u",
				   n, q, nnodes - 1);
		else if (q == n)
			Report(ts, desc, "node %u is its own neighbour", n);
		for (int j = 0; j < i; j++)
			if (list[j] == q)
				Report(ts, desc, "node %u lists neighbour %u twice", n, q);
	}
	return true;
}

/*
 * CheckReachability
 *		Every live node must be reachable from the entry point, walking
 *		through any node in use.  Reads each reached node's head again.
 */
static void
CheckReachability(Inspect *in, const uint8 *flags, Tuplestorestate *ts, TupleDesc desc)
{
	uint32		nnodes = in->ngroups * in->layout.heads_per_group;
	DiskannNode entry = in->meta.entry_point;
	bool	   *reached;
	DiskannNode *queue;
	DiskannNode *nbrs = palloc(sizeof(DiskannNode) * in->layout.num_neighbors);
	uint32		qhead = 0,
				qtail = 0;
	uint32		unreachable = 0;
	uint32		live = 0;

	for (uint32 n = 0; n < nnodes; n++)
		live += (flags[n] == DISKANN_NODE_LIVE);
	if (entry == DISKANN_INVALID_NODE)
	{
		if (live > 0)
			Report(ts, desc, "index has %u live nodes but no entry point", live);
		return;
	}
	if (entry >= nnodes || flags[entry] == DISKANN_NODE_FREE ||
		flags[entry] == DISKANN_NODE_REPAIRED || flags[entry] == 0)
	{
		if (live > 0)
			Report(ts, desc, "entry point %u is not a node in use", entry);
		return;
	}
	reached = palloc0(nnodes);
	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DiskannNode) * nnodes);
	reached[entry] = true;
	queue[qtail++] = entry;
	while (qhead < qtail)
	{
		DiskannNodeHeader hdr;

		CHECK_FOR_INTERRUPTS();
		DiskannCopyHead(in->index, &in->layout, queue[qhead++], &hdr, nbrs);
		for (int i = 0; i < Min(hdr.num_neighbors, in->layout.num_neighbors); i++)
		{
			DiskannNode q = nbrs[i];

			if (q < nnodes && !reached[q] && flags[q] != DISKANN_NODE_FREE && flags[q] != 0)
			{
				reached[q] = true;
				queue[qtail++] = q;
			}
		}
	}
	for (DiskannNode n = 0; n < nnodes; n++)
		if (flags[n] == DISKANN_NODE_LIVE && !reached[n])
		{
			if (unreachable < 10)
				Report(ts, desc, "live node %u is unreachable from the entry point %u", n, entry);
			unreachable++;
		}
	if (unreachable > 10)
		Report(ts, desc, "%u live nodes in all are unreachable from the entry point",
			   unreachable);
	pfree(reached);
	pfree(queue);
	pfree(nbrs);
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
	Inspect		in;
	uint8	   *flags;
	uint32		H;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	OpenInspect(PG_GETARG_OID(0), &in);
	H = in.layout.heads_per_group;
	flags = palloc0(Max(in.ngroups * H, 1));
	for (uint32 g = 0; g < in.ngroups; g++)
	{
		ReadGroupHeads(&in, g, false);
		if (!in.head_page_ok && in.head_page_new)
			continue;			/* an extension a crash cut short: empty */
		if (!in.head_page_ok)
		{
			Report(rsinfo->setResult, rsinfo->setDesc,
				   "block %u, the first of group %u, is not a head page",
				   DiskannGroupFirstBlock(&in.layout, g), g);
			continue;
		}
		for (uint32 i = 0; i < H; i++)
		{
			DiskannNodeHeader *hdr = GroupHead(&in, i);

			if (CheckHead(&in, g * H + i, hdr, rsinfo->setResult, rsinfo->setDesc))
				flags[g * H + i] = hdr->flags;
		}
	}
	CheckReachability(&in, flags, rsinfo->setResult, rsinfo->setDesc);
	relation_close(in.index, AccessShareLock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(diskann_stats);

/*
 * diskann_stats
 *		SQL: diskann_stats(regclass) returns one row describing the index:
 *		nodes in the graph, live ones, deleted ones awaiting VACUUM, free
 *		slots, pages, dimensions, R, layout, bytes per node, average
 *		out-degree and entry point; counted page by page.
 */
Datum
diskann_stats(PG_FUNCTION_ARGS)
{
	Inspect		in;
	TupleDesc	desc;
	Datum		values[14];
	bool		nulls[14] = {0};
	uint64		edges = 0;
	int64		live = 0,
				deleted = 0,
				nfree = 0,
				inuse = 0;
	char		layout[64];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	OpenInspect(PG_GETARG_OID(0), &in);
	for (uint32 g = 0; g < in.ngroups; g++)
	{
		ReadGroupHeads(&in, g, true);
		for (uint32 i = 0; in.head_page_ok && i < in.layout.heads_per_group; i++)
		{
			DiskannNodeHeader *hdr = GroupHead(&in, i);

			if (hdr->flags == DISKANN_NODE_FREE)
			{
				nfree++;
				continue;
			}
			if (hdr->flags == DISKANN_NODE_LIVE)
				live++;
			else if (hdr->flags == DISKANN_NODE_DELETED || hdr->flags == DISKANN_NODE_REPAIRED)
				deleted++;
			inuse++;
			edges += Min(hdr->num_neighbors, in.layout.num_neighbors);
		}
	}
	if (in.layout.pages_per_group == 1)
		snprintf(layout, sizeof(layout), "%u nodes per page", in.layout.heads_per_group);
	else
		snprintf(layout, sizeof(layout), "%u nodes per %u pages",
				 in.layout.heads_per_group, in.layout.pages_per_group);
	values[0] = Int64GetDatum(live + deleted);
	values[1] = Int64GetDatum(live);
	values[2] = Int64GetDatum(deleted);
	values[3] = Int64GetDatum(nfree);
	values[4] = Int64GetDatum(in.nblocks);
	values[5] = Int32GetDatum(in.meta.dimensions);
	values[6] = Int32GetDatum(in.meta.num_neighbors);
	values[7] = CStringGetTextDatum(layout);
	values[8] = Int32GetDatum(in.layout.head_size + in.layout.vector_size);
	values[9] = Float8GetDatum(inuse ? (double) edges / inuse : 0.0);
	if (in.meta.entry_point == DISKANN_INVALID_NODE)
		nulls[10] = true;
	else
		values[10] = Int64GetDatum(in.meta.entry_point);
	if (in.layout.storage == DISKANN_PAYLOAD_RABITQ)
	{
		values[11] = CStringGetTextDatum("compressed");
		values[12] = Int32GetDatum(in.layout.bits);
		values[13] = Int64GetDatum(in.meta.quant_trained);
	}
	else
	{
		values[11] = CStringGetTextDatum("plain");
		nulls[12] = nulls[13] = true;
	}

	relation_close(in.index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(diskann_tids);

/*
 * diskann_tids
 *		SQL: diskann_tids(regclass) returns the heap TIDs of the index's
 *		live nodes, for checking that rows are indexed without searching.
 */
Datum
diskann_tids(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Inspect		in;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	OpenInspect(PG_GETARG_OID(0), &in);
	for (uint32 g = 0; g < in.ngroups; g++)
	{
		ReadGroupHeads(&in, g, true);
		for (uint32 i = 0; in.head_page_ok && i < in.layout.heads_per_group; i++)
		{
			DiskannNodeHeader *hdr = GroupHead(&in, i);
			Datum		value;
			bool		isnull = false;

			if (hdr->flags != DISKANN_NODE_LIVE)
				continue;
			value = PointerGetDatum(&hdr->heaptid);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		}
	}
	relation_close(in.index, AccessShareLock);
	return (Datum) 0;
}
