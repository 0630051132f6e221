# Filter columns of a diskann index:
#
#   CREATE INDEX ON items USING diskann
#     (embedding vector_l2_ops, category, tags, name, flag, big);
#
# WHERE clauses on the filter columns are index quals evaluated inside the
# scan.  A filtered query with LIMIT n must return n rows whenever n rows
# match (never short, also with diskann.max_scan_tuples set low), in
# non-decreasing distance order, only rows that match, and mostly the true
# nearest ones.
#
# Data: 20,000 rows of 32 dimensions around 50 gaussian cluster centres;
# category is the cluster (5% of rows get a random one), so another
# category than the query's own lies far from the query.  rare_cat (1%,
# not in the index), tags int[] (1-4 labels of 20), name text (4 values and
# 3 rows 'omega'), flag boolean (30% true) and big bigint (a permutation of
# 1..20000 times 10^10) do not depend on the cluster.  20 queries come
# from the same mixture, one per cluster.
#
# For every filter, all queries run in one statement (a correlated
# subquery per query, forced through the index) against the exact answer
# of a sequential scan; checked: row count = min(LIMIT, matching rows),
# non-decreasing distances, every row matches the filter (re-evaluated on
# the heap row), no duplicate or deleted row, and recall@LIMIT over the
# queries at or above a floor.  The battery runs on the fresh index, after
# inserts (with new filter values and NULLs), deletes and UPDATEs of filter
# columns (diskann_verify allowing 1% unreachable nodes), and after VACUUM
# (diskann_verify clean).  On the fresh index also: diskann.max_scan_tuples
# at 20 and 50 (100 for LIMIT 100), diskann.query_search_list_size at 10
# and 40, relaxed_order (count only), the DEBUG1 line of a scan.  Then IN
# lists as index conditions on an index whose first column is the filter
# column.  All of that once per storage (compressed, the default, then
# plain), the second time on the table restored to its first state, so
# both storages see the same rows and the same changes; every description
# names the storage.  Then: a boolean filter column compared with a
# parameter (compressed), smallint and int2[] filter columns on a small
# table (both storages), unsupported filter types and a first column that
# is not a vector (errors), and right answers whatever the planner picks
# next to btree indexes (a compressed index).  About 75 s.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use DiskannTest;

my $DIM = 32;
my $ROWS = 20000;
my $CLUSTERS = 50;
my $QUERIES = 20;
my $SIGMA = 0.3;
my $BIG = 10000000000;    # big = rank * $BIG, beyond the int4 range
my $FLOOR = 0.95;         # recall floor of index-qual filters
# ... of a filter the index does not see: the walk returns rows in order,
# the executor rejects most, and once the walk has spent what an exact pass
# costs, the exact pass returns the rest at or past the last distance
# returned; rows the walk skipped below it come last (strict order), so far
# filters lose some recall here (0.785 for three far categories)
my $FLOOR_EXECUTOR = 0.75;

my $t0 = time;
my $node = PostgreSQL::Test::Cluster->new('diskann_filter');
$node->init;
$node->append_conf('postgresql.conf',
	"autovacuum = off\nmax_parallel_workers_per_gather = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

# near_point(c, sigma): a point around centre c; jitter(v, sigma): v plus
# gaussian noise
$node->safe_psql('postgres', qq{
	SELECT setseed(0.31);
	CREATE TABLE centres (c int PRIMARY KEY, v float8[]);
	INSERT INTO centres
	SELECT c, ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, $DIM) WHERE c >= 0)
	FROM generate_series(0, $CLUSTERS - 1) c;
	CREATE FUNCTION gauss() RETURNS float8 LANGUAGE sql VOLATILE
	AS 'SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';
	CREATE FUNCTION near_point(c int, sigma float8) RETURNS vector LANGUAGE sql VOLATILE
	AS 'SELECT array_agg(v[d] + sigma * gauss() ORDER BY d)::vector
	    FROM centres, generate_series(1, $DIM) d WHERE centres.c = near_point.c';
	CREATE FUNCTION jitter(p vector, sigma float8) RETURNS vector LANGUAGE sql VOLATILE
	AS 'SELECT array_agg(x + sigma * gauss() ORDER BY o)::vector
	    FROM unnest(p::real[]) WITH ORDINALITY u(x, o)';

	CREATE TABLE items (id int PRIMARY KEY, cluster int, category int, rare_cat int,
	                    tags int[], name text, flag boolean, big bigint, embedding vector($DIM));
	INSERT INTO items
	SELECT i, c,
	       CASE WHEN random() < 0.05 THEN floor(random() * $CLUSTERS)::int ELSE c END,
	       CASE WHEN i % 100 = 37 THEN 1 ELSE 0 END,
	       ARRAY(SELECT DISTINCT 1 + floor(random() * 20)::int FROM generate_series(1, nt) ORDER BY 1),
	       CASE WHEN i IN (101, 5002, 13003) THEN 'omega'
	            ELSE (ARRAY['alpha', 'beta', 'gamma', 'delta'])[1 + (i / 7) % 4] END,
	       random() < 0.3,
	       ((i::bigint * 7919) % $ROWS + 1) * $BIG,
	       near_point(c, $SIGMA)
	FROM (SELECT i, floor(random() * $CLUSTERS)::int AS c, 1 + floor(random() * 4)::int AS nt
	      FROM generate_series(1, $ROWS) i) s;

	CREATE TABLE queries (qid int PRIMARY KEY, qc int, q vector($DIM));
	INSERT INTO queries
	SELECT g, (g * 7) % $CLUSTERS, near_point((g * 7) % $CLUSTERS, $SIGMA)
	FROM generate_series(1, $QUERIES) g;
	CREATE TABLE gone (id int PRIMARY KEY);
	-- the rows as loaded, to start the second storage from
	CREATE TABLE items_loaded AS TABLE items;
});
note(sprintf('data loaded in %.1f s', time - $t0));
is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE name = 'omega'"),
	'3', "3 rows have name 'omega'");
