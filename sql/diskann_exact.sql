-- Exact answers: when the search list holds the whole table, a diskann scan
-- finds the true nearest neighbours, for every operator class; results come
-- in distance order.

SELECT setseed(0.25);
CREATE TABLE dex (id int, embedding vector(16));
INSERT INTO dex
SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 16) WHERE i > 0)::vector
FROM generate_series(1, 400) i;
CREATE TABLE dexq (qid int, q vector(16));
INSERT INTO dexq
SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, 16) WHERE i > 0)::vector
FROM generate_series(1, 20) i;
-- no two rows are equal, so there are no ties to order arbitrarily
SELECT count(DISTINCT embedding) FROM dex;

-- (plain storage: exact distances; diskann_storage covers the compressed
-- storage, whose order is exact after re-ranking)
CREATE INDEX dex_l2 ON dex USING diskann (embedding vector_l2_ops) WITH (storage = plain);
CREATE INDEX dex_ip ON dex USING diskann (embedding vector_ip_ops) WITH (storage = plain);
CREATE INDEX dex_cos ON dex USING diskann (embedding vector_cosine_ops) WITH (storage = plain);
CREATE INDEX dex_l1 ON dex USING diskann (embedding vector_l1_ops);
SELECT * FROM diskann_verify('dex_l2');
SELECT * FROM diskann_verify('dex_ip');
SELECT * FROM diskann_verify('dex_cos');
SELECT * FROM diskann_verify('dex_l1');

-- top 10 of 20 queries per operator: index scan (search list >= table) and
-- sequential scan
SET diskann.query_search_list_size = 400;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT qid, ARRAY(SELECT id FROM dex ORDER BY embedding <-> q LIMIT 10) FROM dexq;
CREATE TEMP TABLE dex_index AS
SELECT qid,
       ARRAY(SELECT id FROM dex ORDER BY embedding <-> q LIMIT 10) AS l2,
       ARRAY(SELECT id FROM dex ORDER BY embedding <#> q LIMIT 10) AS ip,
       ARRAY(SELECT id FROM dex ORDER BY embedding <=> q LIMIT 10) AS cos,
       ARRAY(SELECT id FROM dex ORDER BY embedding <+> q LIMIT 10) AS l1
FROM dexq;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT qid, ARRAY(SELECT id FROM dex ORDER BY embedding <-> q LIMIT 10) FROM dexq;
CREATE TEMP TABLE dex_exact AS
SELECT qid,
       ARRAY(SELECT id FROM dex ORDER BY embedding <-> q LIMIT 10) AS l2,
       ARRAY(SELECT id FROM dex ORDER BY embedding <#> q LIMIT 10) AS ip,
       ARRAY(SELECT id FROM dex ORDER BY embedding <=> q LIMIT 10) AS cos,
       ARRAY(SELECT id FROM dex ORDER BY embedding <+> q LIMIT 10) AS l1
FROM dexq;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE i.l2 = e.l2) AS l2_same,
       count(*) FILTER (WHERE i.ip = e.ip) AS ip_same,
       count(*) FILTER (WHERE i.cos = e.cos) AS cos_same,
       count(*) FILTER (WHERE i.l1 = e.l1) AS l1_same,
       count(*) FILTER (WHERE cardinality(i.l2) = 10 AND cardinality(i.ip) = 10 AND
                              cardinality(i.cos) = 10 AND cardinality(i.l1) = 10) AS ten_each
FROM dex_index i JOIN dex_exact e USING (qid);
-- the test can fail: the answers differ between operators
SELECT count(*) FILTER (WHERE l2 <> l1) > 0 AS l2_differs_from_l1,
       count(*) FILTER (WHERE l2 <> ip) > 0 AS l2_differs_from_ip
FROM dex_exact;

-- the whole table through the index: every row once, in the exact order
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM dex ORDER BY embedding <=> (SELECT q FROM dexq WHERE qid = 1) LIMIT 1000;
CREATE TEMP TABLE dex_all AS
SELECT row_number() OVER () AS n, id, d
FROM (SELECT id, embedding <=> (SELECT q FROM dexq WHERE qid = 1) AS d
      FROM dex ORDER BY embedding <=> (SELECT q FROM dexq WHERE qid = 1)
      LIMIT 1000) s;
RESET enable_seqscan;
SELECT count(*), count(DISTINCT id) FROM dex_all;
SELECT ARRAY(SELECT id FROM dex_all ORDER BY n) =
       ARRAY(SELECT id FROM dex ORDER BY embedding <=> (SELECT q FROM dexq WHERE qid = 1),
                                         id)
       AS same_order;
-- and the distances it implies are non-decreasing
SELECT count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev FROM dex_all) s;
DROP TABLE dex_all;

