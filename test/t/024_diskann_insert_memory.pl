# The memory of a session inserting into a diskann index stays flat.
#
# One psql session runs 100,000 single-row INSERT statements (each its own
# statement and transaction, as an application sends them) into a table
# with a diskann index, then 10,000 single queries through the index.  The
# session records its own memory every few thousand statements: the sums
# of total_bytes and of used_bytes over pg_backend_memory_contexts (a leak
# may fill blocks allocated earlier long before total_bytes shows it).
# Whatever one statement allocates must be gone by the next: after a
# warm-up of 5,000 inserts (caches filled), the rest may add less than
# 1 MB, i.e. on average less than 11 bytes per insert.  Likewise within
# one INSERT ... SELECT of 50,000 rows (a leak of 32 bytes per row into the
# executor's memory fails that check).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;
use Time::HiRes qw(time);

my $DIM = 4;
my $INSERTS = 100000;
my $WARMUP = 5000;
my $PROBE_EVERY = 5000;
my $QUERIES = 10000;
my $BOUND = 1024 * 1024;

my $node = PostgreSQL::Test::Cluster->new('diskann_insert_memory');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION omendb;
	CREATE TABLE items (id serial PRIMARY KEY, embedding vector($DIM));
	CREATE INDEX items_l2 ON items USING diskann (embedding vector_l2_ops)
	  WITH (num_neighbors = 16, search_list_size = 32);
	CREATE TABLE mem_log (phase text, n int, bytes bigint, used bigint);
	CREATE TABLE mem_contexts (n int, name text, bytes bigint, used bigint);
});

# probe PHASE N: one statement recording the session's memory
sub probe
{
	my ($phase, $n) = @_;
	my $sql = "INSERT INTO mem_log SELECT '$phase', $n, sum(total_bytes), sum(used_bytes) FROM pg_backend_memory_contexts;\n";
	# per context name too, to show where memory went if it grew
	$sql .= "INSERT INTO mem_contexts SELECT $n, name, sum(total_bytes), sum(used_bytes) FROM pg_backend_memory_contexts GROUP BY name;\n"
	  if $n == $WARMUP || $n == $INSERTS;
	return $sql;
}

srand(24);
my $script = '';
for my $i (1 .. $INSERTS)
{
	$script .= "INSERT INTO items (embedding) VALUES ('["
	  . join(',', map { sprintf('%.4f', rand(2) - 1) } 1 .. $DIM) . "]');\n";
	$script .= probe('insert', $i) if $i % $PROBE_EVERY == 0;
}
$script .= "SET enable_seqscan = off;\n";
for my $i (1 .. $QUERIES)
{
	$script .= "SELECT id FROM items ORDER BY embedding <-> '["
	  . join(',', map { sprintf('%.4f', rand(2) - 1) } 1 .. $DIM) . "]' LIMIT 10;\n";
	$script .= probe('query', $i) if $i % $PROBE_EVERY == 0 || $i == 1000;
}

my $t0 = time;
my ($ret, $stdout, $stderr) = $node->psql('postgres', $script, on_error_stop => 1);
note(sprintf('%d inserts and %d queries in one session took %.1f s', $INSERTS, $QUERIES, time - $t0));
is($ret, 0, 'the session ran every statement');
is($stderr, '', 'without an error');

is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), $INSERTS, "$INSERTS rows inserted");
is($node->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('items_l2')"),
	$INSERTS, 'all of them through the index');
like($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0]' LIMIT 10;
}), qr/Index Scan using items_l2/, 'the queries were index scans');

note("session memory (phase, statements, total bytes, used bytes):\n"
	  . $node->safe_psql('postgres', "SELECT phase, n, bytes, used FROM mem_log ORDER BY phase DESC, n"));

# check_growth PHASE FROM TO LABEL: total and used bytes of the session grow
# by less than $BOUND from probe FROM to probe TO
sub check_growth
{
	my ($phase, $from, $to, $label) = @_;
	my ($total, $used) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT b.bytes - a.bytes, b.used - a.used
		FROM mem_log a, mem_log b
		WHERE a.phase = '$phase' AND a.n = $from AND b.phase = '$phase' AND b.n = $to;
	});
	note("$label: total bytes +$total, used bytes +$used");
	cmp_ok($total, '<', $BOUND, "$label: total memory grows by less than 1 MB");
	cmp_ok($used, '<', $BOUND, "$label: used memory grows by less than 1 MB");
	return $total < $BOUND && $used < $BOUND;
}

if (!check_growth('insert', $WARMUP, $INSERTS, "inserts $WARMUP .. $INSERTS"))
{
	diag("memory contexts that grew (name, total bytes, used bytes):\n"
		  . $node->safe_psql('postgres', qq{
		SELECT name, coalesce(b.bytes, 0) - coalesce(a.bytes, 0), coalesce(b.used, 0) - coalesce(a.used, 0)
		FROM (SELECT * FROM mem_contexts WHERE n = $WARMUP) a
		FULL JOIN (SELECT * FROM mem_contexts WHERE n = $INSERTS) b USING (name)
		WHERE coalesce(b.used, 0) <> coalesce(a.used, 0)
		ORDER BY 3 DESC LIMIT 20}));
}
check_growth('query', 1000, $QUERIES, "queries 1000 .. $QUERIES");

# One statement inserting many rows (INSERT ... SELECT, as COPY does) must
# not keep memory per row either: a function in the SELECT list records the
# session's memory, the executor's of the running INSERT included, every
# 5,000 rows.
my $BULK = 50000;
$node->safe_psql('postgres', qq{
	CREATE FUNCTION mem_probe(n int) RETURNS int LANGUAGE plpgsql AS \$\$
	BEGIN
		IF n % $PROBE_EVERY = 0 THEN
			INSERT INTO mem_log SELECT 'bulk', n, sum(total_bytes), sum(used_bytes) FROM pg_backend_memory_contexts;
		END IF;
		RETURN n;
	END
	\$\$;
	SELECT setseed(0.24);
	INSERT INTO items (id, embedding)
	SELECT mem_probe(g) + $INSERTS,
	       (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) WHERE g > 0)::vector
	FROM generate_series(1, $BULK) g;
});
is($node->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('items_l2')"),
	$INSERTS + $BULK, "INSERT ... SELECT of $BULK rows went through the index");
note("memory during INSERT ... SELECT (rows, total bytes, used bytes):\n"
	  . $node->safe_psql('postgres', "SELECT n, bytes, used FROM mem_log WHERE phase = 'bulk' ORDER BY n"));
check_growth('bulk', $WARMUP, $BULK, "rows $WARMUP .. $BULK of one INSERT ... SELECT");

verify_ok($node, 'items_l2', 'diskann_verify finds no problem', allow_unreachable => 0.01);

$node->stop;
done_testing();
