/*
 * diskann_filter.c
 *		Filter columns: the values a node stores for the key columns after
 *		the vector column, and evaluating a scan's WHERE clauses on them.
 *
 * A filter record (layout in diskann.h) has a fixed size, so variable-size
 * values are stored in a bounded, lossy form: text as a 64-bit hash of the
 * value under the column's collation (hashtextextended, which respects
 * nondeterministic collations), int2[]/int4[] as a 128-bit signature with
 * the bit of each element set.  A match on such a column is only a
 * candidate: the scan asks the executor to recheck it (xs_recheck).
 * Integers and booleans are stored exactly and never need a recheck.
 *
 * Everything that knows the record's format is in this file.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "diskann.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* Seed of the text hash (any fixed value; part of the on-disk format) */
#define DISKANN_TEXT_HASH_SEED	0x0DA7A1CE
/* Bits of an array signature */
#define DISKANN_SIGNATURE_BITS	128

/* One scan key, compiled */
typedef struct DiskannFilterKey
{
	int			column;			/* filter column, 0-based */
	uint8		kind;			/* DiskannFilterKind */
	uint16		strategy;
	int			nvalues;		/* any of these (several for IN lists) */
	uint64	   *values;			/* int64, hash, or signature (two words) */
} DiskannFilterKey;

struct DiskannFilter
{
	const DiskannLayout *layout;
	bool		never;			/* a key no row can satisfy (NULL, empty IN) */
	int			nkeys;
	DiskannFilterKey *keys;
	uint32		offsets[DISKANN_MAX_FILTERS];	/* of each value in a record */
};

/*
 * KindOfType
 *		The filter kind of a column type, or 0 if it cannot be a filter
 *		column.
 */
static uint8
KindOfType(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return DISKANN_FILTER_INT;
		case BOOLOID:
			return DISKANN_FILTER_BOOL;
		case TEXTOID:
			return DISKANN_FILTER_TEXT;
		case INT2ARRAYOID:
		case INT4ARRAYOID:
			return DISKANN_FILTER_INTARRAY;
		default:
			return 0;
	}
}

/*
 * KindWidth
 *		Bytes a value of a filter kind takes in a record.
 */
static uint32
KindWidth(uint8 kind)
{
	return kind == DISKANN_FILTER_INTARRAY ? DISKANN_SIGNATURE_BITS / 8 : sizeof(uint64);
}

/*
 * DiskannVectorColumn
 *		The key column (0-based) that holds the vectors: the one whose
 *		operator class is not a filter class.  An index has exactly one; it
 *		may be anywhere (PostgreSQL 15 passes an IN list to an ordered index
 *		scan only on the index's first column, so a filter column that takes
 *		IN lists goes first).
 */
int
DiskannVectorColumn(Relation index)
{
	int			nkeys = IndexRelationGetNumberOfKeyAttributes(index);
	int			vcol = -1;

	for (int i = 0; i < nkeys; i++)
	{
		if (KindOfType(index->rd_opcintype[i]) != 0)
			continue;
		if (vcol >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a diskann index can have only one vector column")));
		vcol = i;
	}
	if (vcol < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a diskann index needs a vector column"),
				 errhint("Index the vector column with filter columns beside it, for example (embedding, category).")));
	return vcol;
}

/*
 * IndexColumn
 *		The index key column (0-based) of filter column i.
 */
static inline int
IndexColumn(int vcol, int i)
{
	return i < vcol ? i : i + 1;
}

/*
 * DiskannIndexFilterKinds
 *		The filter columns of a new index, from its operator classes' input
 *		types: their kinds into kinds[], and how many.  Errors for column
 *		counts the index cannot hold.
 */
