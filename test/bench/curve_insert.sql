-- pgbench script: insert one row into curve whose vector is a random query
-- vector (queries 1..nqueries), under the query's id negated (so the
-- measured rows stand apart from the data set's), e.g.
--   pgbench -n -M prepared -c 1 -t 1000 -D nqueries=1000 -f test/bench/curve_insert.sql
-- (test/bench/suite.sh, stage curve).
\set r random(1, :nqueries)
INSERT INTO curve (id, embedding) SELECT -id, embedding FROM queries WHERE id = :r;
