# A streaming replica answers diskann queries exactly as its primary does:
# the index built on the primary (WAL-logged in bulk) and the deleted marks
# of a VACUUM (GenericXLog) replay to identical pages.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('diskann_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "autovacuum = off\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION omendb');

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('diskann_standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

my $DIM = 24;
$primary->safe_psql('postgres', qq{
	SELECT setseed(0.13);
	CREATE TABLE items (id int PRIMARY KEY, embedding vector($DIM));
	INSERT INTO items
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, 5000) i;
	CREATE TABLE queries (qid int PRIMARY KEY, q vector($DIM));
	INSERT INTO queries
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, 20) i;
	CREATE INDEX items_l2 ON items USING diskann (embedding vector_l2_ops);
	CREATE INDEX items_cos ON items USING diskann (embedding vector_cosine_ops)
	  WITH (num_neighbors = 16, search_list_size = 50);
});
$primary->wait_for_catchup($standby);

# answers NODE OP: the top 10 ids of the 20 queries, one line per query,
# through the index
sub answers
{
	my ($node, $op) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SELECT qid, ARRAY(SELECT id FROM items ORDER BY embedding $op q LIMIT 10)
		FROM queries ORDER BY qid;
	});
}

sub compare
{
	my ($label) = @_;
	foreach my $op ('<->', '<=>')
	{
		my $p = answers($primary, $op);
		my $s = answers($standby, $op);
		my @lines = split /\n/, $p;
		is(scalar @lines, 20, "$label $op: 20 answers on the primary");
		is(scalar(grep { /^\d+\|\{\d+(,\d+){9}\}$/ } @lines), 20,
			"$label $op: 10 ids in each");
		is($s, $p, "$label $op: standby answers as the primary");
	}
	foreach my $index ('items_l2', 'items_cos')
	{
		is($standby->safe_psql('postgres', "SELECT count(*) FROM diskann_verify('$index')"),
			'0', "$label: diskann_verify on the standby: $index healthy");
		is($standby->safe_psql('postgres', "SELECT * FROM diskann_stats('$index')"),
			$primary->safe_psql('postgres', "SELECT * FROM diskann_stats('$index')"),
			"$label: diskann_stats of $index the same on both");
	}
}

my $plan = $standby->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF)
	SELECT id FROM items ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 10;
});
like($plan, qr/Index Scan using items_l2/, 'standby uses the index');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');

compare('after build');

# DELETE + VACUUM on the primary: the repair and the freed slots replay
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 4 = 0; VACUUM items;');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres',
		"SELECT deleted_nodes, free_slots >= 1250 FROM diskann_stats('items_l2')"),
	'0|t', 'standby sees the 1250 deleted nodes repaired and their slots freed');
compare('after DELETE + VACUUM');
is($standby->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM items
	  ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 500) s
	WHERE id % 4 = 0;
}), '0', 'standby returns no deleted row');

# REINDEX on the primary replays too
$primary->safe_psql('postgres', 'REINDEX INDEX items_cos');
$primary->wait_for_catchup($standby);
compare('after REINDEX');

# the standby after a restart (pages from disk, not from its buffers)
$standby->restart;
$primary->wait_for_catchup($standby);
compare('after standby restart');

$standby->stop;
$primary->stop;
done_testing();