is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE big <= 200 * $BIG"),
	'200', 'big <= 200 * 10^10 matches 1% of the rows');

# ids in gone (deleted rows): none may come back
my %gone;
# the storage of the diskann index under test: every description names it
my $STORAGE = 'compressed';

# How far a row may come before a farther one, relative to its distance.
# Plain storage: not at all.  Compressed storage re-ranks by exact distance
# within a bounded lookahead and the estimates' error bounds, so deep in a
# stream of rows at nearly equal distances (executor filters whose matches
# are far, LIMIT 100 past a small search list or max_scan_tuples) a row may
# come just after a slightly farther one: measured up to 3.3% (0.4% on
# average, 358 of the rows of this file).  See src/README.md, "Re-ranking".
my %ORDER_SLACK = (plain => 0, compressed => 0.05);

# check_filter LABEL, WHERE, LIMIT, OPTIONS: run WHERE ... ORDER BY distance
# LIMIT for all queries through the index and exactly, and check.  WHERE may
# use the query's cluster qc.  Options: settings (SQL run before the index
# query), plan (a regex the EXPLAIN of the index query must match),
# floor (recall floor, default $FLOOR; 0 = none), ordered (0: do not check
# the order), table and queries.
sub check_filter
{
	my ($label, $where, $limit, %o) = @_;
	$label = "$STORAGE: $label";
	my $table = $o{table} // 'items';
	my $queries = $o{queries} // 'queries';
	my $settings = $o{settings} // '';
	my $floor = $o{floor} // $FLOOR;
	my $ordered = $o{ordered} // 1;
	my $index_sql = qq{
		SELECT 'I', qid, array_to_string(ARRAY(
		         SELECT id || ':' || (embedding <-> q) || ':' || COALESCE(($where), false)
		         FROM $table WHERE $where ORDER BY embedding <-> q LIMIT $limit), ',')
		FROM $queries ORDER BY qid};
	my $out = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		$settings;
		@{[ $o{plan} ? "EXPLAIN (COSTS OFF) $index_sql;" : '' ]}
		SELECT '\@\@';
		$index_sql;
		RESET ALL;
		SET enable_indexscan = off;
		SET enable_bitmapscan = off;
		SELECT 'T', qid, (SELECT count(*) FROM $table WHERE $where),
		       array_to_string(ARRAY(SELECT id FROM $table WHERE $where
		                             ORDER BY (embedding <-> q) + 0, id LIMIT $limit), ',')
		FROM $queries ORDER BY qid;
	});
	my ($plan, $rows) = split /^\@\@$/m, $out, 2;
	my (%got, %truth, %matching);
	foreach my $line (split /\n/, $rows)
	{
		my @f = split /\|/, $line, -1;
		if ($f[0] eq 'I')
		{
			$got{ $f[1] } = [ map { [ split /:/ ] } grep { length } split /,/, $f[2] ];
		}
		elsif ($f[0] eq 'T')
		{
			$matching{ $f[1] } = $f[2];
			$truth{ $f[1] } = [ grep { length } split /,/, $f[3] ];
		}
	}
	my (@short, @unordered, @wrong);
	my ($hits, $total, $inversions) = (0, 0, 0);
	foreach my $qid (sort { $a <=> $b } keys %truth)
	{
		my @r = @{ $got{$qid} // [] };
		my $expect = $matching{$qid} < $limit ? $matching{$qid} : $limit;
		push @short, "query $qid: $expect expected (of $matching{$qid} matching), got "
		  . scalar(@r)
		  if @r != $expect;
		my %seen;
		for my $i (0 .. $#r)
		{
			my ($id, $dist, $matches) = @{ $r[$i] };
			if ($ordered && $i > 0 && $dist < $r[ $i - 1 ][1])
			{
				$inversions++;
				push @unordered, "query $qid: row $i (id $id) at $dist after $r[$i-1][1]"
				  if $dist < $r[ $i - 1 ][1] * (1 - $ORDER_SLACK{$STORAGE});
			}
			push @wrong, "query $qid: id $id does not match the filter" if $matches ne 'true';
			push @wrong, "query $qid: id $id returned twice" if $seen{$id}++;
			push @wrong, "query $qid: id $id was deleted" if $table eq 'items' && $gone{$id};
		}
		foreach my $id (@{ $truth{$qid} })
		{
			$hits++ if $seen{$id};
			$total++;
		}
	}
	my $n = scalar keys %truth;
	push @short, "no answer: $n exact and " . scalar(keys %got) . ' index answers'
	  if $n == 0 || keys %got != $n;
	my $recall = $total ? $hits / $total : 1;
	note(sprintf("%s: LIMIT %d, recall %.4f over %d queries (%d true rows), %d rows before a farther one",
			$label, $limit, $recall, $n, $total, $inversions));
	if ($o{plan})
	{
		like($plan, $o{plan}, "$label: plan") or diag($plan);
	}
	ok(@short == 0, "$label: LIMIT $limit returns min(LIMIT, matching rows) rows for all $n queries")
	  or diag(join("\n", @short));
	ok(@unordered == 0,
		"$label: distances non-decreasing" . ($ORDER_SLACK{$STORAGE} ? " (within $ORDER_SLACK{$STORAGE})" : ''))
	  or diag(join("\n", @unordered))
	  if $ordered;
	ok(@wrong == 0, "$label: only matching rows, no duplicate, no deleted row")
	  or diag(join("\n", splice(@wrong, 0, 30)));
	cmp_ok($recall, '>=', $floor, "$label: recall\@$limit >= $floor") if $floor && $total;
	return { got => \%got, truth => \%truth, matching => \%matching, recall => $recall };
}

my $idx = qr/Index Scan using items_idx on items/;

# cond RE [INDEX]: the plan of a diskann scan of INDEX with RE in its Index Cond
sub cond
{
	my ($re, $index) = @_;
	$index //= 'items_idx';
	return qr/Index Scan using $index on \w+.*\n\s*Index Cond: [^\n]*$re/;
}

# filtered RE: the plan of a scan of items_idx with RE in its Filter (a
# clause the index does not see)
sub filtered
{
	my ($re) = @_;
	return qr/Index Scan using items_idx on items.*\n(?:.*\n)*?\s*Filter: [^\n]*$re/;
}
my $FAR = '(qc + 25) % 50';

# the filters of the battery: label, WHERE, LIMIT, plan, options.  On
# PostgreSQL 15 two kinds of clauses stay executor filters (src/README.md,
# sql/diskann_filter.sql): an IN list (= ANY) on an index column after the
# first (the planner keeps a ScalarArrayOpExpr on a later column out of an
# ordered index scan; IN lists on the first column are tested further
# down, with the vector column second), and a comparison of a boolean
# column with a constant ("flag = true" becomes "flag", which the planner
# matches to btree and hash boolean operator families only; a parameter,
# here a value from the query row, stays "flag = $1").  Their results must
# still be complete and in order; their recall floor is that of filters
# the index does not see.
my @battery = (
	[ 'near category', 'category = qc', 10, cond(qr/category = /) ],
	[ 'far category', "category = $FAR", 10, cond(qr/category = /) ],
	[ 'far category LIMIT 100', "category = $FAR", 100, cond(qr/category = /) ],
	[ 'IN list of 3 far categories (executor)', 'category IN ((qc + 10) % 50, (qc + 20) % 50, (qc + 30) % 50)',
		10, filtered(qr/category = ANY/), floor => $FLOOR_EXECUTOR ],
	[ '= ANY of 2 far categories (executor)', 'category = ANY (ARRAY[(qc + 17) % 50, (qc + 33) % 50])', 10,
		filtered(qr/category = ANY/), floor => $FLOOR_EXECUTOR ],
	[ '= ANY of an array with a NULL element (executor)', 'category = ANY (ARRAY[qc, NULL])', 10,
		filtered(qr/category = ANY/), floor => $FLOOR_EXECUTOR ],
	[ 'category range (near for some queries)', 'category >= 20 AND category < 30', 10,
		cond(qr/category >= 20.*category < 30/) ],
	[ 'category <= 4', 'category <= 4', 10, cond(qr/category <= 4/) ],
	[ '1% filter: big <= 200e10', 'big <= ' . 200 * $BIG, 10, cond(qr/big <= /) ],
	[ 'big range (10%)', 'big > ' . 5000 * $BIG . ' AND big <= ' . 7000 * $BIG, 10,
		cond(qr/big > .*big <= /) ],
	[ 'big >= (5%)', 'big >= ' . 19000 * $BIG, 10, cond(qr/big >= /) ],
	[ 'big IN 5 values (executor)', 'big IN (' . join(', ', map { $_ * 997 * $BIG } 1 .. 5) . ')', 10,
		filtered(qr/big = ANY/), floor => $FLOOR_EXECUTOR ],
	[ 'tags && one label', "tags && '{7}'", 10, cond(qr/tags && /) ],
	[ 'tags && two labels', "tags && '{5,15}'", 10, cond(qr/tags && /) ],
	[ 'tags @> two labels (~1.5%)', "tags @> '{1,2}'", 10, cond(qr/tags @> /) ],
	[ 'tags @> empty array (all rows)', "tags @> '{}'", 10, cond(qr/tags @> /) ],
	[ 'name =', "name = 'beta'", 10, cond(qr/name = /) ],
	[ 'name IN (executor)', "name IN ('alpha', 'delta')", 10, filtered(qr/name = ANY/),
		floor => $FLOOR_EXECUTOR ],
	[ 'flag = true (executor)', 'flag = true', 10, filtered(qr/flag/), floor => $FLOOR_EXECUTOR ],
	[ 'flag = false (executor)', 'flag = false', 10, filtered(qr/NOT flag/), floor => $FLOOR_EXECUTOR ],
	[ 'flag = a parameter (true for even queries)', 'flag = (qid % 2 = 0)', 10, cond(qr/flag = /) ],
	[ 'far category AND flag = true', "category = $FAR AND flag = true", 10, cond(qr/category = /) ],
	[ 'far category AND flag = a parameter', "category = $FAR AND flag = (qid % 2 = 1)", 10,
		cond(qr/category = .*flag = |flag = .*category = /) ],
	[ 'name AND big range (~0.5%)', "name = 'gamma' AND big <= " . 400 * $BIG, 10,
		cond(qr/name = .*big <= |big <= .*name = /) ],
	[ 'near category AND tags &&', "category = qc AND tags && '{3}'", 10,
		cond(qr/category = .*tags && |tags && .*category = /) ],
	[ 'far category AND tags @>', "category = $FAR AND tags @> '{2}'", 10,
		cond(qr/category = .*tags @> |tags @> .*category = /) ],
	[ '3 matching rows', "name = 'omega'", 10, cond(qr/name = /) ],
	[ '0 matching rows: category = 99', 'category = 99', 10, cond(qr/category = 99/) ],
	[ '0 matching rows: name', "name = 'nobody'", 10, cond(qr/name = /) ],
	[ '0 matching rows: tags', "tags && '{999}'", 10, cond(qr/tags && /) ],
	[ '0 matching rows: = ANY of an empty array', "category = ANY ('{}'::int[])", 10, $idx ],
	[ 'near category AND big < 0 (0 rows until UPDATEs)', 'category = qc AND big < 0::bigint', 10,
		cond(qr/category = .*big < |big < .*category = /) ],
	[ 'bigint < integer literal (cross-type)', 'big < 2000000000', 10, cond(qr/big < 2000000000/) ],
	[ 'column not in the index, 1%: rare_cat = 1', 'rare_cat = 1', 10,
		qr/Index Scan using items_idx on items.*\n(.*\n)*?\s*Filter: \(rare_cat = 1\)/,
		floor => $FLOOR_EXECUTOR ],
	[ 'rare_cat = 1 AND flag = false (executor)', 'rare_cat = 1 AND flag = false', 10,
		filtered(qr/rare_cat = 1/), floor => $FLOOR_EXECUTOR ],
	[ 'rare_cat = 1 AND name = (executor and index)', "rare_cat = 1 AND name = 'beta'", 10,
		qr/Index Cond: \(name = [^\n]*\n(?:.*\n)*?\s*Filter: \(rare_cat = 1\)/,
		floor => $FLOOR_EXECUTOR ],
);

# run_battery PHASE, EXTRA: the battery (plus the filters in EXTRA)
sub run_battery
{
	my ($phase, @extra) = @_;
	my $t = time;
	foreach my $f (@battery, @extra)
	{
		my ($label, $where, $limit, $plan, %o) = @$f;
		check_filter("$phase: $label", $where, $limit, %o, ($phase eq 'fresh' ? (plan => $plan) : ()));
	}
	note(sprintf('%s, %s: battery in %.1f s', $STORAGE, $phase, time - $t));
}

# exact_ids QID WHERE LIMIT: the exact nearest ids of a query under a filter
sub exact_ids
{
	my ($qid, $where, $limit) = @_;
	return split /,/, $node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		SET enable_bitmapscan = off;
		SELECT array_to_string(ARRAY(SELECT id FROM items, queries WHERE qid = $qid AND $where
		                             ORDER BY (embedding <-> q) + 0, id LIMIT $limit), ',');
	});
}

