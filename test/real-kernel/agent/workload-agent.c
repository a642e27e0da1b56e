/*
 * workload-agent: a real process that tests drive with a line script on stdin, so that one script can
 * run on the running kernel and, through its TypeScript twin test/support/sim-agent.ts, on the simulated
 * kernel. Each command line gets exactly one JSON line on stdout; the first line, printed at start, is
 * {"cmd":"ready","pid":N,"release":"..."}. The agent ends at end of input; what it forked dies with it.
 *
 * Numbers are decimal or 0x-hex, with an optional K or M suffix, and may be summed with '+' ("2M+4K").
 * NAME is a region the script mapped; OFF and LEN are offsets within it.
 *
 *   map NAME SIZE [aligned]           private anonymous read-write memory between 2 MiB PROT_NONE guards
 *                                     (so it merges with no other VMA); aligned: on a 2 MiB boundary,
 *                                     else 4 KiB past one (never a whole 2 MiB region by accident)
 *   map_at NAME OFF LEN               maps LEN bytes again at NAME+OFF, where nothing is mapped
 *                                     (MAP_FIXED_NOREPLACE: EEXIST over a mapping)
 *   munmap|mlock|pin NAME OFF LEN     pin: vmsplice each page into a pipe kept open (a page reference
 *                                     beyond its mappings, as a long-term pin is)
 *   mprotect NAME OFF LEN r|rw|none
 *   madvise NAME OFF LEN ADVICE       MADV_* by name; MADV_INVALID passes -1
 *   write NAME OFF LEN [BYTE]         a write to every page: the whole page filled with BYTE, or without
 *                                     BYTE a value no other page of the machine holds (pid and a counter)
 *   read NAME OFF LEN                 a read of every page
 *   fork                              a child that holds the address space and waits ({"pid":N})
 *   reap                              kills and reaps that child
 *   prctl PR_SET_THP_DISABLE ARG
 *   pidfd_open FDNAME PID             keeps the descriptor under FDNAME
 *   process_madvise PIDFD ADVICE FLAGS ADDR:LEN[*COUNT]...
 *                                     PIDFD is an FDNAME or a number (-1, -10000, -10001); a vector
 *                                     element repeated COUNT times
 *   report [child]                    per region: AnonHugePages of the VMAs over it (/proc/PID/smaps) and
 *                                     per 2 MiB whether one huge page backs it (pagemap + kpageflags);
 *                                     /proc/PID/ksm_stat, /proc/PID/ksm_merging_pages, the KSM counters
 *   ksm KNOB VALUE                    writes /sys/kernel/mm/ksm/KNOB
 *   ksm_scan N                        lets ksmd make N more full scans, then stops it (run 0)
 *   zero_page                         whether a read fault maps the zero page here (true/false/null)
 *   capset CAP...                     keeps only these capabilities (CAP_SYS_NICE, CAP_SYS_PTRACE,
 *                                     CAP_SYS_ADMIN), effective and permitted
 *   lock PATH                         takes an exclusive flock on PATH, held until the agent ends
 *
 * Every reply carries "cmd", "ret" (the call's result, -1 on failure) and "errno" (its name or null),
 * and "vmstat": the /proc/vmstat counters in `tracked` that moved during the command, by how much.
 * Addresses, pids and descriptors come in fields of their own, since they differ between kernels.
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif

#define PAGE 4096UL
#define HPAGE (2UL << 20)
#define NR_PTES 512
#define MAX_REGIONS 16
#define MAX_FDS 8
#define MAX_IOV 1100
#define KSM "/sys/kernel/mm/ksm/"
#define KSM_SCAN_TIMEOUT_MS 20000

struct region {
	char name[32];
	char *addr;
	size_t len;
};

static struct region regions[MAX_REGIONS];
static int nregions;
static struct { char name[32]; int fd; } fds[MAX_FDS];
static int nfds;
static pid_t child = -1;
static uint32_t written; /* pages written with a unique value so far */

