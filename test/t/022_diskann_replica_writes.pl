# A streaming standby follows a diskann index that changes in place: rows
# inserted into an index created on an empty table (INSERT ... SELECT,
# single-row INSERTs, COPY, INSERT ... ON CONFLICT, UPDATE of the vector),
# concurrent inserts, DELETE, VACUUM's repair and freed slots, inserts
# reusing those slots.  After each step the standby must answer exactly as
# the primary (same ids, same order), have the same diskann_stats and
# diskann_tids, and find nothing wrong with diskann_verify; also after the
# standby's own restart, and once promoted it must take writes itself.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DiskannTest;

my $DIM = 24;

my $primary = PostgreSQL::Test::Cluster->new('diskann_primary_w');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "autovacuum = off\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION omendb');
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('diskann_standby_w');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

sub random_vector
{
	my ($seed_col) = @_;
	my $where = defined $seed_col ? "WHERE $seed_col > 0" : '';
	return "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM) $where)::vector";
}
my $vec_g = random_vector('g');

# both indexes exist before the first row
$primary->safe_psql('postgres', qq{
	SELECT setseed(0.27);
	CREATE TABLE items (id int PRIMARY KEY, embedding vector($DIM));
	CREATE INDEX items_l2 ON items USING diskann (embedding vector_l2_ops)
	  WITH (num_neighbors = 16, search_list_size = 40);
	CREATE INDEX items_cos ON items USING diskann (embedding vector_cosine_ops);
	CREATE TABLE queries (qid int PRIMARY KEY, q vector($DIM));
	INSERT INTO queries SELECT g, $vec_g FROM generate_series(1, 20) g;
	CREATE SEQUENCE item_ids START 1000000;
});

my %ops = (items_l2 => '<->', items_cos => '<=>');

# answers NODE INDEX: the top 10 ids of the 20 queries through INDEX
sub answers
{
	my ($node, $index) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET enable_bitmapscan = off;
		SELECT qid, ARRAY(SELECT id FROM items ORDER BY embedding $ops{$index} q LIMIT 10)
		FROM queries ORDER BY qid;
	});
}

# compare LABEL: catch up, then the standby must match the primary
sub compare
{
	my ($label) = @_;
	# before a VACUUM, inserts may have left a few nodes to relink
	my %allow = $label =~ /VACUUM/ ? () : (allow_unreachable => 0.01);

	$primary->wait_for_catchup($standby);
	my $rows = $primary->safe_psql('postgres', 'SELECT count(*) FROM items');
	is($standby->safe_psql('postgres', 'SELECT count(*) FROM items'), $rows,
		"$label: standby has the primary's $rows rows");
	foreach my $index (sort keys %ops)
	{
		my $p = answers($primary, $index);
		my @lines = split /\n/, $p;
		is(scalar(grep { /^\d+\|\{\d+(,\d+){9}\}$/ } @lines), 20,
			"$label, $index: 20 answers of 10 ids on the primary");
		is(answers($standby, $index), $p, "$label, $index: standby answers as the primary");
		verify_ok($standby, $index, "$label, $index: diskann_verify on the standby finds no problem",
			%allow);
		verify_ok($primary, $index, "$label, $index: diskann_verify on the primary finds no problem",
			%allow);
		is($standby->safe_psql('postgres', "SELECT * FROM diskann_stats('$index')"),
			$primary->safe_psql('postgres', "SELECT * FROM diskann_stats('$index')"),
			"$label, $index: same diskann_stats on both");
		my $tids = "SELECT string_agg(t::text, ',' ORDER BY t) FROM diskann_tids('$index') t";
		is($standby->safe_psql('postgres', $tids), $primary->safe_psql('postgres', $tids),
			"$label, $index: same diskann_tids on both");
	}
}

$primary->wait_for_catchup($standby);
like($standby->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF)
	SELECT id FROM items ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 10;
}), qr/Index Scan using items_l2/, 'standby queries use the index');

# --- INSERT ... SELECT into the empty indexes
$primary->safe_psql('postgres',
	"INSERT INTO items SELECT g, $vec_g FROM generate_series(1, 3000) g");
compare('after INSERT ... SELECT');
is($standby->safe_psql('postgres', "SELECT live_nodes FROM diskann_stats('items_l2')"),
	'3000', 'standby index has the 3000 rows');

