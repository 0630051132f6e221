-- pgbench script: insert one row into ins whose vector is a random
-- Fashion-MNIST training image, one of train's ids 1..nrows, e.g.
--   pgbench -n -M prepared -c 2 -j 2 -T 20 -D nrows=60000 -f test/bench/insert_row.sql
-- (test/bench/churn.sh makes both tables).
\set r random(1, :nrows)
INSERT INTO ins (embedding) SELECT embedding FROM train WHERE id = :r;