/* ---- output ------------------------------------------------------------------------------------- */

static char out[65536];
static size_t outlen;

#define OUT(...) (outlen += (size_t)snprintf(out + outlen, sizeof(out) - outlen, __VA_ARGS__))

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case EBUSY: return "EBUSY";
	case ESRCH: return "ESRCH";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case ENOENT: return "ENOENT";
	case ENOSYS: return "ENOSYS";
	case EEXIST: return "EEXIST";
	case ETIMEDOUT: return "ETIMEDOUT";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

/* The counters a process can see a command move (the same list as the twin's). */
static const char *tracked[] = {
	"thp_fault_alloc", "thp_collapse_alloc", "thp_collapse_alloc_failed", "thp_split_pmd",
	"thp_split_page", "thp_split_page_failed", "cow_ksm",
};
#define NTRACKED (sizeof(tracked) / sizeof(tracked[0]))

static void read_vmstat(long *v)
{
	char line[256], key[128];
	long n;
	size_t i;
	FILE *f = fopen("/proc/vmstat", "r");

	for (i = 0; i < NTRACKED; i++)
		v[i] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", key, &n) == 2)
			for (i = 0; i < NTRACKED; i++)
				if (!strcmp(key, tracked[i]))
					v[i] = n;
	fclose(f);
}

/* ---- parsing ------------------------------------------------------------------------------------ */

/* "2M+4K", "0x7f00", "512": a sum of numbers with optional K/M suffixes; -1 (as unsigned) when bad. */
static long long parse_num(const char *s, int *ok)
{
	long long sum = 0;
	char *end;

	*ok = s != NULL && *s != '\0';
	while (*ok && *s) {
		long long v = strtoll(s, &end, 0);

		if (end == s) {
			*ok = 0;
			break;
		}
		if (*end == 'K')
			v <<= 10, end++;
		else if (*end == 'M')
			v <<= 20, end++;
		sum += v;
		if (*end == '+')
			end++;
		else if (*end != '\0')
			*ok = 0;
		s = end;
	}
	return sum;
}

static struct region *find_region(const char *name)
{
	int i;

	for (i = 0; name && i < nregions; i++)
		if (!strcmp(regions[i].name, name))
			return &regions[i];
	return NULL;
}

static int advice_of(const char *name, int *advice)
{
	static const struct { const char *name; int value; } names[] = {
		{ "MADV_NORMAL", MADV_NORMAL }, { "MADV_DONTNEED", MADV_DONTNEED }, { "MADV_WILLNEED", MADV_WILLNEED },
		{ "MADV_FREE", 8 }, { "MADV_MERGEABLE", 12 }, { "MADV_UNMERGEABLE", 13 }, { "MADV_HUGEPAGE", 14 },
		{ "MADV_NOHUGEPAGE", 15 }, { "MADV_COLD", 20 }, { "MADV_PAGEOUT", 21 }, { "MADV_COLLAPSE", MADV_COLLAPSE },
		{ "MADV_INVALID", -1 },
	};
	size_t i;

	for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].name, name)) {
			*advice = names[i].value;
			return 0;
		}
	return -1;
}

/* ---- commands ----------------------------------------------------------------------------------- */

/* What a command did: its return value and errno, or a usage error (a mistake in the script). */
struct reply {
	long ret;
	int err;
	const char *usage;
};

static void call_result(struct reply *r, long ret)
{
	r->ret = ret;
	r->err = ret < 0 ? errno : 0;
}

