#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# make mutate: mutation testing of the pinning system and of the COW / fork /
# unshare code it relies on (docs/mutation.md).
#
# Every condition in the files and functions of @SCOPE is found by parsing the
# C source (if/while/for conditions, ?: conditions, && and ||, < <= > >=) and
# mutated in turn; each mutant is built into a private copy of the tree
# (build/mutate/w<N>/, `make VARIANT=mutate`: the debug build as a shared
# library, so a mutant costs one object and one link), and the tests of
# @TEST_DIRS run against it, each under a timeout, until one fails. A mutant is
# killed when a test fails, crashes or times out; it survives when all pass.
# Survivors are run once more under ASan+UBSan (MUTATE_ASAN=0 skips that).
#
# Results go to build/mutate/results.tsv as they come, so an interrupted run
# resumes where it stopped; killed mutants are not run again, survivors are
# (so a new test is proved by re-running). MUTATE_RESET=1 starts afresh.
#
# Environment:
#   MUTATE_FILES   space-separated files (or substrings of their paths) to mutate
#   MUTATE_OPS     operators to apply (default: all: neg drop and or bound)
#   MUTATE_IDS     only these mutant ids (from the report)
#   MUTATE_JOBS    parallel workers, each with its own tree copy (default 1)
#   MUTATE_TESTS   test directories or .c files (default: tests/gup tests/mm
#                  tests/race tests/regress tests/fault tests/drivers tests/fs
#                  tests/migrate tests/fuzz/fuzz.c)
#   MUTATE_TIMEOUT minimum per-test timeout in seconds (default 20; each test
#                  gets max(this, 10 x its unmutated run time))
#   MUTATE_ASAN    1 (default): run survivors again under ASan+UBSan; 0: do
#                  not; only: run the mutants under ASan+UBSan alone
#   MUTATE_LIST    1: list the mutants and stop
#   MUTATE_TREE    name of the worker trees (default w: build/mutate/w0 ...), so
#                  a second run (say, one mutant against a new test) can go
#                  beside a running one
#   MUTATE_NEW     1: run only the mutants never run before (not the survivors)
#   MUTATE_RESET   1: forget earlier results
#   MUTATE_REPORT  1: run nothing, write the report from the results so far
use strict;
use warnings;
use Cwd qw(getcwd);
use Digest::MD5 qw(md5_hex);
use Fcntl qw(:flock);
use File::Find;
use File::Path qw(make_path remove_tree);
use POSIX qw(strftime :sys_wait_h);
use Time::HiRes qw(time);

# What is mutated: a file, and optionally the functions in it that matter
# (names, never line numbers). The pinning system whole; of the memory manager,
# the write-protect fault with its reuse and unshare decisions, fork's copy of
# present PTEs and PMDs, and the anon-exclusive rmap transitions.
my @SCOPE = (
	['src/gup/gup.c'],
	['src/gup/gup_fast.c'],
	['src/gup/longterm.c'],
	['src/gup/internal.h'],
	['src/mm/memory.c', qw(wp_page_reuse wp_can_reuse_anon_folio wp_page_copy do_wp_page
			       handle_pte_fault __handle_mm_fault check_fault_access vma_needs_copy
			       copy_present_page copy_present_pte copy_nonpresent_pte copy_pte_range
			       copy_page_range)],
	['src/mm/fork.c'],
	['src/mm/huge_memory.c', qw(do_huge_pmd_wp_page copy_huge_pmd)],
	['src/mm/rmap.c', qw(folio_try_dup_anon_rmap_ptes folio_try_dup_anon_rmap_pmd
			     __folio_try_share_anon_rmap folio_try_share_anon_rmap_pte
			     folio_try_share_anon_rmap_pmd folio_move_anon_rmap)],
	# the pin checks of the other places that share or replace anonymous
	# pages: collapse, hugetlb's COW / unshare / fork / long-term migration,
	# and KSM's write-protect before a merge
	['src/mm/khugepaged.c', qw(collapse_scan collapse_isolate)],
	['src/mm/hugetlb.c', qw(hugetlb_try_dup_anon_rmap hugetlb_wp hugetlb_fault
				copy_pinned_hugetlb copy_hugetlb_page_range
				alloc_hugetlb_longterm_target hugetlb_migrate_folio
				hugetlb_migrate_longterm)],
	['src/mm/ksm.c', qw(write_protect_page ksm_get_folio stable_tree_search)],
	['src/mm/vmscan.c', qw(lazyfree_may_discard discard_lazyfree_folio folio_mark_lazyfree
			       try_to_unmap_one pageout_anon_folio scan_one)],
	['src/mm/madvise.c', qw(free_folio_lazily free_swap_entry free_pmd_folio free_pte_folio
				madvise_free madvise_walk_range dontneed_vma punch_vma
				madvise_populate)],
	# the rules scn-diff found against the live kernel (2026-12-07): the
	# multi-VMA mremap, mlock's populate, forced writes into huge pages
	['src/mm/mremap.c', qw(remap_move vma_multi_allowed check_mremap_target)],
	['src/mm/mmap.c', qw(mm_populate_locked mprotect_apply)],
	['src/mm/uaccess.c', qw(forced_write_ok kernel_access_ok kernel_access_ok_leaf)],
	['src/mm/mlock.c', qw(mlock_newflags)],
	['include/pinmm/memory.h', qw(folio_needs_cow_for_dma)],
	['include/pinmm/mm.h', qw(folio_maybe_dma_pinned page_maybe_dma_pinned)],
);
my @ALL_OPS = qw(neg drop and or bound);