# index_ids QID WHERE LIMIT [SETTINGS]: the same through the index
sub index_ids
{
	my ($qid, $where, $limit, $settings) = @_;
	$settings //= '';
	return split /,/, $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		$settings;
		SELECT array_to_string(ARRAY(SELECT id FROM items WHERE $where
		       ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = $qid) LIMIT $limit), ',');
	});
}

my $qc = sub { $node->safe_psql('postgres', "SELECT qc FROM queries WHERE qid = $_[0]") };
my %qc = map { $_ => $qc->($_) } 1 .. 5;
my $far1 = ($qc{1} + 25) % 50;

# rows to change (chosen before the changes by each storage's run, the same
# rows each time)
my (@moved, @renamed, @deleted_near, @tagged, @negative);

# UPDATEs of filter columns, only of rows that were not deleted
sub live { my %g = %gone; return grep { !$g{$_} } @_ }

my @after = (
	[ 'new category 50', 'category = 50', 10 ],
	[ "new name 'epsilon'", "name = 'epsilon'", 10 ],
	[ 'new label 21', "tags && '{21}'", 10 ],
	[ 'new label 77 (3 updated rows)', "tags && '{77}'", 10 ],
	[ 'new big range', 'big > ' . ($ROWS + 990) * $BIG, 10 ],
	[ 'big < 0 (3 updated rows)', 'big < 0::bigint', 10 ],
	[ 'category IS NULL (executor)', 'category IS NULL', 5, undef, floor => 0 ],
	[ 'far category of query 1 (moved rows)', "category = $far1", 10 ],
);

