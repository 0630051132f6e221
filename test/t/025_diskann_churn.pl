# Churn: rounds of DELETE + INSERT + VACUUM must not wear a diskann index
# down, in either storage.
#
# 5,000 clustered 32-dimensional vectors (20 centres plus noise, like
# 010_diskann_recall's clustered set); ten rounds (OMENDB_CHURN_ROUNDS) of:
# delete 10% of the rows at random, insert as many new rows of the same
# distribution, VACUUM.  After every round the index must be healthy
# (diskann_verify), hold exactly the live rows, and must not have grown
# beyond its first size plus one round's inserts (plus one group of
# slots): later rounds reuse the slots VACUUM freed.  After the rounds,
# recall@10 of 100 queries (exact answers from a sequential scan over the
# live rows) at a deliberately small search list must be >= 0.9 and within
# 0.03 of the recall of the same index after REINDEX, and the index at
# most 1.3 times the REINDEXed one's size.  All of it once per storage
# (compressed, the default, then plain), on the same data and the same
# rounds: the compressed index codes inserted rows around the centroid of
# the rows it was built from and repairs from its codes, the plain one
# from its float vectors.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;

my $DIM = 32;
my $ROWS = 5000;
my $ROUNDS = $ENV{OMENDB_CHURN_ROUNDS} || 10;
my $CHURN = $ROWS / 10;
my $QUERIES = 100;
# small enough that the index's quality shows in recall (at the default of
# 150 every index of this size is near 1.0)
my $QUERY_L = 16;

my $node = PostgreSQL::Test::Cluster->new('diskann_churn');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

# new_rows N: SQL for N rows near one of the 20 centres
sub new_rows
{
	my ($n) = @_;
	return qq{
		SELECT nextval('item_ids'),
		       (SELECT v FROM centres WHERE c = g % 20) +
		       (SELECT array_agg((random() * 2 - 1) * 0.5) FROM generate_series(1, $DIM) WHERE g > 0)::vector
		FROM generate_series(1, $n) g};
}

# the index of the storage under test
my $index;

# setup STORAGE: the table, its queries and the index, the same data for
# each storage
sub setup
{
	my ($storage) = @_;
	$index = "items_l2_$storage";
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS centres, items, queries;
		DROP SEQUENCE IF EXISTS item_ids;
		SELECT setseed(0.25);
		CREATE TABLE centres (c int PRIMARY KEY, v vector($DIM));
		INSERT INTO centres
		SELECT c, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE c >= 0)::vector
		FROM generate_series(0, 19) c;
		CREATE SEQUENCE item_ids;
		CREATE TABLE items (id bigint PRIMARY KEY, embedding vector($DIM));
		INSERT INTO items @{[ new_rows($ROWS) ]};
		CREATE TABLE queries (qid int PRIMARY KEY, q vector($DIM));
		INSERT INTO queries
		SELECT g, (SELECT v FROM centres WHERE c = (g * 7) % 20) +
		          (SELECT array_agg((random() * 2 - 1) * 0.5) FROM generate_series(1, $DIM) WHERE g > 0)::vector
		FROM generate_series(1, $QUERIES) g;
		CREATE INDEX $index ON items USING diskann (embedding vector_l2_ops)
		  WITH (num_neighbors = 24, search_list_size = 48, storage = '$storage');
		ANALYZE;
	});
}

# stats: the index's diskann_stats as a hash
sub stats
{
	my @cols = qw(nodes live_nodes deleted_nodes free_slots pages layout);
	my @vals = split /\|/, $node->safe_psql('postgres',
		'SELECT ' . join(', ', @cols) . " FROM diskann_stats('$index')");
	my %s;
	@s{@cols} = @vals;
	return \%s;
}

# recall: recall@10 of the queries through the index at $QUERY_L, against
# an exact scan of the rows live now
sub recall
{
	return $node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		SET enable_bitmapscan = off;
		CREATE TEMP TABLE truth AS
		SELECT qid, ARRAY(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10) AS ids FROM queries;
		RESET enable_indexscan;
		SET enable_seqscan = off;
		SET diskann.query_search_list_size = $QUERY_L;
		SELECT round(avg((SELECT count(*)
		                  FROM unnest(ARRAY(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10)) x
		                  WHERE x = ANY (t.ids)) / 10.0), 4)
		FROM queries JOIN truth t USING (qid);
	});
}

foreach my $storage ('compressed', 'plain')
{
	churn($storage);
}

# churn STORAGE: the rounds and the checks (see the top of the file)
sub churn
{
	my ($storage) = @_;
	setup($storage);
	is($node->safe_psql('postgres', "SELECT storage FROM diskann_stats('$index')"), $storage,
		"$storage: the index has storage $storage");
	like($node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 10;
	}), qr/Index Scan using $index/, "$storage: queries use the diskann index");

	my $initial = stats();
	my ($group) = $initial->{layout} =~ /^(\d+) nodes per/;
	ok(defined $group, "$storage: layout gives the nodes per group ($initial->{layout})");
	$group //= 0;
	my $initial_slots = $initial->{nodes} + $initial->{free_slots};
	my $bound = $initial_slots + $CHURN + $group;
	note("$storage, initial: $initial->{nodes} nodes, $initial->{free_slots} free slots, "
		  . "$initial->{pages} pages, recall\@10 " . recall());

	my @pages;
	foreach my $round (1 .. $ROUNDS)
	{
		$node->safe_psql('postgres', qq{
			SELECT setseed(0.1 * $round);
			DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT $CHURN);
			INSERT INTO items @{[ new_rows($CHURN) ]};
		});
		$node->safe_psql('postgres', 'VACUUM items');

		my $s = stats();
		my $slots = $s->{nodes} + $s->{free_slots};
		note("$storage, round $round: $s->{nodes} nodes, $s->{live_nodes} live, $s->{free_slots} free slots, "
			  . "$s->{pages} pages, recall\@10 " . recall());
		verify_ok($node, $index, "$storage, round $round: diskann_verify finds no problem");
		is("$s->{live_nodes}|$s->{deleted_nodes}",
			$node->safe_psql('postgres', 'SELECT count(*) FROM items') . '|0',
			"$storage, round $round: live_nodes equals count(*), no deleted node");
		cmp_ok($slots, '<=', $bound,
			"$storage, round $round: $slots slots, at most the first $initial_slots + $CHURN inserts + one group");
		push @pages, $s->{pages};
	}
	is($pages[-1], $pages[0], "$storage: the index stopped growing after the first round (freed slots reused)");

	my $churned = recall();
	my $churned_pages = stats()->{pages};
	$node->safe_psql('postgres', "REINDEX INDEX $index");
	my $rebuilt = recall();
	my $rebuilt_pages = stats()->{pages};
	note("$storage, after $ROUNDS rounds: recall\@10 $churned, $churned_pages pages; "
		  . "after REINDEX: recall\@10 $rebuilt, $rebuilt_pages pages (diskann.query_search_list_size = $QUERY_L)");
	cmp_ok($churned, '>=', 0.9, "$storage: recall\@10 after churn >= 0.9");
	cmp_ok($churned, '>=', $rebuilt - 0.03, "$storage: recall\@10 after churn within 0.03 of a REINDEXed index");
	cmp_ok($churned_pages, '<=', 1.3 * $rebuilt_pages,
		"$storage: index after churn at most 1.3 times the REINDEXed size");
}

$node->stop;
done_testing();
