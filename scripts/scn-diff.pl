#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# Differential scenarios: write random scenarios (docs/scenarios.md), run each
# on pinmm and on the live kernel (pinmm run --backend both) and report every
# step whose two observations differ. What the steps expect does not matter:
# a random "expect data m 0x5a" may fail on both sides; only a difference
# between the two is a finding. Needs root and io_uring, as the kernel
# backend does; a tool for developers, not a test (tests never use the live
# kernel).
#
#   perl scripts/scn-diff.pl [-n SCENARIOS] [-s SEED] [-k STEPS] [-o DIR] [-t] [-w]
#
# -w gives pinmm's machine a swap area and asks "expect swapped": the live
# kernel needs one too (swapon a file first), or those steps are skipped.
# Scenarios that disagree are kept in DIR (default build/scn-diff) with the
# rows that differ; the exit status is 1 if any did. The same seed writes
# the same scenarios. Avoided on purpose, because the live kernel does them
# on its own schedule: THP (anon mappings are nothp unless -t), swap
# (MADV_PAGEOUT goes to anon memory only; with no swap area it discards just
# MADV_FREE pages), KSM, collapse, and the global pin counters.
use strict;
use warnings;
use Getopt::Std;
use JSON::PP;
use File::Path qw(make_path);

my %o;
getopts('n:s:k:o:tw', \%o) or die "usage: $0 [-n N] [-s SEED] [-k STEPS] [-o DIR] [-t] [-w]\n";
my $nscn = $o{n} // 200;
my $seed = $o{s} // 1;
my $nsteps = $o{k} // 24;
my $out = $o{o} // 'build/scn-diff';
my $pinmm = $ENV{PINMM} // 'build/pinmm';
my $batch = 50;

# A small deterministic generator (xorshift32), so a seed means the same
# scenarios whatever perl's rand() is.
my $x = (($seed * 2654435761) % 4294967296) || 1;
sub rnd {
	my ($n) = @_;
	$x ^= ($x << 13) & 0xFFFFFFFF;
	$x ^= $x >> 17;
	$x ^= ($x << 5) & 0xFFFFFFFF;
	return $x % $n;
}
sub pick { return $_[rnd(scalar @_)]; }
sub byte { return sprintf('0x%02x', pick(0x11, 0x22, 0x5a, 0x00, 0x7f, rnd(256))); }

# -t adds THP-backed anon mappings (the live kernel's THP allocation can fail
# when memory is fragmented: an occasional difference there is noise)
my @kinds = (qw(anon anon anon shared-anon private-file shared-file hugetlb), $o{t} ? qw(thp thp) : ());

my @advice = qw(dontneed dontneed-locked free willneed populate-read populate-write
	dontfork dofork guard-install guard-remove normal random sequential remove cold pageout);

# Advice for a mapping of $kind: MADV_PAGEOUT of page-cache and shmem pages
# is not modelled (pinmm leaves them; Linux may unmap them), so only anon
# mappings get it.
sub advice {
	my ($kind) = @_;
	my $adv = pick(@advice);

	return $adv eq 'pageout' && $kind ne 'anon' ? 'cold' : $adv;
}

