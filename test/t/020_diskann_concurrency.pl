# Concurrent writers, readers and VACUUM on one diskann index.
#
# pgbench runs, at the same time and for OMENDB_STRESS_SECONDS (default 30)
# seconds:
#   - 4 clients writing: single-row INSERTs mostly, and now and then a
#     10-row INSERT, an INSERT ... ON CONFLICT that replaces the vector of
#     an existing row (the id of a row that exists, never one the sequence
#     may still hand out), an UPDATE of the vector column, an INSERT that
#     rolls back, and a DELETE of a random run of ids (so VACUUM has work);
#   - 2 clients querying ORDER BY embedding <-> random vector LIMIT 10
#     through the index, each query checked to return 10 rows;
#   - 1 client running VACUUM (INDEX_CLEANUP on) in a loop.
# All pgbench runs must succeed without errors or deadlocks, the server log
# must stay free of errors and crashes.  Afterwards (one final VACUUM) the
# index must be healthy (diskann_verify), hold exactly the table's rows
# (live_nodes = count(*), diskann_tids = the heap TIDs) and find every row
# by its own vector.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;

my $LOAD_SECONDS = $ENV{OMENDB_STRESS_SECONDS} || 30;
my $DIM = 24;
my $INITIAL_ROWS = 3000;

my $node = PostgreSQL::Test::Cluster->new('diskann_concurrency');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
max_connections = 30
deadlock_timeout = 100ms
log_lock_waits = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

# a random vector, as an expression; $seed_col (optional) is a column of an
# enclosing query that makes it a fresh vector for each row
sub random_vector
{
	my ($seed_col) = @_;
	my $where = defined $seed_col ? "WHERE $seed_col > 0" : '';
	return "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) $where)::vector";
}

my $vec = random_vector();
my $vec_g = random_vector('g');

# The index exists before the rows: every row goes in through aminsert.
$node->safe_psql('postgres', qq{
	SELECT setseed(0.42);
	CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector($DIM));
	CREATE INDEX items_embedding ON items USING diskann (embedding vector_l2_ops)
	  WITH (num_neighbors = 32, search_list_size = 64);
	INSERT INTO items (embedding) SELECT $vec_g FROM generate_series(1, $INITIAL_ROWS) g;
	ANALYZE items;
});
is($node->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('items_embedding')"),
	$INITIAL_ROWS, 'initial rows inserted through the index');

my $query = "SELECT id FROM items ORDER BY embedding <-> $vec LIMIT 10";
like($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $query"),
	qr/Index Scan using items_embedding on items/, 'the queries use the diskann index');

# --- pgbench scripts
my $dir = PostgreSQL::Test::Utils::tempdir;

my $writer = "$dir/writer.sql";
open(my $fh, '>', $writer) or die "could not write $writer: $!";
print $fh qq{\\set r random(1, 1000)
\\if :r <= 10
WITH lo AS (SELECT (random() * max(id))::bigint AS lo FROM items)
DELETE FROM items USING lo WHERE id BETWEEN lo.lo AND lo.lo + 30;
\\elif :r <= 40
UPDATE items SET embedding = $vec
WHERE id = (SELECT (random() * max(id))::bigint FROM items);
\\elif :r <= 70
INSERT INTO items (id, embedding)
SELECT id, $vec FROM items
WHERE id >= (SELECT (random() * max(id))::bigint FROM items) ORDER BY id LIMIT 1
ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding;
\\elif :r <= 90
BEGIN;
INSERT INTO items (embedding) SELECT $vec_g FROM generate_series(1, 5) g;
ROLLBACK;
\\elif :r <= 140
INSERT INTO items (embedding) SELECT $vec_g FROM generate_series(1, 10) g;
\\else
INSERT INTO items (embedding) VALUES ($vec);
\\endif
};
close($fh);

my $reader = "$dir/reader.sql";
open($fh, '>', $reader) or die "could not write $reader: $!";
print $fh qq{SELECT count(*) AS n FROM ($query) s \\gset
\\if :n != 10
SELECT 'a query returned ' || :n || ' rows instead of 10' AS failure, 1 / 0 AS stop;
\\endif
};
close($fh);

my $vacuumer = "$dir/vacuum.sql";
open($fh, '>', $vacuumer) or die "could not write $vacuumer: $!";
print $fh qq{VACUUM (INDEX_CLEANUP on) items;
\\sleep 100 ms
};
close($fh);

# start_pgbench NAME CLIENTS SCRIPT: a pgbench run in the background
sub start_pgbench
{
	my ($name, $clients, $script) = @_;
	my %run = (name => $name, out => '', err => '');
	my @cmd = (
		'pgbench', '-n', '-h', $node->host, '-p', $node->port,
		'-c', $clients, '-j', $clients, '-T', $LOAD_SECONDS, '-f', $script, 'postgres');
	$run{harness} = IPC::Run::start(\@cmd, '<', \undef, '>', \$run{out}, '2>', \$run{err});
	return \%run;
}

my $log_offset = -s $node->logfile;
my $idx_scans_before = $node->safe_psql('postgres',
	"SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_embedding'");

note("running 4 writers, 2 readers and 1 VACUUM client for $LOAD_SECONDS s");
my @runs = (
	start_pgbench('writers', 4, $writer),
	start_pgbench('readers', 2, $reader),
	start_pgbench('vacuum', 1, $vacuumer));
