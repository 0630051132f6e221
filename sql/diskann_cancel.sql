-- A build checks for interrupts: a statement timeout cancels it cleanly, and
-- the table can be indexed afterwards.
CREATE TABLE dcancel (id int, embedding vector(64));
INSERT INTO dcancel
SELECT i, (SELECT array_agg(sin(i * j * 0.013)) FROM generate_series(1, 64) j)::vector
FROM generate_series(1, 30000) i;
SET statement_timeout = '200ms';
CREATE INDEX dcancel_idx ON dcancel USING diskann (embedding);
RESET statement_timeout;
SELECT count(*) FROM pg_class WHERE relname = 'dcancel_idx';
CREATE INDEX dcancel_idx ON dcancel USING diskann (embedding) WITH (num_neighbors = 8, search_list_size = 16);
SELECT * FROM diskann_verify('dcancel_idx');
DROP TABLE dcancel;
