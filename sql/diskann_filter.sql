-- Filter columns of diskann indexes: shapes, operators, errors, planning.
SET client_min_messages = warning;
SELECT setseed(0.42);
CREATE TABLE dfil (id int PRIMARY KEY, cat int, small int2, big int8, flag bool,
                   name text, tags int4[], stags int2[], embedding vector(4));
INSERT INTO dfil
SELECT i, i % 10, (i % 7)::int2, i * 1000, i % 2 = 0, 'name' || (i % 5),
       ARRAY[i % 3, 10 + i % 4], ARRAY[(i % 6)::int2],
       ARRAY[random(), random(), random(), random()]::vector
FROM generate_series(1, 2000) i;
INSERT INTO dfil VALUES (2001, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '[0.5,0.5,0.5,0.5]');
RESET client_min_messages;
CREATE INDEX dfil_idx ON dfil USING diskann
  (embedding vector_l2_ops, cat, small, big, flag, name, tags, stags)
  WITH (num_neighbors = 16, search_list_size = 32);
SELECT * FROM diskann_verify('dfil_idx');
SELECT nodes, live_nodes FROM diskann_stats('dfil_idx');
ANALYZE dfil;

-- dfil_check(cond, k, tab): run a filtered query on table tab through its
-- diskann index tab_idx or tab_first (other paths disabled) and exactly
-- (index scans disabled): how many rows, whether the index was used, and
-- whether the answers are the same
CREATE FUNCTION dfil_check(cond text, k int DEFAULT 10, tab text DEFAULT 'dfil') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  q text := format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY embedding <-> ''[0.3,0.6,0.2,0.9]'' LIMIT %s) s', tab, cond, k);
  got int[];
  want int[];
  line text;
  used bool := false;
BEGIN
  SET LOCAL enable_seqscan = off;
  SET LOCAL enable_bitmapscan = off;
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    used := used OR line ~ ('Index Scan using ' || tab || '_(idx|first)');
  END LOOP;
  EXECUTE q INTO got;
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_seqscan = on;
  EXECUTE q INTO want;
  RETURN format('%s rows, %s, %s', coalesce(array_length(got, 1), 0),
                CASE WHEN used THEN 'index' ELSE 'NO INDEX' END,
                CASE WHEN got IS NOT DISTINCT FROM want THEN 'exact' ELSE 'DIFFERENT' END);
END $$;

-- every operator, as an index condition
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat = 3 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat IN (3, 4) AND small = 2 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE big BETWEEN 5000 AND 90000 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE name = 'name2' AND tags && '{1}' AND stags @> '{3}' ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat = ANY ('{1,2}') ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
-- a parameter keeps flag = $1 an operator clause; a constant true is
-- simplified to "flag", which PostgreSQL matches to btree and hash only
PREPARE dfil_flag(bool) AS SELECT id FROM dfil WHERE flag = $1 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE dfil_flag(true);
RESET plan_cache_mode;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- answers equal the exact ones (the index is exact on a table this small)
SELECT cond, dfil_check(cond) FROM (VALUES
  ('cat = 3'), ('cat IN (3, 4)'), ('cat = ANY (''{7,8,9}'')'), ('small = 2'),
  ('small = 2::int8'), ('cat < 2'), ('cat <= 2'), ('cat > 7'), ('cat >= 7'),
  ('big BETWEEN 5000 AND 90000'), ('big > 1999000'), ('name = ''name2'''),
  ('name IN (''name1'', ''name4'')'), ('tags && ''{1}'''), ('tags @> ''{1,11}'''),
  ('tags @> ''{}'''), ('stags @> ''{3}'''), ('stags && ''{3,4}''::int2[]'),
  ('cat = 3 AND name = ''name3'''), ('cat = 3 AND small = 3 AND tags && ''{0}'''),
  ('cat IS NULL'), ('cat = 3 AND id % 7 = 0')
) v(cond);

-- never short: LIMIT beyond the matching rows returns all of them, and a
-- filter no row satisfies returns none
SELECT dfil_check('cat = 3 AND small = 3 AND tags && ''{0}''', 500);
SELECT dfil_check('cat = 42');
SELECT dfil_check('cat = NULL');
SELECT dfil_check('tags && ''{}''');
SELECT dfil_check('cat IN (NULL, 3)');
SET diskann.max_scan_tuples = 1;
SELECT dfil_check('cat = 5', 150);
SET diskann.query_search_list_size = 5;
SELECT dfil_check('cat IN (1, 2) AND id % 3 = 0', 50);
RESET diskann.max_scan_tuples;
RESET diskann.query_search_list_size;

-- a cursor without LIMIT goes through the index and gets every matching
-- row, however far its caller fetches
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL diskann.max_scan_tuples = 10;
DECLARE dfil_cur CURSOR FOR
  SELECT id FROM dfil WHERE cat = 3 ORDER BY embedding <-> '[0.3,0.6,0.2,0.9]';
