# Crashes in the middle of concurrent inserts, deletes and VACUUM, in both
# storages at once.
#
# Two tables of the same shape, items_compressed and items_plain, each with
# a diskann index of that storage.  The load of 020_diskann_concurrency (4
# writers, 2 readers, VACUUM in a loop; each client picks one of the tables
# at random for each transaction) runs for OMENDB_STRESS_SECONDS (default
# 10) seconds, then the server crashes: first one writing backend is killed
# with SIGKILL (the postmaster restarts everything through crash recovery),
# then, under the same load again, the server is stopped in immediate mode.
# After each recovery, for each index:
#   - diskann_verify finds no problem, before any VACUUM too: every step of
#     an insert, a repair or a slot's release is WAL-logged and leaves a
#     valid graph, so replay leaves one as well.  Inserts cut off by the
#     crash leave nodes that never became live (their heap tuples are
#     dead); verify accepts those, and VACUUM frees them;
#   - every row in the table (a committed one) has its heap TID among the
#     index's live nodes (diskann_tids): its node became live before the
#     insert returned, so before the commit;
#   - at least 99.5% of the rows are found by their own vector with a
#     generous search list;
#   - after a VACUUM, the index holds exactly the table's rows, is healthy,
#     and takes new rows.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;

my $LOAD_SECONDS = $ENV{OMENDB_STRESS_SECONDS} || 10;
my $DIM = 24;
my $INITIAL_ROWS = 3000;

my $node = PostgreSQL::Test::Cluster->new('diskann_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
max_connections = 30
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

sub random_vector
{
	my ($seed_col) = @_;
	my $where = defined $seed_col ? "WHERE $seed_col > 0" : '';
	return "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) $where)::vector";
}
my $vec = random_vector();
my $vec_g = random_vector('g');

my @storages = ('compressed', 'plain');
foreach my $storage (@storages)
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE items_$storage (id bigserial PRIMARY KEY, embedding vector($DIM));
		CREATE INDEX items_${storage}_embedding ON items_$storage USING diskann (embedding vector_l2_ops)
		  WITH (num_neighbors = 32, search_list_size = 64, storage = '$storage');
		INSERT INTO items_$storage (embedding) SELECT $vec_g FROM generate_series(1, $INITIAL_ROWS) g;
		ANALYZE items_$storage;
	});
	is($node->safe_psql('postgres', "SELECT storage FROM diskann_stats('items_${storage}_embedding')"),
		$storage, "items_${storage}_embedding has storage $storage");
}

# --- pgbench scripts, as in 020_diskann_concurrency: one of each kind per
# table
my $dir = PostgreSQL::Test::Utils::tempdir;
my %scripts;
foreach my $storage (@storages)
{
	my $items = "items_$storage";
	my %text = (
		writer => qq{\\set r random(1, 1000)
\\if :r <= 10
WITH lo AS (SELECT (random() * max(id))::bigint AS lo FROM $items)
DELETE FROM $items USING lo WHERE id BETWEEN lo.lo AND lo.lo + 30;
\\elif :r <= 40
UPDATE $items SET embedding = $vec
WHERE id = (SELECT (random() * max(id))::bigint FROM $items);
\\elif :r <= 90
BEGIN;
INSERT INTO $items (embedding) SELECT $vec_g FROM generate_series(1, 5) g;
ROLLBACK;
\\elif :r <= 140
INSERT INTO $items (embedding) SELECT $vec_g FROM generate_series(1, 10) g;
\\else
INSERT INTO $items (embedding) VALUES ($vec);
\\endif
},
		reader => "SELECT id FROM $items ORDER BY embedding <-> $vec LIMIT 10;\n",
		vacuum => "VACUUM (INDEX_CLEANUP on) $items;\n\\sleep 100 ms\n");
	foreach my $name (keys %text)
	{
		my $file = "$dir/${name}_$storage.sql";
		open(my $fh, '>', $file) or die "could not write $file: $!";
		print $fh $text{$name};
		close($fh);
		push @{ $scripts{$name} }, $file;
	}
}

# start_load: the three pgbench runs, in the background, for far longer
# than the crash will let them (a client picks one of a run's scripts, one
# per table, at random for each transaction)
sub start_load
{
	my @runs;
	foreach my $r ([ 'writer', 4 ], [ 'reader', 2 ], [ 'vacuum', 1 ])
	{
		my ($name, $clients) = @$r;
		my %run = (name => $name, out => '', err => '');
		my @cmd = (
			'pgbench', '-n', '-h', $node->host, '-p', $node->port,
			'-c', $clients, '-j', $clients, '-T', 10 * $LOAD_SECONDS + 60,
			(map { ('-f', $_) } @{ $scripts{$name} }), 'postgres');
		$run{harness} = IPC::Run::start(\@cmd, '<', \undef, '>', \$run{out}, '2>', \$run{err});
		push @runs, \%run;
	}
	return @runs;
}

# finish_load RUNS: wait for pgbench to notice the crash and exit
sub finish_load
{
	foreach my $run (@_)
	{
		$run->{harness}->finish;
		note("pgbench $run->{name} after the crash: exit status "
			  . $run->{harness}->result(0));
	}
}