# an absolute path: the tests run from inside the tree copies
my $top = `git rev-parse --show-toplevel 2>/dev/null` || getcwd();
chomp $top;
chdir $top or die "mutate: cannot enter $top\n";
my $out = "$top/build/mutate";
my $results = "$out/results.tsv";
my $report = "$out/report.txt";

my @ops = split ' ', ($ENV{MUTATE_OPS} || "@ALL_OPS");
my %ops = map { $_ => 1 } @ops;
for my $o (@ops) {
	die "mutate: unknown operator $o (have: @ALL_OPS)\n" unless grep { $_ eq $o } @ALL_OPS;
}
my @want_files = split ' ', ($ENV{MUTATE_FILES} // '');
my %want_ids = map { $_ => 1 } split /[\s,]+/, ($ENV{MUTATE_IDS} // '');
my $jobs = $ENV{MUTATE_JOBS} || 1;
die "mutate: MUTATE_JOBS must be 1..16\n" unless $jobs =~ /^\d+$/ && $jobs >= 1 && $jobs <= 16;
# The pinning and mm tests, and the tests of pinning's call sites (drivers,
# Direct I/O, memfd, writeback) and of migration, which live by layer; the
# seeded fuzzer last (tests that kill most run first, see try_mutant()).
my @test_dirs = split ' ', ($ENV{MUTATE_TESTS} ||
	'tests/gup tests/mm tests/race tests/regress tests/fault tests/drivers tests/fs ' .
	'tests/migrate tests/fuzz/fuzz.c');
my $min_timeout = $ENV{MUTATE_TIMEOUT} || 20;
my $asan = $ENV{MUTATE_ASAN} // 1;

# ---- C source: blank what is not code, find functions and conditions --------------

# Comments, strings, character constants and preprocessor lines become spaces
# (newlines kept), so offsets in the result are offsets in the source.
sub strip_c {
	my ($s) = @_;
	my $blank = sub { my $m = shift; $m =~ s/[^\n]/ /g; $m };
	$s =~ s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')}{$blank->($1)}gse;
	$s =~ s{^([ \t]*#(?:[^\n]*\\\n)*[^\n]*)}{$blank->($1)}gme;
	return $s;
}

sub match_close {
	my ($c, $i, $open, $close) = @_;
	my $d = 0;
	for (; $i < length $c; $i++) {
		my $ch = substr($c, $i, 1);
		$d++ if $ch eq $open;
		if ($ch eq $close) {
			return $i if --$d == 0;
		}
	}
	return -1;
}

# Top-level brace blocks that follow a function header: [name, {, }].
sub functions {
	my ($c) = @_;
	my (@f, $open);
	my ($d, $hdr) = (0, 0);
	while ($c =~ /([{};])/g) {
		my $i = $-[0];
		if ($1 eq '{') {
			$open = $i if $d++ == 0;
		} elsif ($1 eq '}') {
			next unless --$d == 0;
			my $h = substr($c, $hdr, $open - $hdr);
			push @f, [$1, $open, $i]
				if $h =~ /(\w+)\s*\((?:[^()]|\([^()]*\))*\)\s*$/s;
			$hdr = $i + 1;
		} elsif ($d == 0) {
			$hdr = $i + 1;
		}
	}
	return @f;
}

sub trim_range {
	my ($c, $s, $e) = @_;
	$s++ while $s < $e && substr($c, $s, 1) =~ /\s/;
	$e-- while $e > $s && substr($c, $e - 1, 1) =~ /\s/;
	return ($s, $e);
}

# The condition of the ?: whose '?' is at $q: back to the first operator of
# lower precedence (assignment, comma, return, an enclosing bracket).
sub ternary_cond {
	my ($c, $q, $lo) = @_;
	my $d = 0;
	my $j = $q - 1;
	for (; $j > $lo; $j--) {
		my $ch = substr($c, $j, 1);
		if ($ch eq ')' || $ch eq ']') { $d++; next; }
		if ($ch eq '(' || $ch eq '[') { last if $d == 0; $d--; next; }
		next if $d;
		last if $ch =~ /[;,{}?:]/;
		if ($ch eq '=') {
			my $p = substr($c, $j - 1, 1);
			my $n = substr($c, $j + 1, 1);
			next if $n eq '=';			# first of ==
			next if $p eq '=' || $p eq '!';		# == !=
			next if $p =~ /[<>]/ && substr($c, $j - 2, 1) ne $p;	# <= >=
			last;					# an assignment
		}
		last if $ch eq 'n' && substr($c, $j - 5, 6) eq 'return' &&
			substr($c, $j - 6, 1) !~ /\w/;
	}
	return trim_range($c, $j + 1, $q);
}

# Every condition of a function body: [kind, start, end].
sub conditions {
	my ($c, $lo, $hi) = @_;
	my @conds;
	my $body = substr($c, $lo, $hi - $lo);
	while ($body =~ /\b(if|while|for)\s*\(/g) {
		my $kw = $1;
		my $lp = $lo + $+[0] - 1;
		my $rp = match_close($c, $lp, '(', ')');
		next if $rp < 0;
		my ($s, $e) = ($lp + 1, $rp);
		if ($kw eq 'for') {
			my $in = substr($c, $s, $e - $s);
			my @semi;
			my $d = 0;
			for my $k (0 .. length($in) - 1) {
				my $ch = substr($in, $k, 1);
				$d++ if $ch eq '(';
				$d-- if $ch eq ')';
				push @semi, $k if $ch eq ';' && !$d;
			}
			next unless @semi == 2;
			($s, $e) = ($s + $semi[0] + 1, $s + $semi[1]);
		}
		($s, $e) = trim_range($c, $s, $e);
		next if $e <= $s || substr($c, $s, $e - $s) =~ /^(?:0|1|true|false)$/;
		push @conds, [$kw, $s, $e];
	}
	while ($body =~ /\?/g) {
		my $q = $lo + $-[0];
		my ($s, $e) = ternary_cond($c, $q, $lo);
		push @conds, ['?:', $s, $e] if $e > $s;
	}
	return @conds;
}

sub line_of {
	my ($src, $off) = @_;
	return 1 + (substr($src, 0, $off) =~ tr/\n//);
}

sub squash {
	my ($s) = @_;
	$s =~ s{/\*.*?\*/}{}gs;
	$s =~ s{//[^\n]*}{}g;
	$s =~ s/\s+/ /g;
	$s =~ s/^ | $//g;
	return $s;
}

# Shows the mutated condition short enough for a report line, the change in view.
sub window {
	my ($s, $at) = @_;
	return $s if length $s <= 90;
	my $from = $at - 40;
	$from = 0 if $from < 0;
	$from = length($s) - 90 if $from > length($s) - 90;
	return ($from > 0 ? '...' : '') . substr($s, $from, 90) .
		($from + 90 < length $s ? '...' : '');
}

# Mutants of one file: {id file func line op orig mut start len repl}.
sub mutants_of {
	my ($file, @funcs) = @_;
	open my $fh, '<', $file or die "mutate: $file: $!\n";
	my $src = do { local $/; <$fh> };
	close $fh;
	my $c = strip_c($src);
	my %want = map { $_ => 1 } @funcs;
	my (@m, %seen);
	for my $f (functions($c)) {
		my ($name, $lo, $hi) = @$f;
		next if @funcs && !$want{$name};
		my $fhash = md5_hex(substr($src, $lo, $hi - $lo));
		my $add = sub {
			my ($op, $kind, $cs, $ce, $at, $len, $repl) = @_;
			return unless $ops{$op};
			return if $seen{"$at/$len/$repl"}++;
			my $orig = substr($src, $cs, $ce - $cs);
			my $mut = substr($src, $cs, $at - $cs) . $repl .
				substr($src, $at + $len, $ce - $at - $len);
			my $pre = squash(substr($src, $cs, $at - $cs));
			my ($o, $n) = (squash($orig), squash($mut));
			if ($kind ne '?:') {
				$o = "$kind ($o)";
				$n = "$kind ($n)";
			} else {
				$o = "$o ?";
				$n = "$n ?";
			}
			my $pos = length($pre) + length($kind) + 2;
			push @m, {
				id => substr(md5_hex(join "\0", $file, $name, $fhash, $op,
						     $at - $lo, $len, $repl), 0, 10),
				file => $file, func => $name, line => line_of($src, $at),
				op => $op, orig => window($o, $pos), mut => window($n, $pos),
				start => $at, len => $len, repl => $repl,
			};
		};
		for my $cd (sort { $a->[1] <=> $b->[1] } conditions($c, $lo, $hi)) {
			my ($kind, $s, $e) = @$cd;
			my $text = substr($src, $s, $e - $s);
			$add->('neg', $kind, $s, $e, $s, $e - $s, "!($text)") if $kind ne 'for';
			$add->('drop', $kind, $s, $e, $s, $e - $s, '0') if $kind eq 'if' || $kind eq 'while';
			for my $k ($s .. $e - 2) {
				my $two = substr($c, $k, 2);
				$add->('and', $kind, $s, $e, $k, 2, '||') if $two eq '&&';
				$add->('or', $kind, $s, $e, $k, 2, '&&') if $two eq '||';
			}
			for my $k ($s .. $e - 1) {
				my $ch = substr($c, $k, 1);
				next unless $ch eq '<' || $ch eq '>';
				my $p = substr($c, $k - 1, 1);
				my $n = substr($c, $k + 1, 1);
				next if $ch eq '>' && $p eq '-';
				next if $p eq $ch || $n eq $ch || $p =~ /[<>]/;
				if ($n eq '=') {
					$add->('bound', $kind, $s, $e, $k, 2, $ch);
				} else {
					$add->('bound', $kind, $s, $e, $k, 1, "$ch=");
				}
			}
		}
	}
	return sort { $a->{start} <=> $b->{start} || $a->{op} cmp $b->{op} } @m;
}

# ---- the mutant trees ----------------------------------------------------------------

my @TREE = qw(Makefile include src drivers tests tools);

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

sub spew {
	my ($f, $s) = @_;
	my ($dir) = $f =~ m{^(.*)/};
	make_path($dir) if defined $dir && !-d $dir;
	open my $fh, '>', "$f.tmp" or die "mutate: $f: $!\n";
	print $fh $s;
	close $fh or die "mutate: $f: $!\n";
	rename "$f.tmp", $f or die "mutate: $f: $!\n";
}

# Make the tree in $dir a copy of the sources; only what differs is written,
# so make rebuilds only that.
sub sync_tree {
	my ($dir) = @_;
	my %src;
	find({ no_chdir => 1, wanted => sub {
		return if -d $_;
		$src{$_} = 1;
	} }, grep { -e } @TREE);
	for my $f (sort keys %src) {
		my $s = slurp($f);
		my $t = slurp("$dir/$f");
		spew("$dir/$f", $s) if !defined $t || $t ne $s;
	}
	my @stale;
	find({ no_chdir => 1, wanted => sub {
		return if -d $_;
		(my $rel = $_) =~ s{^\Q$dir\E/}{};
		push @stale, $_ if $rel =~ m{^(?:include|src|drivers|tests|tools)/} && !$src{$rel};
	} }, grep { -e } map { "$dir/$_" } @TREE[1 .. $#TREE]);
	unlink @stale;
}

sub run_make {
	my ($dir, $variant, $log, @targets) = @_;
	# ASan's tree builds with -Werror otherwise: a mutant that only warns
	# (parentheses, an unused variable) must be built there too
	my $extra = $variant eq 'asan' ? 'EXTRA_CFLAGS=-Wno-error' : '';
	my $rc = system("make -C $dir -s MUTATE=1 VARIANT=$variant $extra @targets >$log 2>&1");
	return $rc == 0;
}

sub test_bins {
	my ($prefix) = @_;
	my @t;
	for my $d (@test_dirs) {
		die "mutate: no test $d\n" unless -e $d;
		push @t, map { s/\.c$//r } -d $d ? sort glob("$d/*.c") : $d;
	}
	return map { "$prefix/$_" } @t;
}

# Each tree's own TMPDIR: a test a mutant kills (a crash, a timeout) never
# reaches the clean shutdown that removes its file directory
# (src/fs/super.c makes pinmm-files-XXXXXX there), so it is emptied after
# every mutant instead of piling up in /tmp.
sub tree_tmp {
	my ($dir) = @_;
	my $t = "$dir/tmp";
	make_path($t);
	return $t;
}

sub empty_tmp {
	my ($dir) = @_;
	my $t = "$dir/tmp";
	return unless -d $t;
	remove_tree($_) for glob("$t/* $t/.[!.]*");
}

# One test under its timeout: '' when it passed, else why it failed.
sub run_test {
	my ($dir, $bin, $secs, $log, $env) = @_;
	my $t0 = time;
	my $tmp = tree_tmp($dir);
	my $rc = system("cd $dir && TMPDIR=$tmp $env timeout -k 5 $secs ./$bin >$log 2>&1");
	my $dt = time - $t0;
	my $why = '';
	if ($rc == -1) {
		$why = 'not run';
	} elsif ($rc & 127) {
		$why = 'signal ' . ($rc & 127);
	} else {
		my $x = $rc >> 8;
		$why = $x == 124 || $x == 137 ? 'timeout' : $x > 128 ? 'signal ' . ($x - 128) :
			$x ? "exit $x" : '';
	}
	if (!$why) {
		my $o = slurp($log) // '';
		$why = 'not ok' if $o =~ /^not ok(?!.*# TODO)/m;
	}
	return ($why, $dt);
}

# ---- results ------------------------------------------------------------------------

sub load_results {
	my %r;
	open my $fh, '<', $results or return %r;
	while (<$fh>) {
		chomp;
		my ($id, $status, $by, $why, $where) = split /\t/;
		next unless defined $why;
		my ($file) = ($where // '') =~ /^([^:]+):/;
		# a kill stands: a later run with fewer tests does not undo it
		next if $r{$id} && $r{$id}{status} eq 'killed';
		$r{$id} = { status => $status, by => $by, why => $why, file => $file };
	}
	close $fh;
	return %r;
}

sub save_result {
	my ($m, $status, $by, $why) = @_;
	open my $fh, '>>', $results or die "mutate: $results: $!\n";
	flock $fh, LOCK_EX;
	printf $fh "%s\t%s\t%s\t%s\t%s:%d %s\n", $m->{id}, $status, $by, $why,
		$m->{file}, $m->{line}, $m->{op};
	close $fh;
}

# ---- main -------------------------------------------------------------------------

my @mutants;
for my $s (@SCOPE) {
	my ($file, @funcs) = @$s;
	next if @want_files && !grep { index($file, $_) >= 0 } @want_files;
	push @mutants, mutants_of($file, @funcs);
}
@mutants = grep { $want_ids{$_->{id}} } @mutants if %want_ids;
die "mutate: no mutants selected\n" unless @mutants;
my %dup;
$dup{$_->{id}}++ and die "mutate: duplicate mutant id $_->{id}\n" for @mutants;

if ($ENV{MUTATE_LIST}) {
	printf "%s %s:%d (%s) %-5s %s  ->  %s\n", $_->{id}, $_->{file}, $_->{line}, $_->{func}, $_->{op},
		$_->{orig}, $_->{mut} for @mutants;
	printf "%d mutants\n", scalar @mutants;
	exit 0;
}

# Survivors judged equivalent in docs/mutation.md (a table row whose first
# cell holds ids in backquotes, its verdict beginning "equivalent"): not run again unless
# MUTATE_RECHECK=1. An id hashes its function's text, so editing the function
# brings its mutants back to be judged anew.
my %equiv;
if (open my $fh, '<', 'docs/mutation.md') {
	while (<$fh>) {
		next unless /^\|([^|]*)\|.*\|\s*equivalent/i;
		$equiv{$_} = 1 for $1 =~ /`([0-9a-f]{10})`/g;
	}
	close $fh;
}
%equiv = () if $ENV{MUTATE_RECHECK};
# Survivors already judged to need a test nobody has written (the table
# "Survivors without a test"): run last, after the other survivors of earlier
# runs, so a run cut short spends its time on mutants not judged yet. They
# are still run: a new test may kill them.
my %known;
if (open my $fh, '<', 'docs/mutation.md') {
	my $in = 0;
	while (<$fh>) {
		$in = /^#+\s*Survivors without a test/i if /^#/;
		next unless $in && /^\|([^|]*)\|/;
		$known{$_} = 1 for $1 =~ /`([0-9a-f]{10})`/g;
	}
	close $fh;
}

make_path($out);
unlink $results if $ENV{MUTATE_RESET};
my %done = load_results();
my @todo = grep { !$equiv{$_->{id}} &&
		  (!$done{$_->{id}} || $done{$_->{id}}{status} ne 'killed') } @mutants;
# MUTATE_NEW=1: only mutants never run (carry on a long run without the survivors)
@todo = grep { !$done{$_->{id}} } @todo if $ENV{MUTATE_NEW};
# never run first, then survivors of earlier runs, then the known survivors
my $rank = sub { $known{$_[0]{id}} ? 2 : $done{$_[0]{id}} ? 1 : 0 };
@todo = map { $_->[1] } sort { $a->[0] <=> $b->[0] || $a->[2] <=> $b->[2] }
	map { [$rank->($todo[$_]), $todo[$_], $_] } 0 .. $#todo;
printf "mutate: %d mutants (%s), %d already killed, %d equivalent, %d to run, %d worker(s)\n",
	scalar @mutants, join(' ', map { my $o = $_; "$o " . grep { $_->{op} eq $o } @mutants } @ops),
	scalar(grep { $done{$_->{id}} && $done{$_->{id}}{status} eq 'killed' } @mutants),
	scalar(grep { $equiv{$_->{id}} } @mutants), scalar @todo, $jobs;

my $lib_dir = 'build/mutate';
my @tests = test_bins($lib_dir);

# Each worker: its own tree, built once, checked to pass unmutated, timed.
sub prepare_tree {
	my ($dir, $variant, $prefix) = @_;
	my ($first) = grep { -d "$_/$prefix" }
		map { "$out/$_" . '0' } ($ENV{MUTATE_TREE} || 'w'), 'w';
	if (!-d $dir && $variant eq 'mutate' && $first) {
		# start from the first worker's objects; the programs are relinked
		system('cp', '-a', $first, $dir) == 0 or die "mutate: cannot copy $first\n";
		remove_tree("$dir/$prefix/tests");
	}
	make_path($dir);
	sync_tree($dir);
	my @bins = test_bins($prefix);
	run_make($dir, $variant, "$dir/build.log", '-j2', @bins) or
		die "mutate: the unmutated tree does not build: $dir/build.log\n";
	my %base;
	for my $b (@bins) {
		my ($why, $dt);
		for my $try (1 .. 3) {
			($why, $dt) = run_test($dir, $b, 300, "$dir/base.log",
					       $variant eq 'asan' ? asan_env() : '');
			last unless $why;
		}
		die "mutate: $b fails unmutated ($why): $dir/base.log\n" if $why;
		$base{$b} = $dt;
	}
	empty_tmp($dir);
	return %base;
}

sub asan_env {
	return 'ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 ' .
		'UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1';
}

# Builds and runs one mutant in $dir; returns (status, test, why).
sub try_mutant {
	my ($dir, $variant, $m, $base, $order, $kills) = @_;
	my $orig = slurp($m->{file});
	my $mutated = substr($orig, 0, $m->{start}) . $m->{repl} .
		substr($orig, $m->{start} + $m->{len});
	spew("$dir/$m->{file}", $mutated);
	# the plain mutant is a shared library the tests load; ASan's is static: relink
	my @targets = $variant eq 'asan' ? @$order : ('build/mutate/libpinmm.so');
	my $ok = run_make($dir, $variant, "$dir/mutant-build.log", @targets);
	my @r;
	if (!$ok) {
		@r = ('stillborn', '-', 'does not compile');
	} else {
		# tests that killed most so far first: a killed mutant costs one or two tests
		my $kf = $kills->{$m->{file}} // {};
		my $ka = $kills->{''} // {};
		for my $b (sort { ($kf->{$b} // 0) <=> ($kf->{$a} // 0) ||
				  ($ka->{$b} // 0) <=> ($ka->{$a} // 0) ||
				  $base->{$a} <=> $base->{$b} } @$order) {
			my $secs = int(10 * $base->{$b}) + 1;
			$secs = $min_timeout if $secs < $min_timeout;
			my $env = $variant eq 'asan' ? asan_env() : '';
			my ($why) = run_test($dir, $b, $secs, "$dir/mutant.log", $env);
			# a failure must repeat: a test with a timing window (the
			# flusher's, say) may fail once on a loaded machine
			($why) = run_test($dir, $b, $secs, "$dir/mutant.log", $env)
				if $why && $why ne 'timeout';
			if ($why) {
				$kills->{$m->{file}}{$b}++;
				(my $t = $b) =~ s{^build/(?:mutate|asan)/}{};
				@r = ('killed', $t, $why);
				last;
			}
		}
		@r = ('survived', '-', 'all tests pass') unless @r;
	}
	spew("$dir/$m->{file}", $orig);
	empty_tmp($dir);
	return @r;
}

sub worker {
	my ($k, @mine) = @_;
	my $dir = "$out/" . ($ENV{MUTATE_TREE} || 'w') . $k;
	my %base = $asan eq 'only' ? () : prepare_tree($dir, 'mutate', $lib_dir);
	# which tests killed mutants of this file before: those go first
	my %kills;
	for my $r (values %done) {
		next unless $r->{status} eq 'killed' && $r->{file};
		$kills{$r->{file}}{"$lib_dir/$r->{by}"}++;
		$kills{''}{"$lib_dir/$r->{by}"}++;
	}
	my @order = sort keys %base;
	my ($adir, %abase);
	for my $i (0 .. $#mine) {
		my $m = $mine[$i];
		my $t0 = time;
		my ($status, $by, $why) = ('survived', '-', 'all tests pass');
		# MUTATE_ASAN=only: straight to ASan (a survivor of a plain run that
		# looks memory-unsafe: a bound moved, an array read past its end)
		($status, $by, $why) = try_mutant($dir, 'mutate', $m, \%base, \@order, \%kills)
			unless $asan eq 'only';
		$kills{''}{"$lib_dir/$by"}++ if $status eq 'killed';
		if ($status eq 'survived' && $asan) {
			# memory-unsafe mutants may pass the plain build: ASan gets a look
			if (!$adir) {
				$adir = "$out/" . ($ENV{MUTATE_TREE} || 'w') . "-asan$k";
				%abase = prepare_tree($adir, 'asan', 'build/asan');
			}
			my ($s2, $b2, $w2) = try_mutant($adir, 'asan', $m, \%abase,
							[sort keys %abase], {});
			($status, $by, $why) = ($s2, $b2, "$w2 (ASan)")
				if $s2 eq 'killed' || ($s2 eq 'stillborn' && $asan eq 'only');
		}
		save_result($m, $status, $by, $why);
		printf "[w%d %d/%d %.1fs] %-9s %s %s:%d %s  %s  ->  %s%s\n", $k, $i + 1,
			scalar @mine, time - $t0, uc $status, $m->{id}, $m->{file}, $m->{line},
			$m->{op}, $m->{orig}, $m->{mut}, $status eq 'killed' ? "  [$by: $why]" : '';
	}
	# leave the tree unmutated and built, ready for the next run
	sync_tree($dir);
}

$| = 1;
@todo = () if $ENV{MUTATE_REPORT};
if (@todo) {
	my %kid;
	for my $k (0 .. $jobs - 1) {
		my @mine = @todo[grep { $_ % $jobs == $k } 0 .. $#todo];
		next unless @mine;
		my $pid = fork;
		die "mutate: fork: $!\n" unless defined $pid;
		if (!$pid) {
			worker($k, @mine);
			exit 0;
		}
		$kid{$pid} = $k;
	}
	my $fail = 0;
	while ((my $pid = wait) > 0) {
		$fail = 1 if $?;
	}
	die "mutate: a worker failed\n" if $fail;
}

# ---- the report ---------------------------------------------------------------------

%done = load_results();
my (%per, @lines, @surv);
for my $m (@mutants) {
	my $r = $done{$m->{id}} // { status => 'not run', by => '-', why => '' };
	$r = { status => 'equivalent', by => '-', why => 'docs/mutation.md' }
		if $equiv{$m->{id}} && $r->{status} ne 'killed';
	$per{$m->{file}}{$r->{status}}++;
	my $line = sprintf "%-9s %s %s:%d (%s) %s: %s  ->  %s%s", uc $r->{status}, $m->{id},
		$m->{file}, $m->{line}, $m->{func}, $m->{op}, $m->{orig}, $m->{mut},
		$r->{status} eq 'killed' ? "  [$r->{by}: $r->{why}]" : '';
	push @lines, $line;
	push @surv, $line if $r->{status} =~ /^(?:survived|not run)$/;
}
# score: killed / mutants that compile; adjusted: leaving out the equivalent ones
my @sum;
my %t;
my $row = sub {
	my ($name, $p) = @_;
	my ($k, $s, $e, $x, $nr) = map { $p->{$_} // 0 }
		('killed', 'survived', 'equivalent', 'stillborn', 'not run');
	my $n = $k + $s + $e;
	return sprintf "%-26s %7d %7d %8d %10d %9d %7d %6.1f%% %8.1f%%", $name, $n + $x + $nr,
		$k, $s, $e, $x, $nr, $n ? 100 * $k / $n : 100, $n - $e ? 100 * $k / ($n - $e) : 100;
};
push @sum, sprintf "%-26s %7s %7s %8s %10s %9s %7s %7s %9s", 'file', 'mutants', 'killed',
	'survived', 'equivalent', 'stillborn', 'not run', 'score', 'adjusted';
for my $f (map { $_->[0] } @SCOPE) {
	next unless $per{$f};
	push @sum, $row->($f, $per{$f});
	$t{$_} += $per{$f}{$_} for keys %{$per{$f}};
}
push @sum, $row->('total', \%t);
my $head = sprintf "pinmm mutation report, %s\noperators: %s; tests: %s; per-test timeout max(%ds, 10 x unmutated)%s\n" .
	"score = killed / (killed + survived + equivalent), over the mutants run; " .
	"adjusted = killed / (killed + survived)\n\n",
	strftime('%Y-%m-%d %H:%M UTC', gmtime), "@ops", "@test_dirs", $min_timeout,
	$asan ? '; survivors re-run under ASan+UBSan' : '';
my $text = $head . join("\n", @sum) . "\n\nmutants:\n" . join("\n", @lines) . "\n" .
	(@surv ? "\nsurvivors:\n" . join("\n", @surv) . "\n" : "\nno survivors\n");
spew($report, $text);
print "\n", join("\n", @sum), "\n", (@surv ? "\nsurvivors:\n" . join("\n", @surv) . "\n" : ''),
	"report: $report\n";
