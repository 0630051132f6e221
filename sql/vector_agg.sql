-- avg(vector) and sum(vector).

SELECT avg(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v;
SELECT avg(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT avg(v) FROM unnest(ARRAY[NULL]::vector[]) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v;
SELECT avg(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;
SELECT avg(v) FROM unnest(ARRAY['[1]'::vector, '[2]', '[2]']) v;

SELECT sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v;
SELECT sum(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v;
SELECT sum(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;

-- the support functions called directly
SELECT vector_accum('{0}', '[1,2,3]');
SELECT vector_accum('{1,1,2,3}', '[1,2,3]');
SELECT vector_accum('{0,0,0,0}', '[1,2,3]');
SELECT vector_accum('{}', '[1,2,3]');
SELECT vector_accum('{NULL}', '[1,2,3]');
SELECT vector_accum('{{0}}', '[1,2,3]');
SELECT vector_accum('{0,0}', '[1,2,3]');
SELECT vector_accum('{1,1e308}', '[1e38]');
SELECT vector_combine('{1,2}', '{3,4}');
SELECT vector_combine('{0}', '{3,4}');
SELECT vector_combine('{3,4}', '{0}');
SELECT vector_combine('{0}', '{0}');
SELECT vector_combine('{1,2}', '{1,2,3}');
SELECT vector_combine('{1,1.7e308}', '{1,1.7e308}');
SELECT vector_combine('{{1,2}}', '{3,4}');
SELECT vector_combine('{1,2}', '{{3,4}}');
SELECT vector_combine('{}', '{0}');
SELECT vector_combine('{0}', '{}');
SELECT vector_avg('{2,2,4}');
SELECT vector_avg('{0}');
SELECT vector_avg('{1}');
SELECT vector_avg('{}');
SELECT vector_avg(array_agg(n)) FROM generate_series(1, 16002) n;
SELECT vector_avg(array_agg(n)) IS NOT NULL FROM generate_series(1, 16001) n;
SELECT vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16002) n));

-- over a table, grouped, serial and parallel
CREATE TABLE agg_t (g int, v vector(3));
INSERT INTO agg_t
  SELECT i % 4, ARRAY[i % 100, i % 10, -(i % 7) / 2.0]::vector(3) FROM generate_series(1, 20000) i;
ANALYZE agg_t;
SELECT avg(v), sum(v), count(v) FROM agg_t;
SELECT g, avg(v), sum(v) FROM agg_t GROUP BY g ORDER BY g;
SELECT avg(v) FROM agg_t WHERE false;
SELECT sum(v) FROM agg_t WHERE false;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_t;
SELECT avg(v), sum(v), count(v) FROM agg_t;
EXPLAIN (COSTS OFF) SELECT g, avg(v), sum(v) FROM agg_t GROUP BY g ORDER BY g;
SELECT g, avg(v), sum(v) FROM agg_t GROUP BY g ORDER BY g;
-- workers that see no rows contribute empty states
SELECT avg(v), sum(v) FROM agg_t WHERE g = 17;
SELECT avg(v), sum(v) FROM agg_t WHERE v = '[5,5,-2.5]' OR v = '[15,5,-0.5]';
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE agg_t;

-- aggregate catalog entries
SELECT aggfnoid::regprocedure, aggtransfn, aggcombinefn, aggfinalfn, aggtranstype::regtype,
       agginitval, p.proparallel
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE aggfnoid IN ('avg(vector)'::regprocedure, 'sum(vector)'::regprocedure)
ORDER BY 1::text;
