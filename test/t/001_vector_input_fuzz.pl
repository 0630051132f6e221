# Fuzz the vector type's input functions.
#
# Thousands of random and mutated text literals go through vector_in, and
# random and mutated binary payloads through vector_recv (binary COPY).
# Every input must either be accepted or be rejected with a clean ERROR whose
# SQLSTATE is one of the documented data errors; accepted values must
# round-trip exactly; the server must never crash.  The seed is fixed, so a
# failure reproduces.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $SEED = 20240601;
srand($SEED);

my $node = PostgreSQL::Test::Cluster->new('vector_fuzz');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION omendb');

# ---------------------------------------------------------------------
# Input generation
# ---------------------------------------------------------------------

# Pieces that make up plausible literals.
my @NUMBERS = (
	'0', '-0', '1', '-1', '+1', '1.', '.5', '-.5', '3.14159', '1e10',
	'1E-7', '1e-45', '1e-46', '3.4028235e38', '3.4028236e38', '1e39',
	'-4e38', '1e-400', '1e400', '123456789012345678901234567890',
	'0.000000000000000000000000000001', '0x1p3', '0X1.8P-2', '0x', '1e',
	'1e+', '--1', '+-1', '1..2', '1.2.3', 'NaN', 'nan', '-nan', 'inf',
	'-Infinity', 'infinity', 'INF', 'nan(123)', 'e5', '.', '-', '+', '',
	'1_000', '１', "\xc3\xa9");
my @SEPS = (',', ', ', ' ,', ',,', ' ', '', ";", "\t,\n", ']', '[', '][');
my @SPACES = ('', ' ', '  ', "\t", "\n", "\r", "\f", "\x0b", " \t\n");
my @ALPHABET = (
	split(//, '[],.0123456789eE+-xXpPnaifINFty '),
	"\t", "\n", "\r", '{', '}', '(', ')', '"', "'", '\\', ';', ':');

# pick LIST: a random element.
sub pick { return $_[ int(rand(scalar @_)) ]; }

# random_float: a random finite float, as a Perl number.
sub random_float
{
	my $mant = rand(2) - 1;
	my $exp = int(rand(76)) - 38;
	return $mant * 10**$exp;
}

# format_float X: X written in one of several accepted notations.
sub format_float
{
	my ($x) = @_;
	my $style = int(rand(5));
	return sprintf('%.9g', $x) if $style == 0;
	return sprintf('%.6e', $x) if $style == 1;
	return sprintf('%.12f', $x) if $style == 2 && abs($x) < 1e6;
	return sprintf('%d', int($x)) if $style == 3 && abs($x) < 2**31;
	return sprintf('%.17g', $x);
}

# valid_literal: a well-formed literal and the same numbers as a real[]
# literal, which PostgreSQL parses with its own float4in (the reference).
sub valid_literal
{
	my $dim = 1 + int(rand(rand() < 0.1 ? 300 : 12));
	my @vals = map { format_float(random_float()) } 1 .. $dim;
	# numbers beyond float4 range would make both sides fail: clamp
	@vals = map { abs($_) > 3e38 ? '1' : $_ } @vals;
	my $text = pick(@SPACES) . '[' . pick(@SPACES);
	$text .= join(',', map { pick(@SPACES) . $_ . pick(@SPACES) } @vals);
	$text .= ']' . pick(@SPACES);
	return ($text, '{' . join(',', @vals) . '}');
}

# random_literal: structured garbage built from literal-like pieces.
sub random_literal
{
	my $s = rand() < 0.8 ? pick(@SPACES, '[', '[', '[') : '';
	my $n = int(rand(8));
	for (1 .. $n)
	{
		$s .= pick(@SPACES) if rand() < 0.3;
		$s .= pick(@NUMBERS);
		$s .= pick(@SEPS) if rand() < 0.9;
	}
	$s .= pick(']', ']', ']', '', ']]', '] x', ')') if rand() < 0.9;
	$s .= pick(@SPACES) if rand() < 0.3;
	return $s;
}

# random_chars: unstructured strings over a literal-ish alphabet.
sub random_chars
{
	my $len = int(rand(40));
	return join('', map { pick(@ALPHABET) } 1 .. $len);
}

# mutate S: S with a few random character edits.
sub mutate
{
	my ($s) = @_;
	my $edits = 1 + int(rand(3));
	for (1 .. $edits)
	{
		my $pos = length($s) ? int(rand(length($s))) : 0;
		my $op = int(rand(4));
		if ($op == 0) { substr($s, $pos, 1) = '' if length($s); }
		elsif ($op == 1) { substr($s, $pos, 0) = pick(@ALPHABET); }
		elsif ($op == 2) { substr($s, $pos, 1) = pick(@ALPHABET) if length($s); }
		else
		{
			# duplicate a chunk
			my $len = int(rand(10));
			substr($s, $pos, 0) = substr($s, $pos, $len);
		}
	}
	return $s;
}

# copy_escape S: S in COPY text format.
sub copy_escape
{
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\r/\\r/g;
	return $s;
}

my (@valid, @fuzz);
for (1 .. 2000)
{
	push @valid, [ valid_literal() ];
}
push @fuzz, random_literal() for 1 .. 4000;
push @fuzz, random_chars() for 1 .. 2000;
push @fuzz, mutate($_->[0]) for @valid;
push @fuzz, mutate(random_literal()) for 1 .. 1000;
# edges of the dimension limit, with and without a broken tail
for my $dim (15999, 16000, 16001, 16002)
{
	my $body = join(',', ('1') x $dim);
	push @fuzz, "[$body]", "[$body,]", "[$body", "[$body,x]";
}
# very long numbers and runs of white space
push @fuzz, '[' . ('9' x 5000) . ']', '[0.' . ('0' x 5000) . '1]',
  '[' . (' ' x 10000) . '1]', '[1' . ('e' x 100) . ']';

# the database is UTF-8: edits that split a multibyte character would be
# refused by COPY before vector_in sees them, so mask such bytes
for my $s (@fuzz)
{
	my $copy = $s;
	$s =~ s/[\x80-\xff]/?/g unless utf8::decode($copy);
}

my $nvalid = scalar @valid;
my $nfuzz = scalar @fuzz;

my $load = "CREATE TABLE valid_in (id int, lit text, ref text);\n"
  . "COPY valid_in FROM STDIN;\n";
for my $i (0 .. $#valid)
{
	$load .= join("\t", $i, copy_escape($valid[$i][0]), $valid[$i][1]) . "\n";
}
$load .= "\\.\nCREATE TABLE fuzz_in (id int, lit text);\nCOPY fuzz_in FROM STDIN;\n";
for my $i (0 .. $#fuzz)
{
	$load .= join("\t", $i, copy_escape($fuzz[$i])) . "\n";
}
$load .= "\\.\n";
$node->safe_psql('postgres', $load);

is( $node->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM valid_in) || \' \' || (SELECT count(*) FROM fuzz_in)'),
	"$nvalid $nfuzz",
	'fuzz inputs loaded');

# ---------------------------------------------------------------------
# Text input
# ---------------------------------------------------------------------

# Every valid literal parses, equals the real[] reference element by
# element, and its output reads back to the identical binary value.
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM valid_in
WHERE lit::vector IS DISTINCT FROM ref::real[]::vector
   OR vector_send(lit::vector) IS DISTINCT FROM vector_send(ref::real[]::vector)
   OR vector_send(lit::vector::text::vector) IS DISTINCT FROM vector_send(lit::vector)
   OR vector_dims(lit::vector) <> cardinality(ref::real[])}),
	'0',
	'valid literals parse like real[] and round-trip exactly');

