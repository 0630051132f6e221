-- Filter columns of diskann indexes (install script part 3)
--
-- Key columns after the vector column are filter columns: their values are
-- stored with each node, and WHERE clauses on them with these operators
-- are evaluated inside the index scan.  Strategies: 1 <, 2 <=, 3 =, 4 >=,
-- 5 >, 6 && (overlaps), 7 @> (contains).  These classes have no support
-- functions: the index knows each type's stored form (diskann_filter.c).

CREATE OPERATOR FAMILY diskann_integer_ops USING diskann;

CREATE OPERATOR CLASS diskann_int2_ops
	DEFAULT FOR TYPE int2 USING diskann FAMILY diskann_integer_ops AS
	OPERATOR 1 < (int2, int2),
	OPERATOR 2 <= (int2, int2),
	OPERATOR 3 = (int2, int2),
	OPERATOR 4 >= (int2, int2),
	OPERATOR 5 > (int2, int2);

CREATE OPERATOR CLASS diskann_int4_ops
	DEFAULT FOR TYPE int4 USING diskann FAMILY diskann_integer_ops AS
	OPERATOR 1 < (int4, int4),
	OPERATOR 2 <= (int4, int4),
	OPERATOR 3 = (int4, int4),
	OPERATOR 4 >= (int4, int4),
	OPERATOR 5 > (int4, int4);

CREATE OPERATOR CLASS diskann_int8_ops
	DEFAULT FOR TYPE int8 USING diskann FAMILY diskann_integer_ops AS
	OPERATOR 1 < (int8, int8),
	OPERATOR 2 <= (int8, int8),
	OPERATOR 3 = (int8, int8),
	OPERATOR 4 >= (int8, int8),
	OPERATOR 5 > (int8, int8);

-- cross-type comparisons, so that a literal of another integer type is an
-- index qual too (smallint_col = 5 compares int2 with int4)
ALTER OPERATOR FAMILY diskann_integer_ops USING diskann ADD
	OPERATOR 1 < (int2, int4), OPERATOR 2 <= (int2, int4), OPERATOR 3 = (int2, int4),
	OPERATOR 4 >= (int2, int4), OPERATOR 5 > (int2, int4),
	OPERATOR 1 < (int2, int8), OPERATOR 2 <= (int2, int8), OPERATOR 3 = (int2, int8),
	OPERATOR 4 >= (int2, int8), OPERATOR 5 > (int2, int8),
	OPERATOR 1 < (int4, int2), OPERATOR 2 <= (int4, int2), OPERATOR 3 = (int4, int2),
	OPERATOR 4 >= (int4, int2), OPERATOR 5 > (int4, int2),
	OPERATOR 1 < (int4, int8), OPERATOR 2 <= (int4, int8), OPERATOR 3 = (int4, int8),
	OPERATOR 4 >= (int4, int8), OPERATOR 5 > (int4, int8),
	OPERATOR 1 < (int8, int2), OPERATOR 2 <= (int8, int2), OPERATOR 3 = (int8, int2),
	OPERATOR 4 >= (int8, int2), OPERATOR 5 > (int8, int2),
	OPERATOR 1 < (int8, int4), OPERATOR 2 <= (int8, int4), OPERATOR 3 = (int8, int4),
	OPERATOR 4 >= (int8, int4), OPERATOR 5 > (int8, int4);

CREATE OPERATOR CLASS diskann_bool_ops
	DEFAULT FOR TYPE bool USING diskann AS
	OPERATOR 3 = (bool, bool);

-- text is stored as a hash: matches are rechecked by the executor
CREATE OPERATOR CLASS diskann_text_ops
	DEFAULT FOR TYPE text USING diskann AS
	OPERATOR 3 = (text, text);

-- label arrays are stored as 128-bit signatures: matches are rechecked
CREATE OPERATOR CLASS diskann_int4_array_ops
	DEFAULT FOR TYPE int4[] USING diskann AS
	OPERATOR 6 && (anyarray, anyarray),
	OPERATOR 7 @> (anyarray, anyarray);

CREATE OPERATOR CLASS diskann_int2_array_ops
	DEFAULT FOR TYPE int2[] USING diskann AS
	OPERATOR 6 && (anyarray, anyarray),
	OPERATOR 7 @> (anyarray, anyarray);