static void cmd_map(struct reply *r, char **arg, int n)
{
	struct region *g;
	int ok;
	size_t len = (size_t)parse_num(n > 2 ? arg[2] : NULL, &ok);
	int aligned = n > 3 && !strcmp(arg[3], "aligned");
	char *res, *a;

	if (!ok || n < 3 || nregions == MAX_REGIONS || find_region(arg[1]) || strlen(arg[1]) >= sizeof(g->name)) {
		r->usage = "map NAME SIZE [aligned]";
		return;
	}
	/* a 2 MiB guard, then the mapping at a 2 MiB boundary (plus 4 KiB unless aligned), then a guard */
	res = mmap(NULL, len + 5 * HPAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		call_result(r, -1);
		return;
	}
	a = (char *)(((uintptr_t)res + 2 * HPAGE - 1) & ~(HPAGE - 1)) + (aligned ? 0 : PAGE);
	if (mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a) {
		call_result(r, -1);
		return;
	}
	g = &regions[nregions++];
	strcpy(g->name, arg[1]);
	g->addr = a;
	g->len = len;
	r->ret = 0;
	OUT(",\"addr\":\"0x%lx\"", (unsigned long)a);
}

/* NAME OFF LEN → an address and length; 0 when the script is wrong. */
static int range_of(char **arg, int n, char **addr, size_t *len)
{
	struct region *g = find_region(n > 1 ? arg[1] : NULL);
	int ok1, ok2;
	long long off = parse_num(n > 2 ? arg[2] : NULL, &ok1), l = parse_num(n > 3 ? arg[3] : NULL, &ok2);

	if (!g || !ok1 || !ok2)
		return 0;
	*addr = g->addr + off;
	*len = (size_t)l;
	return 1;
}

static int prot_of(const char *s)
{
	if (!s)
		return -1;
	return !strcmp(s, "rw") ? PROT_READ | PROT_WRITE : !strcmp(s, "r") ? PROT_READ : !strcmp(s, "none") ? PROT_NONE : -1;
}

static void cmd_range(struct reply *r, char **arg, int n)
{
	const char *cmd = arg[0];
	char *addr;
	size_t len;
	int advice, prot;

	if (!range_of(arg, n, &addr, &len)) {
		r->usage = "CMD NAME OFF LEN ...";
		return;
	}
	errno = 0;
	if (!strcmp(cmd, "map_at")) {
		void *got = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		/* kernels before 4.17 take the flag as a hint: a different address is a refusal too */
		if (got != MAP_FAILED && got != addr) {
			munmap(got, len);
			got = MAP_FAILED;
			errno = EEXIST;
		}
		call_result(r, got == MAP_FAILED ? -1 : 0);
	} else if (!strcmp(cmd, "munmap")) {
		call_result(r, munmap(addr, len));
	} else if (!strcmp(cmd, "mlock")) {
		call_result(r, mlock(addr, len));
	} else if (!strcmp(cmd, "mprotect")) {
		if ((prot = prot_of(n > 4 ? arg[4] : NULL)) < 0)
			r->usage = "mprotect NAME OFF LEN r|rw|none";
		else
			call_result(r, mprotect(addr, len, prot));
	} else if (!strcmp(cmd, "madvise")) {
		if (n < 5 || advice_of(arg[4], &advice))
			r->usage = "madvise NAME OFF LEN ADVICE";
		else
			call_result(r, madvise(addr, len, advice));
	} else if (!strcmp(cmd, "write")) {
		int ok = 1;
		long long byte = n > 4 ? parse_num(arg[4], &ok) : -1;
		size_t i;

		if (!ok || byte > 255) {
			r->usage = "write NAME OFF LEN [BYTE]";
			return;
		}
		for (i = 0; i < len; i += PAGE) {
			if (byte >= 0) {
				memset(addr + i, (int)byte, PAGE);
			} else {
				((volatile uint32_t *)(addr + i))[0] = (uint32_t)getpid();
				((volatile uint32_t *)(addr + i))[1] = ++written;
			}
		}
		r->ret = 0;
	} else if (!strcmp(cmd, "read")) {
		size_t i;

		for (i = 0; i < len; i += PAGE)
			(void)*(volatile uint32_t *)(addr + i);
		r->ret = 0;
	} else if (!strcmp(cmd, "pin")) {
		/* pages referenced by a pipe stay referenced while the pipe is open: never closed */
		int p[2];
		size_t i;

		if (pipe(p)) {
			call_result(r, -1);
			return;
		}
		fcntl(p[1], F_SETPIPE_SZ, (int)(len > PAGE ? len : PAGE));
		for (i = 0; i < len; i += PAGE) {
			struct iovec v = { addr + i, PAGE };

			/* non-blocking: a pin larger than the pipe fails instead of hanging the agent */
			if (vmsplice(p[1], &v, 1, SPLICE_F_NONBLOCK) != (ssize_t)PAGE) {
				call_result(r, -1);
				return;
			}
		}
		r->ret = 0;
	}
}

