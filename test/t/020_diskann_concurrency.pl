# Concurrent writers, readers and VACUUM on diskann indexes, in both
# storages at once.
#
# Two tables of the same shape, items_compressed and items_plain, each with
# a diskann index of that storage.  pgbench runs, at the same time and for
# OMENDB_STRESS_SECONDS (default 30) seconds (each client picks one of the
# tables at random for each transaction, so both indexes take the whole
# mix concurrently):
#   - 4 clients writing: single-row INSERTs mostly, and now and then a
#     10-row INSERT, an INSERT ... ON CONFLICT that replaces the vector of
#     an existing row (the id of a row that exists, never one the sequence
#     may still hand out), an UPDATE of the vector column, an INSERT that
#     rolls back, and a DELETE of a random run of ids (so VACUUM has work);
#   - 2 clients querying ORDER BY embedding <-> random vector LIMIT 10
#     through the index, each query checked to return 10 rows;
#   - 1 client running VACUUM (INDEX_CLEANUP on) in a loop.
# All pgbench runs must succeed without errors or deadlocks, the server log
# must stay free of errors and crashes.  Afterwards (one final VACUUM) each
# index must be healthy (diskann_verify), hold exactly its table's rows
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

my @storages = ('compressed', 'plain');

# The indexes exist before the rows: every row goes in through aminsert
# (the compressed index's quantizer is therefore centred at the origin,
# near the centroid of this uniform data).
foreach my $storage (@storages)
{
	$node->safe_psql('postgres', qq{
		SELECT setseed(0.42);
		CREATE TABLE items_$storage (id bigserial PRIMARY KEY, embedding vector($DIM));
		CREATE INDEX items_${storage}_embedding ON items_$storage USING diskann (embedding vector_l2_ops)
		  WITH (num_neighbors = 32, search_list_size = 64, storage = '$storage');
		INSERT INTO items_$storage (embedding) SELECT $vec_g FROM generate_series(1, $INITIAL_ROWS) g;
		ANALYZE items_$storage;
	});
	is($node->safe_psql('postgres',
			"SELECT live_nodes || ' ' || storage FROM diskann_stats('items_${storage}_embedding')"),
		"$INITIAL_ROWS $storage", "$storage: initial rows inserted through the index");
	like($node->safe_psql('postgres',
			"EXPLAIN (COSTS OFF) SELECT id FROM items_$storage ORDER BY embedding <-> $vec LIMIT 10"),
		qr/Index Scan using items_${storage}_embedding on items_$storage/,
		"$storage: the queries use the diskann index");
}

# --- pgbench scripts, one of each kind per table
my $dir = PostgreSQL::Test::Utils::tempdir;

# write_script NAME STORAGE TEXT: the script NAME for table items_STORAGE
sub write_script
{
	my ($name, $storage, $text) = @_;
	my $file = "$dir/${name}_$storage.sql";
	open(my $fh, '>', $file) or die "could not write $file: $!";
	print $fh $text;
	close($fh);
	return $file;
}

my (%scripts, %reader_script);
foreach my $storage (@storages)
{
	my $items = "items_$storage";
	push @{ $scripts{writers} }, write_script('writer', $storage, qq{\\set r random(1, 1000)
\\if :r <= 10
WITH lo AS (SELECT (random() * max(id))::bigint AS lo FROM $items)
DELETE FROM $items USING lo WHERE id BETWEEN lo.lo AND lo.lo + 30;
\\elif :r <= 40
UPDATE $items SET embedding = $vec
WHERE id = (SELECT (random() * max(id))::bigint FROM $items);
\\elif :r <= 70
INSERT INTO $items (id, embedding)
SELECT id, $vec FROM $items
WHERE id >= (SELECT (random() * max(id))::bigint FROM $items) ORDER BY id LIMIT 1
ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding;
\\elif :r <= 90
BEGIN;
INSERT INTO $items (embedding) SELECT $vec_g FROM generate_series(1, 5) g;
ROLLBACK;
\\elif :r <= 140
INSERT INTO $items (embedding) SELECT $vec_g FROM generate_series(1, 10) g;
\\else
INSERT INTO $items (embedding) VALUES ($vec);
\\endif
});
	$reader_script{$storage} = write_script('reader', $storage,
		qq{SELECT count(*) AS n FROM (SELECT id FROM $items ORDER BY embedding <-> $vec LIMIT 10) s \\gset
\\if :n != 10
SELECT 'a query on $items returned ' || :n || ' rows instead of 10' AS failure, 1 / 0 AS stop;
\\endif
});
	push @{ $scripts{readers} }, $reader_script{$storage};
	push @{ $scripts{vacuum} }, write_script('vacuum', $storage, qq{VACUUM (INDEX_CLEANUP on) $items;
\\sleep 100 ms
});
}

