-- DELETE + VACUUM: deleted rows' nodes are never returned, VACUUM repairs
-- the graph around them and frees their slots, which inserts reuse; the
-- graph stays healthy; CREATE INDEX CONCURRENTLY.

CREATE TABLE dvac (id int, embedding vector(4)) WITH (autovacuum_enabled = off);
INSERT INTO dvac
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.3), cos(i * 0.7)]::vector
FROM generate_series(1, 600) i;
CREATE INDEX dvac_l2 ON dvac USING diskann (embedding vector_l2_ops);
CREATE INDEX dvac_cos ON dvac USING diskann (embedding vector_cosine_ops);

DELETE FROM dvac WHERE id % 3 = 0;
-- before VACUUM: the nodes are still live, the rows are invisible
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_l2');
SET enable_seqscan = off;
SET diskann.query_search_list_size = 600;
SELECT count(*), count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned
FROM (SELECT id FROM dvac ORDER BY embedding <-> '[1,0,0,1]' LIMIT 1000) s;
RESET diskann.query_search_list_size;
RESET enable_seqscan;

VACUUM dvac;
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_l2');
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_cos');
SELECT * FROM diskann_verify('dvac_l2');
SELECT * FROM diskann_verify('dvac_cos');
-- a second VACUUM changes nothing
VACUUM dvac;
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_l2');

SET enable_seqscan = off;
-- every remaining row, none deleted, in order
SET diskann.query_search_list_size = 600;
SELECT count(*) AS rows_returned,
       count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned,
       count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS prev
      FROM (SELECT id, d, row_number() OVER () AS n
            FROM (SELECT id, embedding <-> '[1,0,0,1]' AS d FROM dvac
                  ORDER BY embedding <-> '[1,0,0,1]' LIMIT 1000) o) s) s2;
-- top 10 exact for 20 queries, both operator classes
CREATE TEMP TABLE dvac_index AS
SELECT q AS qid,
       ARRAY(SELECT id FROM dvac ORDER BY embedding <-> ARRAY[cos(q), sin(q), 0, 1]::vector LIMIT 10) AS l2,
       ARRAY(SELECT id FROM dvac ORDER BY embedding <=> ARRAY[cos(q), sin(q), 0, 1]::vector LIMIT 10) AS cos
FROM generate_series(1, 20) q;
RESET diskann.query_search_list_size;
-- at the default settings a LIMIT 10 still gets 10 rows (deleted nodes are
-- walked through but skipped)
SELECT count(*), count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned
FROM (SELECT id FROM dvac ORDER BY embedding <=> '[0,1,1,0]' LIMIT 10) s;
-- VACUUM took the deleted nodes out of the graph: with iterative scans off
-- a search list of 30 yields 30 rows
SET diskann.iterative_scan = off;
SET diskann.query_search_list_size = 30;
SELECT count(*) AS rows_returned,
       count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned
FROM (SELECT id FROM dvac ORDER BY embedding <-> '[1,0,0,1]' LIMIT 100) s;
RESET diskann.query_search_list_size;
RESET diskann.iterative_scan;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE l2 = ARRAY(SELECT id FROM dvac
                        ORDER BY embedding <-> ARRAY[cos(qid), sin(qid), 0, 1]::vector LIMIT 10)) AS l2_same,
       count(*) FILTER (WHERE cos = ARRAY(SELECT id FROM dvac
                        ORDER BY embedding <=> ARRAY[cos(qid), sin(qid), 0, 1]::vector LIMIT 10)) AS cos_same
FROM dvac_index;
RESET enable_indexscan;

-- deleting everything
DELETE FROM dvac;
-- before VACUUM every node is still in the graph and its heap row dead, so
-- the executor asks for every one: the walk stops after
-- diskann.max_scan_tuples expansions (deleted nodes included) and the exact
-- pass returns the rest, once each (compressed storage: the scan reads the
-- rows of the candidates it must re-rank, finds them dead and drops them,
-- so the executor gets only the few rows whose order the estimates alone
-- settled)
SET enable_seqscan = off;
SET diskann.max_scan_tuples = 50;
SET client_min_messages = debug1;
SELECT count(*) FROM (SELECT id FROM dvac ORDER BY embedding <-> '[1,0,0,1]' LIMIT 10) s;
RESET client_min_messages;
RESET diskann.max_scan_tuples;
RESET enable_seqscan;
VACUUM dvac;
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_l2');
SELECT * FROM diskann_verify('dvac_l2');
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM dvac ORDER BY embedding <-> '[1,0,0,1]' LIMIT 10) s;
RESET enable_seqscan;
-- inserts reuse the free slots: the index does not grow
SELECT pg_relation_size('dvac_l2') AS size_before \gset
INSERT INTO dvac
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.3), cos(i * 0.7)]::vector
FROM generate_series(1, 600) i;
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_l2');
SELECT pg_relation_size('dvac_l2') = :size_before AS same_size;
SELECT * FROM diskann_verify('dvac_l2');
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM dvac ORDER BY embedding <-> '[1,0,0,1]' LIMIT 10) s;
RESET enable_seqscan;
-- a REINDEX rebuilds it compactly
REINDEX INDEX dvac_l2;
SELECT nodes, live_nodes, deleted_nodes, free_slots FROM diskann_stats('dvac_l2');
DROP TABLE dvac, dvac_index;

-- CREATE INDEX CONCURRENTLY
CREATE TABLE dvac_cic (id int, embedding vector(3));
INSERT INTO dvac_cic
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector FROM generate_series(1, 200) i;
INSERT INTO dvac_cic VALUES (201, NULL);
CREATE INDEX CONCURRENTLY dvac_cic_l2 ON dvac_cic USING diskann (embedding vector_l2_ops);
SELECT indisvalid FROM pg_index WHERE indexrelid = 'dvac_cic_l2'::regclass;
SELECT nodes, live_nodes FROM diskann_stats('dvac_cic_l2');
SELECT * FROM diskann_verify('dvac_cic_l2');
DROP TABLE dvac_cic;