static int pidfd_named(const char *s, int *fd)
{
	int i, ok;

	for (i = 0; i < nfds; i++)
		if (!strcmp(fds[i].name, s)) {
			*fd = fds[i].fd;
			return 0;
		}
	*fd = (int)parse_num(s, &ok);
	return ok ? 0 : -1;
}

static void cmd_pidfd_open(struct reply *r, char **arg, int n)
{
	int ok;
	pid_t pid = (pid_t)parse_num(n > 2 ? arg[2] : NULL, &ok);
	long fd;

	if (!ok || nfds == MAX_FDS || strlen(arg[1]) >= sizeof(fds[0].name)) {
		r->usage = "pidfd_open FDNAME PID";
		return;
	}
	errno = 0;
	fd = syscall(SYS_pidfd_open, pid, 0);
	call_result(r, fd < 0 ? -1 : 0);
	if (fd >= 0) {
		strcpy(fds[nfds].name, arg[1]);
		fds[nfds++].fd = (int)fd;
		OUT(",\"fd\":%ld", fd);
	}
}

static struct iovec iov[MAX_IOV];

static void cmd_process_madvise(struct reply *r, char **arg, int n)
{
	int fd, advice, ok, i;
	unsigned long flags = (unsigned long)parse_num(n > 3 ? arg[3] : NULL, &ok);
	size_t vlen = 0;

	if (n < 4 || pidfd_named(arg[1], &fd) || advice_of(arg[2], &advice) || !ok) {
		r->usage = "process_madvise PIDFD ADVICE FLAGS ADDR:LEN[*COUNT]...";
		return;
	}
	for (i = 4; i < n; i++) {
		char *colon = strchr(arg[i], ':'), *star;
		long long addr, len, count = 1;
		int ok1, ok2, ok3 = 1;

		if (!colon) {
			r->usage = "an iovec is ADDR:LEN[*COUNT]";
			return;
		}
		*colon = '\0';
		star = strchr(colon + 1, '*');
		if (star) {
			*star = '\0';
			count = parse_num(star + 1, &ok3);
		}
		addr = parse_num(arg[i], &ok1);
		len = parse_num(colon + 1, &ok2);
		if (!ok1 || !ok2 || !ok3 || vlen + (size_t)count > MAX_IOV) {
			r->usage = "an iovec is ADDR:LEN[*COUNT]";
			return;
		}
		while (count-- > 0) {
			iov[vlen].iov_base = (void *)(uintptr_t)addr;
			iov[vlen++].iov_len = (size_t)len;
		}
	}
	errno = 0;
	call_result(r, syscall(SYS_process_madvise, fd, iov, vlen, advice, flags));
}

static void cmd_fork(struct reply *r)
{
	pid_t pid;

	if (child > 0) {
		r->usage = "one child at a time";
		return;
	}
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			pause();
	}
	call_result(r, pid < 0 ? -1 : 0);
	if (pid > 0) {
		child = pid;
		OUT(",\"pid\":%d", (int)pid);
	}
}