# Fuzz literals: each one either parses or raises a clean data error; with a
# typmod too.  Accepted values must round-trip.
$node->safe_psql(
	'postgres', q{
CREATE TABLE fuzz_out (id int, typmod int, ok bool, state text, msg text, dims int,
	roundtrip bool);
DO $$
DECLARE
	r record;
	v vector;
	tm int;
BEGIN
	FOR r IN SELECT id, lit FROM fuzz_in ORDER BY id LOOP
		FOREACH tm IN ARRAY ARRAY[-1, 3] LOOP
			BEGIN
				IF tm = -1 THEN
					v := r.lit::vector;
				ELSE
					v := r.lit::vector(3);
				END IF;
				INSERT INTO fuzz_out VALUES (r.id, tm, true, NULL, NULL, vector_dims(v),
					vector_send(v::text::vector) = vector_send(v));
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO fuzz_out VALUES (r.id, tm, false, SQLSTATE, SQLERRM, NULL, NULL);
			END;
		END LOOP;
	END LOOP;
END
$$;
});

my ($checked, $accepted, $rejected) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT count(*), count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) FROM fuzz_out');
is($checked, 2 * $nfuzz, 'every fuzz literal was checked with and without typmod');
cmp_ok($accepted, '>', 100, 'some fuzz literals are accepted');
cmp_ok($rejected, '>', 1000, 'many fuzz literals are rejected');
note("text input: $checked checks, $accepted accepted, $rejected rejected");

# 22P02 syntax, 22000 data (dimensions, NaN, infinity, typmod), 22003 out of
# range, 54000 too many dimensions.
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(DISTINCT state || ' ' || msg, E'\n') FROM fuzz_out
WHERE NOT ok AND state NOT IN ('22P02', '22000', '22003', '54000')}),
	'',
	'rejections are clean data errors');
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(DISTINCT state, ',' ORDER BY state) FROM fuzz_out WHERE NOT ok}),
	'22000,22003,22P02,54000',
	'all four kinds of rejection occur');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM fuzz_out WHERE ok AND NOT roundtrip}),
	'0',
	'accepted fuzz literals round-trip exactly');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM fuzz_out WHERE ok AND typmod = 3 AND dims <> 3}),
	'0',
	'typmod 3 accepts only three dimensions');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM fuzz_out o WHERE typmod = 3 AND ok AND NOT EXISTS
  (SELECT 1 FROM fuzz_out o2 WHERE o2.id = o.id AND o2.typmod = -1 AND o2.ok)}),
	'0',
	'typmod never makes a bad literal acceptable');