my %xacts;
foreach my $run (@runs)
{
	$run->{harness}->finish;
	my $status = $run->{harness}->result(0);
	my $name = $run->{name};
	is($status, 0, "pgbench $name: exit status 0");
	like($run->{out}, qr/number of failed transactions: 0\b/, "pgbench $name: no failed transaction");
	unlike($run->{err}, qr/ERROR|FATAL|deadlock|abort/i, "pgbench $name: no error");
	($xacts{$name}) = $run->{out} =~ /number of transactions actually processed: (\d+)/;
	$xacts{$name} //= 0;
	note("pgbench $name: $xacts{$name} transactions");
	diag("pgbench $name stdout:\n$run->{out}\nstderr:\n$run->{err}") if $status != 0;
}
cmp_ok($xacts{writers}, '>', 100, 'the writers got work done');
cmp_ok($xacts{readers}, '>', 100, 'the readers got work done');
cmp_ok($xacts{vacuum}, '>', 2, 'VACUUM ran several times');

my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/ERROR:|PANIC:|TRAP:|terminated by signal|deadlock detected/,
	'no error or crash in the server log during the load');
# queries pgbench counted ran through the index
# (statistics are sent when a backend is idle or exits)
$node->poll_query_until('postgres', qq{
	SELECT idx_scan >= $idx_scans_before + $xacts{readers}
	FROM pg_stat_user_indexes WHERE indexrelname = 'items_embedding'
}) or diag('idx_scan did not reach the number of queries run');
cmp_ok(
	$node->safe_psql('postgres',
		"SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_embedding'"),
	'>=', $idx_scans_before + $xacts{readers},
	'every reader query was an index scan');

# --- the index afterwards, after one more VACUUM.  INDEX_CLEANUP on: when
# few heap pages hold dead tuples, a plain VACUUM skips the indexes
# altogether (leaving the dead line pointers for a later VACUUM), and the
# index would still hold those rows' nodes.
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) items');

my ($rows, $live, $deleted, $nodes) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT (SELECT count(*) FROM items), live_nodes, deleted_nodes, nodes
	FROM diskann_stats('items_embedding')
});
note("after the load: $rows rows, $nodes nodes, $live live, $deleted deleted");
cmp_ok($rows, '>', $INITIAL_ROWS, 'the table grew');
verify_ok($node, 'items_embedding', 'diskann_verify finds no problem');
is($live, $rows, 'live_nodes equals count(*)');
is($deleted, 0, 'no deleted node left after VACUUM');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM (SELECT ctid FROM items EXCEPT SELECT * FROM diskann_tids('items_embedding')) s
}), '0', 'every row is in the index');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM (SELECT * FROM diskann_tids('items_embedding') EXCEPT SELECT ctid FROM items) s
}), '0', 'the index holds no other row');
is($node->safe_psql('postgres', "SELECT count(*) FROM diskann_tids('items_embedding')"),
	$rows, 'and holds each row once');

# every row is found by its own vector: it is among the 10 rows closest to
# its vector, unless 10 rows share its vector (a tie the index may order
# either way).  All rows are searched with a search list of 400; the few
# an approximate search may miss there get a second search with 4000.
my $self_settings = qq{
	SET enable_seqscan = off;
	SET enable_bitmapscan = off;
};
# not_found L FILTER: ids of the rows (FILTER restricts them) that a search
# for their own vector with a search list of L does not find
sub not_found
{
	my ($l, $filter) = @_;
	return grep { length } split /\n/, $node->safe_psql('postgres', qq{
		$self_settings
		SET diskann.query_search_list_size = $l;
		SELECT i.id FROM items i
		WHERE $filter
		  AND i.id NOT IN (SELECT j.id FROM items j ORDER BY j.embedding <-> i.embedding LIMIT 10)
		  AND (SELECT count(*) FROM (SELECT j.embedding <-> i.embedding AS d FROM items j
		                             ORDER BY j.embedding <-> i.embedding LIMIT 10) s
		       WHERE d = 0) < 10
		ORDER BY i.id;
	});
}
like($node->safe_psql('postgres', qq{
	$self_settings
	EXPLAIN (COSTS OFF)
	SELECT i.id FROM items i
	WHERE i.id NOT IN (SELECT j.id FROM items j ORDER BY j.embedding <-> i.embedding LIMIT 10);
}), qr/Index Scan using items_embedding on items j/, 'the self-search goes through the index');
my $t0 = time;
my @first = not_found(400, 'true');
my @missing = @first ? not_found(4000, 'i.id IN (' . join(',', @first) . ')') : ();
note('self-search of ' . $rows . ' rows took ' . (time - $t0) . ' s; '
	  . scalar(@first) . ' not found with a search list of 400');
# The graph is approximate: in some runs one row in tens of thousands,
# reachable (diskann_verify is clean), is not found even at 4000 (never
# more than that seen); allow 1 in 10,000 and report which.
if (!cmp_ok(scalar @missing, '<=', $rows / 10000,
		'every row (all but at most 1 in 10,000) is found by its own vector'))
{
	diag(scalar(@missing) . " rows not found even with a search list of 4000, ids: "
		  . "@missing[0 .. ($#missing < 19 ? $#missing : 19)]");
	# for comparison: the same rows in a graph built in one go
	$node->safe_psql('postgres', 'REINDEX INDEX items_embedding');
	my $rebuilt = () = not_found(400, 'true');
	diag("after REINDEX at the same options, $rebuilt rows are not found with a search list of 400");
}

$node->stop;
done_testing();