# --- single-row INSERTs, COPY, ON CONFLICT, UPDATE
$primary->safe_psql('postgres', qq{
	DO \$\$
	BEGIN
		FOR i IN 3001 .. 3200 LOOP
			INSERT INTO items VALUES (i, (SELECT array_agg(random() * 2 - 1)
			                              FROM generate_series(1, $DIM) WHERE i > 0)::vector);
		END LOOP;
	END
	\$\$;
});
srand(7);
my $copy = "COPY items FROM STDIN;\n";
foreach my $id (3201 .. 3700)
{
	$copy .= "$id\t["
	  . join(',', map { sprintf('%.6f', rand(2) - 1) } 1 .. $DIM) . "]\n";
}
$copy .= "\\.\n";
$primary->safe_psql('postgres', $copy);
$primary->safe_psql('postgres', qq{
	INSERT INTO items SELECT g * 7, $vec_g FROM generate_series(1, 100) g
	ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding;
	UPDATE items SET embedding = (SELECT array_agg(random() * 2 - 1)
	                              FROM generate_series(1, $DIM) WHERE id > 0)::vector
	WHERE id % 37 = 0;
});
compare('after single-row INSERTs, COPY, ON CONFLICT and UPDATE');

# --- concurrent inserts on the primary
$primary->pgbench(
	'-n -c 3 -j 3 -t 300',
	0,
	[qr/number of transactions actually processed: 900\b/],
	[qr/^$/],
	'3 clients insert 300 rows each concurrently',
	{
		'022_insert' => qq{INSERT INTO items
VALUES (nextval('item_ids'), (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $DIM))::vector);
}
	});
compare('after concurrent inserts');

# --- DELETE, before and after VACUUM
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 4 = 0');
compare('after DELETE');
is($standby->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET diskann.query_search_list_size = 400;
	SELECT count(*) FROM (SELECT id FROM items
	  ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = 1) LIMIT 300) s
	WHERE id % 4 = 0;
}), '0', 'standby returns no deleted row');

$primary->safe_psql('postgres', 'VACUUM items');
compare('after VACUUM');
my ($deleted, $free) = split /\|/, $standby->safe_psql('postgres',
	"SELECT deleted_nodes, free_slots FROM diskann_stats('items_l2')");
is($deleted, '0', 'standby: the deleted nodes are repaired');
cmp_ok($free, '>=', 900, 'standby: their slots are free');

# --- inserts into the freed slots.  A slot freed by VACUUM is reused once
# no snapshot older than the VACUUM can still be walking to it; here a
# committed transaction id moves the horizon past it, as any write does in
# a busy system.
my $pages = $primary->safe_psql('postgres', "SELECT pages FROM diskann_stats('items_l2')");
$primary->safe_psql('postgres', 'SELECT txid_current()');
$primary->safe_psql('postgres',
	"INSERT INTO items SELECT 200000 + g, $vec_g FROM generate_series(1, 800) g");
compare('after inserts into freed slots');
is($standby->safe_psql('postgres', "SELECT pages FROM diskann_stats('items_l2')"),
	$pages, 'standby: the index did not grow, the inserts reused freed slots');

# --- the standby after a restart (pages from disk, not from its buffers)
$standby->restart;
compare('after standby restart');

# --- more changes streamed to the restarted standby
$primary->safe_psql('postgres', qq{
	DELETE FROM items WHERE id % 5 = 1;
	VACUUM items;
	INSERT INTO items SELECT 300000 + g, $vec_g FROM generate_series(1, 500) g;
});
compare('after a second round of changes');

# --- promoted, the standby takes writes itself
$primary->stop;
$standby->promote;
$standby->safe_psql('postgres', qq{
	INSERT INTO items SELECT 400000 + g, $vec_g FROM generate_series(1, 300) g;
	DELETE FROM items WHERE id % 7 = 3;
	VACUUM items;
	INSERT INTO items SELECT 500000 + g, $vec_g FROM generate_series(1, 300) g;
});
foreach my $index (sort keys %ops)
{
	verify_ok($standby, $index, "promoted standby, $index: diskann_verify finds no problem after writes",
		allow_unreachable => 0.01);
	is($standby->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM items) = live_nodes, deleted_nodes FROM diskann_stats('$index')
	}), 't|0', "promoted standby, $index: live_nodes equals count(*)");
}
is($standby->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SET diskann.query_search_list_size = 200;
	SELECT count(*) FROM items i
	WHERE i.id BETWEEN 500001 AND 500300
	  AND (SELECT j.id FROM items j ORDER BY j.embedding <-> i.embedding LIMIT 1) = i.id;
}), '300', 'promoted standby finds the rows it inserted');

$standby->stop;
done_testing();
