#!/usr/bin/perl
#
# fashion_mnist.pl: turn a Fashion-MNIST (or MNIST) idx3 image file into
# PostgreSQL COPY text rows "id<TAB>[v1,v2,...]", one image per row, ids
# 1-based, pixel values 0..255 (read back as float4 by the vector type).
#
#   perl test/fashion_mnist.pl [--limit N] [--offset N] [--set train|test] [FILE]
#   perl test/fashion_mnist.pl --limit 1000 --set train |
#       psql -c "COPY items (id, embedding) FROM STDIN"
#
# FILE is an idx3-ubyte file, gzip-compressed or not; by default the one
# Debian's dataset-fashion-mnist package installs for --set (train: 60000
# images, test: 10000 images; 28x28 = 784 pixels each).  --offset skips
# that many images first (ids still count from the first image in the file).
# Only Perl core modules are used.

use strict;
use warnings;
use Getopt::Long;
use IO::Uncompress::Gunzip qw($GunzipError);

my $DATADIR = '/usr/share/datasets/fashion-mnist';
my %DEFAULT = (
	train => "$DATADIR/train-images-idx3-ubyte.gz",
	test  => "$DATADIR/t10k-images-idx3-ubyte.gz",
);

my ($limit, $offset, $set, $file) = (undef, 0, 'train', undef);
GetOptions(
	'limit=i'  => \$limit,
	'offset=i' => \$offset,
	'set=s'    => \$set,
	'file=s'   => \$file,
	'help'     => sub { usage(0) },
) or usage(2);
$file //= shift @ARGV;
usage(2) if @ARGV;
if (!defined $file)
{
	die "fashion_mnist.pl: --set must be train or test\n"
	  unless exists $DEFAULT{$set};
	$file = $DEFAULT{$set};
}
die "fashion_mnist.pl: $file not found (apt-get install dataset-fashion-mnist)\n"
  unless -f $file;
die "fashion_mnist.pl: --limit and --offset must not be negative\n"
  if (defined $limit && $limit < 0) || $offset < 0;

# Open plain or gzip'ed input.
my $in;
if ($file =~ /\.gz$/)
{
	$in = IO::Uncompress::Gunzip->new($file, BlockSize => 1 << 20)
	  or die "fashion_mnist.pl: $file: $GunzipError\n";
}
else
{
	open($in, '<:raw', $file) or die "fashion_mnist.pl: $file: $!\n";
}

# read_exact(N): exactly N bytes, or die.
sub read_exact
{
	my ($n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $got = $in->read($buf, $n - length($buf), length($buf));
		die "fashion_mnist.pl: $file: read error\n" unless defined $got;
		die "fashion_mnist.pl: $file: truncated\n" if $got == 0;
	}
	return $buf;
}

# Header: magic 0x00000803 (unsigned byte, 3 dimensions), then the
# dimensions as big-endian 32-bit integers: count, rows, columns.
my ($magic, $count, $rows, $cols) = unpack('N4', read_exact(16));
die sprintf("fashion_mnist.pl: %s: not an idx3-ubyte file (magic 0x%08x)\n",
	$file, $magic)
  unless $magic == 0x00000803;
my $size = $rows * $cols;

my $last = $count;
$last = $offset + $limit if defined $limit && $offset + $limit < $count;

# Skip --offset images.
read_exact($size) for 1 .. $offset;

# Output is written in large chunks; COPY text needs no escaping here.
binmode STDOUT;
my $out = '';
my @str = map { "$_" } 0 .. 255;    # pixel -> text, precomputed
for my $id ($offset + 1 .. $last)
{
	$out .= $id . "\t[" . join(',', @str[unpack('C*', read_exact($size))]) . "]\n";
	if (length($out) > (1 << 20))
	{
		print STDOUT $out or die "fashion_mnist.pl: write error: $!\n";
		$out = '';
	}
}
print STDOUT $out or die "fashion_mnist.pl: write error: $!\n";
close(STDOUT) or die "fashion_mnist.pl: write error: $!\n";
exit 0;

sub usage
{
	print STDERR
	  "usage: $0 [--limit N] [--offset N] [--set train|test] [--file] [FILE]\n";
	exit $_[0];
}
