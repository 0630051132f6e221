-- CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY of a cosine index over a
-- table with zero vectors, which the index does not hold: the validation
-- pass offers the rows missing from the index to aminsert, which must skip
-- them as the build does (not fail as for an insert).

CREATE TABLE dconc (id int, embedding vector(3));
INSERT INTO dconc
SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector FROM generate_series(1, 100) i;
INSERT INTO dconc VALUES (101, '[0,0,0]'), (102, NULL);

CREATE INDEX CONCURRENTLY dconc_cos ON dconc USING diskann (embedding vector_cosine_ops);
SELECT indisvalid FROM pg_index WHERE indexrelid = 'dconc_cos'::regclass;
SELECT nodes, live_nodes FROM diskann_stats('dconc_cos');
SELECT * FROM diskann_verify('dconc_cos');

DROP INDEX dconc_cos;
CREATE INDEX dconc_cos ON dconc USING diskann (embedding vector_cosine_ops);
REINDEX INDEX CONCURRENTLY dconc_cos;
SELECT c.relname, x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
WHERE x.indrelid = 'dconc'::regclass ORDER BY 1;
SELECT nodes, live_nodes FROM diskann_stats('dconc_cos');

DROP TABLE dconc;