# check_index LABEL: the checks after a recovery (see the top of the file),
# on each table and its index
sub check_index
{
	my ($label) = @_;
	foreach my $storage (@storages)
	{
		check_storage("$label, $storage", "items_$storage", "items_${storage}_embedding");
	}
}

# check_storage LABEL TABLE INDEX: the checks on one table and its index
sub check_storage
{
	my ($label, $items, $index) = @_;

	note("$label, before VACUUM: stats "
		  . $node->safe_psql('postgres', "SELECT * FROM diskann_stats('$index')"));
	verify_ok($node, $index, "$label: diskann_verify finds no problem before VACUUM",
		allow_unreachable => 0.01);
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT ctid FROM $items EXCEPT SELECT * FROM diskann_tids('$index')) s
	}), '0', "$label: every committed row is a live node of the index");
	found_by_own_vector("$label, before VACUUM", $items);

	# INDEX_CLEANUP on: the few rows of the inserts the crash cut off may be
	# too few for a plain VACUUM to visit the indexes at all
	$node->safe_psql('postgres', "VACUUM (INDEX_CLEANUP on) $items");
	note("$label, after VACUUM: stats "
		  . $node->safe_psql('postgres', "SELECT * FROM diskann_stats('$index')"));
	verify_ok($node, $index, "$label: diskann_verify finds no problem after VACUUM");
	is($node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM $items) = live_nodes, deleted_nodes
		FROM diskann_stats('$index')
	}), 't|0', "$label: after VACUUM live_nodes equals count(*), none deleted");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM ((SELECT ctid FROM $items EXCEPT ALL SELECT * FROM diskann_tids('$index'))
		  UNION ALL (SELECT * FROM diskann_tids('$index') EXCEPT ALL SELECT ctid FROM $items)) s
	}), '0', "$label: after VACUUM the index holds exactly the table's rows");
	found_by_own_vector("$label, after VACUUM", $items);
}

# found_by_own_vector LABEL TABLE: at least 99.5% of the rows are among the
# 10 closest to their own vector (or share it with 10 rows: a tie)
sub found_by_own_vector
{
	my ($label, $items) = @_;
	my ($rows, $missing) = split /\|/, $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SET diskann.query_search_list_size = 200;
		SELECT count(*),
		       count(*) FILTER (
		         WHERE i.id NOT IN (SELECT j.id FROM $items j ORDER BY j.embedding <-> i.embedding LIMIT 10)
		           AND (SELECT count(*) FROM (SELECT j.embedding <-> i.embedding AS d FROM $items j
		                                      ORDER BY j.embedding <-> i.embedding LIMIT 10) s
		                WHERE d = 0) < 10)
		FROM $items i;
	});
	note("$label: $missing of $rows rows not found by their own vector");
	cmp_ok($missing, '<=', 0.005 * $rows, "$label: at least 99.5% of the rows found by their own vector");
}

# total_rows: the rows of both tables
sub total_rows
{
	return $node->safe_psql('postgres',
		'SELECT ' . join(' + ', map { "(SELECT count(*) FROM items_$_)" } @storages));
}

# --- crash 1: SIGKILL of a writing backend
my @runs = start_load();
sleep($LOAD_SECONDS);
my $victim = $node->safe_psql('postgres', qq{
	SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND query ~ '^(INSERT|UPDATE|DELETE|WITH)'
	ORDER BY state = 'active' DESC LIMIT 1
});
like($victim, qr/^\d+$/, 'found a writing backend to kill') or BAIL_OUT('no backend to kill');
my $rows_before = total_rows();
note("killing backend $victim with SIGKILL ($rows_before rows)");
kill('KILL', $victim);
finish_load(@runs);
ok($node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'),
	'server is back after the backend crash');
like(slurp_file($node->logfile), qr/was terminated by signal 9/, 'the postmaster saw the crash');
foreach my $storage (@storages)
{
	cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM items_$storage"), '>', $INITIAL_ROWS,
		"$storage: rows were added before the crash");
}
check_index('after SIGKILL of a backend');

# --- crash 2: immediate shutdown under load
@runs = start_load();
sleep($LOAD_SECONDS);
note('immediate stop with ' . total_rows() . ' rows');
$node->stop('immediate');
finish_load(@runs);
my $log_offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $log_offset), qr/database system was not properly shut down/,
	'the restart ran crash recovery');
check_index('after an immediate stop');

# each index still takes rows and finds them
$node->safe_psql('postgres',
	"CREATE TABLE probe AS SELECT g AS n, $vec_g AS v FROM generate_series(1, 200) g");
foreach my $storage (@storages)
{
	$node->safe_psql('postgres', "INSERT INTO items_$storage (embedding) SELECT v FROM probe");
	is($node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET diskann.query_search_list_size = 200;
		SELECT count(*) FROM probe
		WHERE (SELECT embedding FROM items_$storage ORDER BY embedding <-> v LIMIT 1) = v;
	}), '200', "$storage: rows inserted after the recovery are found");
	verify_ok($node, "items_${storage}_embedding", "$storage: diskann_verify finds no problem at the end",
		allow_unreachable => 0.01);
}

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC:|TRAP:|terminated by signal (?!9\b)/, 'no other crash in the server log');

$node->stop;
done_testing();
