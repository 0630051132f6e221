# Inserts, DELETE and VACUUM on diskann indexes with the smallest options
# allowed (num_neighbors 4, search_list_size 10) and other small ones: the
# search lists inserts, scans and VACUUM's repair use may be longer than
# the index's own, and the graph is at its sparsest.  For each index: rows
# inserted into the empty index, a third deleted, VACUUM, more rows into
# the freed slots; after each step the index is healthy, holds the table's
# rows, and finds every row by its own vector.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# verify_ok NODE INDEX LABEL: diskann_verify finds no problem in INDEX; if
# it does, count them by kind and show the first 20
sub verify_ok
{
	my ($node, $index, $label) = @_;
	my @problems = grep { length } split /\n/,
	  $node->safe_psql('postgres', "SELECT * FROM diskann_verify('$index')");
	my $n = scalar @problems;
	my %kinds;
	foreach my $p (@problems)
	{
		(my $kind = $p) =~ s/\d+/N/g;
		$kinds{$kind}++;
	}
	splice(@problems, 20) if $n > 20;
	is($n, 0, $label)
	  or diag("diskann_verify reports $n problems:\n"
		  . join("\n", map { "$kinds{$_} x $_" } sort keys %kinds)
		  . "\nthe first:\n" . join("\n", @problems));
	return $n == 0;
}

my $DIM = 8;
my $ROWS = 2000;

my $node = PostgreSQL::Test::Cluster->new('diskann_small_options');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

my $vec_g = "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE g > 0)::vector";

# check LABEL TABLE INDEX: healthy, exactly the table's rows, each found
sub check
{
	my ($label, $table, $index) = @_;
	verify_ok($node, $index, "$label: diskann_verify finds no problem");
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM ((SELECT ctid FROM $table EXCEPT ALL SELECT * FROM diskann_tids('$index'))
		  UNION ALL (SELECT * FROM diskann_tids('$index') EXCEPT ALL SELECT ctid FROM $table)) s
	}), '0', "$label: the index holds exactly the table's rows");
	is($node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SET diskann.query_search_list_size = 200;
		SELECT count(*) FROM $table i
		WHERE i.id NOT IN (SELECT j.id FROM $table j ORDER BY j.embedding <-> i.embedding LIMIT 3);
	}), '0', "$label: every row is found by its own vector");
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
	check("$label, after INSERT", $table, $index);

	$node->safe_psql('postgres', "DELETE FROM $table WHERE id % 3 = 0");
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "VACUUM $table");
	is($ret, 0, "$label: VACUUM succeeds") or diag($stderr);
	# should VACUUM have crashed the server, wait for its restart and go on
	$node->poll_query_until('postgres', 'SELECT true');
	is($node->safe_psql('postgres', "SELECT deleted_nodes FROM diskann_stats('$index')"),
		'0', "$label: VACUUM repaired every deleted node");
	check("$label, after DELETE + VACUUM", $table, $index);

	$node->safe_psql('postgres', qq{
		SELECT txid_current();
		INSERT INTO $table (embedding) SELECT $vec_g FROM generate_series(1, $ROWS / 4) g;
	});
	check("$label, after inserts into freed slots", $table, $index);
}

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC:|TRAP:|terminated by signal/, 'no crash in the server log');

$node->stop;
done_testing();