# check_changes PHASE: the changed rows are found under their new values
sub check_changes
{
	my $phase = "$STORAGE, $_[0]";
	my %near1 = map { $_ => 1 } index_ids(1, "category = $qc{1}", 10);
	is(scalar(grep { $near1{$_} } @moved), 0,
		"$phase: rows moved out of query 1's category are not found under the old value");
	my %far1 = map { $_ => 1 } index_ids(1, "category = $far1", 10);
	is(scalar(grep { $far1{$_} } @moved), scalar(@moved),
		"$phase: the " . scalar(@moved) . " moved rows are found under the new category")
	  or diag('moved: ' . join(',', @moved) . '; got: ' . join(',', sort keys %far1));
	my %far1_low = map { $_ => 1 } index_ids(1, "category = $far1", 10, 'SET diskann.max_scan_tuples = 50');
	is(scalar(grep { $far1_low{$_} } @moved), scalar(@moved),
		"$phase: ... also with max_scan_tuples = 50");
	my %eps = map { $_ => 1 } index_ids(2, "name = 'epsilon'", 10);
	is(scalar(grep { $eps{$_} } @renamed), scalar(@renamed), "$phase: renamed rows found under the new name");
	is(join(',', sort { $a <=> $b } index_ids(4, "tags && '{77}'", 10)),
		join(',', sort { $a <=> $b } @tagged), "$phase: tags && '{77}' finds exactly the re-tagged rows");
	is(join(',', sort { $a <=> $b } index_ids(5, 'big < 0::bigint', 10, 'SET diskann.max_scan_tuples = 50')),
		join(',', sort { $a <=> $b } @negative), "$phase: big < 0 finds exactly the updated rows");
	my @near3 = index_ids(3, "category = $qc{3}", 10);
	is(scalar(grep { $gone{$_} } @near3), 0, "$phase: query 3's deleted nearest rows do not come back");
	is(scalar(@near3), 10, "$phase: query 3 still gets 10 rows of its category");
	# NULLs never match an = filter; the NULL rows lie right next to each query
	my $nulls = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SELECT count(*) FROM queries, LATERAL (
		  SELECT id FROM items WHERE category = qc ORDER BY embedding <-> q LIMIT 10) s
		WHERE s.id > 30000 AND s.id < 30200;
	});
	is($nulls, '0', "$phase: rows with a NULL category are never returned by category = qc");
	my $null_any = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SELECT count(*) FROM queries, LATERAL (
		  SELECT id FROM items WHERE name = 'beta' ORDER BY embedding <-> q LIMIT 3) s
		WHERE s.id > 30000 AND s.id <= 30000 + $QUERIES;
	});
	is($null_any, '0', "$phase: rows with a NULL name are never returned by name = 'beta'");
	# the rows with a NULL category but name 'beta' are the nearest 'beta' rows
	my $beta = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SELECT count(*) FROM queries, LATERAL (
		  SELECT id FROM items WHERE name = 'beta' AND flag = true ORDER BY embedding <-> q LIMIT 1) s
		WHERE s.id = 30100 + qid;
	});
	is($beta, $QUERIES, "$phase: a row with a NULL category is found by its other filter columns");
}


