-- Binary send/receive and COPY in binary format.
\set VERBOSITY terse

-- the wire format: int16 dim, int16 unused, float4 elements, network order
SELECT vector_send('[1,2,3]');
SELECT vector_send('[1.5,-0.25]');
SELECT vector_send('[-0]');
SELECT vector_send('[3.4028235e38,1e-45]');
SELECT length(vector_send(array_fill(1, ARRAY[16000])::vector));

-- round trip through a binary COPY file
SELECT '/tmp/omendb_vector_copy_' || pg_backend_pid() || '.bin' AS copyfile \gset
CREATE TABLE copy_src (id int, v vector, v3 vector(3));
INSERT INTO copy_src VALUES
  (1, '[1,2,3]', '[1,2,3]'),
  (2, '[1.5,-0.25,1e-07,3.4028235e38,-1e-45]', '[0.1,0.2,0.3]'),
  (3, NULL, NULL),
  (4, '[-0]', '[-1,-2,-3]');
INSERT INTO copy_src SELECT 100 + i, array_fill(i::real / 7, ARRAY[i * 40])::vector, NULL
  FROM generate_series(1, 400) i;
COPY copy_src TO :'copyfile' WITH (FORMAT binary);
CREATE TABLE copy_dst (LIKE copy_src);
COPY copy_dst FROM :'copyfile' WITH (FORMAT binary);
SELECT count(*) FROM copy_dst;
SELECT count(*) AS differences FROM copy_src s FULL JOIN copy_dst d USING (id)
WHERE s.v IS DISTINCT FROM d.v OR s.v3 IS DISTINCT FROM d.v3
   OR vector_send(s.v) IS DISTINCT FROM vector_send(d.v);
SELECT id, v, v3 FROM copy_dst WHERE id < 100 ORDER BY id;

-- typmod is checked on binary input
CREATE TABLE copy_dim (id int, v vector(2), v3 vector(3));
COPY copy_dim FROM :'copyfile' WITH (FORMAT binary);

-- hand-made binary COPY data for vector_recv
CREATE FUNCTION pg_temp.recv(payload bytea, path text, typmod int DEFAULT -1) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
	lo oid;
BEGIN
	-- header, one tuple with one field, trailer
	lo := lo_from_bytea(0,
		'\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea ||
		'\x0001'::bytea || int4send(length(payload)) || payload ||
		'\xffff'::bytea);
	PERFORM lo_export(lo, path);
	PERFORM lo_unlink(lo);
	DROP TABLE IF EXISTS recv_t;
	IF typmod = -1 THEN
		CREATE TEMP TABLE recv_t (v vector);
	ELSE
		EXECUTE format('CREATE TEMP TABLE recv_t (v vector(%s))', typmod);
	END IF;
	EXECUTE format('COPY recv_t FROM %L WITH (FORMAT binary)', path);
	SELECT v::text INTO result FROM recv_t;
	RETURN result;
END
$$;
SELECT pg_temp.recv('\x000300003f8000004000000040400000', :'copyfile');
SELECT pg_temp.recv(vector_send('[1.5,-0.25]'), :'copyfile');
SELECT pg_temp.recv('\x000300003f8000004000000040400000', :'copyfile', 3);
-- wrong dimension count for the column
SELECT pg_temp.recv('\x000300003f8000004000000040400000', :'copyfile', 2);
-- unused must be zero
SELECT pg_temp.recv('\x000300013f8000004000000040400000', :'copyfile');
SELECT pg_temp.recv('\x0001ffff3f800000', :'copyfile');
-- dimensions out of range
SELECT pg_temp.recv('\x000000003f800000', :'copyfile');
SELECT pg_temp.recv('\x00000000', :'copyfile');
SELECT pg_temp.recv('\xffff00003f800000', :'copyfile');
SELECT pg_temp.recv('\x8000000000000000', :'copyfile');
SELECT pg_temp.recv('\x3e8100003f800000', :'copyfile');
-- too little or too much data
SELECT pg_temp.recv('\x000300003f80000040000000', :'copyfile');
SELECT pg_temp.recv('\x000100003f80000040000000', :'copyfile');
SELECT pg_temp.recv('\x0001', :'copyfile');
SELECT pg_temp.recv('\x00', :'copyfile');
SELECT pg_temp.recv('\x', :'copyfile');
-- NaN and infinities
SELECT pg_temp.recv('\x000200003f8000007fc00000', :'copyfile');
SELECT pg_temp.recv('\x000100007f800000', :'copyfile');
SELECT pg_temp.recv('\x00010000ff800000', :'copyfile');
-- subnormal and negative zero are fine
SELECT pg_temp.recv('\x0002000000000001' || '\x80000000'::bytea, :'copyfile');

SELECT 'rm -f ' || :'copyfile' AS rmcmd \gset
COPY (SELECT 1) TO PROGRAM :'rmcmd';
DROP TABLE copy_src, copy_dst, copy_dim;
