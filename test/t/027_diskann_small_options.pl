# Inserts, DELETE and VACUUM on diskann indexes with the smallest options
# allowed (num_neighbors 4, search_list_size 10) and other small ones: the
# search lists inserts, scans and VACUUM's repair use may be longer than
# the index's own, and the graph is at its sparsest.  For each index: rows
# inserted into the empty index, a third deleted, VACUUM, more rows into
# the freed slots; after each step the index is healthy, holds the table's
# rows, and finds its rows by their own vectors.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;

my $DIM = 8;
my $ROWS = 2000;

my $node = PostgreSQL::Test::Cluster->new('diskann_small_options');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

my $vec_g = "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE g > 0)::vector";

# check LABEL TABLE INDEX R VACUUMED: healthy (before a VACUUM, inserts may
# have left a few nodes unreachable, which VACUUM relinks), exactly the
# table's rows, and each row found by its own vector: all but 1% at R >= 8
# (a graph of out-degree 4 is too sparse for a greedy search to find every
# row; there only the structure is checked)
sub check
{
	my ($label, $table, $index, $r, $vacuumed) = @_;
	verify_ok($node, $index, "$label: diskann_verify finds no problem",
		$vacuumed ? () : (allow_unreachable => 0.05));
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM ((SELECT ctid FROM $table EXCEPT ALL SELECT * FROM diskann_tids('$index'))
		  UNION ALL (SELECT * FROM diskann_tids('$index') EXCEPT ALL SELECT ctid FROM $table)) s
	}), '0', "$label: the index holds exactly the table's rows");
	return if $r < 8;
	my ($missed, $rows) = split /\|/, $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SET diskann.query_search_list_size = 200;
		SELECT count(*) FILTER (WHERE i.id NOT IN
			(SELECT j.id FROM $table j ORDER BY j.embedding <-> i.embedding LIMIT 3)), count(*)
		FROM $table i;
	});
	note("$label: $missed of $rows rows not found by their own vector");
	cmp_ok($missed, '<=', $rows / 100, "$label: every row but at most 1% is found by its own vector");
}

foreach my $options ([ 4, 10 ], [ 8, 10 ], [ 8, 16 ], [ 16, 24 ])
{
	my ($r, $l) = @$options;
	my $table = "items_${r}_$l";
	my $index = "${table}_l2";
	my $label = "num_neighbors $r, search_list_size $l";

	$node->safe_psql('postgres', qq{
		SELECT setseed(0.27);
		CREATE TABLE $table (id serial PRIMARY KEY, embedding vector($DIM));
		CREATE INDEX $index ON $table USING diskann (embedding vector_l2_ops)
		  WITH (num_neighbors = $r, search_list_size = $l);
		INSERT INTO $table (embedding) SELECT $vec_g FROM generate_series(1, $ROWS) g;
	});
	check("$label, after INSERT", $table, $index, $r, 0);

	$node->safe_psql('postgres', "DELETE FROM $table WHERE id % 3 = 0");
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "VACUUM $table");
	is($ret, 0, "$label: VACUUM succeeds") or diag($stderr);
	# should VACUUM have crashed the server, wait for its restart and go on
	$node->poll_query_until('postgres', 'SELECT true');
	is($node->safe_psql('postgres', "SELECT deleted_nodes FROM diskann_stats('$index')"),
		'0', "$label: VACUUM repaired every deleted node");
	check("$label, after DELETE + VACUUM", $table, $index, $r, 1);

	$node->safe_psql('postgres', qq{
		SELECT txid_current();
		INSERT INTO $table (embedding) SELECT $vec_g FROM generate_series(1, $ROWS / 4) g;
	});
	check("$label, after inserts into freed slots", $table, $index, $r, 0);
}

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC:|TRAP:|terminated by signal/, 'no crash in the server log');

$node->stop;
done_testing();
