-- Who may inspect a diskann index: diskann_verify, diskann_stats and
-- diskann_tids read every page of an index, so like PostgreSQL's own
-- inspection functions they are not executable by PUBLIC; superusers,
-- members of pg_stat_scan_tables and roles granted EXECUTE may run them.
CREATE TABLE dpriv (id int, embedding vector(3));
INSERT INTO dpriv SELECT i, ARRAY[i, i + 1, i * 2]::vector FROM generate_series(1, 50) i;
CREATE INDEX dpriv_idx ON dpriv USING diskann (embedding);
CREATE ROLE regress_diskann_plain;
CREATE ROLE regress_diskann_monitor IN ROLE pg_stat_scan_tables;

-- a role without privileges gets a permission error
SET ROLE regress_diskann_plain;
SELECT * FROM diskann_verify('dpriv_idx');
SELECT nodes FROM diskann_stats('dpriv_idx');
SELECT count(*) FROM diskann_tids('dpriv_idx');
RESET ROLE;

-- a member of pg_stat_scan_tables gets answers
SET ROLE regress_diskann_monitor;
SELECT * FROM diskann_verify('dpriv_idx');
SELECT nodes, live_nodes FROM diskann_stats('dpriv_idx');
SELECT count(*) FROM diskann_tids('dpriv_idx');
RESET ROLE;

-- so does a role granted EXECUTE explicitly, for that function only
GRANT EXECUTE ON FUNCTION diskann_stats(regclass) TO regress_diskann_plain;
SET ROLE regress_diskann_plain;
SELECT nodes FROM diskann_stats('dpriv_idx');
SELECT * FROM diskann_verify('dpriv_idx');
RESET ROLE;

-- the catalog says the same
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may,
       has_function_privilege('pg_stat_scan_tables', p.oid, 'EXECUTE') AS monitor_may
FROM pg_proc p WHERE p.proname IN ('diskann_verify', 'diskann_stats', 'diskann_tids')
ORDER BY 1;

REVOKE EXECUTE ON FUNCTION diskann_stats(regclass) FROM regress_diskann_plain;
DROP ROLE regress_diskann_plain;
DROP ROLE regress_diskann_monitor;
DROP TABLE dpriv;
