-- Text input and output of the vector type, type modifiers.

-- valid input, white space, number formats
SELECT '[1,2,3]'::vector;
SELECT '[-1,-2,-3]'::vector;
SELECT '[1.,2.,3.]'::vector;
SELECT ' [ 1,  2 ,    3  ] '::vector;
SELECT (E'\t[\n1,\r2\f,' || chr(11) || E'3]\n')::vector;
SELECT '[+1, .5, -.25, 1e2, 1E-2, 0x10]'::vector;
SELECT '[1.23456]'::vector;

-- output is the shortest text that reads back to the same float4
SELECT '[1.5,-0.25]'::vector;
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[1e-7, 1e-07, 123456789, 3.4028235e38, 1.17549435e-38, 1e-45]'::vector;
SELECT '[0.30000001192092896, 3.14159265358979]'::vector;
SELECT '[1.5e38,-1.5e38]'::vector;
SELECT '[1.5e-38,-1.5e-38]'::vector;
SELECT '[-0, 0]'::vector;
-- extra_float_digits does not change the output
SET extra_float_digits = 0;
SELECT '[0.1, 3.14159265358979]'::vector;
RESET extra_float_digits;
-- every output reads back to an identical value
SELECT count(*) AS roundtrip_mismatches
FROM (SELECT ('[' || (random() * 2 - 1) * 10 ^ (random() * 70 - 35) || ']')::vector AS v
      FROM generate_series(1, 2000)) s
WHERE v::text::vector <> v OR v::text <> v::text::vector::text;

-- underflow to zero is accepted, overflow is not
SELECT '[1e-46,1]'::vector;
SELECT '[-1e-46,1]'::vector;
SELECT '[4e38,1]'::vector;
SELECT '[-4e38,1]'::vector;
SELECT '[1e39]'::vector;

-- NaN and infinity
SELECT '[NaN,1]'::vector;
SELECT '[1,nan]'::vector;
SELECT '[Infinity,1]'::vector;
SELECT '[-Infinity,1]'::vector;
SELECT '[1,inf]'::vector;

-- malformed input
SELECT '[hello,1]'::vector;
SELECT 'abc'::vector;
SELECT ''::vector;
SELECT '   '::vector;
SELECT '1,2,3'::vector;
SELECT '(1,2,3)'::vector;
SELECT '{1,2,3}'::vector;
SELECT '['::vector;
SELECT '[ '::vector;
SELECT '[,'::vector;
SELECT '[1,2'::vector;
SELECT '[1,2,3'::vector;
SELECT '[1 2]'::vector;
SELECT '[1,,2]'::vector;
SELECT '[1, ,3]'::vector;
SELECT '[,]'::vector;
SELECT '[,1]'::vector;
SELECT '[1,]'::vector;
SELECT '[1a]'::vector;
SELECT '[1,2,3]9'::vector;
SELECT '[1,2,3] x'::vector;
SELECT '[1,2,3]]'::vector;
SELECT '[[1,2,3]]'::vector;
SELECT '[1;2]'::vector;
SELECT '[--1]'::vector;

-- dimension limits
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector;

-- type modifiers
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2,3]'::vector(2);
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector(3, 2);
SELECT '[1,2,3]'::vector('a');
SELECT '[1,2,3]'::vector(0);
SELECT '[1,2,3]'::vector(-1);
SELECT '[1,2,3]'::vector(16001);
SELECT '[1]'::vector(16000);
SELECT format_type('vector'::regtype, 3), format_type('vector'::regtype, NULL),
       format_type('vector'::regtype, -1);
SELECT '[1,2,3]'::vector::vector(3);
SELECT '[1,2,3]'::vector::vector(2);
SELECT vector('[1,2,3]'::vector, 3, false), vector('[1,2,3]'::vector, -1, false);
SELECT vector('[1,2,3]'::vector, 4, true);

CREATE TABLE vt (id int, v vector(3));
\d vt
INSERT INTO vt VALUES (1, '[1,2,3]');
INSERT INTO vt VALUES (2, '[1,2]');
INSERT INTO vt VALUES (3, '[1,2,3,4]'::vector);
INSERT INTO vt VALUES (4, NULL);
UPDATE vt SET v = '[4,5]'::vector WHERE id = 1;
SELECT * FROM vt ORDER BY id;
ALTER TABLE vt ALTER COLUMN v TYPE vector(2);
ALTER TABLE vt ALTER COLUMN v TYPE vector;
INSERT INTO vt VALUES (5, '[1,2]');
SELECT * FROM vt ORDER BY id;
DROP TABLE vt;

-- arrays of vectors
SELECT unnest('{"[1,2,3]", "[4,5,6]"}'::vector[]);
SELECT '{"[1,2,3]"}'::vector(2)[];
SELECT ARRAY['[1,2]'::vector, '[3]'];

-- large values are stored uncompressed out of line and read back intact
CREATE TEMP TABLE big (v vector);
INSERT INTO big SELECT array_fill(0.5::real, ARRAY[16000])::vector;
SELECT vector_dims(v), vector_norm(v) = sqrt(16000 * 0.25), v = array_fill(0.5::real, ARRAY[16000])::vector
FROM big;
SELECT attstorage FROM pg_attribute WHERE attrelid = 'big'::regclass AND attname = 'v';
DROP TABLE big;

-- the type's catalog entry
SELECT typname, typlen, typalign, typstorage, typmodin, typmodout, typreceive, typsend
FROM pg_type WHERE typname = 'vector';
