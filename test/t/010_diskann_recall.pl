# Recall of diskann indexes at default settings.
#
# 10,000 random 128-dimensional vectors and 100 random queries (fixed seed,
# generated in SQL), uniform and clustered; for each operator class build
# the index (maintenance_work_mem 256MB), compute the exact top 10 with a
# sequential scan and the top 10 through the index at default settings, and
# require recall@10 >= 0.95.  The index must really be used (EXPLAIN), and
# must be healthy (diskann_verify).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('diskann_recall');
$node->init;
$node->append_conf('postgresql.conf', "maintenance_work_mem = '256MB'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

my $DIM = 128;
my $ROWS = 10000;
my $QUERIES = 100;

# Two data sets of the same shape:
#   uniform:   coordinates uniform in [-1, 1] (no structure: the hard case)
#   clustered: 50 random centres, each row a centre plus uniform noise of
#              half the amplitude (closer to real embeddings)
# Queries are drawn the same way as their rows.
$node->safe_psql('postgres', qq{
	SELECT setseed(0.31);
	CREATE TABLE uniform (id int PRIMARY KEY, embedding vector($DIM));
	INSERT INTO uniform
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, $ROWS) i;
	CREATE TABLE uniform_q (qid int PRIMARY KEY, q vector($DIM));
	INSERT INTO uniform_q
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, $QUERIES) i;

	CREATE TABLE centres (c int PRIMARY KEY, v vector($DIM));
	INSERT INTO centres
	SELECT c, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE c >= 0)::vector
	FROM generate_series(0, 49) c;
	CREATE TABLE clustered (id int PRIMARY KEY, embedding vector($DIM));
	INSERT INTO clustered
	SELECT i, (SELECT v FROM centres WHERE c = i % 50) +
	          (SELECT array_agg((random() * 2 - 1) * 0.5) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, $ROWS) i;
	CREATE TABLE clustered_q (qid int PRIMARY KEY, q vector($DIM));
	INSERT INTO clustered_q
	SELECT i, (SELECT v FROM centres WHERE c = (i * 7) % 50) +
	          (SELECT array_agg((random() * 2 - 1) * 0.5) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, $QUERIES) i;
	ANALYZE;
});
foreach my $t ('uniform', 'clustered')
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM $t"), $ROWS, "$t: rows loaded");
}

my %ops = (
	vector_l2_ops => '<->',
	vector_ip_ops => '<#>',
	vector_cosine_ops => '<=>',
	vector_l1_ops => '<+>');

foreach my $data ('uniform', 'clustered')
{
	foreach my $opclass (sort keys %ops)
	{
		check_recall($data, $opclass, $ops{$opclass});
	}
}

# check_recall DATA OPCLASS OP: build, verify, check the plan, measure recall@10.
sub check_recall
{
	my ($data, $opclass, $op) = @_;
	my $name = "$data/$opclass";
	my $index = "${data}_$opclass";

	# exact answers
	$node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		SET enable_bitmapscan = off;
		CREATE TABLE truth AS
		SELECT qid, ARRAY(SELECT id FROM $data ORDER BY embedding $op q LIMIT 10) AS ids
		FROM ${data}_q;
	});

	my $t0 = time;
	$node->safe_psql('postgres',
		"CREATE INDEX $index ON $data USING diskann (embedding $opclass)");
	note("$name: build took " . (time - $t0) . " s");
	is($node->safe_psql('postgres', "SELECT count(*) FROM diskann_verify('$index')"),
		'0', "$name: diskann_verify finds no problem");
	is($node->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('$index')"),
		$ROWS, "$name: every row indexed");

	# the planner uses the index at default settings
	my $plan = $node->safe_psql('postgres', qq{
		EXPLAIN (COSTS OFF)
		SELECT id FROM $data ORDER BY embedding $op (SELECT q FROM ${data}_q WHERE qid = 1) LIMIT 10;
	});
	like($plan, qr/Index Scan using $index/, "$name: index scan chosen");
	$plan = $node->safe_psql('postgres', qq{
		EXPLAIN (COSTS OFF)
		SELECT id FROM $data ORDER BY embedding $op '[@{[join ',', (0.5) x $DIM]}]' LIMIT 10;
	});
	like($plan, qr/Index Scan using $index/, "$name: index scan chosen for a constant");

	# answers through the index, one query at a time as a client would send
	# them (each statement planned on its own, at default settings)
	my $scans_sql = "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '$index'";
	my $scans_before = $node->safe_psql('postgres', $scans_sql);
	$node->safe_psql('postgres', qq{
		CREATE TABLE found (qid int, ids int[]);
		DO \$\$
		DECLARE r record;
		BEGIN
			FOR r IN SELECT qid, q FROM ${data}_q ORDER BY qid LOOP
				EXECUTE format('INSERT INTO found SELECT %s, ARRAY(SELECT id FROM $data
				                ORDER BY embedding $op %L::vector LIMIT 10)', r.qid, r.q);
			END LOOP;
		END
		\$\$;
	});
	my ($recall, $full, $queries) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT round(avg((SELECT count(*) FROM unnest(f.ids) x WHERE x = ANY (t.ids)) / 10.0), 4),
		       count(*) FILTER (WHERE cardinality(f.ids) = 10),
		       count(*)
		FROM found f JOIN truth t USING (qid);
	});
	note("$name: recall\@10 = $recall over $queries queries");
	is($queries, $QUERIES, "$name: all queries answered");
	is($full, $QUERIES, "$name: every query returned 10 rows");
	cmp_ok($recall, '>=', 0.95, "$name: recall\@10 >= 0.95");

	# the same through a sequential scan would be exact: make sure the
	# loop above really went through the index, once per query (a backend
	# reports its counts when it ends, so they may take a moment to appear)
	$node->poll_query_until('postgres', "SELECT ($scans_sql) >= $scans_before + $QUERIES");
	my $scans = $node->safe_psql('postgres', $scans_sql);
	note("$name: index scans counted: $scans (before the queries: $scans_before)");
	cmp_ok($scans, '>=', $scans_before + $QUERIES, "$name: each of the $QUERIES queries scanned the index");

	$node->safe_psql('postgres', "DROP INDEX $index; DROP TABLE truth, found");
}

$node->stop;
done_testing();