int
DiskannIndexFilterKinds(Relation index, uint8 *kinds)
{
	int			nkeys = IndexRelationGetNumberOfKeyAttributes(index);
	int			vcol = DiskannVectorColumn(index);

	if (nkeys - 1 > DISKANN_MAX_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a diskann index can have at most %d filter columns", DISKANN_MAX_FILTERS)));
	for (int i = 0; i < nkeys - 1; i++)
		kinds[i] = KindOfType(index->rd_opcintype[IndexColumn(vcol, i)]);
	return nkeys - 1;
}

/*
 * DiskannFilterRecordSize
 *		Bytes of a filter record (0 without filter columns).
 */
uint32
DiskannFilterRecordSize(int num_filters, const uint8 *kinds)
{
	uint32		size = sizeof(uint32);

	if (num_filters == 0)
		return 0;
	for (int i = 0; i < num_filters; i++)
		size += KindWidth(kinds[i]);
	return size;
}

/*
 * FilterOffsets
 *		Offset of each filter column's value within a record.
 */
static void
FilterOffsets(const DiskannLayout *layout, uint32 *offsets)
{
	uint32		off = sizeof(uint32);

	for (int i = 0; i < layout->num_filters; i++)
	{
		offsets[i] = off;
		off += KindWidth(layout->filter_kinds[i]);
	}
}

/*
 * HashText
 *		The stored form of a text value under a collation.
 */
static uint64
HashText(Datum value, Oid collation)
{
	return DatumGetUInt64(DirectFunctionCall2Coll(hashtextextended, collation, value,
												  Int64GetDatum(DISKANN_TEXT_HASH_SEED)));
}

/*
 * IntDatum
 *		An integer datum of type int2, int4 or int8 as int64.
 */
static int64
IntDatum(Datum value, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		case INT8OID:
			return DatumGetInt64(value);
		default:
			elog(ERROR, "unexpected integer type %u in diskann filter", type);
			return 0;			/* keep compiler quiet */
	}
}

/*
 * Elements
 *		The elements of an array datum, their type and NULL flags; returns
 *		how many.
 */
static int
Elements(Datum value, Oid *elemtype, Datum **elems, bool **nulls)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	*elemtype = ARR_ELEMTYPE(arr);
	get_typlenbyvalalign(*elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, *elemtype, typlen, typbyval, typalign, elems, nulls, &n);
	return n;
}

/*
 * ArraySignature
 *		The 128-bit signature of an int2[] or int4[] value into sig[2]:
 *		one bit per element (NULL elements set none).
 */
static void
ArraySignature(Datum value, uint64 *sig)
{
	Oid			elemtype;
	Datum	   *elems;
	bool	   *nulls;
	int			n = Elements(value, &elemtype, &elems, &nulls);

	sig[0] = sig[1] = 0;
	for (int i = 0; i < n; i++)
	{
		uint32		bit;

		if (nulls[i])
			continue;
		bit = hash_bytes_uint32((uint32) IntDatum(elems[i], elemtype)) % DISKANN_SIGNATURE_BITS;
		sig[bit / 64] |= UINT64CONST(1) << (bit % 64);
	}
	pfree(elems);
	pfree(nulls);
}

/*
 * StoredForm
 *		The stored form of a value of type type (a column value or a scan
 *		key argument) for a filter column of kind into v: one word, or two
 *		for an array signature.
 */
static void
StoredForm(uint8 kind, Datum value, Oid type, Oid collation, uint64 *v)
{
	switch (kind)
	{
		case DISKANN_FILTER_INT:
			v[0] = (uint64) IntDatum(value, type);
			break;
		case DISKANN_FILTER_BOOL:
			v[0] = DatumGetBool(value) ? 1 : 0;
			break;
		case DISKANN_FILTER_TEXT:
			v[0] = HashText(value, collation);
			break;
		case DISKANN_FILTER_INTARRAY:
			ArraySignature(value, v);
			break;
	}
}

/*
 * DiskannFormFilterRecord
 *		The filter record of an index tuple (values[], isnull[]: all its key
 *		columns) into record (layout->filter_size bytes).
 */
void
DiskannFormFilterRecord(Relation index, const DiskannLayout *layout,
						const Datum *values, const bool *isnull, char *record)
{
	uint32		offsets[DISKANN_MAX_FILTERS];
	uint32		nulls = 0;
	int			vcol;

	if (layout->num_filters == 0)
		return;
	vcol = DiskannVectorColumn(index);
	memset(record, 0, layout->filter_size);
	FilterOffsets(layout, offsets);
	for (int i = 0; i < layout->num_filters; i++)
	{
		int			col = IndexColumn(vcol, i);
		Datum		value = values[col];
		uint64		v[2] = {0, 0};

		if (isnull[col])
		{
			nulls |= 1U << i;
			continue;
		}
		StoredForm(layout->filter_kinds[i], value, index->rd_opcintype[col],
				   index->rd_indcollation[col], v);
		memcpy(record + offsets[i], v, KindWidth(layout->filter_kinds[i]));
	}
	memcpy(record, &nulls, sizeof(uint32));
}