static void cmd_reap(struct reply *r)
{
	if (child <= 0) {
		r->usage = "no child to reap";
		return;
	}
	kill(child, SIGKILL);
	call_result(r, waitpid(child, NULL, 0) == child ? 0 : -1);
	child = -1;
}

/* ---- report ------------------------------------------------------------------------------------- */

/* Whether the 2 MiB at addr in pid's address space is backed by one huge page (PMD- or PTE-mapped). */
static int region_huge(pid_t pid, char *addr)
{
	const uint64_t pfn_mask = (1ULL << 55) - 1;
	static uint64_t ent[NR_PTES];
	uint64_t flags = 0, pfn0;
	char path[64];
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, ent, sizeof(ent), (off_t)((uintptr_t)addr / PAGE * 8)) != (ssize_t)sizeof(ent)) {
		close(fd);
		return -1;
	}
	close(fd);
	pfn0 = ent[0] & pfn_mask;
	if (!(ent[0] >> 63) || pfn0 == 0 || pfn0 % NR_PTES)
		return 0;
	for (i = 0; i < NR_PTES; i++)
		if (!(ent[i] >> 63) || (ent[i] & pfn_mask) != pfn0 + i)
			return 0;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &flags, 8, (off_t)(pfn0 * 8)) != 8)
		flags = 0;
	close(fd);
	/* KPF_THP (22) and KPF_COMPOUND_HEAD (15) */
	return ((flags >> 22) & 1) && ((flags >> 15) & 1);
}

/* AnonHugePages summed over pid's VMAs that overlap [lo, hi). */
static long anon_huge_kb(pid_t pid, char *lo, char *hi)
{
	unsigned long start, end;
	char path[64], line[512];
	long kb, sum = 0;
	int in = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start < (uintptr_t)hi && end > (uintptr_t)lo;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			sum += kb;
	}
	fclose(f);
	return sum;
}

/* The "key value" lines of a file as JSON members, or null when it cannot be read. */
static void keyed_file(const char *path)
{
	char line[256], key[128];
	long v;
	int first = 1;
	FILE *f = fopen(path, "r");

	if (!f) {
		OUT("null");
		return;
	}
	OUT("{");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127[^: ]%*[: ]%ld", key, &v) == 2) {
			OUT("%s\"%s\":%ld", first ? "" : ",", key, v);
			first = 0;
		}
	fclose(f);
	OUT("}");
}

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static const char *ksm_counters[] = {
	"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "ksm_zero_pages",
	"stable_node_chains", "stable_node_dups", "full_scans", "general_profit",
};

static void ksm_globals(void)
{
	char path[128];
	size_t i;

	OUT(",\"ksm\":{");
	for (i = 0; i < sizeof(ksm_counters) / sizeof(ksm_counters[0]); i++) {
		snprintf(path, sizeof(path), KSM "%s", ksm_counters[i]);
		OUT("%s\"%s\":%ld", i ? "," : "", ksm_counters[i], read_long(path));
	}
	OUT("}");
}

static void cmd_report(struct reply *r, char **arg, int n)
{
	pid_t pid = getpid();
	char path[64];
	int i;
	size_t j;

	if (n > 1) {
		if (strcmp(arg[1], "child") || child <= 0) {
			r->usage = "report [child]";
			return;
		}
		pid = child;
	}
	OUT(",\"regions\":{");
	for (i = 0; i < nregions; i++) {
		struct region *g = &regions[i];

		OUT("%s\"%s\":{\"anonHugeKb\":%ld,\"huge\":[", i ? "," : "", g->name, anon_huge_kb(pid, g->addr, g->addr + g->len));
		for (j = 0; j + HPAGE <= g->len; j += HPAGE)
			OUT("%s%d", j ? "," : "", region_huge(pid, g->addr + j));
		OUT("]}");
	}
	OUT("},\"ksm_stat\":");
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	keyed_file(path);
	snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", (int)pid);
	OUT(",\"ksm_merging_pages\":%ld", read_long(path));
	ksm_globals();
	r->ret = 0;
}