-- at the default search list size (100 < 400 rows) an iterative scan goes on
-- past the first 100 rows; strict_order keeps distance order
RESET diskann.query_search_list_size;
SET enable_seqscan = off;
SELECT count(*) AS rows_returned,
       count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev
      FROM (SELECT d, row_number() OVER () AS n
            FROM (SELECT embedding <-> (SELECT q FROM dexq WHERE qid = 2) AS d
                  FROM dex ORDER BY embedding <-> (SELECT q FROM dexq WHERE qid = 2)
                  LIMIT 300) o) s) s2;
EXPLAIN (COSTS OFF)
SELECT embedding <-> (SELECT q FROM dexq WHERE qid = 2) AS d
FROM dex ORDER BY embedding <-> (SELECT q FROM dexq WHERE qid = 2)
LIMIT 300;
-- same with a constant query vector
SELECT count(*) AS rows_returned,
       count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev
      FROM (SELECT d, row_number() OVER () AS n
            FROM (SELECT embedding <#> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]' AS d
                  FROM dex
                  ORDER BY embedding <#> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
                  LIMIT 300) o) s) s2;
-- relaxed_order returns as many, maybe out of order
SET diskann.iterative_scan = relaxed_order;
SELECT count(*) AS rows_returned, count(DISTINCT id) AS distinct_rows
FROM (SELECT id FROM dex ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
      LIMIT 300) s;
-- off: no more than diskann.query_search_list_size rows
SET diskann.iterative_scan = off;
SET diskann.query_search_list_size = 20;
SELECT count(*) AS rows_returned
FROM (SELECT id FROM dex ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
      LIMIT 100) s;
SET diskann.query_search_list_size = 1;
SELECT count(*) AS rows_returned
FROM (SELECT id FROM dex ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
      LIMIT 100) s;
RESET diskann.query_search_list_size;
RESET diskann.iterative_scan;
-- diskann.max_scan_tuples bounds the walk, not the answer: past it the
-- scan finishes with an exact pass, so a filter that keeps one row in ten
-- still gets its LIMIT 5 rows
SET diskann.max_scan_tuples = 7;
SELECT count(*) AS rows_returned
FROM (SELECT id FROM dex WHERE id % 10 = 0
      ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
      LIMIT 5) s;
-- and they are the exact answer
SELECT ARRAY(SELECT id FROM dex WHERE id % 10 = 0
             ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
             LIMIT 5) AS index_ids \gset
SET enable_indexscan = off;
SELECT ARRAY(SELECT id FROM dex WHERE id % 10 = 0
             ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]'
             LIMIT 5) = :'index_ids'::int[] AS same_as_exact;
RESET enable_indexscan;
-- so a LIMIT beyond diskann.max_scan_tuples is planned as an index scan too
EXPLAIN (COSTS OFF)
SELECT id FROM dex ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,-1]' LIMIT 100;
RESET diskann.max_scan_tuples;
RESET enable_seqscan;

-- on a small table the default settings are exact
CREATE TABLE dex_small AS SELECT * FROM dex WHERE id <= 60;
CREATE INDEX ON dex_small USING diskann (embedding vector_l1_ops)
  WITH (num_neighbors = 8, search_list_size = 10);
SET enable_seqscan = off;
CREATE TEMP TABLE dex_small_index AS
SELECT qid, ARRAY(SELECT id FROM dex_small ORDER BY embedding <+> q LIMIT 5) AS ids FROM dexq;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT count(*) AS queries, count(*) FILTER (WHERE i.ids = ARRAY(SELECT id FROM dex_small
                                             ORDER BY embedding <+> q LIMIT 5)) AS same
FROM dex_small_index i JOIN dexq USING (qid);
RESET enable_indexscan;

DROP TABLE dex, dexq, dex_small, dex_index, dex_exact, dex_small_index;
