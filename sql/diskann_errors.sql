-- diskann: columns it cannot index, bad queries, what it does not index,
-- and writes through every path.

CREATE TABLE derr (id int, embedding vector(3), nodim vector, txt text, n int);
INSERT INTO derr VALUES
  (1, '[1,2,3]', '[1,2]', 'a', 1),
  (2, '[0,0,0]', '[1,2,3]', 'b', 2),
  (3, NULL, NULL, 'c', 3),
  (4, '[-1,0.5,2]', NULL, 'd', 4),
  (5, '[3,1,0.5]', '[1]', 'e', 5);

-- columns and index shapes diskann does not support
CREATE INDEX ON derr USING diskann (nodim);
CREATE INDEX ON derr USING diskann (nodim vector_cosine_ops);
CREATE INDEX ON derr USING diskann (txt);
CREATE INDEX ON derr USING diskann (n);
CREATE INDEX ON derr USING diskann (n vector_l2_ops);
CREATE INDEX ON derr USING diskann (embedding vector_ops);
CREATE INDEX ON derr USING diskann (embedding, embedding);
CREATE UNIQUE INDEX ON derr USING diskann (embedding);
CREATE INDEX ON derr USING diskann (embedding) INCLUDE (id);
-- an expression with a typmod is fine
CREATE INDEX derr_expr ON derr USING diskann ((nodim::vector(3)))
  WHERE vector_dims(nodim) = 3;
SELECT nodes, dimensions FROM diskann_stats('derr_expr');
DROP INDEX derr_expr;
SELECT count(*) FROM pg_indexes WHERE tablename = 'derr';

-- diskann_verify and diskann_stats only take diskann indexes
CREATE INDEX derr_btree ON derr (n);
SELECT * FROM diskann_verify('derr');
SELECT * FROM diskann_stats('derr');
SELECT * FROM diskann_verify('derr_btree');
SELECT * FROM diskann_stats('derr_btree');
SELECT * FROM diskann_verify('no_such_index');
DROP INDEX derr_btree;

-- NULLs are never indexed; zero vectors are not indexed under cosine only
CREATE INDEX derr_l2 ON derr USING diskann (embedding vector_l2_ops);
CREATE INDEX derr_cos ON derr USING diskann (embedding vector_cosine_ops);
SELECT nodes, live_nodes FROM diskann_stats('derr_l2');
SELECT nodes, live_nodes FROM diskann_stats('derr_cos');
SELECT * FROM diskann_verify('derr_l2');
SELECT * FROM diskann_verify('derr_cos');

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM derr ORDER BY embedding <-> '[1,1,1]' LIMIT 10;
-- the index has 4 rows under L2, the zero vector included
SELECT id FROM derr ORDER BY embedding <-> '[1,1,1]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM derr ORDER BY embedding <=> '[1,1,1]' LIMIT 10;
-- and 3 under cosine (no NULL, no zero vector)
SELECT id FROM derr ORDER BY embedding <=> '[1,1,1]' LIMIT 10;

-- query vectors of the wrong dimension are errors, as for the operators
SELECT id FROM derr ORDER BY embedding <-> '[1,1]' LIMIT 10;
SELECT id FROM derr ORDER BY embedding <=> '[1,1,1,1]' LIMIT 10;
SELECT '[1,1,1]'::vector <-> '[1,1]';
-- ... also through a parameter
PREPARE derr_q(vector) AS SELECT id FROM derr ORDER BY embedding <-> $1 LIMIT 10;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE derr_q('[1,1,1]');
EXECUTE derr_q('[1,1,1]');
EXECUTE derr_q('[1,1]');
-- a NULL query vector: every distance is NULL; the index returns every
-- indexed row in no particular order, as pgvector's hnsw does (a
-- sequential scan returns every row)
EXECUTE derr_q(NULL);
SELECT id FROM derr ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 10;
RESET plan_cache_mode;
DEALLOCATE derr_q;
SET enable_seqscan = on;
SET enable_indexscan = off;
SELECT count(*) FROM (SELECT id FROM derr
  ORDER BY embedding <-> (SELECT NULL::vector) LIMIT 10) s;
