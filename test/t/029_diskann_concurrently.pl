# CREATE INDEX CONCURRENTLY and REINDEX INDEX CONCURRENTLY of a diskann
# index while pgbench clients insert, update and delete rows: the finished
# index is valid and healthy, holds exactly the table's rows and finds each
# by its own vector.  (The concurrent build's validation phase inserts the
# rows written meanwhile through aminsert.)

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $SECONDS = $ENV{OMENDB_STRESS_SECONDS} || 15;
my $DIM = 16;

my $node = PostgreSQL::Test::Cluster->new('diskann_concurrently');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

my $vec = "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM))::vector";
my $vec_g = "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE g > 0)::vector";
$node->safe_psql('postgres', qq{
	CREATE EXTENSION omendb;
	SELECT setseed(0.29);
	CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector($DIM));
	INSERT INTO items (embedding) SELECT $vec_g FROM generate_series(1, 3000) g;
});

my $dir = PostgreSQL::Test::Utils::tempdir;
my $writer = "$dir/writer.sql";
open(my $fh, '>', $writer) or die "could not write $writer: $!";
print $fh qq{\\set r random(1, 100)
\\if :r <= 10
DELETE FROM items WHERE id = (SELECT (random() * max(id))::bigint FROM items);
\\elif :r <= 30
UPDATE items SET embedding = $vec WHERE id = (SELECT (random() * max(id))::bigint FROM items);
\\else
INSERT INTO items (embedding) VALUES ($vec);
\\endif
};
close($fh);

my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-h', $node->host, '-p', $node->port, '-c', '2', '-j', '2',
	  '-T', $SECONDS, '-f', $writer, 'postgres' ],
	'<', \undef, '>', \$out, '2>', \$err);

# both run while the writers write
sleep(1);
$node->safe_psql('postgres',
	'CREATE INDEX CONCURRENTLY items_l2 ON items USING diskann (embedding vector_l2_ops)'
	  . ' WITH (num_neighbors = 16, search_list_size = 40)');
$node->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY items_l2');
my $during = $node->safe_psql('postgres', 'SELECT count(*) FROM items');

$pgbench->finish;
is($pgbench->result(0), 0, 'pgbench writers: exit status 0');
like($out, qr/number of failed transactions: 0\b/, 'pgbench writers: no failed transaction');
unlike($err, qr/ERROR|FATAL|deadlock/i, 'pgbench writers: no error');
my ($xacts) = $out =~ /number of transactions actually processed: (\d+)/;
cmp_ok($xacts // 0, '>', 100, 'the writers got work done');
note("writers: " . ($xacts // 0) . " transactions, $during rows after REINDEX CONCURRENTLY");

is($node->safe_psql('postgres',
		"SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_l2'::regclass"),
	't', 'the index is valid');
$node->safe_psql('postgres', 'VACUUM items');
is($node->safe_psql('postgres', "SELECT * FROM diskann_verify('items_l2')"),
	'', 'diskann_verify finds no problem');
# (rows updated before the index existed are HOT chains, and the index
# holds their root TIDs, not their ctid: compare counts)
is($node->safe_psql('postgres', qq{
	SELECT (SELECT count(*) FROM diskann_tids('items_l2')) = (SELECT count(*) FROM items)
}), 't', 'the index holds as many live nodes as the table has rows');
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET diskann.max_scan_tuples = 1000000;
	SET diskann.iterative_scan = relaxed_order;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'
						  LIMIT 100000) s
}), $node->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'an index scan without a practical limit returns every row');

# each row is among the 10 first answers for its own vector (random
# vectors: no ties); an approximate index on uniformly random data may miss
# a handful at this search list, so at most 0.1% may be missed
my ($missed, $total) = split /\|/, $node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET diskann.query_search_list_size = 200;
	SELECT count(*) FILTER (WHERE i.id NOT IN
		(SELECT j.id FROM items j ORDER BY j.embedding <-> i.embedding LIMIT 10)), count(*)
	FROM items i;
});
note("$missed of $total rows not found by their own vector");
cmp_ok($missed, '<=', $total / 1000, 'every row but at most 0.1% is found by its own vector');

done_testing();
