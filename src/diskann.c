/*
 * diskann.c
 *		The diskann access method's handler: capabilities, options,
 *		settings, cost estimation and operator class validation.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/amvalidate.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/vacuum.h"
#include "commands/progress.h"
#include "diskann.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"
#include "utils/regproc.h"

int			diskann_query_search_list_size = DISKANN_DEFAULT_QUERY_SEARCH_LIST_SIZE;
int			diskann_iterative_scan = DISKANN_ITERATIVE_STRICT;
int			diskann_max_scan_tuples = 20000;
int			diskann_query_rescore = DISKANN_DEFAULT_QUERY_RESCORE;

static relopt_kind diskann_relopt_kind;

static const struct config_enum_entry iterative_scan_options[] = {
	{"off", DISKANN_ITERATIVE_OFF, false},
	{"relaxed_order", DISKANN_ITERATIVE_RELAXED, false},
	{"strict_order", DISKANN_ITERATIVE_STRICT, false},
	{NULL, 0, false}
};

/*
 * DiskannInit
 *		Register the index options and the diskann.* settings.  Called from
 *		_PG_init once per backend.
 */
void
DiskannInit(void)
{
	diskann_relopt_kind = add_reloption_kind();
	add_int_reloption(diskann_relopt_kind, "num_neighbors",
					  "Maximum out-degree of a graph node (R)",
					  DISKANN_DEFAULT_NUM_NEIGHBORS, DISKANN_MIN_NUM_NEIGHBORS,
					  DISKANN_MAX_NUM_NEIGHBORS, AccessExclusiveLock);
	add_int_reloption(diskann_relopt_kind, "search_list_size",
					  "Search list size used while building and inserting (L)",
					  DISKANN_DEFAULT_SEARCH_LIST_SIZE, DISKANN_MIN_SEARCH_LIST_SIZE,
					  DISKANN_MAX_SEARCH_LIST_SIZE, AccessExclusiveLock);
	add_real_reloption(diskann_relopt_kind, "max_alpha",
					   "Alpha of RobustPrune in the second build pass",
					   DISKANN_DEFAULT_MAX_ALPHA, DISKANN_MIN_MAX_ALPHA,
					   DISKANN_MAX_MAX_ALPHA, AccessExclusiveLock);
	add_string_reloption(diskann_relopt_kind, "storage",
						 "What the index keeps of each vector: compressed (a RaBitQ code) or plain (float4)",
						 NULL, DiskannValidateStorage, AccessExclusiveLock);
	add_int_reloption(diskann_relopt_kind, "bits",
					  "Bits per dimension of a compressed vector's code (1, 2, 4 or 8)",
					  0, 0, 8, AccessExclusiveLock);

	DefineCustomIntVariable("diskann.query_search_list_size",
							"Search list size of an index scan",
							"Larger values find more of the true nearest neighbours, more slowly.",
							&diskann_query_search_list_size,
							DISKANN_DEFAULT_QUERY_SEARCH_LIST_SIZE, 1, 10000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("diskann.iterative_scan",
							 "Whether a scan keeps walking the graph when the executor asks for more rows",
							 "strict_order returns rows in distance order; relaxed_order may return "
							 "them slightly out of order but finds more; off stops after "
							 "diskann.query_search_list_size rows.",
							 &diskann_iterative_scan,
							 DISKANN_ITERATIVE_STRICT, iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("diskann.max_scan_tuples",
							"Maximum number of index tuples an iterative scan examines",
							NULL, &diskann_max_scan_tuples,
							20000, 1, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("diskann.query_rescore",
							"Candidates a scan of a compressed index re-ranks by their exact distance",
							"The scan orders candidates by distances estimated from codes and "
							"returns each row only after reading this many candidates' vectors "
							"from the table; 0 returns rows in estimated order.",
							&diskann_query_rescore,
							DISKANN_DEFAULT_QUERY_RESCORE, 0, 10000, PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("diskann");
}

/*
 * diskannoptions
 *		Parse and validate the WITH (...) options of an index.
 */
static bytea *
diskannoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"num_neighbors", RELOPT_TYPE_INT, offsetof(DiskannOptions, num_neighbors)},
		{"search_list_size", RELOPT_TYPE_INT, offsetof(DiskannOptions, search_list_size)},
		{"max_alpha", RELOPT_TYPE_REAL, offsetof(DiskannOptions, max_alpha)},
		{"storage", RELOPT_TYPE_STRING, offsetof(DiskannOptions, storage)},
		{"bits", RELOPT_TYPE_INT, offsetof(DiskannOptions, bits)},
	};
	DiskannOptions *opts;

	opts = (DiskannOptions *) build_reloptions(reloptions, validate, diskann_relopt_kind,
											   sizeof(DiskannOptions), tab, lengthof(tab));
	if (validate && opts)
	{
		/* at CREATE INDEX and ALTER INDEX ... SET (with the other options) */
		DiskannCheckListSize(opts->num_neighbors, opts->search_list_size);
		DiskannCheckStorageOptions(opts);
	}
	return (bytea *) opts;
}

/*
 * Cost of reading one vector or head that the walk or the exact pass
 * touches, in the planner's units.  The model assumes the index is in
 * shared buffers (a walk over an uncached index is random I/O and far
 * slower, which no LIMIT query should be planned for), so a read is a
 * buffer access, not a page fetch: charged at ten index tuples, which on
 * Fashion-MNIST (784 dimensions) puts the planner's choices where the
 * measured times are (src/README.md, "Cost model").
 */
#define DISKANN_READ_COST		(10 * cpu_index_tuple_cost)

/*
 * diskanncostestimate
 *		Estimate an index scan's cost from the work it does: vector reads
 *		and distance computations.
 *
 *		Startup cost is the walk to its first row: about 1.1 L expansions
 *		of R / 4 new neighbours each (measured), or, when the filter in the
 *		index quals is selective enough that the scan starts with its exact
 *		pass (the same rule as PlanWalk in diskann_scan.c), that pass: a
 *		head page per group and a vector per matching node.  Run cost is
 *		returning every row the index quals admit: the walk spends up to
 *		one exact pass's worth and hands over to the exact pass, whose
 *		rounds double from DISKANN_EXACT_FIRST_ROUND rows, each a full pass.  The
 *		planner interpolates between the two for a LIMIT, over the rows left
 *		after every qual (index quals and filters the executor applies), so
 *		a selective executor filter makes the index dear and an exact plan
 *		through another index (a btree on the filter column) wins.
 *
 *		Without ORDER BY the index is useless; without a LIMIT (or cursor)
 *		every row is wanted, which a sort of a sequential scan does
 *		better: both are priced out.
 */
static void
diskanncostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					Cost *indexStartupCost, Cost *indexTotalCost,
					Selectivity *indexSelectivity, double *indexCorrelation,
					double *indexPages)
{
	IndexOptInfo *info = path->indexinfo;
	double		ntuples = Max(info->tuples, 1.0);
	int			L = Max(diskann_query_search_list_size, 1);
	Relation	index;
	DiskannMetaPageData meta;
	QualCost	distcost;
	QualCost	qualcost;
	List	   *quals;
	Selectivity sel;
	double		heads_per_group;
	double		groups;
	double		matching;
	double		per_expansion;
	double		walk;
	double		exact;
	double		rounds;

	if (path->indexorderbys == NIL || root->tuple_fraction <= 0.0)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	index = index_open(info->indexoid, NoLock);
	DiskannReadMeta(index, &meta);
	index_close(index, NoLock);
	heads_per_group = Max(meta.heads_per_group, 1);
	groups = ceil(ntuples / heads_per_group);

	/* the index quals: filters the scan evaluates on stored values */
	quals = get_quals_from_indexclauses(path->indexclauses);
	sel = clauselist_selectivity(root, quals, info->rel->relid, JOIN_INNER, NULL);
	cost_qual_eval(&qualcost, quals, root);
	matching = Max(ntuples * sel, 1.0);

	/* one expansion: its head, R / 4 new neighbours read, filtered, measured */
	cost_qual_eval(&distcost, path->indexorderbys, root);
	per_expansion = DISKANN_READ_COST + Max(meta.num_neighbors / 4, 1) *
		(DISKANN_READ_COST + distcost.per_tuple + qualcost.per_tuple);
	walk = 1.1 * L * per_expansion;

	/* the exact pass: every head filtered, matching vectors read */
	exact = groups * DISKANN_READ_COST + ntuples * qualcost.per_tuple +
		matching * (DISKANN_READ_COST + distcost.per_tuple) +
		matching * log2(Max(Min(matching, DISKANN_EXACT_FIRST_ROUND), 2.0)) * cpu_operator_cost;
	rounds = Max(1.0, log2(matching / DISKANN_EXACT_FIRST_ROUND) + 1.0);

	if (quals != NIL && (exact < 2.0 * L * per_expansion / 1.1 || matching < L))
		*indexStartupCost = exact;
	else
		*indexStartupCost = Min(walk, exact * 2.0);
	*indexTotalCost = *indexStartupCost + exact * (1.0 + rounds);
	*indexSelectivity = sel;
	*indexCorrelation = 0;
	*indexPages = Min((double) info->pages, groups + matching);
}

