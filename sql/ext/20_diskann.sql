-- The diskann index access method (install script part 2)

CREATE FUNCTION diskannhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD diskann TYPE INDEX HANDLER diskannhandler;

COMMENT ON ACCESS METHOD diskann IS 'DiskANN (Vamana graph) index for approximate nearest-neighbour search';

-- Support function 1 of each operator class is the SQL distance function of
-- its ORDER BY operator; the index derives its metric from it.

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING diskann AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(vector, vector);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING diskann AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING diskann AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(vector, vector);

CREATE OPERATOR CLASS vector_l1_ops
	FOR TYPE vector USING diskann AS
	OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(vector, vector);

-- Structural check: one row per problem, none when the index is healthy.
CREATE FUNCTION diskann_verify(index regclass) RETURNS SETOF text
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Shape of an index.
CREATE FUNCTION diskann_stats(index regclass,
	OUT nodes bigint, OUT live_nodes bigint, OUT deleted_nodes bigint,
	OUT free_slots bigint, OUT pages bigint, OUT dimensions integer, OUT num_neighbors integer,
	OUT layout text, OUT slot_size integer, OUT avg_out_degree float8,
	OUT entry_point bigint, OUT storage text, OUT bits integer,
	OUT quantizer_rows bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Heap TIDs of the live nodes (checking that rows are indexed, not searching).
CREATE FUNCTION diskann_tids(index regclass) RETURNS SETOF tid
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- These read every page of an index (and diskann_tids its heap TIDs):
-- like PostgreSQL's own inspection functions, not for every role.
-- Superusers and members of pg_stat_scan_tables may run them; grant
-- EXECUTE to give others the right.
REVOKE EXECUTE ON FUNCTION diskann_verify(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION diskann_stats(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION diskann_tids(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION diskann_verify(regclass) TO pg_stat_scan_tables;
GRANT EXECUTE ON FUNCTION diskann_stats(regclass) TO pg_stat_scan_tables;
GRANT EXECUTE ON FUNCTION diskann_tids(regclass) TO pg_stat_scan_tables;