/* ---- KSM ---------------------------------------------------------------------------------------- */

static int write_ksm(const char *name, const char *value)
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

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/*
 * ksmd in whole full scans: the script sets pages_to_scan far above the pages in play, so one batch is
 * one full scan, and sleep_millisecs long enough that the agent sees full_scans move and stops ksmd
 * before its next batch.
 */
static void cmd_ksm_scan(struct reply *r, char **arg, int n)
{
	int ok;
	long want = (long)parse_num(n > 1 ? arg[1] : NULL, &ok), start = read_long(KSM "full_scans"), t0 = now_ms();
	struct timespec tick = { 0, 200000 };

	if (!ok) {
		r->usage = "ksm_scan N";
		return;
	}
	errno = 0;
	if (start < 0 || write_ksm("run", "1")) {
		call_result(r, -1);
		return;
	}
	while (read_long(KSM "full_scans") < start + want) {
		if (now_ms() - t0 > KSM_SCAN_TIMEOUT_MS) {
			write_ksm("run", "0");
			r->ret = -1;
			r->err = ETIMEDOUT;
			return;
		}
		nanosleep(&tick, NULL);
	}
	call_result(r, write_ksm("run", "0"));
}

static void cmd_ksm(struct reply *r, char **arg, int n)
{
	if (n < 3 || strchr(arg[1], '/')) {
		r->usage = "ksm KNOB VALUE";
		return;
	}
	errno = 0;
	call_result(r, write_ksm(arg[1], arg[2]));
}

/* ---- host facts and the lock ------------------------------------------------------------------- */

/*
 * Whether a read fault of private anonymous memory maps the zero page (kpageflags KPF_ZERO_PAGE, bit
 * 24). A PVM guest booted with pvm_no_zero_page=1 allocates a zeroed page instead, which gives the VMA
 * an anon_vma: the simulated kernel is booted alike (noZeroPage).
 */
static void cmd_zero_page(struct reply *r)
{
	const uint64_t pfn_mask = (1ULL << 55) - 1;
	uint64_t ent = 0, flags = 0;
	int fd, ok;
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	r->ret = 0;
	if (p == MAP_FAILED) {
		OUT(",\"zero_page\":null");
		return;
	}
	(void)*(volatile uint32_t *)p;
	fd = open("/proc/self/pagemap", O_RDONLY);
	ok = fd >= 0 && pread(fd, &ent, 8, (off_t)((uintptr_t)p / PAGE * 8)) == 8;
	if (fd >= 0)
		close(fd);
	munmap(p, PAGE);
	ok = ok && (ent >> 63) && (ent & pfn_mask);
	fd = ok ? open("/proc/kpageflags", O_RDONLY) : -1;
	ok = fd >= 0 && pread(fd, &flags, 8, (off_t)((ent & pfn_mask) * 8)) == 8;
	if (fd >= 0)
		close(fd);
	OUT(",\"zero_page\":%s", !ok ? "null" : (flags >> 24) & 1 ? "true" : "false");
}

/* capset(2) raw (no libcap): the named capabilities only, effective and permitted. */
static void cmd_capset(struct reply *r, char **arg, int n)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct { uint32_t effective, permitted, inheritable; } data[2];
	int i;

	memset(data, 0, sizeof(data));
	for (i = 1; i < n; i++) {
		int bit = !strcmp(arg[i], "CAP_SYS_NICE") ? 23 : !strcmp(arg[i], "CAP_SYS_PTRACE") ? 19 :
			  !strcmp(arg[i], "CAP_SYS_ADMIN") ? 21 : -1;

		if (bit < 0) {
			r->usage = "capset CAP_SYS_NICE|CAP_SYS_PTRACE|CAP_SYS_ADMIN...";
			return;
		}
		data[0].effective |= 1u << bit;
		data[0].permitted |= 1u << bit;
	}
	errno = 0;
	call_result(r, syscall(SYS_capset, &hdr, data));
}