# ---- per storage: the battery on a fresh index, after changes and after
# VACUUM; IN lists on an index whose first column is the filter column ----

my $any_idx = qr/Index Scan using items_idx on items/;

foreach my $storage ('compressed', 'plain')
{
	$STORAGE = $storage;
	storage_tests();
}

# storage_tests: everything that runs once per storage, on $STORAGE
sub storage_tests
{
	# start from the rows as loaded (the first storage's changes undone)
	if ($STORAGE ne 'compressed')
	{
		$node->safe_psql('postgres', qq{
			DROP INDEX IF EXISTS items_idx, items_first;
			TRUNCATE items, gone;
			INSERT INTO items SELECT * FROM items_loaded;
		});
		%gone = ();
	}
	my $t1 = time;
	$node->safe_psql('postgres', qq{
		CREATE INDEX items_idx ON items USING diskann (embedding vector_l2_ops, category, tags, name, flag, big)
		  WITH (storage = '$STORAGE');
		ANALYZE;
	});
	note(sprintf('%s: CREATE INDEX in %.1f s', $STORAGE, time - $t1));
	is($node->safe_psql('postgres', "SELECT storage FROM diskann_stats('items_idx')"), $STORAGE,
		"$STORAGE: the index has storage $STORAGE");
	verify_ok($node, 'items_idx', "$STORAGE, fresh index: diskann_verify finds no problem");

	run_battery('fresh');

	# diskann.max_scan_tuples low: the walk stops early, the rows must still all
	# come (exact pass over the matching nodes), in order, also for a LIMIT
	# above max_scan_tuples.
	foreach my $f (
		[ 'near category', 'category = qc', 10, cond(qr/category = /) ],
		[ 'far category', "category = $FAR", 10, cond(qr/category = /) ],
		[ 'far category LIMIT 100', "category = $FAR", 100, cond(qr/category = /) ],
		[ 'category range LIMIT 100', 'category >= 20 AND category < 30', 100, cond(qr/category >= /) ],
		[ 'IN list of far categories', 'category IN ((qc + 10) % 50, (qc + 20) % 50)', 10, $any_idx ],
		[ '1% big', 'big <= ' . 200 * $BIG, 10, cond(qr/big <= /) ],
		[ 'tags && one label', "tags && '{7}'", 10, cond(qr/tags && /) ],
		[ 'tags @> two labels', "tags @> '{1,2}'", 10, cond(qr/tags @> /) ],
		[ 'name =', "name = 'beta'", 10, cond(qr/name = /) ],
		[ 'name AND big range', "name = 'gamma' AND big <= " . 400 * $BIG, 10, cond(qr/name = /) ],
		[ 'far category AND tags @>', "category = $FAR AND tags @> '{2}'", 10, cond(qr/tags @> /) ],
		[ '3 matching rows', "name = 'omega'", 10, cond(qr/name = /) ],
		[ '0 matching rows', 'category = 99', 10, cond(qr/category = 99/) ])
	{
		my ($label, $where, $limit, $plan) = @$f;
		foreach my $max (20, 50)
		{
			check_filter("max_scan_tuples = $max: $label", $where, $limit,
				settings => "SET diskann.max_scan_tuples = $max", floor => 0, plan => $plan);
		}
	}

	# a small search list: the walk finds fewer of the true rows and hands over
	# to the exact pass more often; rows must still be complete and in order
	foreach my $f (
		[ 'near category', 'category = qc', 10 ],
		[ 'far category LIMIT 100', "category = $FAR", 100 ],
		[ 'category range LIMIT 100', 'category >= 20 AND category < 30', 100 ],
		[ 'tags && one label LIMIT 100', "tags && '{7}'", 100 ],
		[ '1% big LIMIT 100', 'big <= ' . 200 * $BIG, 100 ],
		[ 'name = LIMIT 100', "name = 'beta'", 100 ])
	{
		my ($label, $where, $limit) = @$f;
		foreach my $L (10, 40)
		{
			check_filter("query_search_list_size = $L: $label", $where, $limit,
				settings => "SET diskann.query_search_list_size = $L", floor => 0, plan => $idx);
		}
	}

	# relaxed_order: complete too (order not checked: relaxed)
	foreach my $f (
		[ 'far category', "category = $FAR", 10 ],
		[ 'far category LIMIT 100', "category = $FAR", 100 ],
		[ '1% big', 'big <= ' . 200 * $BIG, 10 ])
	{
		my ($label, $where, $limit) = @$f;
		my $max = 50;
		check_filter("relaxed_order, max_scan_tuples = $max: $label", $where, $limit,
			settings => "SET diskann.iterative_scan = relaxed_order; SET diskann.max_scan_tuples = $max",
			floor => 0, ordered => 0, plan => $idx);
	}

	# the DEBUG1 line of a scan: nodes expanded, matched, returned, exact pass
	{
		my ($ret, $out, $err) = $node->psql('postgres', qq{
			SET client_min_messages = debug1;
			SET enable_seqscan = off;
			SET enable_bitmapscan = off;
			SET diskann.max_scan_tuples = 50;
			SELECT count(*) FROM (SELECT id FROM items WHERE category = 30
			  ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 50) s;
		});
		my @lines = grep { /diskann scan:/ } split /\n/, $err;
		is($out, '50', "$STORAGE: far filter, max_scan_tuples = 50, LIMIT 50: 50 rows");
		like(join("\n", @lines), qr/diskann scan: .*returned 50 rows.*expanded.*matching.*exact pass/,
			"$STORAGE: the scan logs a DEBUG1 \"diskann scan:\" line (returned, expanded, matching, exact pass)")
		  or diag("stderr: $err");
		note("$STORAGE: DEBUG1: $_") foreach @lines;
	}

	# ---- changes: inserts (new filter values, NULLs), deletes, UPDATEs ----

	# rows to change, chosen before the changes
	@moved = exact_ids(1, "category = $qc{1}", 5);       # category -> query 1's far one
	@renamed = exact_ids(2, "category = $qc{2}", 3);     # name -> 'epsilon' (new)
	@deleted_near = exact_ids(3, "category = $qc{3}", 5);# deleted
	@tagged = exact_ids(4, "category = $qc{4}", 3);      # tags get label 77 (new)
	@negative = exact_ids(5, "category = $qc{5}", 3);    # big < 0 (new)

	$node->safe_psql('postgres', qq{
		SELECT setseed(0.62);
		-- 1,000 new rows of the mixture with new filter values: category 50,
		-- name 'epsilon', label 21, big beyond the old range
		INSERT INTO items
		SELECT $ROWS + i, c,
		       CASE WHEN i % 20 = 0 THEN 50 ELSE c END,
		       CASE WHEN i % 100 = 37 THEN 1 ELSE 0 END,
		       CASE WHEN i % 25 = 0 THEN ARRAY[21, 1 + i % 20] ELSE ARRAY[1 + i % 20] END,
		       CASE WHEN i % 10 = 3 THEN 'epsilon' ELSE 'alpha' END,
		       i % 2 = 0,
		       ($ROWS + i)::bigint * $BIG,
		       near_point(c, $SIGMA)
		FROM (SELECT i, floor(random() * $CLUSTERS)::int AS c FROM generate_series(1, 1000) i) s;
		-- next to every query: a row with NULL in all filter columns, one with a
		-- NULL category and common values elsewhere, one with an empty tags array
		INSERT INTO items
		SELECT 30000 + qid, qc, NULL, 0, NULL, NULL, NULL, NULL, jitter(q, 0.01) FROM queries;
		INSERT INTO items
		SELECT 30100 + qid, qc, NULL, 0, '{7}', 'beta', true, 3 * $BIG, jitter(q, 0.01) FROM queries;
		INSERT INTO items
		SELECT 30200 + qid, qc, qc, 0, '{}', 'beta', false, 4 * $BIG, jitter(q, 0.01) FROM queries;
		-- deletes: 10% at random, the 5 nearest own-category rows of query 3,
		-- one of the 'omega' rows
		INSERT INTO gone SELECT id FROM items WHERE id <= $ROWS ORDER BY random() LIMIT 2000;
		INSERT INTO gone SELECT unnest('{@{[ join(',', @deleted_near, 5002) ]}}'::int[]) ON CONFLICT DO NOTHING;
		DELETE FROM items USING gone WHERE items.id = gone.id;
	});
	%gone = map { $_ => 1 } split /\n/, $node->safe_psql('postgres', 'SELECT id FROM gone');
	# UPDATEs of filter columns, only of rows that were not deleted
	@moved = live(@moved);
	@renamed = live(@renamed);
	@tagged = live(@tagged);
	@negative = live(@negative);
	$node->safe_psql('postgres', qq{
		UPDATE items SET category = $far1 WHERE id IN (@{[ join(',', @moved) ]});
		UPDATE items SET name = 'epsilon' WHERE id IN (@{[ join(',', @renamed) ]});
		UPDATE items SET tags = tags || 77 WHERE id IN (@{[ join(',', @tagged) ]});
		UPDATE items SET big = -id WHERE id IN (@{[ join(',', @negative) ]});
		UPDATE items SET flag = NOT flag WHERE id <= $ROWS AND id % 50 = 1;
		ANALYZE items;
	});
	note("$STORAGE: moved " . scalar(@moved) . ', renamed ' . scalar(@renamed) . ', tagged ' . scalar(@tagged)
		  . ', negative ' . scalar(@negative) . ', deleted ' . scalar(keys %gone));

	check_changes('after changes');
	run_battery('after changes', @after);
	verify_ok($node, 'items_idx', "$STORAGE, after changes: diskann_verify", allow_unreachable => 0.01);

	$t1 = time;
	$node->safe_psql('postgres', 'VACUUM items');
	note(sprintf('%s: VACUUM in %.1f s', $STORAGE, time - $t1));
	verify_ok($node, 'items_idx', "$STORAGE, after VACUUM: diskann_verify finds no problem");
	is($node->safe_psql('postgres', "SELECT live_nodes || '|' || deleted_nodes FROM diskann_stats('items_idx')"),
		$node->safe_psql('postgres', 'SELECT count(*) FROM items') . '|0',
		"$STORAGE, after VACUUM: live nodes = rows, no deleted node");
	check_changes('after VACUUM');
	run_battery('after VACUUM', @after);

	# ---- IN lists as index conditions: on the index's first column ----

	$t1 = time;
	$node->safe_psql('postgres', qq{
		DROP INDEX items_idx;
		CREATE INDEX items_first ON items USING diskann (category, embedding vector_l2_ops, big, name)
		  WITH (storage = '$STORAGE');
		ANALYZE items;
	});
	note(sprintf('%s: CREATE INDEX (category first) in %.1f s', $STORAGE, time - $t1));
	verify_ok($node, 'items_first', "$STORAGE: index with the vector column second: diskann_verify");
	foreach my $f (
		[ 'near category', 'category = qc', 10, qr/category = / ],
		[ 'far category', "category = $FAR", 10, qr/category = / ],
		[ 'IN list of 3 far categories', 'category IN ((qc + 10) % 50, (qc + 20) % 50, (qc + 30) % 50)', 10,
			qr/category = ANY/ ],
		[ 'IN list of 3 far categories LIMIT 100', 'category IN ((qc + 10) % 50, (qc + 20) % 50, (qc + 30) % 50)',
			100, qr/category = ANY/ ],
		[ '= ANY of 2 far categories', 'category = ANY (ARRAY[(qc + 17) % 50, (qc + 33) % 50])', 10,
			qr/category = ANY/ ],
		[ '= ANY of an array with a NULL element', 'category = ANY (ARRAY[qc, NULL])', 10, qr/category = ANY/ ],
		[ 'IN list of constants', 'category IN (3, 14, 25, 36, 47)', 10, qr/category = ANY/ ],
		[ 'IN list AND big range', 'category IN ((qc + 10) % 50, (qc + 20) % 50) AND big <= ' . 5000 * $BIG,
			10, qr/category = ANY.*big <= / ],
		[ 'IN list AND name', "category IN ((qc + 10) % 50, qc) AND name = 'delta'", 10,
			qr/category = ANY.*name = / ],
		[ 'new category 50 IN list', 'category IN (50, 99)', 10, qr/category = ANY/ ],
		[ '0 matching rows: = ANY of an empty array', "category = ANY ('{}'::int[])", 10, qr/category = ANY/ ])
	{
		my ($label, $where, $limit, $re) = @$f;
		check_filter("category first: $label", $where, $limit, plan => cond($re, 'items_first'));
	}
	foreach my $max (20, 50)
	{
		check_filter("category first, max_scan_tuples = $max: IN list of 2 far categories",
			'category IN ((qc + 10) % 50, (qc + 20) % 50)', 10,
			settings => "SET diskann.max_scan_tuples = $max", floor => 0,
			plan => cond(qr/category = ANY/, 'items_first'));
	}
	check_filter('category first, query_search_list_size = 40: IN list of 3 far categories LIMIT 100',
		'category IN ((qc + 10) % 50, (qc + 20) % 50, (qc + 30) % 50)', 100,
		settings => 'SET diskann.query_search_list_size = 40', floor => 0,
		plan => cond(qr/category = ANY/, 'items_first'));

	$node->safe_psql('postgres', 'DROP INDEX items_first');
}

