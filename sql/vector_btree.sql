-- Comparison operators and the btree operator class.

SELECT '[1,2,3]'::vector < '[1,2,3]';
SELECT '[1,2,3]'::vector < '[1,2]';
SELECT '[1,2]'::vector < '[1,2,3]';
SELECT '[1,2,3]'::vector <= '[1,2,3]';
SELECT '[1,2,3]'::vector <= '[1,2]';
SELECT '[1,2,3]'::vector = '[1,2,3]';
SELECT '[1,2,3]'::vector = '[1,2]';
SELECT '[0]'::vector = '[-0]';
SELECT '[1,2,3]'::vector <> '[1,2,3]';
SELECT '[1,2,3]'::vector != '[1,2]';
SELECT '[1,2,3]'::vector >= '[1,2,3]';
SELECT '[1,2,3]'::vector >= '[1,2]';
SELECT '[1,2,3]'::vector > '[1,2,3]';
SELECT '[1,2,3]'::vector > '[1,2]';
SELECT '[2]'::vector > '[1,5]';
SELECT vector_cmp('[1,2,3]', '[1,2,3]');
SELECT vector_cmp('[1,2,3]', '[0,0,0]');
SELECT vector_cmp('[0,0,0]', '[1,2,3]');
SELECT vector_cmp('[1,2]', '[1,2,3]');
SELECT vector_cmp('[1,2,3]', '[1,2]');
SELECT vector_cmp('[1,2]', '[2,3,4]');
SELECT vector_cmp('[2,3]', '[1,2,3]');
SELECT vector_lt('[1]', '[2]'), vector_le('[1]', '[1]'), vector_eq('[1]', '[1]'),
       vector_ne('[1]', '[1]'), vector_ge('[1]', '[2]'), vector_gt('[2]', '[1]');

-- sorting, DISTINCT, GROUP BY, btree index, unique index, join
CREATE TABLE bt (id serial, v vector);
INSERT INTO bt (v) VALUES ('[1,2,3]'), ('[1,2]'), ('[0,5]'), ('[1,2,3]'), ('[-1]'), ('[1,2,4]'),
  ('[1,1,1,1]'), (NULL), ('[-0,5]');
SELECT v FROM bt ORDER BY v;
SELECT v FROM bt ORDER BY v DESC NULLS LAST;
SELECT DISTINCT v FROM bt ORDER BY v;
SELECT v, count(*) FROM bt GROUP BY v ORDER BY v;
SELECT count(DISTINCT v) FROM bt;
SELECT min(v::text), max(v::text) FROM bt;

CREATE INDEX bt_v ON bt (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM bt WHERE v = '[1,2,3]';
SELECT id FROM bt WHERE v = '[1,2,3]' ORDER BY id;
SELECT v FROM bt WHERE v > '[1,2]' AND v <= '[1,2,4]' ORDER BY v;
SELECT v FROM bt WHERE v < '[0,5]' ORDER BY v;
RESET enable_seqscan;

CREATE UNIQUE INDEX bt_u ON bt (v);
DELETE FROM bt WHERE id IN (4, 9);
CREATE UNIQUE INDEX bt_u ON bt (v);
INSERT INTO bt (v) VALUES ('[1,2,3]');
INSERT INTO bt (v) VALUES ('[1,2,3.0000001]');

SELECT count(*) FROM bt a JOIN bt b ON a.v = b.v;

-- a larger sort agrees with sorting the arrays
INSERT INTO bt (v) SELECT ARRAY[(i * 37) % 11, (i * 17) % 7, i % 3]::vector FROM generate_series(1, 3000) i
  ON CONFLICT DO NOTHING;
SELECT count(*) FROM bt;
SELECT bool_and(ok) FROM (
  SELECT (array_agg(v ORDER BY v))::text = (SELECT array_agg(v ORDER BY v::real[])::text FROM bt) AS ok
  FROM bt) s;
DROP TABLE bt;

SELECT amopopr::regoperator, amopstrategy FROM pg_amop
WHERE amopfamily = (SELECT opcfamily FROM pg_opclass WHERE opcname = 'vector_ops'
                    AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree'))
ORDER BY amopstrategy;
