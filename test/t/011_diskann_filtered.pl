# Filtered queries through a diskann index: WHERE category = k ORDER BY
# distance LIMIT n must return n rows whenever n rows match, in distance
# order, by walking the graph further (iterative scan) and, past what that
# may cost (diskann.max_scan_tuples at most), by an exact pass.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('diskann_filtered');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

my $DIM = 32;
my $ROWS = 10000;

# 20 categories of 500 rows each, plus a rare category 99 of 15 rows; the
# vectors do not depend on the category
$node->safe_psql('postgres', qq{
	SELECT setseed(0.77);
	CREATE TABLE items (id int PRIMARY KEY, category int, embedding vector($DIM));
	INSERT INTO items
	SELECT i, CASE WHEN i % 650 = 0 THEN 99 ELSE i % 20 END,
	       (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, $ROWS) i;
	CREATE TABLE queries (qid int PRIMARY KEY, q vector($DIM));
	INSERT INTO queries
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, 10) i;
	CREATE INDEX items_l2 ON items USING diskann (embedding vector_l2_ops);
	ANALYZE items;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE category = 99'),
	'15', 'rare category has 15 rows');
is($node->safe_psql('postgres', "SELECT count(*) FROM diskann_verify('items_l2')"),
	'0', 'index is healthy');

# query_rows SETTINGS CATEGORY QID LIMIT: the ids and distances a filtered
# query returns, forced through the diskann index
sub query_rows
{
	my ($settings, $category, $qid, $limit) = @_;
	my $out = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		$settings
		SELECT id, category, embedding <-> (SELECT q FROM queries WHERE qid = $qid)
		FROM items
		WHERE category = $category
		ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = $qid)
		LIMIT $limit;
	});
	return map { [ split /\|/ ] } grep { length } split /\n/, $out;
}

my $plan = $node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET enable_bitmapscan = off;
	EXPLAIN (COSTS OFF)
	SELECT id FROM items WHERE category = 3
	ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 10;
});
like($plan, qr/Index Scan using items_l2 on items/, 'filtered query uses the diskann index');
like($plan, qr/Filter: \(category = 3\)/, 'category is a filter on the index scan');
$plan = $node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF)
	SELECT id FROM items WHERE category = 99
	ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 20;
});
like($plan, qr/Index Scan using items_l2 on items/, 'rare category query uses the diskann index');

# strict_order (default): 10 rows of the category, in distance order
foreach my $qid (1 .. 10)
{
	my $category = $qid % 20;
	my @rows = query_rows('', $category, $qid, 10);
	is(scalar @rows, 10, "strict_order: query $qid, category $category: 10 rows");
	is(scalar(grep { $_->[1] != $category } @rows), 0,
		"strict_order: query $qid: only category $category");
	my $sorted = 1;
	for my $i (1 .. $#rows)
	{
		$sorted = 0 if $rows[$i][2] < $rows[ $i - 1 ][2];
	}
	ok($sorted, "strict_order: query $qid: non-decreasing distances");
}

# the first rows of a filtered query are mostly the true ones
my ($hits, $total) = (0, 0);
foreach my $qid (1 .. 10)
{
	my $category = $qid % 20;
	my %found = map { $_->[0] => 1 } query_rows('', $category, $qid, 10);
	my $truth = $node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		SELECT string_agg(id::text, ',') FROM (SELECT id FROM items WHERE category = $category
		ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = $qid) LIMIT 10) s;
	});
	foreach my $id (split /,/, $truth)
	{
		$hits++ if $found{$id};
		$total++;
	}
}
my $recall = $hits / $total;
note("filtered recall\@10 (strict_order): $recall");
cmp_ok($recall, '>=', 0.8, 'filtered recall@10 >= 0.8');

# a rare category: all 15 rows for LIMIT 20, within max_scan_tuples
foreach my $qid (1 .. 3)
{
	my @rows = query_rows('', 99, $qid, 20);
	is(scalar @rows, 15, "rare category, query $qid: all 15 rows");
}
# ... also under relaxed_order
my @rare = query_rows('SET diskann.iterative_scan = relaxed_order;', 99, 1, 20);
is(scalar @rare, 15, 'rare category, relaxed_order: all 15 rows');
# ... and with the walk bounded to 100 expansions: the exact pass that
# follows finds the rest, so the answer is never short
@rare = query_rows('SET diskann.max_scan_tuples = 100;', 99, 1, 20);
is(scalar @rare, 15, 'rare category, max_scan_tuples = 100: still all 15 rows');

# relaxed_order: 10 rows of the category
foreach my $qid (1 .. 5)
{
	my $category = $qid % 20;
	my @rows = query_rows('SET diskann.iterative_scan = relaxed_order;', $category, $qid, 10);
	is(scalar @rows, 10, "relaxed_order: query $qid: 10 rows");
	is(scalar(grep { $_->[1] != $category } @rows), 0, "relaxed_order: query $qid: right category");
}

# off: the scan ends with its first search list (40 rows here), of which
# about one in 20 is in the category
foreach my $qid (1 .. 5)
{
	my $category = $qid % 20;
	my @rows = query_rows('SET diskann.iterative_scan = off; SET diskann.query_search_list_size = 40;',
		$category, $qid, 10);
	cmp_ok(scalar @rows, '<', 10, "iterative_scan off: query $qid: fewer than 10 rows");
}
my @rows = query_rows('SET diskann.iterative_scan = off; SET diskann.query_search_list_size = 40;',
	99, 1, 20);
cmp_ok(scalar @rows, '<=', 1, 'iterative_scan off: rare category mostly missed');

$node->stop;
done_testing();
