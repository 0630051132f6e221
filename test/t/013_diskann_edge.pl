# diskann edge cases that need a cluster of their own:
#  - a build beyond maintenance_work_mem falls back to inserting on disk,
#    says so in a NOTICE and still gives a healthy index of good recall;
#  - an UNLOGGED table's index is reset to empty after a crash (ambuildempty)
#    and works afterwards;
#  - a logged index survives a crash (immediate shutdown) intact.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('diskann_edge');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

my $DIM = 64;
$node->safe_psql('postgres', qq{
	SELECT setseed(0.5);
	CREATE TABLE items (id int PRIMARY KEY, embedding vector($DIM));
	INSERT INTO items
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, 5000) i;
	CREATE TABLE queries (qid int PRIMARY KEY, q vector($DIM));
	INSERT INTO queries
	SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE i > 0)::vector
	FROM generate_series(1, 50) i;
	SET enable_indexscan = off;
	CREATE TABLE truth AS
	SELECT qid, ARRAY(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10) AS ids FROM queries;
});

# verify_ok INDEX NAME: diskann_verify finds nothing; its report otherwise
sub verify_ok
{
	my ($index, $name) = @_;
	my $problems = $node->safe_psql('postgres', "SELECT * FROM diskann_verify('$index')");
	is($problems, "", $name);
}

# recall NODE: recall@10 of the 50 queries through the items index
sub recall
{
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SELECT round(avg((SELECT count(*)
		                  FROM unnest(ARRAY(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10)) x
		                  WHERE x = ANY (t.ids)) / 10.0), 4)
		FROM queries JOIN truth t USING (qid);
	});
}

# --- build in 1MB of maintenance_work_mem: on-disk fallback
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	SET maintenance_work_mem = '1MB';
	SET client_min_messages = notice;
	CREATE INDEX items_small_mem ON items USING diskann (embedding vector_l2_ops);
});
is($ret, 0, 'build with maintenance_work_mem = 1MB succeeds');
like($stderr, qr/NOTICE:  diskann graph no longer fits into maintenance_work_mem after \d+ tuples/,
	'NOTICE about maintenance_work_mem');
like($stderr, qr/HINT:  Increase maintenance_work_mem/, 'with a hint');
verify_ok('items_small_mem', 'on-disk fallback: index is healthy');
is($node->safe_psql('postgres', "SELECT nodes || '/' || live_nodes FROM diskann_stats('items_small_mem')"),
	'5000/5000', 'on-disk fallback: all rows indexed');
my $r_small = recall();
note("recall\@10 after an on-disk fallback build: $r_small");
cmp_ok($r_small, '>=', 0.9, 'on-disk fallback: recall@10 >= 0.9');
$node->safe_psql('postgres', 'DROP INDEX items_small_mem');

# the same in plenty of memory: no NOTICE
($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	SET maintenance_work_mem = '64MB';
	SET client_min_messages = notice;
	CREATE INDEX items_l2 ON items USING diskann (embedding vector_l2_ops);
});
is($ret, 0, 'build with maintenance_work_mem = 64MB succeeds');
unlike($stderr, qr/maintenance_work_mem/, 'no NOTICE when the graph fits');
my $r_big = recall();
note("recall\@10 after an in-memory build: $r_big");
cmp_ok($r_big, '>=', 0.9, 'in-memory build: recall@10 >= 0.9');
verify_ok('items_l2', 'in-memory build: index is healthy');
my $answers_before = $node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SELECT qid, ARRAY(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10) FROM queries ORDER BY qid;
});

# --- UNLOGGED table, then a crash
$node->safe_psql('postgres', qq{
	CREATE UNLOGGED TABLE ulog (id int, embedding vector(4));
	INSERT INTO ulog SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i)]::vector
	FROM generate_series(1, 1000) i;
	CREATE INDEX ulog_idx ON ulog USING diskann (embedding vector_cosine_ops);
	CHECKPOINT;
});
is($node->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('ulog_idx')"),
	'1000', 'unlogged index built');

$node->stop('immediate');
$node->start;

is($node->safe_psql('postgres', 'SELECT count(*) FROM ulog'), '0', 'unlogged table empty after crash');
is($node->safe_psql('postgres',
	"SELECT nodes || '/' || live_nodes || '/' || coalesce(entry_point::text, 'none') FROM diskann_stats('ulog_idx')"),
	'0/0/none', 'unlogged index reset to empty');
verify_ok('ulog_idx', 'reset unlogged index is healthy');
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM ulog ORDER BY embedding <=> '[1,0,0,0]' LIMIT 10) s;
}), '0', 'reset unlogged index returns nothing');
# NULL rows can still be added; real rows need a rebuild
$node->safe_psql('postgres', 'INSERT INTO ulog VALUES (1, NULL)');
$node->safe_psql('postgres', qq{
	DROP INDEX ulog_idx;
	INSERT INTO ulog SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i)]::vector
	FROM generate_series(2, 500) i;
	CREATE INDEX ulog_idx ON ulog USING diskann (embedding vector_cosine_ops);
});
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET diskann.query_search_list_size = 500;
	SELECT ARRAY(SELECT id FROM ulog ORDER BY embedding <=> '[1,0,0,0]' LIMIT 10);
}), $node->safe_psql('postgres', qq{
	SET enable_indexscan = off;
	SELECT ARRAY(SELECT id FROM ulog ORDER BY embedding <=> '[1,0,0,0]' LIMIT 10);
}), 'rebuilt unlogged index answers exactly');

# --- the logged index survived the crash unchanged
verify_ok('items_l2', 'logged index healthy after crash');
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SELECT qid, ARRAY(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10) FROM queries ORDER BY qid;
}), $answers_before, 'logged index answers as before the crash');

$node->stop;
done_testing();