/*
 * diskannvalidate
 *		Check an operator class of the diskann AM.  A vector class has ORDER
 *		BY operators with strategy 1 returning float8 and support function
 *		1, a distance function taking two values of the indexed type.  A
 *		filter class has search operators with strategies 1 to 7 returning
 *		boolean, and no support functions.
 */
static bool
diskannvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	CatCList   *proclist;
	CatCList   *oprlist;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (procform->amprocnum != 1 ||
			!check_amproc_signature(procform->amproc, FLOAT8OID, true, 2, 2,
									opcintype, opcintype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator class \"%s\" of access method diskann contains invalid support function %s",
							opclassname, format_procedure(procform->amproc))));
			result = false;
		}
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);
		bool		ok;

		if (oprform->amoppurpose == AMOP_ORDER)
			ok = oprform->amopstrategy == 1 &&
				check_amop_signature(oprform->amopopr, FLOAT8OID,
									 oprform->amoplefttype, oprform->amoprighttype);
		else
			ok = oprform->amopstrategy >= 1 &&
				oprform->amopstrategy <= DISKANN_MAX_STRATEGY &&
				check_amop_signature(oprform->amopopr, BOOLOID,
									 oprform->amoplefttype, oprform->amoprighttype);
		if (!ok)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator class \"%s\" of access method diskann contains invalid operator %s",
							opclassname, format_operator(oprform->amopopr))));
			result = false;
		}
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(classtup);
	return result;
}

/*
 * diskannbuildphasename
 *		Names of the build's sub-phases in pg_stat_progress_create_index.
 */
static char *
diskannbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case 2:
			return "loading tuples";
		case 3:
			return "building graph (pass 1 of 2)";
		case 4:
			return "building graph (pass 2 of 2)";
		case 5:
			return "writing pages";
		case 6:
			return "inserting tuples on disk";
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(diskannhandler);

/*
 * diskannhandler
 *		The index AM handler: what diskann can do and its callbacks.
 */
Datum
diskannhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;	/* varies: ORDER BY 1, filters 1-7 */
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = true;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = true;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = diskannbuild;
	amroutine->ambuildempty = diskannbuildempty;
	amroutine->aminsert = diskanninsert;
	amroutine->ambulkdelete = diskannbulkdelete;
	amroutine->amvacuumcleanup = diskannvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = diskanncostestimate;
	amroutine->amoptions = diskannoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = diskannbuildphasename;
	amroutine->amvalidate = diskannvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = diskannbeginscan;
	amroutine->amrescan = diskannrescan;
	amroutine->amgettuple = diskanngettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = diskannendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