/*
 * CompileKey
 *		Fill key from a scan key on a filter column.  Returns false if no
 *		row can satisfy it.
 */
static bool
CompileKey(Relation index, int vcol, ScanKey sk, DiskannFilterKey *key)
{
	int			col = (sk->sk_attno - 1 < vcol) ? sk->sk_attno - 1 : sk->sk_attno - 2;
	Oid			argtype = OidIsValid(sk->sk_subtype) ? sk->sk_subtype :
		index->rd_opcintype[sk->sk_attno - 1];
	int			words;

	key->column = col;
	key->strategy = sk->sk_strategy;
	key->kind = KindOfType(index->rd_opcintype[sk->sk_attno - 1]);
	words = KindWidth(key->kind) / sizeof(uint64);
	if (key->strategy < 1 || key->strategy > DISKANN_MAX_STRATEGY)
		elog(ERROR, "unexpected strategy %d in diskann scan key", key->strategy);
	if (sk->sk_flags & SK_ISNULL)
		return false;

	if (sk->sk_flags & SK_SEARCHARRAY)
	{
		Oid			elemtype;
		Datum	   *elems;
		bool	   *nulls;
		int			n = Elements(sk->sk_argument, &elemtype, &elems, &nulls);

		key->values = palloc(sizeof(uint64) * words * Max(n, 1));
		key->nvalues = 0;
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				StoredForm(key->kind, elems[i], elemtype, sk->sk_collation,
						   &key->values[words * key->nvalues++]);
		return key->nvalues > 0;
	}
	key->values = palloc(sizeof(uint64) * words);
	key->nvalues = 1;
	StoredForm(key->kind, sk->sk_argument, argtype, sk->sk_collation, key->values);
	return true;
}

/*
 * DiskannCompileFilter
 *		Compile a scan's keys (all on filter columns) for
 *		DiskannFilterMatches, in the current memory context.  Returns NULL
 *		if there are none; sets *recheck if a match must be rechecked by
 *		the executor (lossy text or array values).
 */
DiskannFilter *
DiskannCompileFilter(Relation index, const DiskannLayout *layout, ScanKey keys,
					 int nkeys, bool *recheck)
{
	DiskannFilter *filter;
	int			vcol;

	*recheck = false;
	if (nkeys == 0)
		return NULL;
	vcol = DiskannVectorColumn(index);
	filter = palloc0(sizeof(DiskannFilter));
	filter->layout = layout;
	filter->keys = palloc0(sizeof(DiskannFilterKey) * nkeys);
	FilterOffsets(layout, filter->offsets);
	for (int i = 0; i < nkeys; i++)
	{
		DiskannFilterKey *key = &filter->keys[filter->nkeys];

		if (keys[i].sk_attno < 1 || keys[i].sk_attno - 1 == vcol ||
			keys[i].sk_attno > layout->num_filters + 1)
			elog(ERROR, "unexpected scan key on column %d of diskann index",
				 keys[i].sk_attno);
		if (!CompileKey(index, vcol, &keys[i], key))
			filter->never = true;
		if (key->kind == DISKANN_FILTER_TEXT || key->kind == DISKANN_FILTER_INTARRAY)
			*recheck = true;
		filter->nkeys++;
	}
	return filter;
}

/*
 * DiskannFilterNeverMatches
 *		True if no row can satisfy the filter.
 */
bool
DiskannFilterNeverMatches(const DiskannFilter *filter)
{
	return filter != NULL && filter->never;
}

/*
 * KeyRangeMatches
 *		Could a value within w satisfy key?  w is a column's summary words:
 *		the least and greatest value, or for arrays a signature covering
 *		every array's.
 */
