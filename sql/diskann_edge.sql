-- diskann edge cases: empty, tiny and NULL-only tables, UNLOGGED
-- and temporary tables, partial indexes, REINDEX, several indexes on one
-- table, very wide vectors.

-- an empty table
CREATE TABLE dedge_empty (id int, embedding vector(4));
CREATE INDEX dedge_empty_idx ON dedge_empty USING diskann (embedding);
SELECT nodes, live_nodes, deleted_nodes, pages, dimensions, layout,
       avg_out_degree, entry_point
FROM diskann_stats('dedge_empty_idx');
SELECT * FROM diskann_verify('dedge_empty_idx');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dedge_empty ORDER BY embedding <-> '[1,2,3,4]' LIMIT 5;
SELECT id FROM dedge_empty ORDER BY embedding <-> '[1,2,3,4]' LIMIT 5;
RESET enable_seqscan;
-- a query of the wrong dimension on an empty index: no row to compare with,
-- no error (as with a sequential scan)
SET enable_seqscan = off;
SELECT id FROM dedge_empty ORDER BY embedding <-> '[1,2,3]' LIMIT 5;
RESET enable_seqscan;
DROP TABLE dedge_empty;

-- one row
CREATE TABLE dedge_one (id int, embedding vector(4));
INSERT INTO dedge_one VALUES (1, '[1,2,3,4]');
CREATE INDEX dedge_one_idx ON dedge_one USING diskann (embedding vector_ip_ops);
SELECT nodes, live_nodes, avg_out_degree, entry_point FROM diskann_stats('dedge_one_idx');
SELECT * FROM diskann_verify('dedge_one_idx');
SET enable_seqscan = off;
SELECT id, embedding <#> '[1,1,1,1]' AS d FROM dedge_one
ORDER BY embedding <#> '[1,1,1,1]' LIMIT 5;
RESET enable_seqscan;
DROP TABLE dedge_one;

-- two rows: each is the other's neighbour
CREATE TABLE dedge_two (id int, embedding vector(2));
INSERT INTO dedge_two VALUES (1, '[0,0]'), (2, '[1,1]');
CREATE INDEX dedge_two_idx ON dedge_two USING diskann (embedding);
SELECT nodes, live_nodes, avg_out_degree FROM diskann_stats('dedge_two_idx');
SELECT * FROM diskann_verify('dedge_two_idx');
SET enable_seqscan = off;
SELECT id FROM dedge_two ORDER BY embedding <-> '[0.9,0.9]' LIMIT 5;
SELECT id FROM dedge_two ORDER BY embedding <-> '[0.1,0.1]' LIMIT 5;
RESET enable_seqscan;
DROP TABLE dedge_two;

-- only NULLs, and under cosine only NULLs and zero vectors: an empty index
-- (50 identical zero vectors under L2 are in diskann_reachability)
CREATE TABLE dedge_null (id int, embedding vector(3));
INSERT INTO dedge_null SELECT i, NULL FROM generate_series(1, 100) i;
CREATE INDEX dedge_null_l2 ON dedge_null USING diskann (embedding vector_l2_ops);
SELECT nodes, live_nodes, entry_point IS NULL AS no_entry FROM diskann_stats('dedge_null_l2');
SELECT * FROM diskann_verify('dedge_null_l2');
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM dedge_null ORDER BY embedding <-> '[1,0,0]' LIMIT 10) s;
RESET enable_seqscan;
DROP INDEX dedge_null_l2;
INSERT INTO dedge_null SELECT i, '[0,0,0]' FROM generate_series(101, 150) i;
CREATE INDEX dedge_null_cos ON dedge_null USING diskann (embedding vector_cosine_ops);
SELECT nodes, live_nodes, entry_point IS NULL AS no_entry FROM diskann_stats('dedge_null_cos');
SELECT * FROM diskann_verify('dedge_null_cos');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dedge_null ORDER BY embedding <=> '[1,0,0]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM dedge_null ORDER BY embedding <=> '[1,0,0]' LIMIT 10) s;
RESET enable_seqscan;
DROP TABLE dedge_null;

