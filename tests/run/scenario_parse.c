// SPDX-License-Identifier: MIT
/*
 * Bad input for the scenario language (issue 11, "Bad input"): the parser of
 * tools/pinmm/scenario.c refuses what is wrong before any machine exists,
 * and says where:
 *  - each kind of mistake (unknown step, missing argument, undefined mapping,
 *    handle, block or label, a size that does not fit the mapping or the
 *    machine, a bad byte, a stray argument, an unterminated block) is an
 *    error naming file:line:column of the offending word;
 *  - a scenario that parses has every name defined before its use;
 *  - random and truncated texts (20000 of them) end in a parse or an error,
 *    never a crash (ASan/UBSan watch every call in check-asan).
 */
#include "../lib/machine.h"
#include "../../tools/pinmm/scenario.h"

#include <stdlib.h>
#include <string.h>

static const char good[] =
	"# a comment\n"
	"scenario cow: R/O pin after fork\n"
	"machine mem=64M\n"
	"file f disk size=8K fill=0x11\n"
	"map buf anon 16K\n"
	"map fs shared-file 8K file=f prot=r\n"
	"map t anon 2M thp\n"
	"write buf 0x11\n"
	"block check\n"
	"  expect data buf 0x11 at=4K len=4K\n"
	"end\n"
	"fork kid run=check\n"
	"pin p buf ro longterm fast\n"
	"write buf 0x22   # trailing comment\n"
	"expect device p 0x22\n"
	"in kid check\n"
	"exit kid\n"
	"unpin p\n"
	"register r buf len=8K expect=ok\n"
	"device-write r 0x5a len=4K\n"
	"mark m0 buf\n"
	"expect frame buf same m0\n"
	"unpin r\n"
	"register r2 fs expect=EFAULT\n"
	"dio-read buf 0x42 len=8K\n"
	"dio-write d buf\n"
	"force-write buf 0x44 at=8K len=4K\n"
	"get g buf\n"
	"unpin g\n"
	"odp o buf\n"
	"rdma rr buf\n"
	"counters\n"
	"mprotect buf r\n"
	"madvise buf dontneed\n"
	"populate t write\n"
	"expect thp t yes\n"
	"mremap buf moved at=12K len=4K\n"
	"write moved 0x33\n"
	"munmap buf\n"
	"expect acquired +4\n"
	"expect released 4\n"
	"expect vmpin 16K\n"
	"mlock moved onfault\n"
	"madvise moved dontneed-locked\n"
	"munlock moved len=4K\n"
	"expect vmlck 0K\n";