# One scenario's text.
sub scenario {
	my ($id) = @_;
	my (@maps, @lines, %pinned, @handles, @labels, @kids, @blocks);
	my ($nfile, $nkid, $ndio, $nmoved) = (0, 0, 0, 0);

	push @lines, "scenario differential $seed/$id";
	push @lines, 'machine swap=64M' if $o{w};
	for my $k (0 .. rnd(3)) {
		my $pages = 1 + rnd(8);
		my $kind = pick(@kinds);
		my $prot = pick(('', '', '', ' prot=r', ' prot=none'));
		my $name = "m$k";
		my $line;

		if ($kind =~ /file/) {
			my $f = 'f' . $nfile++;
			my $fk = pick(qw(disk disk memfd secret));
			my $fpages = $pages + rnd(2);
			my $fill = byte();

			# memfd_secret: zeroes at first, shared mappings only
			($fill, $kind) = ('0x00', 'shared-file') if $fk eq 'secret';
			push @lines, sprintf('file %s %s size=%dK fill=%s', $f, $fk, 4 * $fpages, $fill);
			$line = "map $name $kind ${\($pages * 4)}K file=$f$prot";
		} elsif ($kind eq 'hugetlb') {
			# one 2 MiB page: ranges inside it are 4 KiB pages like any other's
			$pages = 512;
			$line = "map $name hugetlb 2M$prot";
		} elsif ($kind eq 'thp') {
			# 2 MiB of anon memory that asks for a THP (-t)
			($pages, $kind) = (512, 'anon');
			$line = "map $name anon 2M thp$prot";
		} else {
			$line = "map $name $kind ${\($pages * 4)}K$prot" . ($kind eq 'anon' ? ' nothp' : '');
		}
		push @lines, $line;
		push @maps, [$name, $pages, $kind];
	}
	# two blocks a child may run: a few CPU steps of its own
	for my $b (0 .. 1) {
		my @body;
		for (0 .. rnd(3)) {
			my ($m, $p, $kind) = @{ pick(@maps) };
			push @body, '  ' . pick("write $m " . byte(), "expect data $m " . byte(),
						"madvise $m " . advice($kind)) . range($p);
		}
		push @lines, "block b$b", @body, 'end';
		push @blocks, "b$b";
	}
	for (1 .. $nsteps) {
		my ($m, $p, $kind) = @{ pick(@maps) };
		my $r = rnd(100);
		my $rg = range($p);

		# A frame freed may come back at the next fault: pinmm's allocator
		# hands it out again at once, Linux's not always (batched frees,
		# another CPU). "expect frame" after a step that frees is noise.
		@labels = () if @lines && $lines[-1] =~ /dontneed|free|remove|guard-install|^munmap|^exit|^unpin|^in /;

		if ($r < 18) {
			push @lines, "write $m " . byte() . $rg;
		} elsif ($r < 32) {
			push @lines, "expect data $m " . byte() . $rg;
		} elsif ($r < 46) {
			push @lines, "madvise $m " . advice($kind) . $rg;
		} elsif ($r < 51) {
			push @lines, "mprotect $m " . pick(qw(rw r none)) . $rg;
		} elsif ($r < 56) {
			push @lines, "mlock $m" . pick('', ' onfault') . $rg;
		} elsif ($r < 58) {
			push @lines, "munlock $m" . $rg;
		} elsif ($r < 66) {
			my $h = 'h' . rnd(3);
			if ($pinned{$h}) {
				push @lines, "unpin $h";
				delete $pinned{$h};
			} else {
				# what the live kernel can hold: io_uring's FOLL_WRITE|FOLL_LONGTERM fast pin
				push @lines, pick("pin $h $m rw longterm fast", "register $h $m", "rdma $h $m",
						  "get $h $m") . $rg;
				# vmsplice's references are read-only: no device writes through them
				$pinned{$h} = $lines[-1] =~ /^get/ ? 'get' : 'pin';
			}
		} elsif ($r < 72 && %pinned) {
			my $h = pick(sort keys %pinned);
			push @lines, $pinned{$h} eq 'get' ? "expect device $h " . byte() :
				     pick("device-write $h " . byte(), "expect device $h " . byte());
		} elsif ($r < 76) {
			my $l = 'L' . rnd(2);
			my $at = rnd($p) * 4;
			if (grep { $_ eq "$l/$m/$at" } @labels) {
				push @lines, "expect frame $m " . pick('same', 'new') . " $l at=${at}K";
			} else {
				push @lines, "mark $l $m at=${at}K";
				@labels = grep { !/^$l\// } @labels;
				push @labels, "$l/$m/$at";
			}
		} elsif ($r < 80) {
			if (@kids && rnd(3)) {
				my $c = pick(@kids);
				push @lines, pick("in $c " . pick(@blocks), "exit $c");
				@kids = grep { $_ ne $c } @kids if $lines[-1] =~ /^exit/;
			} else {
				my $c = 'c' . $nkid++;
				push @lines, "fork $c" . pick('', ' run=' . pick(@blocks));
				push @kids, $c;
			}
		} elsif ($r < 84) {
			push @lines, "force-write $m " . byte() . $rg;
		} elsif ($r < 86) {
			# O_DIRECT: a read into the mapping, a write from it (a short-term pin each)
			push @lines, pick("dio-read $m " . byte(), "dio-write d$ndio $m") . $rg;
			$ndio++ if $lines[-1] =~ /^dio-write/;
		} elsif ($r < 87) {
			push @lines, pick('expect vmlck', 'expect vmpin') . ' ' . (4 * rnd(12)) . 'K';
		} elsif ($r < 88 && $o{w} && rnd(2)) {
			push @lines, "expect swapped $m " . pick('yes', 'no') . $rg;
		} elsif ($r < 88 && $ndio) {
			push @lines, 'expect device d' . rnd($ndio) . ' ' . byte();
		} elsif ($r < 89) {
			push @lines, "munmap $m$rg";
		} elsif ($r < 90 && $nmoved < 2 && (grep { $_->[0] eq $m && $_->[2] ne 'hugetlb' } @maps)) {
			# the moved part becomes a mapping of its own, the steps may use it
			my $at = rnd($p);
			my $len = 1 + rnd($p - $at);
			my $new = 'mv' . $nmoved++;
			push @lines, "mremap $m $new at=${\($at * 4)}K len=${\($len * 4)}K";
			push @maps, [$new, $len, 'moved'];
		} else {
			push @lines, "expect data $m " . byte() . $rg;
		}
	}
	push @lines, "unpin $_" for sort keys %pinned;
	push @lines, "exit $_" for @kids;
	return join("\n", @lines) . "\n";
}

# " at=..K len=..K" inside a mapping of $p pages, or nothing (the whole of it).
sub range {
	my ($p) = @_;
	return '' if rnd(3) == 0;
	my $at = rnd($p);
	my $len = 1 + rnd($p - $at);
	return " at=${\($at * 4)}K len=${\($len * 4)}K";
}

make_path("$out/tmp");
my ($ndis, $nrun) = (0, 0);
for (my $b0 = 0; $b0 < $nscn; $b0 += $batch) {
	my @files;
	for my $i ($b0 .. ($b0 + $batch - 1 < $nscn ? $b0 + $batch - 1 : $nscn - 1)) {
		my $f = "$out/tmp/s$seed-$i.scn";
		open(my $fh, '>', $f) or die "$f: $!\n";
		print $fh scenario($i);
		close($fh);
		push @files, $f;
	}
	my $json = `$pinmm run --backend both --json @files 2>/dev/null`;
	my $res = eval { decode_json($json) };
	die "pinmm run --json gave no result for batch at $b0\n" unless $res;
	for my $s (@{ $res->{scenarios} }) {
		$nrun++;
		next if $s->{agree} // 1;
		$ndis++;
		(my $keep = $s->{file}) =~ s{.*/}{$out/};
		rename($s->{file}, $keep);
		print "# $keep disagrees:\n";
		for my $st (@{ $s->{steps} }) {
			next if !defined $st->{agree} || $st->{agree};
			printf("#   L%d %-40s pinmm %-12s kernel %s\n", $st->{line}, $st->{step},
			       $st->{pinmm}{obs} // '?', $st->{kernel}{obs} // '?');
		}
	}
	unlink @files;
}
print "# $nrun scenarios (seed $seed), $ndis disagree\n";
exit($ndis ? 1 : 0);