# start_pgbench NAME CLIENTS: a pgbench run of the scripts NAME in the
# background (a client picks one of them at random for each transaction)
sub start_pgbench
{
	my ($name, $clients) = @_;
	my %run = (name => $name, out => '', err => '');
	my @cmd = (
		'pgbench', '-n', '-h', $node->host, '-p', $node->port,
		'-c', $clients, '-j', $clients, '-T', $LOAD_SECONDS,
		(map { ('-f', $_) } @{ $scripts{$name} }), 'postgres');
	$run{harness} = IPC::Run::start(\@cmd, '<', \undef, '>', \$run{out}, '2>', \$run{err});
	return \%run;
}

my $log_offset = -s $node->logfile;
# idx_scan_sql INDEX: SQL for the index's scans so far; idx_scan INDEX: them
sub idx_scan_sql
{
	my ($index) = @_;
	return "(SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '$index')";
}
sub idx_scan { return $node->safe_psql('postgres', 'SELECT ' . idx_scan_sql($_[0])); }
my %idx_scans_before = map { $_ => idx_scan("items_${_}_embedding") } @storages;

note("running 4 writers, 2 readers and 1 VACUUM client for $LOAD_SECONDS s on both tables");
my @runs = (
	start_pgbench('writers', 4),
	start_pgbench('readers', 2),
	start_pgbench('vacuum', 1));
my (%xacts, $reader_out);
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
	$reader_out = $run->{out} if $name eq 'readers';
}
cmp_ok($xacts{writers}, '>', 100, 'the writers got work done');
cmp_ok($xacts{readers}, '>', 100, 'the readers got work done');
cmp_ok($xacts{vacuum}, '>', 2, 'VACUUM ran several times');

my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/ERROR:|PANIC:|TRAP:|terminated by signal|deadlock detected/,
	'no error or crash in the server log during the load');

foreach my $storage (@storages)
{
	my $index = "items_${storage}_embedding";
	# the reader queries pgbench counted for this table ran through its
	# index (statistics are sent when a backend is idle or exits)
	my ($queries) = $reader_out =~ /SQL script \d+: \Q$reader_script{$storage}\E\n.*\n - (\d+) transactions/;
	$queries //= 0;
	note("pgbench readers: $queries queries on items_$storage");
	cmp_ok($queries, '>', 50, "$storage: the readers queried items_$storage");
	$node->poll_query_until('postgres',
		'SELECT ' . idx_scan_sql($index) . " >= $idx_scans_before{$storage} + $queries")
	  or diag("idx_scan of $index did not reach the number of queries run");
	cmp_ok(idx_scan($index), '>=', $idx_scans_before{$storage} + $queries,
		"$storage: every reader query was an index scan");
}

# --- each index afterwards, after one more VACUUM.  INDEX_CLEANUP on: when
# few heap pages hold dead tuples, a plain VACUUM skips the indexes
# altogether (leaving the dead line pointers for a later VACUUM), and the
# index would still hold those rows' nodes.
foreach my $storage (@storages)
{
	check_after_load($storage);
}

