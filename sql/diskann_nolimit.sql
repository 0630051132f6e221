-- An ORDER BY on the distance without LIMIT must return every row.  The
-- design says the planner uses a diskann index only with a LIMIT; an index
-- scan stops after diskann.max_scan_tuples rows (20000 by default), so a
-- table larger than that shows whether the index was (wrongly) used.

CREATE TABLE dnolim (id int, embedding vector(2));
INSERT INTO dnolim
SELECT i, ARRAY[sin(i), cos(i * 0.7)]::vector FROM generate_series(1, 25000) i;
CREATE INDEX dnolim_l2 ON dnolim USING diskann (embedding vector_l2_ops);
ANALYZE dnolim;

-- every row comes back, in distance order
SELECT count(*) AS rows_returned,
       count(*) FILTER (WHERE d < prev) AS out_of_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev
      FROM (SELECT embedding <-> '[1,0]' AS d, row_number() OVER () AS n
            FROM (SELECT embedding FROM dnolim
                  ORDER BY embedding <-> '[1,0]') o) s) s2;
DROP TABLE dnolim;
