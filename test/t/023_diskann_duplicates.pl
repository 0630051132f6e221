# 10,000 copies of one vector, inserted one row at a time by 4 concurrent
# clients into a diskann index (plain storage, whose distances between
# copies are exactly 0; compressed codes of copies are identical too, but
# the graph's topology is what this test is about): every distance between
# them is 0, the case where a graph degenerates most easily.  The inserts
# must finish within a minute without error, the index must be healthy and
# an iterative index scan must return every copy; also after VACUUM removed
# half of them and new copies went into the freed slots.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;
use Time::HiRes qw(time);

my $DIM = 16;
my $COPIES = 10000;
my $CLIENTS = 4;
my $OTHERS = 200;
my $same = '[' . join(',', map { sprintf('%.3f', sin($_)) } 1 .. $DIM) . ']';

my $node = PostgreSQL::Test::Cluster->new('diskann_duplicates');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

# a few distinct rows first, so that the copies join an existing graph
$node->safe_psql('postgres', qq{
	SELECT setseed(0.9);
	CREATE TABLE dups (id serial PRIMARY KEY, embedding vector($DIM));
	CREATE INDEX dups_l2 ON dups USING diskann (embedding vector_l2_ops) WITH (storage = plain);
	INSERT INTO dups (embedding)
	SELECT (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE g > 0)::vector
	FROM generate_series(1, $OTHERS) g;
});

my $t0 = time;
$node->pgbench(
	"-n -c $CLIENTS -j $CLIENTS -t " . ($COPIES / $CLIENTS),
	0,
	[qr/number of transactions actually processed: $COPIES\b/],
	[qr/^$/],
	"$CLIENTS clients insert $COPIES copies of one vector",
	{ '023_copy' => "INSERT INTO dups (embedding) VALUES ('$same');\n" });
my $elapsed = time - $t0;
note(sprintf('%d copies inserted in %.1f s', $COPIES, $elapsed));
cmp_ok($elapsed, '<', 60, 'the copies are inserted within a minute');

is($node->safe_psql('postgres', "SELECT count(*) FROM dups WHERE embedding = '$same'"),
	$COPIES, "the table has $COPIES copies");
verify_ok($node, 'dups_l2', 'diskann_verify finds no problem', allow_unreachable => 0.01);
is($node->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('dups_l2')"),
	$COPIES + $OTHERS, 'every row is a live node');
note('stats: ' . $node->safe_psql('postgres', "SELECT * FROM diskann_stats('dups_l2')"));

# copies_found ORDER: how many distinct copies an index scan returns before
# any other row, and whether the index is used at all
sub copies_found
{
	my ($order, $expected) = @_;
	my $settings = qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SET diskann.iterative_scan = $order;
		SET diskann.max_scan_tuples = 50000;
	};
	my $query = "SELECT id, embedding <-> '$same' AS d FROM dups ORDER BY embedding <-> '$same' LIMIT $expected";
	like($node->safe_psql('postgres', "$settings EXPLAIN (COSTS OFF) $query"),
		qr/Index Scan using dups_l2/, "$order: LIMIT $expected is an index scan");
	return $node->safe_psql('postgres', qq{
		$settings
		SELECT count(DISTINCT id) FILTER (WHERE d = 0) || '/' || count(*) FROM ($query) s;
	});
}

# an insert's prune may leave a few copies unreachable until a VACUUM
# relinks them (README, "Limitations"): the scans come after one
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) dups');
foreach my $order ('strict_order', 'relaxed_order')
{
	is(copies_found($order, $COPIES), "$COPIES/$COPIES",
		"$order: after VACUUM the index scan returns all $COPIES copies");
}

# half of the copies go, VACUUM repairs around them and frees their slots
$node->safe_psql('postgres', qq{
	DELETE FROM dups WHERE id % 2 = 0 AND embedding = '$same';
	VACUUM dups;
});
my $left = $node->safe_psql('postgres', "SELECT count(*) FROM dups WHERE embedding = '$same'");
is($left, $COPIES / 2, 'half of the copies deleted');
verify_ok($node, 'dups_l2', 'after VACUUM: diskann_verify finds no problem');
is($node->safe_psql('postgres', "SELECT deleted_nodes, live_nodes FROM diskann_stats('dups_l2')"),
	'0|' . ($left + $OTHERS), 'after VACUUM: no deleted node, every row live');
is(copies_found('strict_order', $left), "$left/$left",
	"after VACUUM: the index scan returns all $left copies");

# new copies go into the freed slots (once a later transaction id moved the
# horizon past the VACUUM, see DiskannSlotReusable)
my $pages = $node->safe_psql('postgres', "SELECT pages FROM diskann_stats('dups_l2')");
$node->safe_psql('postgres', 'SELECT txid_current()');
my $more = $COPIES / 4;
$t0 = time;
$node->pgbench(
	"-n -c $CLIENTS -j $CLIENTS -t " . ($more / $CLIENTS),
	0,
	[qr/number of transactions actually processed: $more\b/],
	[qr/^$/],
	"$CLIENTS clients insert $more more copies",
	{ '023_copy_more' => "INSERT INTO dups (embedding) VALUES ('$same');\n" });
note(sprintf('%d more copies inserted in %.1f s', $more, time - $t0));
$left += $more;
is($node->safe_psql('postgres', "SELECT pages FROM diskann_stats('dups_l2')"),
	$pages, 'the new copies reused freed slots: the index did not grow');
verify_ok($node, 'dups_l2', 'after the new copies: diskann_verify finds no problem',
	allow_unreachable => 0.01);
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) dups');
is(copies_found('strict_order', $left), "$left/$left",
	"after the new copies and a VACUUM: the index scan returns all $left copies");

# the other rows are still found by their own vector
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET diskann.query_search_list_size = 200;
	SELECT count(*) FROM dups i
	WHERE i.embedding <> '$same'
	  AND (SELECT j.id FROM dups j ORDER BY j.embedding <-> i.embedding LIMIT 1) = i.id;
}), $OTHERS, "the $OTHERS distinct rows are found by their own vector");

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC:|TRAP:|terminated by signal/, 'no crash in the server log');

$node->stop;
done_testing();
