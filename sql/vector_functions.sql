-- Operators and functions on vectors.

-- element-wise arithmetic
SELECT '[1,2,3]'::vector + '[4,5,6]';
SELECT '[1,2,3]'::vector - '[4,5,6]';
SELECT '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1.5,-2]'::vector + '[-1.5,2]';
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[-3e38]'::vector - '[3e38]';
SELECT '[1e37]'::vector * '[1e37]';
SELECT '[1e-37]'::vector * '[1e-37]';
SELECT '[0,1e-37]'::vector * '[1e-37,0]';
SELECT '[1,2]'::vector + '[3]';
SELECT '[1,2]'::vector - '[3]';
SELECT '[1,2]'::vector * '[3]';
SELECT vector_add('[1]', '[2]'), vector_sub('[1]', '[2]'), vector_mul('[3]', '[2]');

-- concatenation
SELECT '[1,2,3]'::vector || '[4,5]';
SELECT vector_concat('[1]', '[2]');
SELECT vector_dims(array_fill(0, ARRAY[15999])::vector || '[1]');
SELECT array_fill(0, ARRAY[16000])::vector || '[1]';

-- dimensions and norm
SELECT vector_dims('[1,2,3]'::vector);
SELECT vector_dims('[1]'::vector);
SELECT round(vector_norm('[1,1]')::numeric, 5);
SELECT vector_norm('[3,4]');
SELECT vector_norm('[0,1]');
SELECT vector_norm('[3e37,4e37]')::real;
SELECT vector_norm('[0,0]');
SELECT vector_norm('[-2]');

-- L2 distance
SELECT l2_distance('[0,0]'::vector, '[3,4]');
SELECT l2_distance('[0,0]'::vector, '[0,1]');
SELECT l2_distance('[1,2]'::vector, '[3]');
SELECT l2_distance('[3e38]'::vector, '[-3e38]');
SELECT l2_distance('[1,1,1,1,1,1,1,1,1]'::vector, '[1,1,1,1,1,1,1,4,5]');
SELECT '[0,0]'::vector <-> '[3,4]';
SELECT '[1,2]'::vector <-> '[1,2,3]';
SELECT vector_l2_squared_distance('[0,0]', '[3,4]');
SELECT vector_l2_squared_distance('[0,0]', '[3]');

-- inner product
SELECT inner_product('[1,2]'::vector, '[3,4]');
SELECT inner_product('[1,2]'::vector, '[3]');
SELECT inner_product('[3e38]'::vector, '[3e38]');
SELECT inner_product('[1,1,1,1,1,1,1,1,1]'::vector, '[1,2,3,4,5,6,7,8,9]');
SELECT '[1,2]'::vector <#> '[3,4]';
SELECT vector_negative_inner_product('[1,2]', '[3,4]');
SELECT vector_negative_inner_product('[1,2]', '[3]');

-- cosine distance
SELECT cosine_distance('[1,2]'::vector, '[2,4]');
SELECT cosine_distance('[1,2]'::vector, '[0,0]');
SELECT cosine_distance('[0,0]'::vector, '[0,0]');
SELECT cosine_distance('[1,1]'::vector, '[1,1]');
SELECT cosine_distance('[1,0]'::vector, '[0,2]');
SELECT cosine_distance('[1,1]'::vector, '[-1,-1]');
SELECT cosine_distance('[1,2]'::vector, '[3]');
SELECT cosine_distance('[1,1]'::vector, '[1.1,1.1]');
SELECT cosine_distance('[1,1]'::vector, '[-1.1,-1.1]');
SELECT cosine_distance('[3e38]'::vector, '[3e38]');
SELECT cosine_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[1,2,3,4,5,6,7,8,9]');
SELECT cosine_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[-1,-2,-3,-4,-5,-6,-7,-8,-9]');
SELECT round(cosine_distance('[1,2,3]'::vector, '[4,5,6]')::numeric, 6);
SELECT '[1,2]'::vector <=> '[2,4]';
-- the result stays within [0, 2] even with rounding
SELECT count(*) FROM generate_series(1, 200) i,
  LATERAL (SELECT array_agg(random() - 0.5)::vector AS v FROM generate_series(1, 50 + i * 0)) r
WHERE cosine_distance(v, v) NOT BETWEEN 0 AND 1e-6
   OR cosine_distance(v, array_to_vector((SELECT array_agg(-x) FROM unnest(v::real[]) x), 50, true)) NOT BETWEEN 2 - 1e-6 AND 2;

