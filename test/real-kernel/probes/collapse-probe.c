/*
 * collapse-probe: runs a fixed set of MADV_COLLAPSE and process_madvise(MADV_COLLAPSE) cases on the
 * running kernel and prints what happened, one JSON object per line, so that
 * test/real-kernel/collapse-agreement.test.ts can compare the kernel with the simulated kernel case by
 * case. The cases are a sample of the project's reference (shared/reference/linux-mm-semantics.md,
 * sections 4 and 5) and of the selftests tools/testing/selftests/mm/khugepaged.c and process_madv.c.
 * Usage: collapse-probe [SUBSTRING] (only the cases whose name contains it).
 *
 * Output: a first line {"probe":"collapse","release":...,"thp_enabled":...,"changed_enabled":...,
 * "read_fault_zero_page":...} (the last: whether a read fault of private anonymous memory maps the zero
 * page here — kpageflags KPF_ZERO_PAGE — which decides whether read faults alone give a VMA an anon_vma),
 * then per case {"name":...,"ret":N,"errno":"EINVAL"|null,"huge":[0|1,...],"anonHugeKb":N} where ret is
 * the syscall's return value (-1 on failure, with errno); huge[i] says whether region i (2 MiB) is backed
 * by one huge page after the call (pagemap PFNs contiguous from a 512-aligned head that kpageflags marks
 * COMPOUND_HEAD and THP, however it is mapped); anonHugeKb is AnonHugePages (PMD-mapped THPs only) of the
 * VMAs over those regions in /proc/PID/smaps (0 when the case checks no region). A case whose process
 * dies prints {"name":...,"error":...}.
 *
 * Needs root (pagemap PFNs, /proc/kpageflags, setresuid for the permission cases) and nothing but libc.
 * Every case runs in its own forked process (a fresh address space; a prctl stays there), which, like
 * the target processes it forks, dies with its parent (PR_SET_PDEATHSIG). Global state:
 * when transparent_hugepage/enabled is "always" it is set to "madvise" for the run (faults must give
 * small pages, and khugepaged must leave the regions alone) and restored at exit, also on SIGINT,
 * SIGTERM, SIGHUP. Nothing else is written outside the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL
#define HPAGE (2UL << 20)
#define NR_PTES 512
#define PIDFD_SELF_THREAD (-10000)
#define PIDFD_SELF_THREAD_GROUP (-10001)
#define UNPRIVILEGED_UID 1000
#define MAX_REGIONS 6

static const char *enabled_path = "/sys/kernel/mm/transparent_hugepage/enabled";
static char saved_enabled[32];
static int enabled_changed;

/* ---- global setting: restore what we changed --------------------------------------------------- */

static void restore_enabled(void)
{
	int fd;

	if (!enabled_changed)
		return;
	fd = open(enabled_path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, saved_enabled, strlen(saved_enabled)) < 0)
			perror("restore enabled");
		close(fd);
	}
	enabled_changed = 0;
}

