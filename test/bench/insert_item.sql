-- pgbench script: insert one row into items whose vector is a random query
-- vector (queries 1..nqueries) and whose id comes from the sequence
-- items_bench_id, which the caller creates starting above items' largest
-- id, e.g.
--   pgbench -n -M prepared -c 2 -j 2 -T 20 -D nqueries=1000 -f test/bench/insert_item.sql
-- (test/bench/suite.sh, stage pgbench).
\set r random(1, :nqueries)
INSERT INTO items (id, embedding) SELECT nextval('items_bench_id'), embedding FROM queries WHERE id = :r;
