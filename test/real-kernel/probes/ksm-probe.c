/*
 * ksm-probe: runs a few KSM cases on the running kernel and prints what /sys/kernel/mm/ksm/ and
 * /proc/self/ksm_stat said after each step, one JSON object per line, so that
 * test/real-kernel/ksm-agreement.test.ts can compare the kernel with the simulated kernel case by case.
 * The cases are a sample of the selftests tools/testing/selftests/mm/ksm_tests.c and
 * ksm_functional_tests.c and of the project's reference (shared/reference/linux-mm-semantics.md §7).
 * Usage: ksm-probe [SUBSTRING] (only the cases whose name contains it).
 *
 * Output: a first line {"probe":"ksm","release":...} (with "skip":REASON when it cannot run here), then
 * per case {"name":...,"phases":[{"phase":...,"pages_shared":N,...},...]}, or {"name":...,"error":...}.
 * A phase holds the global KSM counters, the deltas of /proc/vmstat's cow_ksm, thp_split_page and
 * thp_split_page_failed since the case began, and the case process's ksm_stat.
 *
 * ksmd is driven in whole full scans: pages_to_scan is far above the pages in play, so one batch is one
 * full scan, and sleep_millisecs is long enough that the probe sees full_scans move and stops ksmd
 * (run 0) before the next batch. Each case starts from `run` 2 (every KSM page unmerged, the counters
 * and full_scans back to 0) and runs in its own forked process, which dies with the probe.
 *
 * Needs root and nothing but libc. It runs only on an idle KSM (run 0 and no rmap items: unmerging
 * would take other users' merged pages apart), serializes with other copies of itself through a lock
 * file, and saves every knob it writes (run, pages_to_scan, sleep_millisecs, max_page_sharing,
 * use_zero_pages, advisor_mode) and restores it at exit — also after a failure and on SIGINT, SIGTERM,
 * SIGHUP — with run 2 first so that max_page_sharing may change back, and run last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
#ifndef MADV_UNMERGEABLE
#define MADV_UNMERGEABLE 13
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif

#define PAGE 4096UL
#define HPAGE (2UL << 20)
#define KSM "/sys/kernel/mm/ksm/"
#define PAGES_TO_SCAN "100000"
#define SLEEP_MS "100"
#define SCAN_TIMEOUT_MS 20000
#define LOCK_PATH "/tmp/uhugepaged-ksm-probe.lock"

/* ---- knobs: read, write, save and restore ---------------------------------------------------- */

static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static long read_long(const char *path)
{
	char buf[64];

	return read_text(path, buf, sizeof(buf)) ? -1 : strtol(buf, NULL, 10);
}

static long ksm_counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM "%s", name);
	return read_long(path);
}

static int write_knob(const char *name, const char *value)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KSM "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* The knobs the probe writes, in the order they are restored (run 2 comes first, run last). */
static const char *saved_names[] = { "max_page_sharing", "use_zero_pages", "advisor_mode", "pages_to_scan", "sleep_millisecs" };
#define NSAVED (sizeof(saved_names) / sizeof(saved_names[0]))
static char saved_values[NSAVED][64];
static char saved_run[16];
static int saved;

/* The bracketed word of a choice file's text, else the text up to its newline. */
static void knob_value(const char *text, char *out, size_t size)
{
	const char *a = strchr(text, '['), *b = a ? strchr(a, ']') : NULL;
	size_t n;

	if (a && b) {
		a++;
		n = (size_t)(b - a);
	} else {
		a = text;
		n = strcspn(text, "\n");
	}
	if (n >= size)
		n = size - 1;
	memcpy(out, a, n);
	out[n] = '\0';
}

static int save_knobs(void)
{
	char path[128], text[128];
	size_t i;

	for (i = 0; i < NSAVED; i++) {
		snprintf(path, sizeof(path), KSM "%s", saved_names[i]);
		if (read_text(path, text, sizeof(text)))
			return -1;
		knob_value(text, saved_values[i], sizeof(saved_values[i]));
	}
	if (read_text(KSM "run", text, sizeof(text)))
		return -1;
	knob_value(text, saved_run, sizeof(saved_run));
	saved = 1;
	return 0;
}

static void restore_knobs(void)
{
	size_t i;

	if (!saved)
		return;
	saved = 0;
	if (write_knob("run", "2"))
		perror("ksm-probe: restore run=2");
	for (i = 0; i < NSAVED; i++) {
		/* pages_to_scan refuses writes under the scan-time advisor, which restoring advisor_mode set */
		if (!strcmp(saved_names[i], "pages_to_scan") && strcmp(saved_values[2], "none"))
			continue;
		if (write_knob(saved_names[i], saved_values[i]))
			fprintf(stderr, "ksm-probe: could not restore %s to %s\n", saved_names[i], saved_values[i]);
	}
	if (write_knob("run", saved_run))
		fprintf(stderr, "ksm-probe: could not restore run to %s\n", saved_run);
}

