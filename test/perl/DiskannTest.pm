# DiskannTest: helpers shared by the diskann TAP tests (test/t/*.pl).
#
#   use DiskannTest;
#   verify_ok($node, $index, $label);                       # no problem at all
#   verify_ok($node, $index, $label, allow_unreachable => 0.01);
#
# verify_ok runs diskann_verify(INDEX) on NODE and passes if it reports no
# problem.  With allow_unreachable => F it also passes when the only
# problems are live nodes unreachable from the entry point, at most F of the
# index's live nodes: an insert's prune can drop a node's last in-edge, and
# the next VACUUM relinks such nodes (README, "Limitations"), so a check
# made after inserts and before a VACUUM allows a few.  On failure it
# reports the number of problems of each kind and the first 20.

package DiskannTest;

use strict;
use warnings;

use Exporter 'import';
use Test::More;

our @EXPORT = qw(verify_ok);

sub verify_ok
{
	my ($node, $index, $label, %opts) = @_;
	my @problems = grep { length } split /\n/,
	  $node->safe_psql('postgres', "SELECT * FROM diskann_verify('$index')");
	my $n = scalar @problems;
	my %kinds;
	foreach my $p (@problems)
	{
		(my $kind = $p) =~ s/\d+/N/g;
		$kinds{$kind}++;
	}
	my $ok = $n == 0;
	if (!$ok && defined $opts{allow_unreachable})
	{
		my $live = $node->safe_psql('postgres',
			"SELECT live_nodes FROM diskann_stats('$index')");
		my $unreachable = 0;
		my $other = 0;
		foreach my $p (@problems)
		{
			if ($p =~ /^live node \d+ is unreachable/) { $unreachable++; }
			elsif ($p =~ /^(\d+) live nodes in all are unreachable/) { $unreachable = $1; }
			else { $other++; }
		}
		note("$label: $unreachable of $live live nodes unreachable until VACUUM");
		$ok = $other == 0 && $unreachable <= $opts{allow_unreachable} * $live;
	}
	splice(@problems, 20) if $n > 20;
	ok($ok, $label)
	  or diag("diskann_verify reports $n problems:\n"
		  . join("\n", map { "$kinds{$_} x $_" } sort keys %kinds)
		  . "\nthe first:\n" . join("\n", @problems));
	return $ok;
}

1;
