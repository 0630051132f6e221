# Damaged index pages: every read checks what it cheaply can and reports
# ERRCODE_INDEX_CORRUPTED (XX002) with the index and block, never reading
# out of bounds, dividing by zero or crashing; diskann_verify reports damage
# that lies only in edges; REINDEX repairs; an all-zero page (what a crash
# while a group was being added leaves) is an empty group, not damage.
#
# Each case stops the server cleanly (after an immediate stop, recovery
# would write full-page images over the damage), overwrites bytes of the
# index's file, starts it again and looks at a query, an insert, VACUUM and
# diskann_verify; then REINDEX and checks that all is well again.
#
# Offsets follow the layout in src/diskann.h: a page's contents start at
# byte 24; the metapage holds magic, version, dimensions (4 bytes each),
# metric, payload, num_neighbors, search_list_size (2 each), max_alpha,
# head_size, vector_size, heads_per_group (4 each, heads_per_group at 32);
# a head is a 24-byte header (num_neighbors at 8) and its neighbour list;
# a page ends with its special space (flags, page id: 2 bytes each).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $BLCKSZ = 8192;
my $CONTENTS = 24;
my $HEADER = 24;

my $node = PostgreSQL::Test::Cluster->new('diskann_corruption');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION omendb;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items
SELECT i, (SELECT array_agg(sin(i * 7 + j) + cos(i * j)) FROM generate_series(1, 16) j)::vector
FROM generate_series(1, 3000) i;
CREATE INDEX items_idx ON items USING diskann (embedding)
  WITH (num_neighbors = 16, search_list_size = 32, storage = plain);
});

my $QUERY = q{SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 7) LIMIT 10) s};

# the layout: heads per group, pages per group, R, the entry point
my $layout = $node->safe_psql('postgres', q{SELECT layout FROM diskann_stats('items_idx')});
my ($H, $P) = $layout =~ /^(\d+) nodes per (?:(\d+) pages|page)$/;
$P //= 1;
my $R = 16;
my $HEAD_SIZE = $HEADER + 4 * $R;
ok($H && $P, "layout read: $H nodes per $P pages");

# run sql; returns (exit code, stdout, stderr) with SQLSTATEs in errors
sub try_sql
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return ($ret, $out, $err);
}

# the index's file, and its first group's first block and entry point
sub index_file
{
	return $node->data_dir . '/'
	  . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items_idx')});
}

sub entry_point
{
	return $node->safe_psql('postgres', q{SELECT entry_point FROM diskann_stats('items_idx')});
}

# overwrite bytes of the index's file at offset, with the server stopped
sub damage
{
	my ($file, $offset, $bytes) = @_;
	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	seek($fh, $offset, 0) or die "seek: $!";
	print $fh $bytes;
	close $fh;
}

# block and byte offset of node n's head (plain storage: groups from block 1)
sub head_offset
{
	my ($n) = @_;
	my $block = 1 + int($n / $H) * $P;
	return ($block, $block * $BLCKSZ + $CONTENTS + ($n % $H) * $HEAD_SIZE);
}

# stop cleanly, damage, start; then the statements that must fail with
# XX002, none crashing the server; then REINDEX repairs
sub damage_case
{
	my (%c) = @_;
	my $file = index_file();
	$node->stop('fast');
	damage($file, $c{offset}, $c{bytes});
	$node->start;
	foreach my $stmt (@{ $c{fail} })
	{
		my ($ret, $out, $err) = try_sql($stmt);
		my $short = substr((split /\n/, $stmt)[-1], 0, 50);
		isnt($ret, 0, "$c{name}: '$short' fails");
		like($err, qr/ERROR:  XX002: .*$c{message}/s,
			"$c{name}: with index_corrupted and \"$c{message}\"");
	}
	foreach my $check (@{ $c{verify} || [] })
	{
		my $problems = $node->safe_psql('postgres', q{SELECT string_agg(p, '; ') FROM diskann_verify('items_idx') p});
		like($problems, $check, "$c{name}: diskann_verify reports it");
	}
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$c{name}: the server is up");
	$node->safe_psql('postgres', 'REINDEX INDEX items_idx');
	my ($ret, $out, $err) = try_sql($QUERY);
	is($out, '10', "$c{name}: after REINDEX, queries answer");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM diskann_verify('items_idx')}),
		'0', "$c{name}: after REINDEX, the index is healthy");
}

my ($ret, $out, $err) = try_sql($QUERY);
is($out, '10', 'the undamaged index answers');

# the metapage's magic number
damage_case(
	name => 'metapage magic',
	offset => $CONTENTS,
	bytes => pack('L<', 0x12345678),
	fail => [ $QUERY, q{INSERT INTO items VALUES (100001, (SELECT embedding FROM items WHERE id = 1))},
		q{SELECT * FROM diskann_verify('items_idx')} ],
	message => 'is not a diskann index');