# a boolean filter column compared with a parameter of a generic plan is an
# index condition (this index, of the default storage, compressed, stays
# for the planner's part at the end)
$STORAGE = 'compressed';
{
	my $prepare = q{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SET plan_cache_mode = force_generic_plan;
		PREPARE flagq(int, boolean, int) AS
		  SELECT id FROM items WHERE flag = $2 AND category = $3
		  ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = $1) LIMIT 10;
	};
	$node->safe_psql('postgres', q{
		CREATE INDEX items_flag ON items USING diskann (embedding vector_l2_ops, flag, category);
		ANALYZE items;
	});
	my $plan = $node->safe_psql('postgres', qq{
		$prepare
		EXPLAIN (COSTS OFF) EXECUTE flagq(1, true, $far1);
	});
	like($plan, qr/Index Scan using items_flag on items.*\n\s*Index Cond: [^\n]*flag = \$2/,
		"$STORAGE: prepared flag = \$2 (generic plan): an index condition") or diag($plan);
	my @got = split /\n/, $node->safe_psql('postgres', qq{
		$prepare
		EXECUTE flagq(1, true, $far1);
		EXECUTE flagq(1, false, $far1);
	});
	my @want = split /\n/, $node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		SET enable_bitmapscan = off;
		SELECT id FROM items WHERE flag AND category = $far1
		ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 10;
		SELECT id FROM items WHERE NOT flag AND category = $far1
		ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 10;
	});
	is(join(',', @got), join(',', @want),
		"$STORAGE: prepared flag = \$2 AND category = \$3: the exact rows, in order, for true and false");
}

