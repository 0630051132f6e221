/*
 * vector.c
 *		The vector type: text and binary input/output, type modifier and
 *		the typmod-coercion cast.
 *
 * Text form is "[x1,x2,...]" with optional white space around every token.
 * Elements are parsed with strtof() (exactly like float4in, so no double
 * rounding) and printed as the shortest decimal string that reads back to
 * the same float4.  The binary form is int16 dim, int16 unused, then dim
 * float4 values, all in network byte order; it is compatible with pgvector,
 * as are the error messages.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "vector.h"

PG_FUNCTION_INFO_V1(vector_in);
PG_FUNCTION_INFO_V1(vector_out);
PG_FUNCTION_INFO_V1(vector_typmod_in);
PG_FUNCTION_INFO_V1(vector_typmod_out);
PG_FUNCTION_INFO_V1(vector_recv);
PG_FUNCTION_INFO_V1(vector_send);
PG_FUNCTION_INFO_V1(vector);

/*
 * InitVector
 *		Allocate a zero-filled vector with dim elements in the current memory
 *		context.  The caller has already checked dim.
 */
Vector *
InitVector(int dim)
{
	Size		size = VECTOR_SIZE(dim);
	Vector	   *result = (Vector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

/*
 * vector_is_space
 *		The white space accepted around tokens of the text form (the same set
 *		as array input uses).
 */
static inline bool
vector_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

/*
 * skip_space
 *		Return the first position at or after p that is not white space.
 */
static inline const char *
skip_space(const char *p)
{
	while (vector_is_space(*p))
		p++;
	return p;
}

/*
 * syntax_error
 *		Report malformed text input for the literal lit.
 */
static void
pg_attribute_noreturn()
syntax_error(const char *lit)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type vector: \"%s\"", lit)));
}

/*
 * vector_in
 *		Text input: "[1,2,3]".  Arguments are the literal, the type's OID and
 *		the column's type modifier (-1 if none).
 */
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *p;
	float	   *vals;
	int			cap = 32;
	int			n = 0;
	Vector	   *result;

	p = skip_space(lit);
	if (*p != '[')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail("Vector contents must start with \"[\".")));

	p = skip_space(p + 1);
	if (*p == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	vals = (float *) palloc(sizeof(float) * cap);

	for (;;)
	{
		char	   *end;
		float		v;

		if (n >= VECTOR_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector cannot have more than %d dimensions",
							VECTOR_MAX_DIM)));

		p = skip_space(p);
		if (*p == '\0')
			syntax_error(lit);

		/* strtof, as float4in uses, to avoid rounding twice */
		errno = 0;
		v = strtof(p, &end);
		if (end == p)
			syntax_error(lit);
		if (errno == ERANGE && isinf(v))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type vector",
							pnstrdup(p, end - p))));
		VectorCheckElement(v);

		if (n == cap)
		{
			cap = Min(cap * 2, VECTOR_MAX_DIM);
			vals = (float *) repalloc(vals, sizeof(float) * cap);
		}
		vals[n++] = v;

		p = skip_space(end);
		if (*p == ',')
			p++;
		else if (*p == ']')
		{
			p++;
			break;
		}
		else
			syntax_error(lit);
	}

	p = skip_space(p);
	if (*p != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail("Junk after closing right brace.")));

	VectorCheckDim(n);
	VectorCheckExpectedDim(typmod, n);

	result = InitVector(n);
	memcpy(result->x, vals, sizeof(float) * n);
	pfree(vals);

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_out
 *		Text output: every element as the shortest decimal text that reads
 *		back to the same float4 (independent of extra_float_digits).
 */
Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int			dim = vec->dim;
	char	   *buf;
	char	   *p;

	/* each element plus its separator fits in FLOAT_SHORTEST_DECIMAL_LEN */
	buf = (char *) palloc((Size) FLOAT_SHORTEST_DECIMAL_LEN * Max(dim, 1) + 3);
	p = buf;
	*p++ = '[';
	for (int i = 0; i < dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(vec->x[i], p);
	}
	*p++ = ']';
	*p = '\0';

	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_CSTRING(buf);
}

/*
 * vector_typmod_in
 *		Type modifier input: vector(n) with 1 <= n <= VECTOR_MAX_DIM.
 */
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);

	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier")));
	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector must be at least 1")));
	if (tl[0] > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector cannot exceed %d",
						VECTOR_MAX_DIM)));

	PG_RETURN_INT32(tl[0]);
}

/*
 * vector_typmod_out
 *		Type modifier output: "(n)", or nothing when there is no modifier.
 */
Datum
vector_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	if (typmod >= 0)
		PG_RETURN_CSTRING(psprintf("(%d)", typmod));
	PG_RETURN_CSTRING(pstrdup(""));
}

/*
 * vector_recv
 *		Binary input: int16 dim, int16 unused (must be 0), dim float4s, all
 *		in network byte order.
 */
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int16		dim;
	int16		unused;
	Vector	   *result;

	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));

	VectorCheckDim(dim);
	VectorCheckExpectedDim(typmod, dim);

	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));

	result = InitVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		VectorCheckElement(result->x[i]);
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_send
 *		Binary output, the inverse of vector_recv.
 */
Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, (uint16) vec->dim);
	pq_sendint16(&buf, (uint16) vec->unused);
	for (int i = 0; i < vec->dim; i++)
		pq_sendfloat4(&buf, vec->x[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * vector
 *		Length-coercion cast vector -> vector(n): check the dimension count
 *		against the type modifier and return the value unchanged.
 */
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	VectorCheckExpectedDim(typmod, vec->dim);

	PG_RETURN_VECTOR_P(vec);
}