-- spherical (angular) distance of unit vectors
SELECT vector_spherical_distance('[1,0]', '[0,1]');
SELECT vector_spherical_distance('[1,0]', '[1,0]');
SELECT vector_spherical_distance('[1,0]', '[-1,0]');
SELECT vector_spherical_distance('[2,0]', '[2,0]');
SELECT vector_spherical_distance('[1,0]', '[1]');

-- L1 distance
SELECT l1_distance('[0,0]'::vector, '[3,4]');
SELECT l1_distance('[0,0]'::vector, '[0,1]');
SELECT l1_distance('[1,2]'::vector, '[3]');
SELECT l1_distance('[3e38]'::vector, '[-3e38]');
SELECT l1_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[1,2,3,4,5,6,7,8,9]');
SELECT l1_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[0,3,2,5,4,7,6,9,8]');
SELECT '[0,0]'::vector <+> '[3,4]';

-- distances of long vectors agree with a double-precision reference
CREATE TEMP TABLE pairs AS
  SELECT i, array_agg(((i * 7 + j * 13) % 17 - 8) / 4.0)::vector AS a,
            array_agg(((i * 5 + j * 11) % 19 - 9) / 8.0)::vector AS b
  FROM generate_series(1, 20) i, generate_series(1, 1000 + i) j
  GROUP BY i;
SELECT count(*) AS mismatches FROM pairs,
  LATERAL (SELECT sum((x - y)^2) AS l2sq, sum(x * y) AS ip, sum(abs(x - y)) AS l1,
                  sum(x * x) AS na, sum(y * y) AS nb
           FROM unnest(a::real[]::float8[], b::real[]::float8[]) u(x, y)) r
WHERE abs((a <-> b) - sqrt(l2sq)) > 1e-5 * sqrt(l2sq)
   OR abs((a <#> b) + ip) > 1e-5 * greatest(abs(ip), 1)
   OR abs(inner_product(a, b) - ip) > 1e-5 * greatest(abs(ip), 1)
   OR abs((a <+> b) - l1) > 1e-5 * l1
   OR abs((a <=> b) - (1 - ip / sqrt(na * nb))) > 1e-5
   OR abs(vector_l2_squared_distance(a, b) - l2sq) > 1e-5 * l2sq
   OR abs(vector_norm(a) - sqrt(na)) > 1e-9 * sqrt(na);
DROP TABLE pairs;

-- commutators
SELECT oprname, oprcode, oprcom::regoperator FROM pg_operator
WHERE oprleft = 'vector'::regtype AND oprright = 'vector'::regtype
ORDER BY oprname;

-- normalization
SELECT l2_normalize('[3,4]'::vector);
SELECT l2_normalize('[3,0]'::vector);
SELECT l2_normalize('[0,0.1]'::vector);
SELECT l2_normalize('[0,0]'::vector);
SELECT l2_normalize('[3e38]'::vector);
SELECT l2_normalize('[1e-45]'::vector);
SELECT l2_normalize('[1e-45,1e-45]'::vector);
SELECT round(vector_norm(l2_normalize('[1,2,3,4,5]'))::numeric, 6);

-- binary quantization
SELECT binary_quantize('[1,0,-1]'::vector);
SELECT binary_quantize('[0,0.1,-0.2,-0.3,0.4,0.5,0.6,-0.7,0.8,-0.9,1]'::vector);
SELECT binary_quantize('[1,2,3,-4,5,6,-7,8,1,-2,-3,4,5,-6,7,8,-1,2,3]'::vector);
SELECT binary_quantize('[-0,1e-45]'::vector);
SELECT pg_typeof(binary_quantize('[1]'::vector)), length(binary_quantize('[1,2,3,4,5,6,7,8,9]'::vector));

-- subvector
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 9);
SELECT subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 6, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 0);
SELECT subvector('[1,2,3,4,5]'::vector, 3, -1);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 2);
SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 10);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483644, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483648, -2147483648);

-- NULL in, NULL out
SELECT l2_distance(NULL, '[1]'), '[1]'::vector + NULL, vector_dims(NULL), subvector(NULL, 1, 1);

-- every function of the type is immutable, strict and parallel safe
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'omendb'
WHERE p.prokind = 'f'
  AND (pg_get_function_identity_arguments(p.oid) ~ 'vector' OR p.prorettype = 'vector'::regtype
       OR p.proname LIKE 'vector\_typmod\_%')
  AND NOT (p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's');