# ---- smallint and int2[] filter columns, and what is refused ----

$node->safe_psql('postgres', qq{
	SELECT setseed(0.9);
	CREATE TABLE small (id int PRIMARY KEY, s smallint, a int2[], f float8, ts timestamp,
	                    embedding vector(8));
	INSERT INTO small
	SELECT i, (i % 7)::smallint,
	       ARRAY(SELECT DISTINCT (1 + floor(random() * 6))::smallint
	             FROM generate_series(1, 1 + i % 3) WHERE i > 0 ORDER BY 1),
	       random(), now(),
	       (SELECT array_agg(random()) FROM generate_series(1, 8) WHERE i > 0)::vector
	FROM generate_series(1, 3000) i;
	CREATE TABLE small_queries (qid int PRIMARY KEY, qc int, q vector(8));
	INSERT INTO small_queries
	SELECT g, 0, (SELECT array_agg(random()) FROM generate_series(1, 8) WHERE g > 0)::vector
	FROM generate_series(1, 10) g;
	ANALYZE small;
});
# in each storage: the index with the vector column first, then second
foreach my $storage ('compressed', 'plain')
{
	$STORAGE = $storage;
	$node->safe_psql('postgres', qq{
		DROP INDEX IF EXISTS small_first;
		CREATE INDEX small_idx ON small USING diskann (embedding vector_l2_ops, s, a)
		  WITH (num_neighbors = 16, search_list_size = 32, storage = '$STORAGE');
	});
	verify_ok($node, 'small_idx', "$STORAGE: smallint/int2[] index: diskann_verify");
	foreach my $f (
		[ 'smallint = smallint', 's = 3::smallint', qr/Index Cond: \(s = '3'::smallint\)/ ],
		[ 'smallint = integer literal (cross-type)', 's = 3', qr/Index Cond: \(s = 3\)/ ],
		[ 'smallint <', 's < 2', qr/Index Cond: \(s < 2\)/ ],
		[ 'smallint IN (not the first column: executor)', 's IN (1, 4)', qr/Filter: \(s = ANY/ ],
		[ 'smallint >= AND int2[] &&', "s >= 5 AND a && '{2}'::int2[]", qr/Index Cond: .*a && / ],
		[ 'int2[] @>', "a @> '{1,3}'::int2[]", qr/Index Cond: \(a @> / ],
		[ 'smallint = 0 rows', 's = 100', qr/Index Cond: \(s = 100\)/ ])
	{
		my ($label, $where, $cond) = @$f;
		check_filter("small: $label", $where, 10, table => 'small', queries => 'small_queries',
			plan => qr/Index Scan using small_idx on small.*\n(?:.*\n)*?\s*$cond/);
	}
	check_filter('small, max_scan_tuples = 50: int2[] @>', "a @> '{1,3}'::int2[]", 20,
		table => 'small', queries => 'small_queries', settings => 'SET diskann.max_scan_tuples = 50',
		floor => 0, plan => qr/Index Scan using small_idx on small.*\n\s*Index Cond: \(a @> /);

	# the vector column after a smallint one: IN lists on it are index conditions
	$node->safe_psql('postgres', qq{
		DROP INDEX small_idx;
		CREATE INDEX small_first ON small USING diskann (s, embedding vector_l2_ops, a)
		  WITH (num_neighbors = 16, search_list_size = 32, storage = '$STORAGE');
		ANALYZE small;
	});
	verify_ok($node, 'small_first', "$STORAGE: smallint first, vector second: diskann_verify");
	foreach my $f (
		[ 'smallint IN', 's IN (1, 4)', qr/s = ANY/ ],
		[ 'smallint = ANY AND int2[] &&', "s = ANY ('{2,5,6}') AND a && '{2}'::int2[]", qr/s = ANY.*a && / ],
		[ 'smallint =', 's = 3', qr/s = 3/ ])
	{
		my ($label, $where, $re) = @$f;
		check_filter("small, smallint first: $label", $where, 10, table => 'small',
			queries => 'small_queries', plan => cond($re, 'small_first'));
	}
}

foreach my $f (
	[ 'float8 filter column', 'CREATE INDEX ON small USING diskann (embedding vector_l2_ops, f)' ],
	[ 'timestamp filter column', 'CREATE INDEX ON small USING diskann (embedding vector_l2_ops, ts)' ],
	[ 'no vector column', 'CREATE INDEX ON small USING diskann (s, a)' ],
	[ 'only a non-vector column', 'CREATE INDEX ON small USING diskann (s)' ],
	[ 'two vector columns', 'CREATE INDEX ON small USING diskann (embedding vector_l2_ops, embedding vector_l2_ops)' ])
{
	my ($label, $sql) = @$f;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	my ($msg) = $err =~ /(ERROR:[^\n]*)/;
	$msg //= "no error (exit $ret)";
	ok($ret != 0 && $err =~ /ERROR/, "$label is refused: $msg");
}
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_index WHERE indrelid = 'small'::regclass"),
	'2', 'no index was left behind by the refused CREATE INDEX (pkey and small_first)');

# ---- next to btree indexes: the planner's choice, and right answers ----
# (the diskann index on items is items_flag, compressed)
$STORAGE = 'compressed';

$node->safe_psql('postgres', qq{
	CREATE INDEX items_name ON items (name);
	CREATE INDEX items_big ON items (big);
	ANALYZE items;
});
foreach my $f (
	[ 'near category', 'category = qc', 10 ],
	[ 'far category', "category = $FAR", 10 ],
	[ '2 matching rows (omega)', "name = 'omega'", 10 ],
	[ 'one big value', 'big = ' . 1234 * $BIG, 10 ],
	[ '1% big', 'big <= ' . 200 * $BIG, 10 ])
{
	my ($label, $where, $limit) = @$f;
	my $first = $where =~ s/qc/$qc{1}/gr;
	my $plan = $node->safe_psql('postgres', qq{
		EXPLAIN (COSTS OFF) SELECT id FROM items WHERE $first
		ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT $limit;
	});
	my ($scan) = $plan =~ /((?:Index Scan|Index Only Scan|Seq Scan|Bitmap Heap Scan)[^\n]* on items\b[^\n]*)/;
	$scan //= $plan;
	note("planner, with btree indexes: $label: $scan");
	# a filter of one or two rows with a btree on its column: not a
	# sequential scan (for the others any plan is fine: a sequential scan of
	# 20,000 rows of 32 dimensions costs about what the walk does)
	ok($scan !~ /Seq Scan/, "planner with btree indexes: $label: not a sequential scan ($scan)")
	  or diag($plan)
	  if $label =~ /omega|one big value/;
	# whatever the plan, the answer is right
	check_filter("planner's choice: $label", $where, $limit, settings => 'RESET ALL');
}

$node->stop;
note(sprintf('total %.1f s', time - $t0));
done_testing();