-- UNLOGGED and temporary tables (a search list as long as the table: exact)
SET diskann.query_search_list_size = 300;
CREATE UNLOGGED TABLE dedge_unlogged (id int, embedding vector(3));
INSERT INTO dedge_unlogged
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector FROM generate_series(1, 300) i;
CREATE INDEX dedge_unlogged_idx ON dedge_unlogged USING diskann (embedding vector_l1_ops);
SELECT relpersistence FROM pg_class WHERE relname = 'dedge_unlogged_idx';
SELECT nodes, live_nodes FROM diskann_stats('dedge_unlogged_idx');
SELECT * FROM diskann_verify('dedge_unlogged_idx');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dedge_unlogged ORDER BY embedding <+> '[1,0,0]' LIMIT 5;
SELECT ARRAY(SELECT id FROM dedge_unlogged ORDER BY embedding <+> '[1,0,0]' LIMIT 5) AS ids;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dedge_unlogged ORDER BY embedding <+> '[1,0,0]' LIMIT 5) AS ids;
RESET enable_indexscan;
-- inserts, deletes and VACUUM on an unlogged index
INSERT INTO dedge_unlogged
SELECT i, ARRAY[cos(i), sin(i), cos(i * 0.5)]::vector FROM generate_series(301, 400) i;
DELETE FROM dedge_unlogged WHERE id % 5 = 0;
VACUUM dedge_unlogged;
SELECT nodes, live_nodes, deleted_nodes FROM diskann_stats('dedge_unlogged_idx');
SELECT * FROM diskann_verify('dedge_unlogged_idx');
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM dedge_unlogged ORDER BY embedding <+> '[0,1,0]' LIMIT 5) AS ids;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dedge_unlogged ORDER BY embedding <+> '[0,1,0]' LIMIT 5) AS ids;
RESET enable_indexscan;
DROP TABLE dedge_unlogged;

CREATE TEMP TABLE dedge_temp (id int, embedding vector(3));
INSERT INTO dedge_temp
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector FROM generate_series(1, 300) i;
CREATE INDEX dedge_temp_idx ON dedge_temp USING diskann (embedding vector_cosine_ops);
SELECT nodes, live_nodes FROM diskann_stats('dedge_temp_idx');
SELECT * FROM diskann_verify('dedge_temp_idx');
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM dedge_temp ORDER BY embedding <=> '[1,0,0]' LIMIT 5) AS ids;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dedge_temp ORDER BY embedding <=> '[1,0,0]' LIMIT 5) AS ids;
RESET enable_indexscan;
-- inserts, deletes and VACUUM on a temporary index (local buffers)
INSERT INTO dedge_temp
SELECT i, ARRAY[cos(i), sin(i), cos(i * 0.5)]::vector FROM generate_series(301, 400) i;
DELETE FROM dedge_temp WHERE id % 5 = 0;
VACUUM dedge_temp;
SELECT nodes, live_nodes, deleted_nodes FROM diskann_stats('dedge_temp_idx');
SELECT * FROM diskann_verify('dedge_temp_idx');
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM dedge_temp ORDER BY embedding <=> '[0,1,0]' LIMIT 5) AS ids;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dedge_temp ORDER BY embedding <=> '[0,1,0]' LIMIT 5) AS ids;
RESET enable_indexscan;
DROP TABLE dedge_temp;
RESET diskann.query_search_list_size;

