-- pgbench script: one k-NN query (L2, k = 10) for a random Fashion-MNIST
-- test image.  Run with -D nqueries=N to draw from queries 1..N, e.g.
--   pgbench -n -M prepared -c 1 -T 10 -D nqueries=1000 -f test/bench/knn_l2.sql
-- Index settings come from the session, e.g.
--   PGOPTIONS="-c diskann.query_search_list_size=40"
\set qid random(1, :nqueries)
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = :qid) LIMIT 10;