# The messages are the documented ones.
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(DISTINCT msg, E'\n') FROM fuzz_out
WHERE NOT ok
  AND msg NOT LIKE 'invalid input syntax for type vector: %'
  AND msg NOT LIKE '"%" is out of range for type vector'
  AND msg NOT IN ('vector must have at least 1 dimension',
                  'vector cannot have more than 16000 dimensions',
                  'NaN not allowed in vector',
                  'infinite value not allowed in vector')
  AND msg !~ '^expected 3 dimensions, not [0-9]+$'}),
	'',
	'rejection messages are the documented ones');

# ---------------------------------------------------------------------
# Binary input (vector_recv through COPY ... FORMAT binary)
# ---------------------------------------------------------------------

# random_payload: a random or mutated binary vector.
sub random_payload
{
	my $kind = int(rand(4));
	my $dim = 1 + int(rand(6));
	my @f = map { random_float() } 1 .. $dim;
	my $good = pack('nn', $dim, 0) . pack('f>*', @f);
	if ($kind == 0)
	{
		return $good;
	}
	elsif ($kind == 1)
	{
		# flip random bytes, including the header
		my $s = $good;
		for (1 .. 1 + int(rand(3)))
		{
			substr($s, int(rand(length($s))), 1) = chr(int(rand(256)));
		}
		return $s;
	}
	elsif ($kind == 2)
	{
		# truncate or extend
		my $s = $good;
		return rand() < 0.5
		  ? substr($s, 0, int(rand(length($s))))
		  : $s . join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(8)));
	}
	else
	{
		# header with odd values, arbitrary body
		my $d = pick(0, 1, 2, 3, 16000, 16001, 32767, 32768, 65535, int(rand(65536)));
		my $u = pick(0, 0, 0, 1, 65535);
		my $body = join('', map { chr(int(rand(256))) } 1 .. int(rand(24)));
		$body = pack('N', pick(0x7fc00000, 0x7f800000, 0xff800000, 0x00000001, 0x80000000)) . $body
		  if rand() < 0.5;
		return pack('nn', $d, $u) . $body;
	}
}

my @payloads = map { unpack('H*', random_payload()) } 1 .. 600;
my $binfile = $node->data_dir . '/fuzz_recv.bin';
$node->safe_psql('postgres',
	"CREATE TABLE recv_in (id int, payload bytea);\nCOPY recv_in FROM STDIN;\n"
	  . join('', map { "$_\t\\\\x$payloads[$_]\n" } 0 .. $#payloads)
	  . "\\.\n");

$node->safe_psql(
	'postgres', qq{
CREATE TABLE recv_out (id int, ok bool, state text, msg text, exact bool);
CREATE TABLE recv_t (v vector);
DO \$\$
DECLARE
	r record;
	lo oid;
	v vector;
BEGIN
	FOR r IN SELECT id, payload FROM recv_in ORDER BY id LOOP
		lo := lo_from_bytea(0, '\\x5047434f50590aff0d0a000000000000000000'::bytea
			|| '\\x0001'::bytea || int4send(length(r.payload)) || r.payload
			|| '\\xffff'::bytea);
		PERFORM lo_export(lo, '$binfile');
		PERFORM lo_unlink(lo);
		BEGIN
			TRUNCATE recv_t;
			COPY recv_t FROM '$binfile' WITH (FORMAT binary);
			SELECT recv_t.v INTO v FROM recv_t;
			INSERT INTO recv_out VALUES (r.id, true, NULL, NULL,
				vector_send(v) = r.payload AND vector_send(v::text::vector) = r.payload);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO recv_out VALUES (r.id, false, SQLSTATE, SQLERRM, NULL);
		END;
	END LOOP;
END
\$\$;
});

my ($rchecked, $raccepted) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT count(*), count(*) FILTER (WHERE ok) FROM recv_out');
is($rchecked, scalar @payloads, 'every binary payload was checked');
cmp_ok($raccepted, '>', 50, 'some binary payloads are accepted');
note("binary input: $rchecked checks, $raccepted accepted");
is( $node->safe_psql('postgres',
		'SELECT count(*) FROM recv_out WHERE ok AND NOT exact'),
	'0',
	'accepted binary payloads are re-sent byte for byte');
# 22000 data errors, 54000 too many dimensions, 08P01 short message,
# 22P03 trailing bytes in the field
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(DISTINCT state || ' ' || msg, E'\n') FROM recv_out
WHERE NOT ok AND state NOT IN ('22000', '54000', '08P01', '22P03')}),
	'',
	'binary rejections are clean data errors');

# ---------------------------------------------------------------------
# The server survived
# ---------------------------------------------------------------------

is($node->safe_psql('postgres', q{SELECT '[1,2,3]'::vector <-> '[1,2,4]'}),
	'1', 'server still answers');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|TRAP:|was terminated|server process .* exited with exit code/,
	'no backend crashed');

my $total = $checked + $nvalid + $rchecked;
note("checked $total inputs in all (seed $SEED)");
diag("vector input fuzz: $total inputs checked");

$node->stop;
done_testing();