MOVE FORWARD ALL IN dfil_cur;
SELECT pg_stat_get_xact_numscans('dfil_idx'::regclass) > 0 AS used_index;
COMMIT;

-- the NULL row is never returned by a filter on its NULL columns
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM dfil WHERE cat >= 0 ORDER BY embedding <-> '[0.5,0.5,0.5,0.5]' LIMIT 3000) s;
SELECT count(*) FROM (SELECT id FROM dfil ORDER BY embedding <-> '[0.5,0.5,0.5,0.5]' LIMIT 3000) s;
RESET enable_seqscan;

-- inserts, an update that moves a row to another category, deletes, VACUUM
INSERT INTO dfil VALUES (3000, 77, 1, 1, true, 'new', '{99}', '{9}', '[0.3,0.6,0.2,0.9]');
SELECT dfil_check('cat = 77'), dfil_check('tags && ''{99}'''), dfil_check('name = ''new''');
UPDATE dfil SET cat = 78 WHERE id = 3000;
SELECT dfil_check('cat = 77'), dfil_check('cat = 78');
DELETE FROM dfil WHERE id % 4 = 0;
VACUUM dfil;
SELECT * FROM diskann_verify('dfil_idx');
SELECT dfil_check('cat = 4'), dfil_check('cat = 78'), dfil_check('tags @> ''{2,12}''');

-- group summaries: CREATE INDEX numbers the nodes in the order of their
-- filter values, so that an exact pass over a selective filter skips the
-- groups whose summaries rule it out (the DEBUG line counts them); values
-- inserted later widen their group's summary and are found
CREATE TABLE dsum (id int PRIMARY KEY, cat int, name text, tags int4[], embedding vector(4));
INSERT INTO dsum
SELECT i, i % 30, 'n' || (i % 7), ARRAY[i % 11],
       ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i)]::vector
FROM generate_series(1, 3000) i;
CREATE INDEX dsum_idx ON dsum USING diskann (embedding vector_l2_ops, cat, name, tags)
  WITH (num_neighbors = 8, search_list_size = 16, storage = plain);
SELECT * FROM diskann_verify('dsum_idx');
SET enable_seqscan = off;
SET client_min_messages = debug1;
SELECT array_length(array_agg(id), 1) FROM (SELECT id FROM dsum WHERE cat = 7
  ORDER BY embedding <-> '[0.1,0.2,0.3,0.4]' LIMIT 5) s;
RESET client_min_messages;
INSERT INTO dsum
SELECT i, 99, 'later', ARRAY[500], ARRAY[sin(i), cos(i), 0, 0]::vector
FROM generate_series(3001, 3020) i;
SELECT * FROM diskann_verify('dsum_idx');
SELECT dfil_check('cat = 99', 30, 'dsum'), dfil_check('cat > 28', 30, 'dsum'),
       dfil_check('cat IN (3, 99)', 30, 'dsum'), dfil_check('name = ''later''', 30, 'dsum'),
       dfil_check('tags && ''{500}''', 30, 'dsum'), dfil_check('tags @> ''{500}''', 30, 'dsum'),
       dfil_check('cat < 1', 30, 'dsum');
RESET enable_seqscan;
DROP TABLE dsum;

-- planning: a selective filter through a btree wins over the graph, a
-- broad one does not
CREATE INDEX dfil_cat ON dfil (cat);
CREATE INDEX dfil_plain ON dfil USING diskann (embedding) WITH (num_neighbors = 16, search_list_size = 32);
DROP INDEX dfil_idx;
ANALYZE dfil;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat = 3 AND id % 50 = 0 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat < 9 ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM dfil ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
-- no ORDER BY, or no LIMIT: never the graph
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat = 3;
EXPLAIN (COSTS OFF) SELECT id FROM dfil ORDER BY embedding <-> '[0,0,0,0]';

-- IN lists reach an ordered index scan only on the index's first column
-- (PostgreSQL 15), so the vector column may come after a filter column
CREATE INDEX dfil_first ON dfil USING diskann (cat, embedding) WITH (num_neighbors = 16, search_list_size = 32);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dfil WHERE cat IN (3, 4) ORDER BY embedding <-> '[0,0,0,0]' LIMIT 5;
RESET enable_seqscan;
SELECT dfil_check('cat IN (3, 4)'), dfil_check('cat = ANY (''{1,9}'')'), dfil_check('cat > 8');
SELECT * FROM diskann_verify('dfil_first');
DROP INDEX dfil_first;

-- errors
CREATE INDEX ON dfil USING diskann (cat, small);
CREATE INDEX ON dfil USING diskann (embedding, (cat::float8));
CREATE INDEX ON dfil USING diskann (embedding, id, cat, small, big, flag, name, tags, stags, (id + 1));
CREATE INDEX ON dfil USING diskann (embedding, embedding);
CREATE INDEX ON dfil USING diskann (embedding) INCLUDE (cat);

DROP FUNCTION dfil_check(text, int, text);
DROP TABLE dfil;