-- a partial index holds the matching rows only and serves queries that
-- imply its predicate
CREATE TABLE dedge_part (id int, c int, embedding vector(3));
INSERT INTO dedge_part
SELECT i, i % 4, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector FROM generate_series(1, 400) i;
CREATE INDEX dedge_part_idx ON dedge_part USING diskann (embedding) WHERE c = 1;
SELECT nodes, live_nodes FROM diskann_stats('dedge_part_idx');
SELECT * FROM diskann_verify('dedge_part_idx');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM dedge_part WHERE c = 1 ORDER BY embedding <-> '[0,1,0]' LIMIT 5;
SELECT count(*), bool_and(id % 4 = 1) AS all_c1
FROM (SELECT id FROM dedge_part WHERE c = 1 ORDER BY embedding <-> '[0,1,0]' LIMIT 200) s;
EXPLAIN (COSTS OFF)
SELECT id FROM dedge_part WHERE c = 2 ORDER BY embedding <-> '[0,1,0]' LIMIT 5;
RESET enable_seqscan;
DROP TABLE dedge_part;

-- several diskann indexes on one table, REINDEX and REINDEX CONCURRENTLY
CREATE TABLE dedge_multi (id int, embedding vector(6));
INSERT INTO dedge_multi
SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(i * 0.1), cos(i * 0.3)]::vector
FROM generate_series(1, 500) i;
CREATE INDEX dedge_multi_l2 ON dedge_multi USING diskann (embedding vector_l2_ops)
  WITH (num_neighbors = 32);
CREATE INDEX dedge_multi_ip ON dedge_multi USING diskann (embedding vector_ip_ops)
  WITH (num_neighbors = 24);
CREATE INDEX dedge_multi_cos ON dedge_multi USING diskann (embedding vector_cosine_ops)
  WITH (num_neighbors = 8, search_list_size = 20);
CREATE INDEX dedge_multi_l2b ON dedge_multi USING diskann (embedding vector_l2_ops)
  WITH (num_neighbors = 16);
SELECT i.relname, s.nodes, s.num_neighbors
FROM pg_class i, diskann_stats(i.oid) s
WHERE i.relname LIKE 'dedge_multi_%' ORDER BY i.relname;
SET enable_seqscan = off;
SET diskann.query_search_list_size = 500;
EXPLAIN (COSTS OFF) SELECT id FROM dedge_multi ORDER BY embedding <#> '[1,0,0,0,0,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dedge_multi ORDER BY embedding <=> '[1,0,0,0,0,1]' LIMIT 5;
CREATE TEMP TABLE dedge_multi_before AS
SELECT ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <-> '[1,0,0,0,0,1]' LIMIT 10) AS l2,
       ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <#> '[1,0,0,0,0,1]' LIMIT 10) AS ip,
       ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <=> '[1,0,0,0,0,1]' LIMIT 10) AS cos;
REINDEX INDEX dedge_multi_ip;
REINDEX INDEX CONCURRENTLY dedge_multi_cos;
REINDEX TABLE dedge_multi;
REINDEX TABLE CONCURRENTLY dedge_multi;
SELECT i.relname, s.nodes, s.num_neighbors, x.indisvalid
FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid, diskann_stats(i.oid) s
WHERE i.relname LIKE 'dedge_multi_%' ORDER BY i.relname;
-- (the inner-product index is left out: see diskann_reachability)
SELECT count(*) FROM pg_class i, diskann_verify(i.oid)
WHERE i.relname LIKE 'dedge_multi_%' AND i.relkind = 'i' AND i.relname <> 'dedge_multi_ip';
SELECT b.l2 = ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <-> '[1,0,0,0,0,1]' LIMIT 10) AS l2_same,
       b.ip = ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <#> '[1,0,0,0,0,1]' LIMIT 10) AS ip_same,
       b.cos = ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <=> '[1,0,0,0,0,1]' LIMIT 10) AS cos_same
FROM dedge_multi_before b;
RESET diskann.query_search_list_size;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT b.l2 = ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <-> '[1,0,0,0,0,1]' LIMIT 10) AS l2_exact,
       b.ip = ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <#> '[1,0,0,0,0,1]' LIMIT 10) AS ip_exact,
       b.cos = ARRAY(SELECT id FROM dedge_multi ORDER BY embedding <=> '[1,0,0,0,0,1]' LIMIT 10) AS cos_exact
