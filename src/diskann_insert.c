/*
 * diskann_insert.c
 *		aminsert for diskann.
 *
 * In-place inserts (FreshVamana with buffer-level locking and GenericXLog)
 * are not implemented yet.  Until they are, an insert into an indexed
 * table fails with a clear error rather than leaving the row out of the
 * index silently.
 */
#include "postgres.h"

#include "diskann.h"
#include "vector.h"
#include "utils/rel.h"

/*
 * DiskannIsIndexable
 *		False for values the index leaves out: zero vectors under cosine.
 */
static bool
DiskannIsIndexable(Relation index, Datum value)
{
	Vector	   *v;
	bool		ok;
	float	   *buf;

	if (DiskannGetMetric(index) != DISKANN_METRIC_COSINE)
		return true;
	v = DatumGetVector(value);
	buf = palloc(sizeof(float) * v->dim);
	ok = DiskannPrepareVector(DISKANN_METRIC_COSINE, v->x, buf, v->dim);
	pfree(buf);
	return ok;
}

/*
 * diskanninsert
 *		Refuse to insert: the index would otherwise miss the row.
 */
bool
diskanninsert(Relation index, Datum *values, bool *isnull,
			  ItemPointer heap_tid, Relation heap,
			  IndexUniqueCheck checkUnique, bool indexUnchanged,
			  IndexInfo *indexInfo)
{
	/* rows the index would not hold anyway need no support */
	if (isnull[0] || !DiskannIsIndexable(index, values[0]))
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("diskann index \"%s\" does not support inserts yet",
					RelationGetRelationName(index)),
			 errhint("Drop the index, load the rows, and create the index again.")));
	return false;
}