/* Each bad text and where its error must point ("path:line:col: " prefix, then a word). */
static const struct {
	const char *text, *where, *word;
} bad[] = {
	{ "map a anon 4K\nfrobnicate a\n", "t.scn:2:1: ", "unknown step" },
	{ "map a anon 4K pagesize=1G\n", "t.scn:1:", "pagesize= is for hugetlb" },
	{ "map a hugetlb 2M pagesize=4M\n", "t.scn:1:", "bad pagesize '4M'" },
	{ "map a hugetlb 3G pagesize=1G\n", "t.scn:1:", "a 1 GiB hugetlb mapping is 1G or 2G" },
	{ "map a hugetlb 128M\n", "t.scn:1:", "does not fit the machine" },
	{ "file f memfd-hugetlb size=2M pagesize=1G\n", "t.scn:1:", "a pagesize=1G file is 1G or 2G" },
	{ "file f memfd pagesize=1G\n", "t.scn:1:", "pagesize= is for hugetlb" },
	{ "machine gigantic=9\n", "t.scn:1:", "bad gigantic '9'" },
	{ "map a anon 4K\nwrite a\n", "t.scn:2:", "missing argument" },
	{ "map a anon 4K\nwrite b 0x11\n", "t.scn:2:7: ", "undefined mapping 'b'" },
	{ "map a anon 4K\nwrite a 0x11 at=8K\n", "t.scn:2:", "outside mapping" },
	{ "map a anon 4K\nwrite a 0x11 len=8K\n", "t.scn:2:", "does not fit mapping" },
	{ "map a anon 128M\n", "t.scn:1:12: ", "does not fit the machine" },
	{ "map a anon 16M\nmap b anon 16M\n", "t.scn:2:12: ", "do not fit the machine" },
	{ "map a anon 3000\n", "t.scn:1:12: ", "not a whole number of 4K pages" },
	{ "map a anon 4K\nwrite a 256\n", "t.scn:2:9: ", "bad byte" },
	{ "map a anon 4K\nwrite a 0x11 bogus\n", "t.scn:2:14: ", "unexpected argument 'bogus'" },
	{ "map a anon 4K\nunpin p\n", "t.scn:2:7: ", "undefined handle 'p'" },
	{ "map a anon 4K\nfork c run=nope\n", "t.scn:2:12: ", "undefined block 'nope'" },
	{ "map a anon 4K\nin c b\n", "t.scn:2:4: ", "undefined child 'c'" },
	{ "map a anon 4K\nexpect frame a same L\n", "t.scn:2:21: ", "undefined label 'L'" },
	{ "map a anon 4K\nblock b\nwrite a 1\n", "t.scn:4:1: ", "has no 'end'" },
	{ "map a anon 4K\nend\n", "t.scn:2:1: ", "end without block" },
	{ "map a shared-file 4K\n", "t.scn:1:7: ", "needs file=NAME" },
	{ "map a anon 4K prot=rwx\n", "t.scn:1:20: ", "bad protection" },
	{ "map a anon 4K\npin p a rw forever\n", "t.scn:2:12: ", "bad pin duration" },
	{ "map a anon 4K\nregister r a expect=EWHAT\n", "t.scn:2:21: ", "bad expect=" },
	{ "map a anon 4K\nexpect nothing\n", "t.scn:2:8: ", "unknown expectation" },
	{ "map a anon 4K\nmap a anon 4K\n", "t.scn:2:5: ", "already defined" },
	{ "map a anon 4K thp\n", "t.scn:1:", "multiple of 2M" },
	{ "skip\n", "t.scn:1:", "the reason to skip" },
	{ "# nothing\n", "t.scn:1:1: ", "no steps" },
	{ "map a anon 4K\nmachine mem=64M\n", "t.scn:2:1: ", "machine comes before" },
	{ "machine mem=8M\nmap a anon 4K\n", "t.scn:1:1: ", "machine does not fit" },
	{ "map a anon 4K\nblock b\nfork c\nend\n", "t.scn:3:1: ", "fork inside a block" },
	{ "map a anon 4K\nexpect acquired -1\n", "t.scn:2:17: ", "bad count" },
	{ "map a \"anon 4K\n", "t.scn:1:7: ", "unterminated quote" },
	{ "map a anon 8K\nmremap a b at=100\n", "t.scn:2:8: ", "whole 4K pages" },
	{ "map a anon 8K\nmremap a a\n", "t.scn:2:10: ", "already defined" },
	{ "map a anon 8K\nblock k\nmremap a b\nend\n", "t.scn:3:1: ", "mremap inside a block" },
	{ "map a anon 8K\nmremap a\n", "t.scn:2:", "missing argument" },
	{ "map a anon 8K\nmlock a always\n", "t.scn:2:9: ", "bad mlock mode 'always'" },
	{ "map a anon 8K\nexpect vmlck\n", "t.scn:2:", "size (VmLck" },
};

static void test_good(void)
{
	struct scenario s;
	char err[512];
	int r = scn_parse("good.scn", good, strlen(good), &s, err, sizeof(err));

	is_int(r, 0, "a scenario using every step parses (%s)", err);
	if (!r) {
		is_int(s.nr_maps, 4, "four mappings (one named by mremap)");
		ok(s.nr_maps == 4 && s.maps[3].size == 4096 && s.maps[3].kind == MK_ANON,
		   "mremap's mapping has the range's length and the source's kind");
		is_int(s.nr_blocks, 1, "one block");
		is_int(s.main_nr + s.blocks[0].nr, s.nr_steps, "the block's steps follow the main ones");
		is_str(s.title, "cow: R/O pin after fork", "the title is the rest of its line");
		is_int(s.steps[s.blocks[0].first].op, SK_EXPECT_DATA, "the block's step is there");
		is_int((int)s.steps[s.blocks[0].first].at, 4096, "with its at= range");
	}
	scn_free(&s);
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scenario s;
		char err[512];
		int r = scn_parse("t.scn", bad[i].text, strlen(bad[i].text), &s, err, sizeof(err));

		ok(r == -1 && !strncmp(err, bad[i].where, strlen(bad[i].where)) &&
		   strstr(err, bad[i].word),
		   "bad input %zu is refused at %s with \"%s\" (got: %s)", i, bad[i].where, bad[i].word,
		   r ? err : "accepted");
		scn_free(&s);
	}
}