static void on_signal(int sig)
{
	restore_enabled();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The bracketed word of a choice file's text, e.g. "madvise" of "always [madvise] never". */
static void bracketed(const char *text, char *out, size_t size)
{
	const char *a = strchr(text, '['), *b = a ? strchr(a, ']') : NULL;

	out[0] = '\0';
	if (a && b && (size_t)(b - a - 1) < size) {
		memcpy(out, a + 1, b - a - 1);
		out[b - a - 1] = '\0';
	}
}

/* ---- results ---------------------------------------------------------------------------------- */

struct result {
	long ret;
	int err;
	int nregions;
	int huge[MAX_REGIONS];
	long anon_huge_kb;
};

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
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

static void emit(const char *name, const struct result *r)
{
	int i;

	printf("{\"name\":\"%s\",\"ret\":%ld,\"errno\":", name, r->ret);
	if (r->ret < 0)
		printf("\"%s\"", errname(r->err));
	else
		printf("null");
	printf(",\"huge\":[");
	for (i = 0; i < r->nregions; i++)
		printf("%s%d", i ? "," : "", r->huge[i]);
	printf("],\"anonHugeKb\":%ld}\n", r->anon_huge_kb);
	fflush(stdout);
}

static void emit_error(const char *name, const char *what)
{
	printf("{\"name\":\"%s\",\"error\":\"%s\"}\n", name, what);
	fflush(stdout);
}

/* ---- memory helpers --------------------------------------------------------------------------- */

/*
 * n read-write 2 MiB-aligned regions in one VMA, between PROT_NONE guards of at least 2 MiB so that it
 * merges with no other VMA. Returns the first region.
 */
static char *map_regions(int n)
{
	size_t span = (size_t)(n + 3) * HPAGE;
	char *res, *a;

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)res + 2 * HPAGE - 1) & ~(HPAGE - 1));
	if (mmap(a, (size_t)n * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
		return NULL;
	return a;
}

static void write_pages(char *p, unsigned long first, unsigned long count)
{
	unsigned long i;

	for (i = first; i < first + count; i++)
		*(volatile uint32_t *)(p + i * PAGE) = 0xdead0000u + (uint32_t)i;
}

static void read_pages(char *p, unsigned long first, unsigned long count)
{
	unsigned long i;

	for (i = first; i < first + count; i++)
		(void)*(volatile uint32_t *)(p + i * PAGE);
}

/* Whether the 2 MiB at addr in pid's address space is backed by one huge page. */
static int region_huge(pid_t pid, char *addr)
{
	const uint64_t pfn_mask = (1ULL << 55) - 1;
	uint64_t ent[NR_PTES], flags = 0, pfn0;
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
	return ((flags >> 22) & 1) && ((flags >> 15) & 1);
}

/*
 * Whether a read fault of private anonymous memory maps the zero page (kpageflags KPF_ZERO_PAGE, bit
 * 24): 1, 0, or -1 when it cannot tell. Some kernels never do (a PVM guest booted with
 * pvm_no_zero_page=1 allocates a zeroed page, as s390 KVM guests do through mm_forbids_zeropage).
 */
static int read_fault_zero_page(void)
{
	const uint64_t pfn_mask = (1ULL << 55) - 1;
	uint64_t ent = 0, flags = 0;
	int fd, ok;
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	(void)*(volatile uint32_t *)p;
	fd = open("/proc/self/pagemap", O_RDONLY);
	ok = fd >= 0 && pread(fd, &ent, 8, (off_t)((uintptr_t)p / PAGE * 8)) == 8;
	if (fd >= 0)
		close(fd);
	munmap(p, PAGE);
	if (!ok || !(ent >> 63) || (ent & pfn_mask) == 0)
		return -1;
	fd = open("/proc/kpageflags", O_RDONLY);
	ok = fd >= 0 && pread(fd, &flags, 8, (off_t)((ent & pfn_mask) * 8)) == 8;
	if (fd >= 0)
		close(fd);
	return ok ? (int)((flags >> 24) & 1) : -1;
}

/* AnonHugePages (PMD-mapped THPs) summed over pid's VMAs that overlap [lo, hi), from /proc/PID/smaps. */
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

/*
 * Per region: backed by one huge page (pagemap + kpageflags: PMD- or PTE-mapped); and for the whole
 * range, AnonHugePages (PMD-mapped only): together they tell a PMD mapping from a split one.
 */
static void check_regions(struct result *r, pid_t pid, char *base, int n)
{
	int i;

	r->nregions = n;
	for (i = 0; i < n; i++)
		r->huge[i] = region_huge(pid, base + i * HPAGE);
	r->anon_huge_kb = anon_huge_kb(pid, base, base + n * HPAGE);
}

static void collapse(struct result *r, char *addr, size_t len)
{
	errno = 0;
	r->ret = madvise(addr, len, MADV_COLLAPSE);
	r->err = r->ret < 0 ? errno : 0;
}

static long sys_process_madvise(int pidfd, const struct iovec *iov, size_t vlen, int advice, unsigned int flags)
{
	return syscall(SYS_process_madvise, pidfd, iov, vlen, advice, flags);
}

static void pmadvise(struct result *r, int pidfd, const struct iovec *iov, size_t vlen, int advice, unsigned int flags)
{
	errno = 0;
	r->ret = sys_process_madvise(pidfd, iov, vlen, advice, flags);
	r->err = r->ret < 0 ? errno : 0;
}

static void become_unprivileged(void)
{
	if (setresgid(UNPRIVILEGED_UID, UNPRIVILEGED_UID, UNPRIVILEGED_UID) ||
	    setresuid(UNPRIVILEGED_UID, UNPRIVILEGED_UID, UNPRIVILEGED_UID))
		_exit(120);
}

/*
 * A target process forked from the caller: it writes the regions of `base` whose bit is set in
 * write_mask (the VMA was mapped before the fork, unpopulated, so only the target's copy fills), says
 * so on a pipe, and waits to be killed. With `unprivileged`, it first takes uid 1000 and stays dumpable.
 */
static pid_t spawn_target(char *base, int n, unsigned int write_mask, int unprivileged)
{
	int p[2], i;
	pid_t pid;
	char c = 0;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unprivileged) {
			become_unprivileged();
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		}
		/* after the uid change, which clears it: die with the case process */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (i = 0; i < n; i++)
			if (write_mask & (1u << i))
				write_pages(base + i * HPAGE, 0, NR_PTES);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- madvise(MADV_COLLAPSE) cases ------------------------------------------------------------- */

static void fully_written(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void already_thp(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p, HPAGE);
	if (r->ret == 0)
		collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void one_written_page(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, 1);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void one_written_511_zero_page(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, 1);
	read_pages(p, 1, NR_PTES - 1);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void never_touched(struct result *r)
{
	char *p = map_regions(1);

	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void dontneed_whole(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	madvise(p, HPAGE, MADV_DONTNEED);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

/*
 * A DONTNEED of the only written page: the table stays (CONFIG_PT_RECLAIM frees only a table one call
 * zapped whole), the VMA has its anon_vma, so the collapse makes a zero-filled THP.
 */
static void dontneed_only_written_page(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, 1);
	madvise(p, PAGE, MADV_DONTNEED);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

/* Every page zapped, but by two DONTNEED calls neither of which covers the 2 MiB: the table stays. */
static void dontneed_region_in_two_calls(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	madvise(p, HPAGE - PAGE, MADV_DONTNEED);
	madvise(p + HPAGE - PAGE, PAGE, MADV_DONTNEED);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

/*
 * A region whose PTE table outlives its only page, with or without an anon_vma: its first page becomes a
 * VMA of its own (the rest made read-only) and is written, then unmapped — the rest of the region still
 * covers the PMD, so free_pgtables keeps the table — and mapped again, merging with the rest once that is
 * read-write again. Written before the split, both halves share the anon_vma; written after, only the
 * unmapped half had one, and the region's VMA has none.
 */
static void table_kept_by_neighbour(struct result *r, int anon_vma)
{
	char *p = map_regions(1);

	if (anon_vma)
		write_pages(p, 0, 1);
	mprotect(p + PAGE, HPAGE - PAGE, PROT_READ);
	if (!anon_vma)
		write_pages(p, 0, 1);
	munmap(p, PAGE);
	mprotect(p + PAGE, HPAGE - PAGE, PROT_READ | PROT_WRITE);
	if (mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != p)
		_exit(119);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void table_kept_with_anon_vma(struct result *r)
{
	table_kept_by_neighbour(r, 1);
}

static void table_kept_without_anon_vma(struct result *r)
{
	table_kept_by_neighbour(r, 0);
}

/*
 * All 512 pages read-faulted: where a read fault maps the zero page, the VMA gets no anon_vma and the
 * collapse is EINVAL; where it allocates a zeroed page (read_fault_zero_page 0), it is a full region.
 */
static void read_faults_only(struct result *r)
{
	char *p = map_regions(1);

	read_pages(p, 0, NR_PTES);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void nohugepage(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	madvise(p, HPAGE, MADV_NOHUGEPAGE);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void prot_read_after_write(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	mprotect(p, HPAGE, PROT_READ);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void vma_smaller_than_2m(struct result *r)
{
	char *p = map_regions(1);

	munmap(p + HPAGE / 2, HPAGE / 2);
	write_pages(p, 0, NR_PTES / 2);
	collapse(r, p, HPAGE / 2);
	check_regions(r, getpid(), p, 1);
}

static void unmapped_range(struct result *r)
{
	char *p = map_regions(1);

	munmap(p, HPAGE);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void hole(struct result *r)
{
	char *p = map_regions(3);

	write_pages(p, 0, 3 * NR_PTES);
	munmap(p + HPAGE, HPAGE);
	collapse(r, p, 3 * HPAGE);
	check_regions(r, getpid(), p, 3);
}

static void no_table_then_full(struct result *r)
{
	char *p = map_regions(2);

	write_pages(p + HPAGE, 0, NR_PTES);
	collapse(r, p, 2 * HPAGE);
	check_regions(r, getpid(), p, 2);
}

static void thp_disable(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

static void mlocked(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	mlock(p, HPAGE);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

/* A read-faulted region shares the anon_vma of a written neighbour in the same VMA. */
static void read_faulted_beside_written(struct result *r)
{
	char *p = map_regions(2);

	write_pages(p, 0, NR_PTES);
	read_pages(p + HPAGE, 0, NR_PTES);
	collapse(r, p + HPAGE, HPAGE);
	check_regions(r, getpid(), p, 2);
}

static void unaligned_start(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p + 1, HPAGE - 1);
	check_regions(r, getpid(), p, 1);
}

static void range_inside_one_region(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p + PAGE, 2 * PAGE);
	check_regions(r, getpid(), p, 1);
}

static void range_crossing_boundary_no_whole_region(struct result *r)
{
	char *p = map_regions(2);

	write_pages(p, 0, 2 * NR_PTES);
	collapse(r, p + HPAGE - 2 * PAGE, 4 * PAGE);
	check_regions(r, getpid(), p, 2);
}

static void length_0(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p, 0);
	check_regions(r, getpid(), p, 1);
}

static void prot_none_after_write(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	mprotect(p, HPAGE, PROT_NONE);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

/* Two full regions in two VMAs (the second read-only): the walk goes on across VMAs while they succeed. */
static void two_vmas_both_full(struct result *r)
{
	char *p = map_regions(2);

	write_pages(p, 0, 2 * NR_PTES);
	mprotect(p + HPAGE, HPAGE, PROT_READ);
	collapse(r, p, 2 * HPAGE);
	check_regions(r, getpid(), p, 2);
}

/* MADV_DONTNEED of half the region leaves its page table: the other half collapses. */
static void dontneed_half_region(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	madvise(p, HPAGE / 2, MADV_DONTNEED);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
}

/*
 * Every page shared copy-on-write with a child after fork: the parent's collapse succeeds; the child
 * keeps its small pages. huge = [parent, child]; anonHugeKb is the parent's.
 */
static void shared_with_child_after_fork(struct result *r)
{
	char *p = map_regions(1);
	pid_t child;

	write_pages(p, 0, NR_PTES);
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			pause();
	}
	if (child < 0)
		_exit(127);
	collapse(r, p, HPAGE);
	check_regions(r, getpid(), p, 1);
	r->nregions = 2;
	r->huge[1] = region_huge(child, p);
	reap(child);
}

/* A VMA boundary inside a PMD-mapped THP (mprotect of its first page) splits the PMD mapping. */
static void vma_split_inside_thp(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p, HPAGE);
	mprotect(p, PAGE, PROT_READ);
	check_regions(r, getpid(), p, 1);
}

/* MADV_DONTNEED of one page of a PMD-mapped THP splits the PMD mapping. */
static void dontneed_one_page_of_thp(struct result *r)
{
	char *p = map_regions(1);

	write_pages(p, 0, NR_PTES);
	collapse(r, p, HPAGE);
	madvise(p, PAGE, MADV_DONTNEED);
	check_regions(r, getpid(), p, 1);
}

/* r0 holds a page referenced by a pipe (vmsplice): refcount > mapcount, as a pinned page. */
static void pinned_then_full(struct result *r, int two_vmas)
{
	char *p = map_regions(2);
	struct iovec iov = { p, PAGE };
	int pfd[2];

	write_pages(p, 0, 2 * NR_PTES);
	if (pipe(pfd) || vmsplice(pfd[1], &iov, 1, 0) != (ssize_t)PAGE)
		_exit(121);
	if (two_vmas)
		mprotect(p + HPAGE, HPAGE, PROT_READ);
	collapse(r, p, 2 * HPAGE);
	check_regions(r, getpid(), p, 2);
	close(pfd[0]);
	close(pfd[1]);
}

static void pinned_then_full_one_vma(struct result *r)
{
	pinned_then_full(r, 0);
}

static void pinned_then_full_two_vmas(struct result *r)
{
	pinned_then_full(r, 1);
}

/* ---- process_madvise cases ------------------------------------------------------------------- */

/*
 * The layout of reference section 5: regions r0..r5 in one VMA of a remote target, every region
 * written but r2 (no page table), and 4 KiB unmapped after r5.
 */
#define R(i) (base + (i) * HPAGE)
#define SIX_REGIONS_WRITTEN 0x3bu /* r0 r1 r3 r4 r5 */

static void remote_iov(struct result *r, const struct iovec *iov, size_t vlen, int advice, unsigned int flags)
{
	char *base = map_regions(MAX_REGIONS);
	struct iovec v[1025];
	pid_t target;
	int pidfd;
	size_t i;

	munmap(base + MAX_REGIONS * HPAGE, PAGE);
	target = spawn_target(base, MAX_REGIONS, SIX_REGIONS_WRITTEN, 0);
	pidfd = sys_pidfd_open(target);
	if (target < 0 || pidfd < 0)
		_exit(122);
	/* iov holds offsets from base; make them addresses */
	for (i = 0; i < vlen; i++) {
		v[i].iov_base = base + (uintptr_t)iov[i].iov_base;
		v[i].iov_len = iov[i].iov_len;
	}
	pmadvise(r, pidfd, v, vlen, advice, flags);
	check_regions(r, target, base, MAX_REGIONS);
	close(pidfd);
	reap(target);
}

#define OFF(i) ((void *)((i) * HPAGE))

static void pm_r0_r1(struct result *r)
{
	struct iovec iov[] = { { OFF(0), HPAGE }, { OFF(1), HPAGE } };

	remote_iov(r, iov, 2, MADV_COLLAPSE, 0);
}

static void pm_r2_r3(struct result *r)
{
	struct iovec iov[] = { { OFF(2), HPAGE }, { OFF(3), HPAGE } };

	remote_iov(r, iov, 2, MADV_COLLAPSE, 0);
}

static void pm_r3_r2_r4(struct result *r)
{
	struct iovec iov[] = { { OFF(3), HPAGE }, { OFF(2), HPAGE }, { OFF(4), HPAGE } };

	remote_iov(r, iov, 3, MADV_COLLAPSE, 0);
}

static void pm_r4_r5_tail(struct result *r)
{
	struct iovec iov[] = { { OFF(4), HPAGE }, { OFF(5), HPAGE + PAGE } };

	remote_iov(r, iov, 2, MADV_COLLAPSE, 0);
}

static struct iovec many[1025];

static void pm_1024_same_region(struct result *r)
{
	int i;

	for (i = 0; i < 1024; i++)
		many[i] = (struct iovec){ OFF(0), HPAGE };
	remote_iov(r, many, 1024, MADV_COLLAPSE, 0);
}

static void pm_vlen_1025(struct result *r)
{
	int i;

	for (i = 0; i < 1025; i++)
		many[i] = (struct iovec){ OFF(0), HPAGE };
	remote_iov(r, many, 1025, MADV_COLLAPSE, 0);
}

static void pm_flags_1(struct result *r)
{
	struct iovec iov[] = { { OFF(0), HPAGE } };

	remote_iov(r, iov, 1, MADV_COLLAPSE, 1);
}

static void pm_remote_dontneed(struct result *r)
{
	struct iovec iov[] = { { OFF(0), HPAGE } };

	remote_iov(r, iov, 1, MADV_DONTNEED, 0);
}

static void pm_bad_pidfd(struct result *r)
{
	char *p = map_regions(1);
	struct iovec iov = { p, HPAGE };

	write_pages(p, 0, NR_PTES);
	pmadvise(r, -1, &iov, 1, MADV_COLLAPSE, 0);
	check_regions(r, getpid(), p, 1);
}

static void pm_exited(struct result *r)
{
	char *p = map_regions(1);
	struct iovec iov = { p, HPAGE };
	pid_t child = fork();
	int pidfd;

	if (child == 0)
		_exit(0);
	pidfd = sys_pidfd_open(child);
	waitpid(child, NULL, 0);
	if (pidfd < 0)
		_exit(123);
	pmadvise(r, pidfd, &iov, 1, MADV_COLLAPSE, 0);
	r->nregions = 0;
	close(pidfd);
}

static void pm_self(struct result *r, int pidfd)
{
	char *p = map_regions(1);
	struct iovec iov = { p, HPAGE };

	write_pages(p, 0, NR_PTES);
	pmadvise(r, pidfd, &iov, 1, MADV_COLLAPSE, 0);
	check_regions(r, getpid(), p, 1);
}

static void pm_pidfd_self_thread(struct result *r)
{
	pm_self(r, PIDFD_SELF_THREAD);
}

static void pm_pidfd_self_thread_group(struct result *r)
{
	pm_self(r, PIDFD_SELF_THREAD_GROUP);
}

/* Invalid advice with an empty iovec: 6.18 does no work and answers 0 (later kernels answer EINVAL). */
static void pm_self_invalid_advice_zero_length(struct result *r)
{
	char *p = map_regions(1);
	struct iovec iov = { p, 0 };

	pmadvise(r, PIDFD_SELF_THREAD_GROUP, &iov, 1, -1, 0);
	r->nregions = 0;
}

static void pm_self_invalid_advice(struct result *r)
{
	char *p = map_regions(1);
	struct iovec iov = { p, PAGE };

	write_pages(p, 0, 1);
	pmadvise(r, PIDFD_SELF_THREAD_GROUP, &iov, 1, -1, 0);
	r->nregions = 0;
}

/* A pidfd of oneself is not remote: any advice, no CAP_SYS_NICE check. */
static void pm_pidfd_open_self_dontneed(struct result *r)
{
	char *p = map_regions(1);
	struct iovec iov = { p, PAGE };
	int pidfd = sys_pidfd_open(getpid());

	write_pages(p, 0, NR_PTES);
	pmadvise(r, pidfd, &iov, 1, MADV_DONTNEED, 0);
	check_regions(r, getpid(), p, 1);
	close(pidfd);
}

static void pm_unmapped_base(struct result *r)
{
	struct iovec iov[] = { { OFF(0), HPAGE } };
	char *base = map_regions(1);
	pid_t target;
	int pidfd;

	munmap(base, HPAGE);
	target = spawn_target(base, 0, 0, 0);
	pidfd = sys_pidfd_open(target);
	if (target < 0 || pidfd < 0)
		_exit(122);
	iov[0].iov_base = base;
	pmadvise(r, pidfd, iov, 1, MADV_COLLAPSE, 0);
	r->nregions = 0;
	close(pidfd);
	reap(target);
}

/*
 * The call is made by a forked uid-1000 process without capabilities; the root case process keeps
 * the rights to read the target's pagemap afterwards.
 */
static void pm_unprivileged_caller(struct result *r, int target_unprivileged)
{
	char *base = map_regions(1);
	struct iovec iov = { base, HPAGE };
	pid_t target = spawn_target(base, 1, 1, target_unprivileged), caller;
	long out[2] = { 0, 0 };
	int p[2];

	if (target < 0 || pipe(p))
		_exit(124);
	caller = fork();
	if (caller == 0) {
		int pidfd;

		close(p[0]);
		become_unprivileged();
		pidfd = sys_pidfd_open(target);
		errno = 0;
		out[0] = pidfd < 0 ? -1 : sys_process_madvise(pidfd, &iov, 1, MADV_COLLAPSE, 0);
		out[1] = out[0] < 0 ? errno : 0;
		if (write(p[1], out, sizeof(out)) != sizeof(out))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], out, sizeof(out)) != sizeof(out))
		_exit(125);
	close(p[0]);
	waitpid(caller, NULL, 0);
	r->ret = out[0];
	r->err = (int)out[1];
	check_regions(r, target, base, 1);
	reap(target);
}

/*
 * A root caller holding only CAP_SYS_NICE (capset, raw: no libcap), a root target with every
 * capability: PTRACE_MODE_READ also needs the target's permitted capabilities to be a subset of the
 * caller's (security/commoncap.c cap_ptrace_access_check), else CAP_SYS_PTRACE.
 */
#define CAPABILITY_VERSION_3 0x20080522
#define CAP_SYS_NICE_BIT 23

static void pm_root_caller_fewer_caps_eacces(struct result *r)
{
	struct { uint32_t version; int pid; } hdr = { CAPABILITY_VERSION_3, 0 };
	struct { uint32_t effective, permitted, inheritable; } data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	char *base = map_regions(1);
	struct iovec iov = { base, HPAGE };
	pid_t target = spawn_target(base, 1, 1, 0);
	int pidfd;

	if (target < 0)
		_exit(124);
	pidfd = sys_pidfd_open(target);
	data[0].effective = data[0].permitted = 1u << CAP_SYS_NICE_BIT;
	if (pidfd < 0 || syscall(SYS_capset, &hdr, data))
		_exit(126);
	pmadvise(r, pidfd, &iov, 1, MADV_COLLAPSE, 0);
	/* no longer allowed to read the target's PFNs: report no regions */
	r->nregions = 0;
	close(pidfd);
	reap(target);
}

static void pm_other_uid_eacces(struct result *r)
{
	pm_unprivileged_caller(r, 0);
}

static void pm_same_uid_no_sys_nice_eperm(struct result *r)
{
	pm_unprivileged_caller(r, 1);
}

/* ---- driver ---------------------------------------------------------------------------------- */

struct probe_case {
	const char *name;
	void (*run)(struct result *r);
};

static const struct probe_case cases[] = {
	{ "fully-written", fully_written },
	{ "already-thp", already_thp },
	{ "one-written-page", one_written_page },
	{ "one-written-511-zero-page", one_written_511_zero_page },
	{ "never-touched", never_touched },
	{ "dontneed-whole-region", dontneed_whole },
	{ "dontneed-only-written-page", dontneed_only_written_page },
	{ "dontneed-region-in-two-calls", dontneed_region_in_two_calls },
	{ "table-kept-with-anon-vma", table_kept_with_anon_vma },
	{ "table-kept-without-anon-vma", table_kept_without_anon_vma },
	{ "read-faults-only", read_faults_only },
	{ "vm-nohugepage", nohugepage },
	{ "prot-read-after-write", prot_read_after_write },
	{ "vma-smaller-than-2m", vma_smaller_than_2m },
	{ "unmapped-range", unmapped_range },
	{ "hole", hole },
	{ "no-table-then-full", no_table_then_full },
	{ "pr-set-thp-disable", thp_disable },
	{ "mlocked", mlocked },
	{ "read-faulted-beside-written", read_faulted_beside_written },
	{ "unaligned-start", unaligned_start },
	{ "range-inside-one-region", range_inside_one_region },
	{ "range-crossing-boundary-no-whole-region", range_crossing_boundary_no_whole_region },
	{ "length-0", length_0 },
	{ "prot-none-after-write", prot_none_after_write },
	{ "two-vmas-both-full", two_vmas_both_full },
	{ "dontneed-half-region", dontneed_half_region },
	{ "shared-with-child-after-fork", shared_with_child_after_fork },
	{ "vma-split-inside-thp", vma_split_inside_thp },
	{ "dontneed-one-page-of-thp", dontneed_one_page_of_thp },
	{ "pinned-then-full-one-vma", pinned_then_full_one_vma },
	{ "pinned-then-full-two-vmas", pinned_then_full_two_vmas },
	{ "pm-r0-r1", pm_r0_r1 },
	{ "pm-r2-r3", pm_r2_r3 },
	{ "pm-r3-r2-r4", pm_r3_r2_r4 },
	{ "pm-r4-r5-tail", pm_r4_r5_tail },
	{ "pm-1024-same-region", pm_1024_same_region },
	{ "pm-vlen-1025", pm_vlen_1025 },
	{ "pm-flags-1", pm_flags_1 },
	{ "pm-remote-dontneed", pm_remote_dontneed },
	{ "pm-bad-pidfd", pm_bad_pidfd },
	{ "pm-exited", pm_exited },
	{ "pm-pidfd-self-thread", pm_pidfd_self_thread },
	{ "pm-pidfd-self-thread-group", pm_pidfd_self_thread_group },
	{ "pm-self-invalid-advice-zero-length", pm_self_invalid_advice_zero_length },
	{ "pm-self-invalid-advice", pm_self_invalid_advice },
	{ "pm-pidfd-open-self-dontneed", pm_pidfd_open_self_dontneed },
	{ "pm-unmapped-base", pm_unmapped_base },
	{ "pm-other-uid-eacces", pm_other_uid_eacces },
	{ "pm-same-uid-no-sys-nice-eperm", pm_same_uid_no_sys_nice_eperm },
	{ "pm-root-caller-fewer-caps-eacces", pm_root_caller_fewer_caps_eacces },
};

static void run_case(const struct probe_case *c)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		struct result r;

		memset(&r, 0, sizeof(r));
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		c->run(&r);
		emit(c->name, &r);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		emit_error(c->name, "fork failed");
		return;
	}
	if (WIFSIGNALED(status)) {
		char what[48];

		snprintf(what, sizeof(what), "killed by signal %d", WTERMSIG(status));
		emit_error(c->name, what);
	} else if (WEXITSTATUS(status) != 0) {
		char what[48];

		snprintf(what, sizeof(what), "setup failed (exit %d)", WEXITSTATUS(status));
		emit_error(c->name, what);
	}
}

int main(int argc, char **argv)
{
	char text[128] = "";
	struct utsname u;
	size_t i;
	ssize_t n;
	int fd, zero;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	fd = open(enabled_path, O_RDONLY);
	if (fd < 0) {
		printf("{\"probe\":\"collapse\",\"release\":\"%s\",\"skip\":\"no %s\"}\n", u.release, enabled_path);
		return 0;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	bracketed(text, saved_enabled, sizeof(saved_enabled));
	if (strcmp(saved_enabled, "always") == 0) {
		atexit(restore_enabled);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		fd = open(enabled_path, O_WRONLY);
		if (fd < 0 || write(fd, "madvise", 7) != 7) {
			printf("{\"probe\":\"collapse\",\"release\":\"%s\",\"skip\":\"cannot set THP enabled=madvise\"}\n",
			       u.release);
			return 0;
		}
		close(fd);
		enabled_changed = 1;
	}
	zero = read_fault_zero_page();
	printf("{\"probe\":\"collapse\",\"release\":\"%s\",\"thp_enabled\":\"%s\",\"changed_enabled\":%s,"
	       "\"read_fault_zero_page\":%s}\n",
	       u.release, saved_enabled, enabled_changed ? "true" : "false", zero < 0 ? "null" : zero ? "true" : "false");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || strstr(cases[i].name, argv[1]))
			run_case(&cases[i]);
	return 0;
}
