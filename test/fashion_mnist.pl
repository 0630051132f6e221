#!/usr/bin/perl
#
# fashion_mnist.pl: turn a Fashion-MNIST (or MNIST) idx3 image file into
# PostgreSQL COPY text rows "id<TAB>[v1,v2,...]", one image per row, ids
# 1-based, pixel values 0..255 (read back as float4 by the vector type).
# With --labels each row also carries the image's class (0..9) from the
# matching idx1 label file: "id<TAB>label<TAB>[v1,v2,...]".
#
#   perl test/fashion_mnist.pl [--limit N] [--offset N] [--set train|test]
#                              [--labels [--labels-file LFILE]] [FILE]
#   perl test/fashion_mnist.pl --limit 1000 --set train |
#       psql -c "COPY items (id, embedding) FROM STDIN"
#   perl test/fashion_mnist.pl --labels --set test --limit 300 |
#       psql -c "COPY queries (id, label, embedding) FROM STDIN"
#
# FILE is an idx3-ubyte file, gzip-compressed or not; by default the one
# Debian's dataset-fashion-mnist package installs for --set (train: 60000
# images, test: 10000 images; 28x28 = 784 pixels each).  --offset skips
# that many images first (ids still count from the first image in the file).
# LFILE is an idx1-ubyte file with one label per image, by default the
# package's label file for --set, or for FILE the file named like it with
# "images-idx3" replaced by "labels-idx1"; it must hold as many items as
# FILE.  Only Perl core modules are used.

use strict;
use warnings;
use Getopt::Long;
use IO::Uncompress::Gunzip qw($GunzipError);

my $DATADIR = '/usr/share/datasets/fashion-mnist';
my %DEFAULT = (
	train => "$DATADIR/train-images-idx3-ubyte.gz",
	test  => "$DATADIR/t10k-images-idx3-ubyte.gz",
);
my %DEFAULT_LABELS = (
	train => "$DATADIR/train-labels-idx1-ubyte.gz",
	test  => "$DATADIR/t10k-labels-idx1-ubyte.gz",
);

my ($limit, $offset, $set, $file) = (undef, 0, 'train', undef);
my ($labels, $lfile) = (0, undef);
GetOptions(
	'limit=i'       => \$limit,
	'offset=i'      => \$offset,
	'set=s'         => \$set,
	'file=s'        => \$file,
	'labels'        => \$labels,
	'labels-file=s' => \$lfile,
	'help'          => sub { usage(0) },
) or usage(2);
$file //= shift @ARGV;
usage(2) if @ARGV;
$labels = 1 if defined $lfile;
if (!defined $file)
{
	die "fashion_mnist.pl: --set must be train or test\n"
	  unless exists $DEFAULT{$set};
	$file = $DEFAULT{$set};
	$lfile //= $DEFAULT_LABELS{$set};
}
elsif ($labels && !defined $lfile)
{
	($lfile = $file) =~ s/images-idx3/labels-idx1/;
	die "fashion_mnist.pl: no label file for $file (use --labels-file)\n"
	  if $lfile eq $file;
}
die "fashion_mnist.pl: $file not found (apt-get install dataset-fashion-mnist)\n"
  unless -f $file;
die "fashion_mnist.pl: $lfile not found (apt-get install dataset-fashion-mnist)\n"
  if $labels && !-f $lfile;
die "fashion_mnist.pl: --limit and --offset must not be negative\n"
  if (defined $limit && $limit < 0) || $offset < 0;

# open_input(FILE): a handle on plain or gzip'ed FILE.
sub open_input
{
	my ($name) = @_;
	my $fh;
	if ($name =~ /\.gz$/)
	{
		$fh = IO::Uncompress::Gunzip->new($name, BlockSize => 1 << 20)
		  or die "fashion_mnist.pl: $name: $GunzipError\n";
	}
	else
	{
		open($fh, '<:raw', $name) or die "fashion_mnist.pl: $name: $!\n";
	}
	return $fh;
}

# read_from(FH, NAME, N): exactly N bytes from FH (reading NAME), or die.
sub read_from
{
	my ($fh, $name, $n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $got = $fh->read($buf, $n - length($buf), length($buf));
		die "fashion_mnist.pl: $name: read error\n" unless defined $got;
		die "fashion_mnist.pl: $name: truncated\n" if $got == 0;
	}
	return $buf;
}

my $in = open_input($file);

# read_exact(N): exactly N bytes of the image file, or die.
sub read_exact { return read_from($in, $file, $_[0]); }

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

# Labels: magic 0x00000801 (unsigned byte, 1 dimension), the count, then
# one byte per item; read in one piece (60,000 bytes at most here).
my @label;
if ($labels)
{
	my $lin = open_input($lfile);
	my ($lmagic, $lcount) = unpack('N2', read_from($lin, $lfile, 8));
	die sprintf("fashion_mnist.pl: %s: not an idx1-ubyte file (magic 0x%08x)\n",
		$lfile, $lmagic)
	  unless $lmagic == 0x00000801;
	die "fashion_mnist.pl: $lfile has $lcount labels, $file $count images\n"
	  unless $lcount == $count;
	@label = unpack('C*', read_from($lin, $lfile, $last));
	close($lin);
}

# Output is written in large chunks; COPY text needs no escaping here.
binmode STDOUT;
my $out = '';
my @str = map { "$_" } 0 .. 255;    # pixel -> text, precomputed
for my $id ($offset + 1 .. $last)
{
	$out .= $id . "\t";
	$out .= $label[ $id - 1 ] . "\t" if $labels;
	$out .= "[" . join(',', @str[unpack('C*', read_exact($size))]) . "]\n";
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
	  "usage: $0 [--limit N] [--offset N] [--set train|test]\n"
	  . "       [--labels [--labels-file LFILE]] [--file] [FILE]\n";
	exit $_[0];
}