# heads per group 0: every node number would divide by it
damage_case(
	name => 'metapage heads_per_group 0',
	offset => $CONTENTS + 32,
	bytes => pack('L<', 0),
	fail => [ $QUERY, q{INSERT INTO items VALUES (100002, (SELECT embedding FROM items WHERE id = 1))},
		q{VACUUM items}, q{SELECT * FROM diskann_stats('items_idx')} ],
	message => 'invalid metapage');

# an entry point beyond the index's slots
damage_case(
	name => 'metapage entry point',
	offset => $CONTENTS + 40,
	bytes => pack('L<', 0x7ffffff0),
	fail => [ $QUERY, q{INSERT INTO items VALUES (100003, (SELECT embedding FROM items WHERE id = 1))} ],
	message => 'corrupted page at block 0');

# the special space of a head page: not a diskann page any more
my ($block) = head_offset(entry_point());
damage_case(
	name => 'head page special space',
	offset => ($block + 1) * $BLCKSZ - 8,
	bytes => pack('S<S<', 0x0001, 0x4242),
	fail => [ $QUERY, q{VACUUM items}, q{SELECT * FROM diskann_stats('items_idx')} ],
	message => "corrupted page at block $block",
	verify => [ qr/block $block, the first of group \d+, is not a head page/ ]);

# the entry point's neighbour list: a node number beyond the index
my $offset;
($block, $offset) = head_offset(entry_point());
damage_case(
	name => 'neighbour beyond the index',
	offset => $offset + $HEADER,
	bytes => pack('L<', 0x7ffffff0),
	fail => [ $QUERY ],
	message => "corrupted page at block $block",
	verify => [ qr/has a neighbour 2147483632 beyond the last slot/ ]);

# the entry point's degree beyond R: its list would be read past its end
($block, $offset) = head_offset(entry_point());
damage_case(
	name => 'degree beyond num_neighbors',
	offset => $offset + 8,
	bytes => pack('S<', 60000),
	fail => [ $QUERY ],
	message => "corrupted page at block $block",
	verify => [ qr/has 60000 neighbours, more than num_neighbors 16/ ]);

# a neighbour list that stays within the index but is wrong (a node's
# own number, twice): only diskann_verify can tell, queries still work
($block, $offset) = head_offset(entry_point());
my $ep = entry_point();
{
	my $file = index_file();
	$node->stop('fast');
	damage($file, $offset + $HEADER, pack('L<L<', $ep, $ep));
	$node->start;
	($ret, $out, $err) = try_sql($QUERY);
	is($out, '10', 'edges within range but wrong: queries still answer');
	my $problems = $node->safe_psql('postgres', q{SELECT string_agg(p, '; ') FROM diskann_verify('items_idx') p});
	like($problems, qr/is its own neighbour/, 'edges within range but wrong: diskann_verify reports them');
	$node->safe_psql('postgres', 'REINDEX INDEX items_idx');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM diskann_verify('items_idx')}),
		'0', 'edges within range but wrong: REINDEX repairs');
}

# a group of all-zero pages at the end (a crash after the index was
# extended, before the group's head page was written): an empty group, not
# damage; the next insert that needs room completes it
{
	my $file = index_file();
	$node->stop('fast');
	open(my $fh, '>>', $file) or die "open $file: $!";
	binmode $fh;
	print $fh "\0" x ($BLCKSZ * $P);
	close $fh;
	$node->start;
	($ret, $out, $err) = try_sql($QUERY);
	is($out, '10', 'an all-zero group: queries answer');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM diskann_verify('items_idx')}),
		'0', 'an all-zero group: diskann_verify finds nothing wrong');
	$node->safe_psql('postgres', q{
INSERT INTO items SELECT 200000 + i, (SELECT embedding FROM items WHERE id = i) FROM generate_series(1, 2 * (SELECT heads_per_group FROM (SELECT split_part(layout, ' ', 1)::int AS heads_per_group FROM diskann_stats('items_idx')) s)) i;
VACUUM items;});
	is($node->safe_psql('postgres', q{SELECT count(*) FROM diskann_verify('items_idx')}),
		'0', 'an all-zero group: inserts and VACUUM leave a healthy index');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM diskann_tids('items_idx')}),
		$node->safe_psql('postgres', 'SELECT count(*) FROM items'),
		'an all-zero group: every row is indexed');
}

# never a crash: the server log has no backend that died
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|was terminated|server process .* exited with exit code [^0]/,
	'no backend crashed');

$node->stop;
done_testing();