static bool
KeyRangeMatches(const DiskannFilterKey *key, const uint64 *w)
{
	for (int i = 0; i < key->nvalues; i++)
	{
		bool		ok = false;

		if (key->kind == DISKANN_FILTER_INTARRAY)
		{
			const uint64 *q = &key->values[2 * i];

			if (key->strategy == DISKANN_OVERLAP_STRATEGY)
				ok = ((w[0] & q[0]) | (w[1] & q[1])) != 0;
			else if (key->strategy == DISKANN_CONTAINS_STRATEGY)
				ok = (w[0] & q[0]) == q[0] && (w[1] & q[1]) == q[1];
		}
		else if (key->kind == DISKANN_FILTER_INT)
		{
			int64		lo = (int64) w[0];
			int64		hi = (int64) w[1];
			int64		b = (int64) key->values[i];

			switch (key->strategy)
			{
				case DISKANN_LESS_STRATEGY:
					ok = lo < b;
					break;
				case DISKANN_LESS_EQUAL_STRATEGY:
					ok = lo <= b;
					break;
				case DISKANN_EQUAL_STRATEGY:
					ok = lo <= b && b <= hi;
					break;
				case DISKANN_GREATER_EQUAL_STRATEGY:
					ok = hi >= b;
					break;
				case DISKANN_GREATER_STRATEGY:
					ok = hi > b;
					break;
			}
		}
		else
			ok = key->strategy == DISKANN_EQUAL_STRATEGY &&
				w[0] <= key->values[i] && key->values[i] <= w[1];
		if (ok)
			return true;
	}
	return false;
}

/*
 * KeyMatches
 *		Does stored value v (one word, two for an array signature) satisfy
 *		key?  The range of the one value v.
 */
static bool
KeyMatches(const DiskannFilterKey *key, const uint64 *v)
{
	uint64		w[2] = {v[0], v[0]};

	return KeyRangeMatches(key, key->kind == DISKANN_FILTER_INTARRAY ? v : w);
}

/*
 * DiskannFilterMatches
 *		Does a filter record satisfy every key of the filter?  A NULL value
 *		satisfies none.  A NULL filter matches everything.  (Called for
 *		every node an exact pass looks at: keep it lean.)
 */
bool
DiskannFilterMatches(const DiskannFilter *filter, const char *record)
{
	uint32		nulls;

	if (filter == NULL)
		return true;
	if (filter->never)
		return false;
	memcpy(&nulls, record, sizeof(uint32));
	for (int i = 0; i < filter->nkeys; i++)
	{
		const DiskannFilterKey *key = &filter->keys[i];
		const char *p = record + filter->offsets[key->column];
		uint64		v[2];

		if (nulls & (1U << key->column))
			return false;
		if (key->kind == DISKANN_FILTER_INTARRAY)
			memcpy(v, p, 2 * sizeof(uint64));
		else
		{
			memcpy(v, p, sizeof(uint64));
			/* the common case: equality with one value */
			if (key->nvalues == 1 && key->strategy == DISKANN_EQUAL_STRATEGY)
			{
				if (v[0] != key->values[0])
					return false;
				continue;
			}
		}
		if (!KeyMatches(key, v))
			return false;
	}
	return true;
}

/*
 * DiskannFilterSummarySize
 *		Bytes of a group summary for the layout's filter columns: 16 per
 *		column (see diskann.h), 0 without filter columns.
 */
uint32
DiskannFilterSummarySize(const DiskannLayout *layout)
{
	return (uint32) layout->num_filters * 2 * sizeof(uint64);
}

/*
 * SummaryOffset
 *		Offset of column i's two words within a group summary.
 */
static size_t
SummaryOffset(int i)
{
	return i * 2 * sizeof(uint64);
}

/*
 * DiskannFilterSummaryInit
 *		Make summary cover no value at all.
 */
void
DiskannFilterSummaryInit(const DiskannLayout *layout, char *summary)
{
	for (int i = 0; i < layout->num_filters; i++)
	{
		uint64		w[2] = {0, 0};

		if (layout->filter_kinds[i] == DISKANN_FILTER_INT)
		{
			w[0] = (uint64) PG_INT64_MAX;
			w[1] = (uint64) PG_INT64_MIN;
		}
		else if (layout->filter_kinds[i] != DISKANN_FILTER_INTARRAY)
			w[0] = PG_UINT64_MAX;
		memcpy(summary + SummaryOffset(i), w, sizeof(w));
	}
}

