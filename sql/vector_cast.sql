-- Casts between vector and arrays.

SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.0,2.0,3.0]::vector;
SELECT ARRAY[1,2,3]::float4[]::vector;
SELECT ARRAY[1,2,3]::float8[]::vector;
SELECT ARRAY[1,2,3]::numeric[]::vector;
SELECT ARRAY[1.5,-2.25]::numeric[]::vector;
SELECT ARRAY[0.1]::float8[]::vector, ARRAY[0.1]::float4[]::vector, ARRAY[0.1]::numeric[]::vector;
SELECT ARRAY[2147483647, -2147483648]::vector;
SELECT '[1,2,3]'::vector::real[];
SELECT '[1.5,-0.25,1e-07]'::vector::real[];
SELECT '{1,2,3}'::real[]::vector;
SELECT '{1,2,3}'::real[]::vector(3);
SELECT '{1,2,3}'::real[]::vector(2);
SELECT '{1,2,3}'::integer[]::vector(2);
SELECT '{1,2,3}'::numeric[]::vector(4);
SELECT '{1,2,3}'::double precision[]::vector;
SELECT '{1,2,3}'::double precision[]::vector(3);
SELECT '{1,2,3}'::double precision[]::vector(2);

-- bad arrays
SELECT '{NULL}'::real[]::vector;
SELECT '{1,NULL,3}'::integer[]::vector;
SELECT '{1,NULL}'::numeric[]::vector;
SELECT '{NaN}'::real[]::vector;
SELECT '{NaN}'::double precision[]::vector;
SELECT '{NaN}'::numeric[]::vector;
SELECT '{Infinity}'::real[]::vector;
SELECT '{-Infinity}'::real[]::vector;
SELECT '{-Infinity}'::double precision[]::vector;
SELECT '{4e38,-4e38}'::double precision[]::vector;
SELECT '{1e-46,-1e-46}'::double precision[]::vector;
SELECT '{1e39}'::numeric[]::vector;
SELECT '{}'::real[]::vector;
SELECT '{}'::integer[]::vector;
SELECT '{{1}}'::real[]::vector;
SELECT '{{1,2},{3,4}}'::integer[]::vector;
SELECT '[2:3]={1,2}'::integer[]::vector;
SELECT array_agg(n)::vector FROM generate_series(1, 16001) n;
SELECT array_to_vector(array_agg(n), 16001, false) FROM generate_series(1, 16001) n;
SELECT vector_dims(array_agg(n)::vector) FROM generate_series(1, 16000) n;

-- functions callable directly
SELECT array_to_vector('{1,2}'::real[], -1, false), vector_to_float4('[1,2]', -1, false);
SELECT array_to_vector('{1,2}'::real[], 3, true);

-- assignment casts apply on INSERT, the implicit cast to real[] in expressions
CREATE TEMP TABLE ct (v vector(2));
INSERT INTO ct VALUES (ARRAY[1,2]), ('{3,4}'::real[]), ('{5,6}'::float8[]), ('{7,8}'::numeric[]);
INSERT INTO ct VALUES (ARRAY[1,2,3]);
SELECT v, v::real[], array_length(v::real[], 1) FROM ct ORDER BY 1;
SELECT (v::real[])[2] FROM ct ORDER BY 1;
DROP TABLE ct;
-- arrays keep working as before
SELECT ARRAY[1,2,3] = ARRAY[1,2,3];
SELECT ARRAY[1,2] || ARRAY[3];

-- the cast catalog
SELECT castsource::regtype, casttarget::regtype, castfunc::regprocedure, castcontext
FROM pg_cast WHERE castsource = 'vector'::regtype OR casttarget = 'vector'::regtype
ORDER BY 1::text, 2::text;