static const char *const words[] = {
	"map", "file", "write", "populate", "mprotect", "munmap", "mremap", "madvise", "fork", "in",
	"exit", "pin", "get", "register", "rdma", "odp", "unpin", "device-write", "dio-read",
	"dio-write", "force-write", "mark", "counters", "expect", "data", "device", "frame",
	"acquired", "released", "vmpin", "vmlck", "mlock", "munlock", "onfault", "thp", "block", "end", "machine", "skip", "scenario",
	"a", "b", "m", "p", "kid", "anon", "shared-anon", "private-file", "shared-file",
	"hugetlb", "disk", "memfd", "4K", "2M", "64M", "0", "0x11", "256", "-1", "rw", "ro", "r",
	"none", "longterm", "short", "fast", "same", "new", "yes", "no", "at=4K", "len=4K",
	"at=", "len=0", "expect=EFAULT", "expect=", "file=f", "prot=r", "run=b", "size=8K",
	"fill=0x11", "mem=64M", "thp", "nothp", "#", "\"", "\"x y\"", "dontneed", "hugepage",
	"18446744073709551615", "1e9", "0x", "", "+4", "\t",
};

static uint64_t rnd = 0x5c3aa10;

/* A random text: lines of words, truncated words, random bytes. */
static size_t random_text(char *buf, size_t cap)
{
	size_t n = 0;
	int lines = (int)(test_rand(&rnd) % 12);

	for (int l = 0; l < lines && n + 80 < cap; l++) {
		int nw = (int)(test_rand(&rnd) % 7);

		for (int w = 0; w < nw && n + 40 < cap; w++) {
			uint64_t x = test_rand(&rnd);
			const char *word = words[x % (sizeof(words) / sizeof(words[0]))];
			size_t wl = strlen(word);

			switch ((x >> 20) % 8) {
			case 0:		/* a cut-off word */
				wl = wl ? (x >> 28) % wl : 0;
				break;
			case 1:		/* random bytes, NUL and high ones included */
				wl = (x >> 28) % 10;
				for (size_t i = 0; i < wl; i++)
					buf[n + i] = (char)(test_rand(&rnd) & 0xff);
				n += wl;
				buf[n++] = ' ';
				continue;
			default:
				break;
			}
			memcpy(buf + n, word, wl);
			n += wl;
			buf[n++] = ' ';
		}
		buf[n++] = '\n';
	}
	return n;
}

static void test_random(void)
{
	static const char prefix[] = "file f disk\nmap a anon 8K\nmap m shared-file 4K file=f\n"
				     "block b\nwrite a 1\nend\nfork kid\n";
	long parsed = 0, refused = 0, no_where = 0, undefined_use = 0;
	char buf[2048], err[512];

	for (int i = 0; i < 20000; i++) {
		struct scenario s;
		size_t n = 0;
		int r;

		if (i % 2) {	/* half of them start from a valid prefix */
			memcpy(buf, prefix, sizeof(prefix) - 1);
			n = sizeof(prefix) - 1;
		}
		n += random_text(buf + n, sizeof(buf) - n);
		if (i % 5 == 0 && n)	/* truncated anywhere */
			n = test_rand(&rnd) % n;
		r = scn_parse("r.scn", buf, n, &s, err, sizeof(err));
		if (r) {
			refused++;
			no_where += strncmp(err, "r.scn:", 6) != 0;
		} else {
			parsed++;
			/* every name a parsed step uses was defined */
			for (int k = 0; k < s.nr_steps; k++) {
				const struct scn_step *st = &s.steps[k];

				if ((st->op == SK_WRITE || st->op == SK_EXPECT_DATA) &&
				    (st->a < 0 || st->a >= s.nr_maps))
					undefined_use++;
				if (st->op == SK_UNPIN && (st->a < 0 || st->a >= s.nr_handles))
					undefined_use++;
				if ((st->op == SK_IN) && (st->b < 0 || st->b >= s.nr_blocks))
					undefined_use++;
			}
		}
		scn_free(&s);
	}
	ok(parsed > 100 && refused > 1000,
	   "20000 random and truncated texts end in a parse (%ld) or an error (%ld), no crash",
	   parsed, refused);
	is_int(no_where, 0, "every error names the file and line");
	is_int(undefined_use, 0, "a parsed scenario uses only names defined before");
}

int main(void)
{
	plan_no_plan();
	test_good();
	test_bad();
	test_random();
	return done_testing();
}