static void cmd_lock(struct reply *r, char **arg, int n)
{
	int fd;

	if (n < 2) {
		r->usage = "lock PATH";
		return;
	}
	errno = 0;
	fd = open(arg[1], O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	call_result(r, fd < 0 ? -1 : flock(fd, LOCK_EX));
}

/* ---- the loop ----------------------------------------------------------------------------------- */

#define MAX_ARGS 1100

static char line[1 << 17];

int main(void)
{
	static char *arg[MAX_ARGS];
	struct utsname u;

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGPIPE, SIG_IGN);
	uname(&u);
	printf("{\"cmd\":\"ready\",\"ret\":0,\"errno\":null,\"pid\":%d,\"release\":\"%s\"}\n", (int)getpid(), u.release);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		struct reply r = { 0, 0, NULL };
		long before[NTRACKED], after[NTRACKED];
		char *save = NULL, *tok;
		const char *cmd;
		size_t i;
		int n = 0, first = 1;

		for (tok = strtok_r(line, " \t\n", &save); tok && n < MAX_ARGS; tok = strtok_r(NULL, " \t\n", &save))
			arg[n++] = tok;
		if (n == 0)
			continue;
		cmd = arg[0];
		outlen = 0;
		out[0] = '\0';
		read_vmstat(before);
		if (!strcmp(cmd, "map"))
			cmd_map(&r, arg, n);
		else if (!strcmp(cmd, "map_at") || !strcmp(cmd, "munmap") || !strcmp(cmd, "mlock") || !strcmp(cmd, "mprotect") || !strcmp(cmd, "madvise") ||
			 !strcmp(cmd, "write") || !strcmp(cmd, "read") || !strcmp(cmd, "pin"))
			cmd_range(&r, arg, n);
		else if (!strcmp(cmd, "fork"))
			cmd_fork(&r);
		else if (!strcmp(cmd, "reap"))
			cmd_reap(&r);
		else if (!strcmp(cmd, "prctl") && n == 3 && !strcmp(arg[1], "PR_SET_THP_DISABLE"))
			call_result(&r, (errno = 0, prctl(PR_SET_THP_DISABLE, atol(arg[2]), 0, 0, 0)));
		else if (!strcmp(cmd, "pidfd_open") && n == 3)
			cmd_pidfd_open(&r, arg, n);
		else if (!strcmp(cmd, "process_madvise"))
			cmd_process_madvise(&r, arg, n);
		else if (!strcmp(cmd, "report"))
			cmd_report(&r, arg, n);
		else if (!strcmp(cmd, "ksm"))
			cmd_ksm(&r, arg, n);
		else if (!strcmp(cmd, "ksm_scan"))
			cmd_ksm_scan(&r, arg, n);
		else if (!strcmp(cmd, "zero_page"))
			cmd_zero_page(&r);
		else if (!strcmp(cmd, "capset"))
			cmd_capset(&r, arg, n);
		else if (!strcmp(cmd, "lock"))
			cmd_lock(&r, arg, n);
		else
			r.usage = "unknown command";
		read_vmstat(after);
		if (r.usage) {
			printf("{\"cmd\":\"%s\",\"usage\":\"%s\"}\n", cmd, r.usage);
		} else {
			printf("{\"cmd\":\"%s\",\"ret\":%ld,\"errno\":", cmd, r.ret);
			if (r.ret < 0)
				printf("\"%s\"", errname(r.err));
			else
				printf("null");
			printf("%s,\"vmstat\":{", out);
			for (i = 0; i < NTRACKED; i++)
				if (after[i] != before[i]) {
					printf("%s\"%s\":%ld", first ? "" : ",", tracked[i], after[i] - before[i]);
					first = 0;
				}
			printf("}}\n");
		}
		fflush(stdout);
	}
	return 0;
}