FROM dedge_multi_before b;
RESET enable_indexscan;
-- diskann indexes cannot cluster a table
CLUSTER dedge_multi USING dedge_multi_l2;
DROP TABLE dedge_multi, dedge_multi_before;

-- slot layouts: aligned for small vectors, streamed when aligned slots would
-- waste space (784 dimensions) and for vectors wider than a page; plain
-- storage, then the default compressed storage
CREATE TABLE dedge_784 (id int, embedding vector(784));
INSERT INTO dedge_784
SELECT i, (SELECT array_agg(sin(i * j)) FROM generate_series(1, 784) j)::vector
FROM generate_series(1, 40) i;
CREATE INDEX dedge_784_idx ON dedge_784 USING diskann (embedding)
  WITH (num_neighbors = 32, storage = plain);
SELECT nodes, dimensions, layout, slot_size FROM diskann_stats('dedge_784_idx');
SELECT * FROM diskann_verify('dedge_784_idx');
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM dedge_784 ORDER BY embedding <-> (SELECT embedding FROM dedge_784 WHERE id = 7)
             LIMIT 3) AS ids;
RESET enable_seqscan;
DROP INDEX dedge_784_idx;
CREATE INDEX dedge_784_idx ON dedge_784 USING diskann (embedding)
  WITH (num_neighbors = 32);
SELECT nodes, dimensions, layout, slot_size FROM diskann_stats('dedge_784_idx');
SELECT * FROM diskann_verify('dedge_784_idx');
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM dedge_784 ORDER BY embedding <-> (SELECT embedding FROM dedge_784 WHERE id = 7)
             LIMIT 3) AS ids;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dedge_784 ORDER BY embedding <-> (SELECT embedding FROM dedge_784 WHERE id = 7)
             LIMIT 3) AS ids;
RESET enable_indexscan;
DROP TABLE dedge_784;

CREATE TABLE dedge_wide (id int, embedding vector(16000));
INSERT INTO dedge_wide
SELECT i, (SELECT array_agg(sin(i * j * 0.001)) FROM generate_series(1, 16000) j)::vector
FROM generate_series(1, 6) i;
CREATE INDEX dedge_wide_idx ON dedge_wide USING diskann (embedding vector_cosine_ops)
  WITH (num_neighbors = 32, storage = plain);
SELECT nodes, live_nodes, dimensions, layout, slot_size, pages > 6 * 7 AS spans_pages
FROM diskann_stats('dedge_wide_idx');
SELECT * FROM diskann_verify('dedge_wide_idx');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM dedge_wide ORDER BY embedding <=> (SELECT embedding FROM dedge_wide WHERE id = 4) LIMIT 6;
SELECT ARRAY(SELECT id FROM dedge_wide
             ORDER BY embedding <=> (SELECT embedding FROM dedge_wide WHERE id = 4) LIMIT 6) AS ids;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dedge_wide
             ORDER BY embedding <=> (SELECT embedding FROM dedge_wide WHERE id = 4) LIMIT 6) AS ids;
RESET enable_indexscan;
-- compressed, 8 bits: a 16,016-byte code spans pages too
DROP INDEX dedge_wide_idx;
CREATE INDEX dedge_wide_idx ON dedge_wide USING diskann (embedding vector_cosine_ops)
  WITH (num_neighbors = 32, bits = 8);
SELECT nodes, live_nodes, dimensions, layout, slot_size, storage, bits
FROM diskann_stats('dedge_wide_idx');
SELECT * FROM diskann_verify('dedge_wide_idx');
SET enable_seqscan = off;
SELECT ARRAY(SELECT id FROM dedge_wide
             ORDER BY embedding <=> (SELECT embedding FROM dedge_wide WHERE id = 4) LIMIT 6) AS ids;
RESET enable_seqscan;
DROP TABLE dedge_wide;