SET enable_seqscan = off;
SET enable_indexscan = on;
-- a zero query vector has no cosine order (every distance is NaN): the
-- index returns every indexed row in no particular order
SELECT id FROM derr ORDER BY embedding <=> '[0,0,0]' LIMIT 10;
SELECT '[1,2,3]'::vector <=> '[0,0,0]';
-- under L2 the zero query vector is an ordinary query
SELECT id FROM derr ORDER BY embedding <-> '[0,0,0]' LIMIT 10;
RESET enable_seqscan;

-- inserts are indexed at once, whatever the path
INSERT INTO derr (id, embedding) VALUES (6, '[1,1,1]');
INSERT INTO derr (id, embedding) SELECT 7, '[2,2,2]';
COPY derr (id, embedding) FROM stdin;
8	[3,2,1]
\.
UPDATE derr SET embedding = '[5,5,5]' WHERE id = 1;
CREATE UNIQUE INDEX derr_id ON derr (id);
INSERT INTO derr (id, embedding) VALUES (9, '[1,1,9]')
  ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding;
INSERT INTO derr (id, embedding) VALUES (9, '[9,1,1]')
  ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding;
SELECT count(*) FROM derr;
SET enable_seqscan = off;
SELECT id, embedding FROM derr ORDER BY embedding <-> '[5,5,5]' LIMIT 1;
SELECT id, embedding FROM derr ORDER BY embedding <-> '[3,2,1]' LIMIT 1;
SELECT id, embedding FROM derr ORDER BY embedding <-> '[9,1,1]' LIMIT 1;
SELECT id FROM derr ORDER BY embedding <=> '[2,2,2]' LIMIT 2;
RESET enable_seqscan;
-- rows with a NULL embedding need no index entry and are accepted
INSERT INTO derr (id, embedding) VALUES (10, NULL);
COPY derr (id, embedding) FROM stdin;
11	\N
\.
-- a zero vector goes into the L2 index, not the cosine one
INSERT INTO derr (id, embedding) VALUES (12, '[0,0,0]');
SELECT count(*) FROM derr;
-- the old versions of updated rows are still nodes until VACUUM
SELECT nodes, live_nodes FROM diskann_stats('derr_l2');
SELECT nodes, live_nodes FROM diskann_stats('derr_cos');
SELECT * FROM diskann_verify('derr_l2');
SELECT * FROM diskann_verify('derr_cos');
-- a rolled back insert leaves a node that VACUUM removes
BEGIN;
INSERT INTO derr (id, embedding) VALUES (13, '[7,7,7]');
ROLLBACK;
VACUUM derr;
SELECT nodes, live_nodes, deleted_nodes FROM diskann_stats('derr_l2');
SELECT count(*) FROM derr WHERE embedding IS NOT NULL;
SELECT * FROM diskann_verify('derr_l2');

-- TRUNCATE empties the index; inserts start it afresh
TRUNCATE derr;
SELECT nodes, live_nodes, entry_point FROM diskann_stats('derr_l2');
SELECT * FROM diskann_verify('derr_l2');
SET enable_seqscan = off;
SELECT id FROM derr ORDER BY embedding <-> '[1,1,1]' LIMIT 10;
INSERT INTO derr (id, embedding) VALUES (14, '[1,1,1]'), (15, '[2,1,1]');
SELECT id FROM derr ORDER BY embedding <-> '[1,1,1]' LIMIT 10;
RESET enable_seqscan;
SELECT nodes, live_nodes, entry_point IS NOT NULL AS has_entry FROM diskann_stats('derr_l2');
DROP INDEX derr_id;

-- a CREATE INDEX rolled back leaves nothing behind
DROP INDEX derr_l2, derr_cos;
INSERT INTO derr (id, embedding) VALUES (13, '[1,1,1]');
BEGIN;
CREATE INDEX derr_tx ON derr USING diskann (embedding);
SELECT nodes FROM diskann_stats('derr_tx');
ROLLBACK;
SELECT count(*) FROM pg_class WHERE relname = 'derr_tx';

DROP TABLE derr;
