-- Hostile options and settings: every diskann index option, at CREATE
-- INDEX and through ALTER INDEX ... SET, and every diskann.* setting, set to
-- boundary, out-of-range and absurd values.  Each statement either works
-- (and the index then answers a query) or fails with a clear error.  The
-- settings come from pg_settings, so a new one is covered without editing
-- this file; the options are those of diskann.c's reloptions.
SET client_min_messages = warning;
CREATE TABLE dhost (id int, cat int, embedding vector(3));
INSERT INTO dhost SELECT i, i % 4, ARRAY[i % 7, i % 5, i % 3]::vector FROM generate_series(1, 200) i;
CREATE INDEX dhost_base ON dhost USING diskann (embedding) WITH (num_neighbors = 8);
RESET client_min_messages;

-- dhost_try(stmt): run stmt, then a query that must go through a diskann
-- index; roll both back; 'ok' and the rows returned, or the error
CREATE FUNCTION dhost_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  BEGIN
    EXECUTE stmt;
    SET LOCAL enable_seqscan = off;
    SELECT count(*) INTO n FROM (SELECT id FROM dhost ORDER BY embedding <-> '[1,2,3]' LIMIT 5) s;
    RAISE EXCEPTION USING ERRCODE = 'OK000', MESSAGE = format('ok, %s rows', n);
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = 'OK000' THEN
      RETURN SQLERRM;
    END IF;
    RETURN SQLSTATE || ': ' || SQLERRM;
  END;
END $$;

CREATE TABLE dhost_values (v text);
INSERT INTO dhost_values VALUES ('0'), ('1'), ('-1'), ('2'), ('3'), ('4'), ('8'),
  ('16'), ('255'), ('256'), ('257'), ('2147483647'), ('2147483648'),
  ('-2147483649'), ('99999999999999999999'), ('0.5'), ('1.0'), ('1.5'),
  ('2.0'), ('1e308'), ('1e-308'), ('''NaN'''), ('''Infinity'''),
  ('''-Infinity'''), ('''abc'''), (''''''), (''' 4'''), ('''plain'''),
  ('''compressed'''), ('''PLAIN'''), ('''compressed '''), ('''off'''),
  ('''strict_order'''), ('''relaxed_order''');

-- every option of the access method, at CREATE INDEX
SELECT o.name, v.v,
       dhost_try(format('CREATE INDEX dhost_try ON dhost USING diskann (embedding) WITH (%s = %s)', o.name, v.v)) AS result
FROM (SELECT unnest(ARRAY['num_neighbors', 'search_list_size', 'max_alpha', 'storage', 'bits']) AS name) o,
     dhost_values v
ORDER BY 1, 2;

-- and through ALTER INDEX ... SET on an existing index
SELECT o.name, v.v,
       dhost_try(format('ALTER INDEX dhost_base SET (%s = %s)', o.name, v.v)) AS result
FROM (SELECT unnest(ARRAY['num_neighbors', 'search_list_size', 'max_alpha', 'storage', 'bits']) AS name) o,
     dhost_values v
ORDER BY 1, 2;

-- every diskann.* setting
SELECT s.name, v.v, dhost_try(format('SET LOCAL %s = %s', s.name, v.v)) AS result
FROM pg_settings s, dhost_values v
WHERE s.name LIKE 'diskann.%'
ORDER BY 1, 2;
SELECT name FROM pg_settings WHERE name LIKE 'diskann.%' ORDER BY 1;

-- the index is unharmed
SELECT * FROM diskann_verify('dhost_base');

-- an unlogged index's empty init fork is written in a memory context of
-- its own, deleted afterwards: an event trigger at the end of the CREATE
-- INDEX statement (while the statement's memory still exists) finds none
CREATE FUNCTION dhost_contexts() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'diskann build memory contexts left: %',
    (SELECT count(*) FROM pg_backend_memory_contexts WHERE name LIKE 'diskann build%');
END $$;
CREATE EVENT TRIGGER dhost_contexts ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION dhost_contexts();
CREATE UNLOGGED TABLE dhost_unlogged (embedding vector(3));
CREATE INDEX ON dhost_unlogged USING diskann (embedding);
DROP EVENT TRIGGER dhost_contexts;
DROP FUNCTION dhost_contexts();
DROP TABLE dhost_unlogged;

DROP FUNCTION dhost_try(text);
DROP TABLE dhost_values;
DROP TABLE dhost;
