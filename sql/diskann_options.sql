-- diskann index options (WITH ...) and the diskann.* settings.

CREATE TABLE dopt (id int, embedding vector(3));
INSERT INTO dopt SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.37)]::vector
FROM generate_series(1, 200) i;

-- defaults
CREATE INDEX dopt_default ON dopt USING diskann (embedding);
SELECT reloptions FROM pg_class WHERE relname = 'dopt_default';
SELECT nodes, live_nodes, dimensions, num_neighbors, layout
FROM diskann_stats('dopt_default');
DROP INDEX dopt_default;

-- valid options, including the limits of each range
CREATE INDEX dopt_a ON dopt USING diskann (embedding vector_l2_ops)
  WITH (num_neighbors = 4, search_list_size = 10, max_alpha = 1.0);
CREATE INDEX dopt_b ON dopt USING diskann (embedding vector_l2_ops)
  WITH (num_neighbors = 256, search_list_size = 1000, max_alpha = 2.0);
CREATE INDEX dopt_c ON dopt USING diskann (embedding vector_cosine_ops)
  WITH (num_neighbors = 16, search_list_size = 16, max_alpha = 1.5);
SELECT relname, reloptions FROM pg_class
WHERE relname IN ('dopt_a', 'dopt_b', 'dopt_c') ORDER BY relname;
SELECT num_neighbors, dimensions, nodes FROM diskann_stats('dopt_a');
SELECT num_neighbors, dimensions, nodes FROM diskann_stats('dopt_b');
SELECT num_neighbors, dimensions, nodes FROM diskann_stats('dopt_c');
SELECT * FROM diskann_verify('dopt_a');
SELECT * FROM diskann_verify('dopt_b');
SELECT * FROM diskann_verify('dopt_c');
-- out-degree never exceeds num_neighbors
SELECT avg_out_degree <= 4 AS degree_ok FROM diskann_stats('dopt_a');
DROP INDEX dopt_a, dopt_b, dopt_c;

-- out-of-range and unknown options
CREATE INDEX ON dopt USING diskann (embedding) WITH (num_neighbors = 3);
CREATE INDEX ON dopt USING diskann (embedding) WITH (num_neighbors = 257);
CREATE INDEX ON dopt USING diskann (embedding) WITH (num_neighbors = 'many');
CREATE INDEX ON dopt USING diskann (embedding) WITH (search_list_size = 9);
CREATE INDEX ON dopt USING diskann (embedding) WITH (search_list_size = 1001);
CREATE INDEX ON dopt USING diskann (embedding) WITH (max_alpha = 0.9);
CREATE INDEX ON dopt USING diskann (embedding) WITH (max_alpha = 2.1);
CREATE INDEX ON dopt USING diskann (embedding) WITH (unknown_option = 1);
CREATE INDEX ON dopt USING diskann (embedding) WITH (m = 16);
-- search_list_size must be at least num_neighbors
CREATE INDEX ON dopt USING diskann (embedding) WITH (num_neighbors = 64, search_list_size = 63);
CREATE INDEX ON dopt USING diskann (embedding) WITH (num_neighbors = 128);
-- nothing was left behind by the failed builds
SELECT count(*) FROM pg_indexes WHERE tablename = 'dopt';

-- ALTER INDEX checks the ranges too; a new num_neighbors takes effect at REINDEX
CREATE INDEX dopt_alter ON dopt USING diskann (embedding) WITH (num_neighbors = 16);
ALTER INDEX dopt_alter SET (num_neighbors = 300);
ALTER INDEX dopt_alter SET (max_alpha = 0.5);
ALTER INDEX dopt_alter SET (bogus = 1);
ALTER INDEX dopt_alter SET (num_neighbors = 8);
SELECT reloptions FROM pg_class WHERE relname = 'dopt_alter';
SELECT num_neighbors FROM diskann_stats('dopt_alter');
SELECT * FROM diskann_verify('dopt_alter');
REINDEX INDEX dopt_alter;
SELECT num_neighbors FROM diskann_stats('dopt_alter');
SELECT * FROM diskann_verify('dopt_alter');
ALTER INDEX dopt_alter RESET (num_neighbors);
REINDEX INDEX dopt_alter;
SELECT num_neighbors FROM diskann_stats('dopt_alter');
DROP INDEX dopt_alter;

-- settings: defaults
SHOW diskann.query_search_list_size;
SHOW diskann.iterative_scan;
SHOW diskann.max_scan_tuples;

-- settings: valid values
SET diskann.query_search_list_size = 1;
SET diskann.query_search_list_size = 10000;
SET diskann.iterative_scan = off;
SHOW diskann.iterative_scan;
SET diskann.iterative_scan = relaxed_order;
SHOW diskann.iterative_scan;
SET diskann.iterative_scan = 'strict_order';
SHOW diskann.iterative_scan;
SET diskann.max_scan_tuples = 1;
SET diskann.max_scan_tuples = 2147483647;

-- settings: bad values
SET diskann.query_search_list_size = 0;
SET diskann.query_search_list_size = 10001;
SET diskann.query_search_list_size = -5;
SET diskann.iterative_scan = 'bogus';
SET diskann.iterative_scan = 'on';
SET diskann.max_scan_tuples = 0;
SET diskann.max_scan_tuples = -1;
-- the diskann prefix is reserved: misspelt settings are errors
SET diskann.query_search_list = 40;
SET diskann.ef_search = 40;
RESET ALL;
SHOW diskann.query_search_list_size;
SHOW diskann.iterative_scan;
SHOW diskann.max_scan_tuples;

-- a setting changed inside a transaction is restored on rollback
BEGIN;
SET LOCAL diskann.query_search_list_size = 20;
SHOW diskann.query_search_list_size;
ROLLBACK;
SHOW diskann.query_search_list_size;

DROP TABLE dopt;