/*
 * DiskannFilterSummaryAdd
 *		Widen summary to cover record (its NULL values need no room).
 */
void
DiskannFilterSummaryAdd(const DiskannLayout *layout, char *summary, const char *record)
{
	uint32		offsets[DISKANN_MAX_FILTERS];
	uint32		nulls;

	FilterOffsets(layout, offsets);
	memcpy(&nulls, record, sizeof(uint32));
	for (int i = 0; i < layout->num_filters; i++)
	{
		uint64		w[2];
		uint64		v[2] = {0, 0};

		if (nulls & (1U << i))
			continue;
		memcpy(w, summary + SummaryOffset(i), sizeof(w));
		memcpy(v, record + offsets[i], KindWidth(layout->filter_kinds[i]));
		switch (layout->filter_kinds[i])
		{
			case DISKANN_FILTER_INT:
				w[0] = (uint64) Min((int64) w[0], (int64) v[0]);
				w[1] = (uint64) Max((int64) w[1], (int64) v[0]);
				break;
			case DISKANN_FILTER_INTARRAY:
				w[0] |= v[0];
				w[1] |= v[1];
				break;
			default:
				w[0] = Min(w[0], v[0]);
				w[1] = Max(w[1], v[0]);
				break;
		}
		memcpy(summary + SummaryOffset(i), w, sizeof(w));
	}
}

/*
 * DiskannFilterSummaryCovers
 *		Does summary cover record (for diskann_verify)?
 */
bool
DiskannFilterSummaryCovers(const DiskannLayout *layout, const char *summary,
						   const char *record)
{
	char		widened[DISKANN_MAX_FILTERS * 2 * sizeof(uint64)];
	uint32		size = DiskannFilterSummarySize(layout);

	memcpy(widened, summary, size);
	DiskannFilterSummaryAdd(layout, widened, record);
	return memcmp(widened, summary, size) == 0;
}

/*
 * DiskannFilterSummaryMatches
 *		Could a node covered by summary satisfy every key of the filter?
 *		(False means the group can be skipped; true is only a maybe.)
 */
bool
DiskannFilterSummaryMatches(const DiskannFilter *filter, const char *summary)
{
	if (filter == NULL)
		return true;
	if (filter->never)
		return false;
	for (int i = 0; i < filter->nkeys; i++)
	{
		const DiskannFilterKey *key = &filter->keys[i];
		uint64		w[2];

		memcpy(w, summary + SummaryOffset(key->column), sizeof(w));
		if (!KeyRangeMatches(key, w))
			return false;
	}
	return true;
}

/*
 * DiskannFilterRecordCompare
 *		Order of filter records (NULL bitmap first, then the values in
 *		column order; integers as signed), for CREATE INDEX to place nodes
 *		that share values in the same groups.
 */
int
DiskannFilterRecordCompare(const DiskannLayout *layout, const char *a, const char *b)
{
	uint32		offsets[DISKANN_MAX_FILTERS];
	uint32		na;
	uint32		nb;

	memcpy(&na, a, sizeof(uint32));
	memcpy(&nb, b, sizeof(uint32));
	if (na != nb)
		return na < nb ? -1 : 1;
	FilterOffsets(layout, offsets);
	for (int i = 0; i < layout->num_filters; i++)
	{
		int			words = KindWidth(layout->filter_kinds[i]) / sizeof(uint64);

		for (int j = 0; j < words; j++)
		{
			uint64		va;
			uint64		vb;

			memcpy(&va, a + offsets[i] + j * sizeof(uint64), sizeof(uint64));
			memcpy(&vb, b + offsets[i] + j * sizeof(uint64), sizeof(uint64));
			if (va == vb)
				continue;
			if (layout->filter_kinds[i] == DISKANN_FILTER_INT)
				return (int64) va < (int64) vb ? -1 : 1;
			return va < vb ? -1 : 1;
		}
	}
	return 0;
}
