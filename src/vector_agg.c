/*
 * vector_agg.c
 *		Support functions of the avg(vector) aggregate.
 *
 * The transition state is a float8[] (so that it can cross process
 * boundaries in parallel aggregation and sums do not lose precision):
 * element 0 is the number of vectors seen, elements 1..dim their running
 * element-wise sum.  The initial state is '{0}', which has no dimensions
 * yet; the first vector fixes them.  This layout is compatible with
 * pgvector.  sum(vector) needs nothing here: it uses vector_add.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/float.h"

#include "vector.h"

PG_FUNCTION_INFO_V1(vector_accum);
PG_FUNCTION_INFO_V1(vector_combine);
PG_FUNCTION_INFO_V1(vector_avg);

/* Number of vector dimensions a state array holds. */
#define STATE_DIMS(arr)		(ARR_DIMS(arr)[0] - 1)

/*
 * state_values
 *		Validate a transition state array and return its elements.  caller
 *		names the SQL function in the error, since only a direct call with a
 *		hand-made array can get this wrong.
 */
static float8 *
state_values(ArrayType *state, const char *caller)
{
	if (ARR_NDIM(state) != 1 ||
		ARR_DIMS(state)[0] < 1 ||
		ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		elog(ERROR, "%s: expected state array", caller);
	if (STATE_DIMS(state) > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions",
						VECTOR_MAX_DIM)));
	return (float8 *) ARR_DATA_PTR(state);
}

/*
 * make_state
 *		Build a state array from count and dim sums.
 */
static ArrayType *
make_state(float8 count, const float8 *sums, int dim)
{
	Datum	   *datums = (Datum *) palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *result;

	datums[0] = Float8GetDatum(count);
	for (int i = 0; i < dim; i++)
		datums[i + 1] = Float8GetDatum(sums[i]);

	result = construct_array(datums, dim + 1, FLOAT8OID, sizeof(float8),
							 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(datums);
	return result;
}

/*
 * vector_accum
 *		Transition function of avg(vector): add one vector to the state.
 */
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *v = PG_GETARG_VECTOR_P(1);
	float8	   *vals = state_values(state, "vector_accum");
	int			dim = STATE_DIMS(state);
	float8	   *sums;
	ArrayType  *result;

	if (dim == 0)
		dim = v->dim;
	else
		VectorCheckExpectedDim(dim, v->dim);

	sums = (float8 *) palloc(sizeof(float8) * dim);
	if (STATE_DIMS(state) == 0)
	{
		for (int i = 0; i < dim; i++)
			sums[i] = (float8) v->x[i];
	}
	else
	{
		for (int i = 0; i < dim; i++)
		{
			sums[i] = vals[i + 1] + (float8) v->x[i];
			if (isinf(sums[i]))
				float_overflow_error();
		}
	}

	result = make_state(vals[0] + 1.0, sums, dim);
	pfree(sums);

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * vector_combine
 *		Combine function of avg(vector): merge two partial states (parallel
 *		aggregation).  An empty state (count 0) is the identity.
 */
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *state2 = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *vals1 = state_values(state1, "vector_combine");
	float8	   *vals2 = state_values(state2, "vector_combine");
	int			dim;
	float8	   *sums;
	ArrayType  *result;

	if (vals1[0] == 0.0)
		PG_RETURN_ARRAYTYPE_P(make_state(vals2[0], vals2 + 1,
										 STATE_DIMS(state2)));
	if (vals2[0] == 0.0)
		PG_RETURN_ARRAYTYPE_P(make_state(vals1[0], vals1 + 1,
										 STATE_DIMS(state1)));

	dim = STATE_DIMS(state1);
	VectorCheckExpectedDim(dim, STATE_DIMS(state2));

	sums = (float8 *) palloc(sizeof(float8) * Max(dim, 1));
	for (int i = 0; i < dim; i++)
	{
		sums[i] = vals1[i + 1] + vals2[i + 1];
		if (isinf(sums[i]))
			float_overflow_error();
	}
	result = make_state(vals1[0] + vals2[0], sums, dim);
	pfree(sums);

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * vector_avg
 *		Final function of avg(vector): sums divided by count, or NULL when no
 *		vectors were aggregated.
 */
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *vals = state_values(state, "vector_avg");
	float8		count = vals[0];
	int			dim = STATE_DIMS(state);
	Vector	   *result;

	/* the average of no values is NULL, as for the built-in avg */
	if (count == 0.0)
		PG_RETURN_NULL();

	VectorCheckDim(dim);
	result = InitVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (float) (vals[i + 1] / count);
		VectorCheckElement(result->x[i]);
	}

	PG_RETURN_VECTOR_P(result);
}
