-- pgbench script: delete one row of items: the first whose id is at least a
-- random id among 1..nrows (items' ids before the run), so that a row is
-- deleted even when that id is gone already, e.g.
--   pgbench -n -M prepared -c 2 -j 2 -T 20 -D nrows=60000 -f test/bench/delete_item.sql
-- (test/bench/suite.sh, stage pgbench).
\set r random(1, :nrows)
DELETE FROM items WHERE id = (SELECT id FROM items WHERE id >= :r ORDER BY id LIMIT 1);