static void on_signal(int sig)
{
	restore_knobs();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- driving ksmd ----------------------------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Lets ksmd run `n` more full scans, then stops it (run 0) while it sleeps before the next. */
static int scan(int n)
{
	long start = ksm_counter("full_scans"), t0 = now_ms();
	struct timespec tick = { 0, 200000 };

	if (start < 0 || write_knob("run", "1"))
		return -1;
	while (ksm_counter("full_scans") < start + n) {
		if (now_ms() - t0 > SCAN_TIMEOUT_MS)
			return -1;
		nanosleep(&tick, NULL);
	}
	return write_knob("run", "0");
}

/* ---- observations ------------------------------------------------------------------------------ */

static long vmstat(const char *name)
{
	char line[256], key[128];
	long v, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", key, &v) == 2 && !strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

static long ksm_stat(const char *name)
{
	char line[256], key[128];
	long v, found = -1;
	FILE *f = fopen("/proc/self/ksm_stat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", key, &v) == 2 && !strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

static long base_cow, base_split, base_split_failed;
static char out[16384];
static size_t outlen;

#define OUT(...) (outlen += (size_t)snprintf(out + outlen, sizeof(out) - outlen, __VA_ARGS__))

static void case_begin(const char *name)
{
	base_cow = vmstat("cow_ksm");
	base_split = vmstat("thp_split_page");
	base_split_failed = vmstat("thp_split_page_failed");
	outlen = 0;
	OUT("{\"name\":\"%s\",\"phases\":[", name);
}

/* Records the counters after a step of the case. */
static void phase(const char *name)
{
	static const char *counters[] = {
		"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "ksm_zero_pages",
		"stable_node_chains", "stable_node_dups", "full_scans", "general_profit",
	};
	size_t i;

	OUT("%s{\"phase\":\"%s\"", out[outlen - 1] == '[' ? "" : ",", name);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		OUT(",\"%s\":%ld", counters[i], ksm_counter(counters[i]));
	OUT(",\"cow_ksm\":%ld,\"thp_split_page\":%ld,\"thp_split_page_failed\":%ld",
	    vmstat("cow_ksm") - base_cow, vmstat("thp_split_page") - base_split,
	    vmstat("thp_split_page_failed") - base_split_failed);
	OUT(",\"ksm_rmap_items\":%ld,\"ksm_merging_pages\":%ld,\"stat_zero_pages\":%ld}",
	    ksm_stat("ksm_rmap_items"), ksm_stat("ksm_merging_pages"), ksm_stat("ksm_zero_pages"));
}

static void case_end(void)
{
	printf("%s]}\n", out);
	fflush(stdout);
}

static void fail(const char *name, const char *what)
{
	printf("{\"name\":\"%s\",\"error\":\"%s\"}\n", name, what);
	fflush(stdout);
	_exit(0);
}

/* A private anonymous mapping of `len` bytes on a 2 MiB boundary, between unmapped guards. */
static char *map_aligned(size_t len)
{
	char *res = mmap(NULL, len + 2 * HPAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (res == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)res + HPAGE - 1) & ~(HPAGE - 1));
	if (mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
		return NULL;
	return a;
}

/* n small pages filled with `byte`, MADV_MERGEABLE. */
static char *filled(const char *name, unsigned long n, int byte)
{
	char *p = map_aligned(n * PAGE);

	if (!p || madvise(p, n * PAGE, MADV_NOHUGEPAGE))
		fail(name, "mmap");
	memset(p, byte, n * PAGE);
	if (madvise(p, n * PAGE, MADV_MERGEABLE))
		fail(name, "MADV_MERGEABLE");
	return p;
}

/* ---- the cases -------------------------------------------------------------------------------- */

/* ksm_tests -M with max_page_sharing 10: 25 identical pages make a chain of three KSM pages. */
static void case_chain(const char *name)
{
	if (write_knob("max_page_sharing", "10"))
		fail(name, "max_page_sharing");
	filled(name, 25, '*');
	if (scan(2))
		fail(name, "scan");
	phase("merged");
}

/* ksm_tests -M: 300 identical pages at the default max_page_sharing 256. */
static void case_merge(const char *name)
{
	filled(name, 300, '*');
	if (scan(2))
		fail(name, "scan");
	phase("merged");
}

/* ksm_functional_tests test_unmerge_zero_pages: use_zero_pages 1, unmerge half, write the rest. */
static void case_zero_pages(const char *name)
{
	unsigned long n = 512, i;
	char *p;

	if (write_knob("use_zero_pages", "1"))
		fail(name, "use_zero_pages");
	p = filled(name, n, 0);
	if (scan(2))
		fail(name, "scan");
	phase("merged");
	if (madvise(p, n / 2 * PAGE, MADV_UNMERGEABLE))
		fail(name, "MADV_UNMERGEABLE");
	phase("unmerged-half");
	for (i = n / 2; i < n; i++)
		*(volatile unsigned int *)(p + i * PAGE) = (unsigned int)i;
	phase("written");
	if (scan(1))
		fail(name, "scan");
	phase("rescanned");
}

/* ksm_tests -Z with use_zero_pages 0: zero-filled pages merge with each other like any others. */
static void case_zero_pages_off(const char *name)
{
	filled(name, 100, 0);
	if (scan(2))
		fail(name, "scan");
	phase("merged");
}

/* ksm_tests -U and test_unmerge: writes copy (cow_ksm); MADV_UNMERGEABLE copies at once; ksmd catches up. */
static void case_unmerge(const char *name)
{
	char *p = filled(name, 512, 0xcf);

	if (scan(2))
		fail(name, "scan");
	phase("merged");
	memset(p, '-', 1);
	memset(p + PAGE, '+', 1);
	phase("two-written");
	if (madvise(p, 512 * PAGE, MADV_UNMERGEABLE))
		fail(name, "MADV_UNMERGEABLE");
	phase("unmerged");
	if (scan(1))
		fail(name, "scan");
	phase("rescanned");
}

/* A THP of 512 identical subpages in a mergeable VMA: split when its subpages merge. */
static void case_thp(const char *name)
{
	char *p = map_aligned(HPAGE);
	char line[256];
	long kb = -1;
	FILE *f;

	if (!p || madvise(p, HPAGE, MADV_HUGEPAGE))
		fail(name, "mmap");
	memset(p, 0x5a, HPAGE);
	f = fopen("/proc/self/smaps_rollup", "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "AnonHugePages: %ld kB", &kb);
	if (f)
		fclose(f);
	if (kb < 2048)
		fail(name, "no THP for the region");
	if (madvise(p, HPAGE, MADV_MERGEABLE))
		fail(name, "MADV_MERGEABLE");
	if (scan(2))
		fail(name, "scan");
	phase("two-scans");
	if (scan(1))
		fail(name, "scan");
	phase("three-scans");
}

static const struct {
	const char *name;
	void (*run)(const char *name);
} cases[] = {
	{ "chain-25-m10", case_chain },
	{ "merge-300", case_merge },
	{ "zero-pages", case_zero_pages },
	{ "zero-pages-off", case_zero_pages_off },
	{ "unmerge", case_unmerge },
	{ "thp-split", case_thp },
};

/* Puts KSM back to a clean start: everything unmerged, counters and full_scans 0, our settings. */
static int reset(void)
{
	return write_knob("run", "2") || write_knob("max_page_sharing", "256") || write_knob("use_zero_pages", "0") ||
	       write_knob("advisor_mode", "none") || write_knob("pages_to_scan", PAGES_TO_SCAN) ||
	       write_knob("sleep_millisecs", SLEEP_MS);
}

int main(int argc, char **argv)
{
	struct utsname u;
	char text[64];
	size_t i;
	int lock;

	uname(&u);
	printf("{\"probe\":\"ksm\",\"release\":\"%s\"", u.release);
	if (geteuid() != 0) {
		printf(",\"skip\":\"not root\"}\n");
		return 0;
	}
	if (access(KSM "run", W_OK)) {
		printf(",\"skip\":\"no /sys/kernel/mm/ksm (CONFIG_KSM off)\"}\n");
		return 0;
	}
	lock = open(LOCK_PATH, O_CREAT | O_RDWR, 0600);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		printf(",\"skip\":\"cannot take %s\"}\n", LOCK_PATH);
		return 0;
	}
	if (read_text(KSM "run", text, sizeof(text)) || strtol(text, NULL, 10) != 0 ||
	    ksm_counter("pages_shared") || ksm_counter("pages_sharing") || ksm_counter("pages_unshared") ||
	    ksm_counter("pages_volatile") || ksm_counter("ksm_zero_pages")) {
		printf(",\"skip\":\"KSM is in use on this machine (run is not 0 or pages are merged)\"}\n");
		return 0;
	}
	if (save_knobs()) {
		printf(",\"skip\":\"cannot read the KSM knobs\"}\n");
		return 0;
	}
	atexit(restore_knobs);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	printf("}\n");
	fflush(stdout);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid;
		int status;

		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		if (reset()) {
			printf("{\"name\":\"%s\",\"error\":\"cannot reset KSM\"}\n", cases[i].name);
			fflush(stdout);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			case_begin(cases[i].name);
			cases[i].run(cases[i].name);
			case_end();
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("\n{\"name\":\"%s\",\"error\":\"the case process died\"}\n", cases[i].name);
			fflush(stdout);
		}
	}
	write_knob("run", "0");
	return 0;
}
