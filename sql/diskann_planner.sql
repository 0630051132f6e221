-- When the planner uses a diskann index: ORDER BY <the opclass's distance
-- operator> LIMIT, and nothing else.

CREATE TABLE dplan (id int, c int, embedding vector(8));
INSERT INTO dplan
SELECT i, i % 10,
       ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(3 * i), cos(3 * i),
             sin(i * 0.1), cos(i * 0.1)]::vector
FROM generate_series(1, 5000) i;
CREATE INDEX dplan_l2 ON dplan USING diskann (embedding vector_l2_ops);
ANALYZE dplan;

-- ORDER BY distance LIMIT: index scan
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]' LIMIT 100;
-- the distance may be written either way round
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY '[1,0,0,0,0,0,0,1]' <-> embedding LIMIT 10;
-- a query vector from a parameter (generic plan) and from an outer row
PREPARE dplan_q(vector) AS
  SELECT id FROM dplan ORDER BY embedding <-> $1 LIMIT 10;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE dplan_q('[1,0,0,0,0,0,0,1]');
RESET plan_cache_mode;
DEALLOCATE dplan_q;
EXPLAIN (COSTS OFF)
SELECT q.id, (SELECT array_agg(id) FROM
               (SELECT d.id FROM dplan d ORDER BY d.embedding <-> q.embedding LIMIT 5) s)
FROM dplan q WHERE q.id <= 3;

-- no index without an ORDER BY on the distance
EXPLAIN (COSTS OFF) SELECT id FROM dplan WHERE c = 3;
EXPLAIN (COSTS OFF) SELECT id FROM dplan WHERE c = 3 LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM dplan WHERE embedding = '[1,0,0,0,0,0,0,1]';
EXPLAIN (COSTS OFF) SELECT count(*) FROM dplan;
EXPLAIN (COSTS OFF) SELECT id FROM dplan ORDER BY id LIMIT 10;
-- not even when sequential scans are disabled
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dplan WHERE c = 3;
RESET enable_seqscan;
-- nor for an ORDER BY on the distance without LIMIT
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]';
-- nor for a descending order, a function call instead of the operator, or an
-- extra sort key
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]' DESC LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY l2_distance(embedding, '[1,0,0,0,0,0,0,1]') LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]', id LIMIT 10;
-- nor for the other distance operators, which this index does not order by
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <#> '[1,0,0,0,0,0,0,1]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <=> '[1,0,0,0,0,0,0,1]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <+> '[1,0,0,0,0,0,0,1]' LIMIT 10;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <=> '[1,0,0,0,0,0,0,1]' LIMIT 10;
RESET enable_seqscan;
-- enable_indexscan = off turns it off
SET enable_indexscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]' LIMIT 10;
RESET enable_indexscan;
-- a search list as long as the table makes the walk as dear as a scan
SET diskann.query_search_list_size = 10000;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]' LIMIT 10;
RESET diskann.query_search_list_size;

-- each operator class serves its own operator
DROP INDEX dplan_l2;
CREATE INDEX dplan_ip ON dplan USING diskann (embedding vector_ip_ops);
CREATE INDEX dplan_cos ON dplan USING diskann (embedding vector_cosine_ops);
CREATE INDEX dplan_l1 ON dplan USING diskann (embedding vector_l1_ops);
ANALYZE dplan;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <#> '[1,0,0,0,0,0,0,1]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <=> '[1,0,0,0,0,0,0,1]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <+> '[1,0,0,0,0,0,0,1]' LIMIT 10;
-- and L2 now has no index
EXPLAIN (COSTS OFF)
SELECT id FROM dplan ORDER BY embedding <-> '[1,0,0,0,0,0,0,1]' LIMIT 10;

DROP TABLE dplan;