# check_after_load STORAGE: the checks on items_STORAGE and its index
sub check_after_load
{
	my ($storage) = @_;
	my $items = "items_$storage";
	my $index = "items_${storage}_embedding";
	$node->safe_psql('postgres', "VACUUM (INDEX_CLEANUP on) $items");

	my ($rows, $live, $deleted, $nodes) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM $items), live_nodes, deleted_nodes, nodes
		FROM diskann_stats('$index')
	});
	note("$storage, after the load: $rows rows, $nodes nodes, $live live, $deleted deleted");
	cmp_ok($rows, '>', $INITIAL_ROWS, "$storage: the table grew");
	verify_ok($node, $index, "$storage: diskann_verify finds no problem");
	is($live, $rows, "$storage: live_nodes equals count(*)");
	is($deleted, 0, "$storage: no deleted node left after VACUUM");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT ctid FROM $items EXCEPT SELECT * FROM diskann_tids('$index')) s
	}), '0', "$storage: every row is in the index");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT * FROM diskann_tids('$index') EXCEPT SELECT ctid FROM $items) s
	}), '0', "$storage: the index holds no other row");
	is($node->safe_psql('postgres', "SELECT count(*) FROM diskann_tids('$index')"),
		$rows, "$storage: and holds each row once");

	# every row is found by its own vector: it is among the 10 rows closest
	# to its vector, unless 10 rows share its vector (a tie the index may
	# order either way).  All rows are searched with a search list of 400;
	# the few an approximate search may miss there get a second search with
	# 4000.
	my $self_settings = qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
	};
	# not_found L FILTER: ids of the rows (FILTER restricts them) that a
	# search for their own vector with a search list of L does not find
	my $not_found = sub {
		my ($l, $filter) = @_;
		return grep { length } split /\n/, $node->safe_psql('postgres', qq{
			$self_settings
			SET diskann.query_search_list_size = $l;
			SELECT i.id FROM $items i
			WHERE $filter
			  AND i.id NOT IN (SELECT j.id FROM $items j ORDER BY j.embedding <-> i.embedding LIMIT 10)
			  AND (SELECT count(*) FROM (SELECT j.embedding <-> i.embedding AS d FROM $items j
			                             ORDER BY j.embedding <-> i.embedding LIMIT 10) s
			       WHERE d = 0) < 10
			ORDER BY i.id;
		});
	};
	like($node->safe_psql('postgres', qq{
		$self_settings
		EXPLAIN (COSTS OFF)
		SELECT i.id FROM $items i
		WHERE i.id NOT IN (SELECT j.id FROM $items j ORDER BY j.embedding <-> i.embedding LIMIT 10);
	}), qr/Index Scan using $index on $items j/, "$storage: the self-search goes through the index");
	my $t0 = time;
	my @first = $not_found->(400, 'true');
	my @missing = @first ? $not_found->(4000, 'i.id IN (' . join(',', @first) . ')') : ();
	note("$storage: self-search of $rows rows took " . (time - $t0) . ' s; '
		  . scalar(@first) . ' not found with a search list of 400');
	# The graph is approximate: in some runs one row in tens of thousands,
	# reachable (diskann_verify is clean), is not found even at 4000 (never
	# more than that seen); allow 1 in 10,000 and report which.
	if (!cmp_ok(scalar @missing, '<=', $rows / 10000,
			"$storage: every row (all but at most 1 in 10,000) is found by its own vector"))
	{
		diag(scalar(@missing) . " rows not found even with a search list of 4000, ids: "
			  . "@missing[0 .. ($#missing < 19 ? $#missing : 19)]");
		# for comparison: the same rows in a graph built in one go
		$node->safe_psql('postgres', "REINDEX INDEX $index");
		my $rebuilt = () = $not_found->(400, 'true');
		diag("after REINDEX at the same options, $rebuilt rows are not found with a search list of 400");
	}
}

$node->stop;
done_testing();
