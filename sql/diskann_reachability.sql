-- Every live node must be reachable from the entry point: a node that is not
-- is never returned.  Duplicate vectors and the inner-product operator class
-- put that at risk.  diskann_verify reports unreachable nodes.

-- 50 identical vectors (and nothing else)
CREATE TABLE dreach_same (id int, embedding vector(3));
INSERT INTO dreach_same SELECT i, '[0,0,0]' FROM generate_series(1, 50) i;
CREATE INDEX dreach_same_idx ON dreach_same USING diskann (embedding vector_l2_ops);
SELECT nodes, live_nodes FROM diskann_stats('dreach_same_idx');
SELECT * FROM diskann_verify('dreach_same_idx');
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id)
FROM (SELECT id FROM dreach_same ORDER BY embedding <-> '[1,0,0]' LIMIT 100) s;
RESET enable_seqscan;
DROP TABLE dreach_same;

-- 2000 copies of one vector among 1000 distinct ones
CREATE TABLE dreach_dup (id int, embedding vector(8));
INSERT INTO dreach_dup
SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(3 * i), cos(3 * i),
                sin(5 * i), cos(5 * i)]::vector
FROM generate_series(1, 1000) i;
INSERT INTO dreach_dup SELECT i, '[5,5,5,5,5,5,5,5]' FROM generate_series(1001, 3000) i;
CREATE INDEX dreach_dup_idx ON dreach_dup USING diskann (embedding)
  WITH (storage = plain);
SELECT nodes, live_nodes, avg_out_degree <= 32 AS degree_ok FROM diskann_stats('dreach_dup_idx');
SELECT * FROM diskann_verify('dreach_dup_idx');
SET enable_seqscan = off;
-- the duplicate itself: 10 of its copies, at distance 0
SELECT count(*), count(DISTINCT id), min(id) > 1000 AS all_copies, max(d) AS max_distance
FROM (SELECT id, embedding <-> '[5,5,5,5,5,5,5,5]' AS d FROM dreach_dup
      ORDER BY embedding <-> '[5,5,5,5,5,5,5,5]' LIMIT 10) s;
-- next to it: the 50 nearest are copies (at 0.1; every other row is
-- farther than 10)
SELECT count(*), min(id) > 1000 AS all_copies
FROM (SELECT id FROM dreach_dup ORDER BY embedding <-> '[5,5,5,5,5,5,5,4.9]' LIMIT 50) s;
-- elsewhere the distinct rows are found, exactly with a search list as long
-- as the table
SET diskann.query_search_list_size = 3000;
CREATE TEMP TABLE dreach_dup_index AS
SELECT i AS qid, ARRAY(SELECT id FROM dreach_dup
                       ORDER BY embedding <-> ARRAY[cos(i), sin(i), 0, 0, 0, 0, 0, 0.5]::vector
                       LIMIT 10) AS ids
FROM generate_series(1, 10) i;
-- and the whole table comes back
SELECT count(*), count(DISTINCT id)
FROM (SELECT id FROM dreach_dup ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 5000) s;
RESET diskann.query_search_list_size;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE ids = ARRAY(SELECT id FROM dreach_dup
                       ORDER BY embedding <-> ARRAY[cos(qid), sin(qid), 0, 0, 0, 0, 0, 0.5]::vector
                       LIMIT 10)) AS same
FROM dreach_dup_index;
RESET enable_indexscan;
DROP TABLE dreach_dup, dreach_dup_index;

-- inner product on low-dimensional structured data
CREATE TABLE dreach_ip (id int, embedding vector(6));
INSERT INTO dreach_ip
SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(i * 0.1), cos(i * 0.3)]::vector
FROM generate_series(1, 500) i;
CREATE INDEX dreach_ip_idx ON dreach_ip USING diskann (embedding vector_ip_ops)
  WITH (storage = plain);
SELECT nodes, live_nodes FROM diskann_stats('dreach_ip_idx');
SELECT * FROM diskann_verify('dreach_ip_idx');
SET enable_seqscan = off;
SET diskann.query_search_list_size = 500;
-- the whole table comes back
SELECT count(*), count(DISTINCT id)
FROM (SELECT id FROM dreach_ip ORDER BY embedding <#> '[1,0,0,0,0,1]' LIMIT 1000) s;
-- the top 10 of 50 queries are exact with a search list as long as the table
CREATE TEMP TABLE dreach_ip_index AS
SELECT q.id AS qid,
       ARRAY(SELECT id FROM dreach_ip ORDER BY embedding <#> q.embedding LIMIT 10) AS ids
FROM dreach_ip q WHERE q.id % 10 = 0;
RESET diskann.query_search_list_size;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE ids = ARRAY(SELECT id FROM dreach_ip
                                          ORDER BY embedding <#> q.embedding LIMIT 10)) AS same
FROM dreach_ip_index JOIN dreach_ip q ON q.id = qid;
RESET enable_indexscan;
DROP TABLE dreach_ip, dreach_ip_index;

-- 10,000 copies of one vector whose elements half precision cannot hold
-- exactly, among 2,000 distinct rows: the build stays healthy, and the
-- copies are all found
CREATE TABLE dreach_many (id int, embedding vector(32));
INSERT INTO dreach_many
SELECT i, (SELECT array_agg(sin(i * j * 0.37)) FROM generate_series(1, 32) j)::vector
FROM generate_series(1, 2000) i;
INSERT INTO dreach_many
SELECT 2000 + i, (SELECT array_agg(1.0 / (j + 2.0)) FROM generate_series(1, 32) j)::vector
FROM generate_series(1, 10000) i;
CREATE INDEX dreach_many_idx ON dreach_many USING diskann (embedding);
SELECT nodes, live_nodes FROM diskann_stats('dreach_many_idx');
SELECT * FROM diskann_verify('dreach_many_idx');
SET enable_seqscan = off;
SELECT count(*), min(id) > 2000 AS all_copies, max(d) AS max_distance
FROM (SELECT id, embedding <-> (SELECT embedding FROM dreach_many WHERE id = 2001) AS d
      FROM dreach_many
      ORDER BY embedding <-> (SELECT embedding FROM dreach_many WHERE id = 2001)
      LIMIT 10) s;
SELECT count(*), count(DISTINCT id), min(id) > 2000 AS all_copies
FROM (SELECT id FROM dreach_many
      ORDER BY embedding <-> (SELECT embedding FROM dreach_many WHERE id = 2001)
      LIMIT 10000) s;
-- a distinct row is its own nearest neighbour
SELECT count(*) FILTER (WHERE nn = i) AS found, count(*) AS queries
FROM (SELECT i, (SELECT id FROM dreach_many
                 ORDER BY embedding <-> (SELECT embedding FROM dreach_many WHERE id = i)
                 LIMIT 1) AS nn
      FROM generate_series(1, 2000, 97) i) s;
RESET enable_seqscan;
DROP TABLE dreach_many;
