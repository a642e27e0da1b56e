/**
 * KSM in the simulated kernel: the cases of tools/testing/selftests/mm/ksm_tests.c and
 * ksm_functional_tests.c that apply to anonymous memory, ported with exact counter expectations (the
 * selftests check only that merging happened; the real-kernel agreement test holds the model to the
 * exact counts), the chain arithmetic of reference §7, the EBUSY rules, THP splitting, KSM pages in
 * MADV_COLLAPSE and khugepaged, fork, smart scan, chain pruning, ksmd as a kernel thread, and the seed
 * thread's rmap-walk cost.
 *
 * ksmd is driven as the selftests drive it: `run` 1 and simulated time until full_scans has moved (two
 * full scans merge: a page's checksum must hold across two visits). pages_to_scan is raised so that a
 * batch is a whole full scan, and ksmd is stopped (run 0) between steps, as the agreement probe does.
 * Not ported: ksm_functional_tests' userfaultfd-wp, fork+exec and /proc/self/mem cases (no such
 * mechanisms in the model) and ksm_tests' timing benchmarks (-P, -H, -D, -C: wall-clock speeds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { kernelOf } from '../../../kernel-model/evaluation.js';
import { ksmKnobs } from '../../../kernel-model/fs/sysfs-knob.js';
import { Cost } from '../../../kernel-model/mm/costs.js';
import { assertErrno, madviseCollapse, mapAligned, pagemap, regionIsHuge, vmstatItem } from '../collapse/collapse-helpers.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';
import { buildKsmSeed } from '../../../sim/bench/ksm-benchmark.js';

const PAGE = 4096;
const H = 2 << 20;
const KSM = '/sys/kernel/mm/ksm';
const PFN_MASK = (1n << 55n) - 1n;
const STAR = 0x2a2a2a2a; // memset(p, '*', size): every page the same content

const ksm = (k: SimKernel, name: string): number => Number(k.readFile(`${KSM}/${name}`));
const setKsm = (k: SimKernel, name: string, value: string | number): void => k.writeFile(`${KSM}/${name}`, String(value));

/** A machine whose ksmd does a whole full scan per batch (as the agreement probe sets it). */
function machine(opts: { nodes?: { memoryMiB: number }[] } = {}): { k: SimKernel; pid: number } {
  const k = new SimKernel({ nodes: opts.nodes ?? [{ memoryMiB: 1024 }] });
  setKsm(k, 'pages_to_scan', 100000);
  setKsm(k, 'sleep_millisecs', 100);
  return { k, pid: k.spawn({ comm: 'ksm_tests' }) };
}

/** ksmd runs until full_scans has moved `n` times, then stops (run 0). */
function scans(k: SimKernel, n: number): void {
  const target = ksm(k, 'full_scans') + n;
  setKsm(k, 'run', 1);
  for (let ms = 0; ksm(k, 'full_scans') < target; ms++) {
    assert.ok(ms < 60_000, `ksmd made no progress (full_scans ${ksm(k, 'full_scans')}, wanted ${target})`);
    k.advance(1);
  }
  setKsm(k, 'run', 0);
}

/** Every invariant of the model's frames and page tables, and of KSM's counters. */
function checkInvariants(k: SimKernel): void {
  checkKernelInvariants(kernelOf(k));
  kernelOf(k).ksm.checkInvariants();
}

/** assert_ksm_pages_count(): pages_shared and pages_sharing for `dupl` identical pages. */
function assertPagesCount(k: SimKernel, dupl: number): void {
  const m = ksm(k, 'max_page_sharing');
  const shared = dupl % m === 0 || dupl % m === 1 ? Math.floor(dupl / m) : Math.floor(dupl / m) + 1;
  const sharing = dupl % m === 0 || dupl % m === 1 ? shared * (m - 1) : dupl - shared;
  assert.deepEqual(
    { pages_shared: ksm(k, 'pages_shared'), pages_sharing: ksm(k, 'pages_sharing') },
    { pages_shared: shared, pages_sharing: sharing },
    `${dupl} identical pages, max_page_sharing ${m}`,
  );
}

/** allocate_memory(): mapped writable, filled with one content, then given `prot`. */
function allocateMemory(k: SimKernel, pid: number, pages: number, fill: number, prot: 'rw' | 'r' | 'none' = 'rw'): number {
  const p = k.mmap(pid, pages * PAGE);
  k.madvise(pid, p, pages * PAGE, 'MADV_NOHUGEPAGE');
  k.touch(pid, p, pages * PAGE, { fill });
  if (prot !== 'rw') k.mprotect(pid, p, pages * PAGE, prot);
  return p;
}

/** ksm_merge_pages(): MADV_MERGEABLE (or PR_SET_MEMORY_MERGE), then two full scans. */
function mergePages(k: SimKernel, pid: number, p: number, len: number, mode: 'madvise' | 'prctl' = 'madvise'): void {
  if (mode === 'madvise') k.madvise(pid, p, len, 'MADV_MERGEABLE');
  else k.prctl(pid, 'PR_SET_MEMORY_MERGE', 1);
  scans(k, 2);
}

/** The PFNs of `pages` pages from addr (undefined where not present). */
function pfns(k: SimKernel, pid: number, addr: number, pages: number): (number | undefined)[] {
  return pagemap(k, pid, addr, pages).map((e) => (e >> 63n ? Number(e & PFN_MASK) : undefined));
}

/** range_maps_duplicates(): whether two pages of the range map the same frame. */
function rangeMapsDuplicates(k: SimKernel, pid: number, addr: number, size: number): boolean {
  const seen = new Set<number>();
  for (const pfn of pfns(k, pid, addr, size / PAGE)) {
    if (pfn === undefined) continue;
    if (seen.has(pfn)) return true;
    seen.add(pfn);
  }
  return false;
}

/** /proc/PID/ksm_stat as numbers and yes/no. */
function ksmStat(k: SimKernel, pid: number): Record<string, number | string> {
  return Object.fromEntries(
    k.readFile(`/proc/${pid}/ksm_stat`).trim().split('\n').map((l) => {
      const [key, value] = l.split(/:? /) as [string, string];
      return [key, /^-?\d+$/.test(value) ? Number(value) : value];
    }),
  );
}

// ---- /sys/kernel/mm/ksm and /proc/PID/ksm_stat ------------------------------------------------------

test('/sys/kernel/mm/ksm holds every file of the 6.18 directory, at its default', () => {
  const k = new SimKernel();
  for (const spec of ksmKnobs) {
    const text = k.readFile(`${KSM}/${spec.path}`);
    const expected = spec.path === 'advisor_mode' ? '[none] scan-time\n' : spec.writable ? `${spec.default}\n` : '0\n';
    assert.equal(text, expected, spec.path);
  }
  assertErrno(() => k.readFile(`${KSM}/no_such_file`), 'ENOENT');
  assertErrno(() => k.writeFile(`${KSM}/pages_shared`, '1'), 'EACCES');
});

test('writes are parsed as the store handlers parse them', () => {
  const k = new SimKernel();
  assertErrno(() => setKsm(k, 'run', 3), 'EINVAL');
  assertErrno(() => setKsm(k, 'max_page_sharing', 1), 'EINVAL');
  assertErrno(() => setKsm(k, 'merge_across_nodes', 2), 'EINVAL');
  assertErrno(() => setKsm(k, 'sleep_millisecs', '-1'), 'EINVAL');
  setKsm(k, 'use_zero_pages', 'y');
  assert.equal(ksm(k, 'use_zero_pages'), 1);
  setKsm(k, 'max_page_sharing', '2\n');
  assert.equal(ksm(k, 'max_page_sharing'), 2);
  // The scan-time advisor owns pages_to_scan: it starts it at advisor_min_pages_to_scan, and refuses writes.
  setKsm(k, 'advisor_mode', 'scan-time');
  assert.equal(ksm(k, 'pages_to_scan'), 500);
  assertErrno(() => setKsm(k, 'pages_to_scan', 1000), 'EINVAL');
  setKsm(k, 'advisor_mode', 'none');
  assert.equal(ksm(k, 'pages_to_scan'), 100);
  setKsm(k, 'pages_to_scan', 1000);
  assert.equal(ksm(k, 'pages_to_scan'), 1000);
});

test('/proc/PID/ksm_stat and ksm_merging_pages are there for every process', () => {
  const { k, pid } = machine();
  assert.equal(
    k.readFile(`/proc/${pid}/ksm_stat`),
    'ksm_rmap_items 0\nksm_zero_pages 0\nksm_merging_pages 0\nksm_process_profit 0\nksm_merge_any: no\nksm_mergeable: no\n',
  );
  assert.equal(k.readFile(`/proc/${pid}/ksm_merging_pages`), '0\n');
  const p = allocateMemory(k, pid, 10, STAR);
  mergePages(k, pid, p, 10 * PAGE);
  // ksm_process_profit = (merging + zero pages) × 4096 − rmap items × 64
  assert.deepEqual(ksmStat(k, pid), {
    ksm_rmap_items: 10, ksm_zero_pages: 0, ksm_merging_pages: 10, ksm_process_profit: 10 * 4096 - 640, ksm_merge_any: 'no', ksm_mergeable: 'yes',
  });
  assert.equal(k.readFile(`/proc/${pid}/ksm_merging_pages`), '10\n');
  // general_profit = (pages_sharing + ksm_zero_pages) × 4096 − rmap items × 64
  assert.equal(ksm(k, 'general_profit'), 9 * 4096 - 640);
  const other = k.spawn({ comm: 'other', uid: 1000 });
  assertErrno(() => k.readFile(`/proc/${pid}/ksm_stat`, { caller: other }), 'EACCES');
});

// ---- ksm_tests.c --------------------------------------------------------------------------------------

for (const mode of ['madvise', 'prctl'] as const) {
  for (const prot of ['rw', 'r', 'none'] as const) {
    test(`check_ksm_merge (-M): 10 identical pages merge, ${mode}, prot ${prot}`, () => {
      const { k, pid } = machine();
      const p = allocateMemory(k, pid, 10, STAR, prot);
      mergePages(k, pid, p, 10 * PAGE, mode);
      assertPagesCount(k, 10);
      assert.equal(ksm(k, 'full_scans'), 2);
      assert.ok(rangeMapsDuplicates(k, pid, p, 10 * PAGE));
      checkInvariants(k);
    });
  }
}

test('check_ksm_unmerge (-U): a write to each of two merged pages unmerges them; one scan updates the counters', () => {
  const { k, pid } = machine();
  const p = allocateMemory(k, pid, 2, STAR);
  mergePages(k, pid, p, 2 * PAGE);
  assertPagesCount(k, 2);
  k.touch(pid, p, PAGE); // memset(map_ptr, '-', 1)
  k.touch(pid, p + PAGE, PAGE); // memset(map_ptr + page_size, '+', 1)
  assertPagesCount(k, 2); // not before ksmd's next visit
  scans(k, 1);
  assertPagesCount(k, 0);
  assert.equal(vmstatItem(k, 'cow_ksm'), 2);
  assert.ok(!rangeMapsDuplicates(k, pid, p, 2 * PAGE));
  checkInvariants(k);
});

for (const useZeroPages of [0, 1]) {
  test(`check_ksm_zero_page_merge (-Z): use_zero_pages ${useZeroPages}`, () => {
    const { k, pid } = machine();
    setKsm(k, 'use_zero_pages', useZeroPages);
    const p = allocateMemory(k, pid, 10, 0);
    mergePages(k, pid, p, 10 * PAGE);
    // With use_zero_pages the empty pages map the kernel's zero page instead of merging with each other.
    assertPagesCount(k, useZeroPages ? 0 : 10);
    assert.equal(ksm(k, 'ksm_zero_pages'), useZeroPages ? 10 : 0);
    assert.equal(ksmStat(k, pid).ksm_zero_pages, useZeroPages ? 10 : 0);
    assert.equal(k.readFile(`/proc/${pid}/status`).match(/RssAnon:\s+(\d+)/)?.[1], useZeroPages ? '0' : '40');
    checkInvariants(k);
  });
}

for (const across of [1, 0]) {
  test(`check_ksm_numa_merge (-N): two identical pages on two nodes, merge_across_nodes ${across}`, () => {
    const { k, pid } = machine({ nodes: [{ memoryMiB: 512 }, { memoryMiB: 512 }] });
    setKsm(k, 'merge_across_nodes', across);
    const maps = [0, 1].map((node) => {
      const p = k.mmap(pid, PAGE); // numa_alloc_onnode(page_size, node)
      k.mbind(pid, p, PAGE, 'bind', [node]);
      k.touch(pid, p, PAGE, { fill: STAR });
      return p;
    });
    assert.deepEqual(k.movePages(pid, maps, null), [0, 1]);
    for (const p of maps) mergePages(k, pid, p, PAGE);
    // Across nodes the two pages merge; with a tree per node each page is alone in its node's tree.
    assertPagesCount(k, across ? 2 : 0);
    assert.equal(ksm(k, 'pages_unshared'), across ? 0 : 2);
    checkInvariants(k);
  });
}

test('chain arithmetic: N identical pages and max_page_sharing m give the selftest\'s shared/sharing, with chains of dups', () => {
  for (const m of [2, 3, 10, 256]) {
    for (const n of [2, 3, 9, 10, 11, 20, 21, 25, 300, 513]) {
      const { k, pid } = machine();
      setKsm(k, 'max_page_sharing', m);
      const p = allocateMemory(k, pid, n, STAR);
      mergePages(k, pid, p, n * PAGE);
      assertPagesCount(k, n);
      const shared = ksm(k, 'pages_shared');
      const label = `N ${n}, m ${m}`;
      assert.equal(ksm(k, 'stable_node_chains'), shared > 1 ? 1 : 0, label);
      assert.equal(ksm(k, 'stable_node_dups'), shared > 1 ? shared : 0, label);
      // A lone leftover waits in the unstable tree.
      assert.equal(ksm(k, 'pages_unshared'), n - shared - ksm(k, 'pages_sharing'), label);
      kernelOf(k).ksm.checkInvariants();
    }
  }
});

test('reference §7 as observed: m 10 with 25 pages → 3/22, 1 chain, 3 dups; 300 pages at m 256 → 2/298', () => {
  const a = machine();
  setKsm(a.k, 'max_page_sharing', 10);
  mergePages(a.k, a.pid, allocateMemory(a.k, a.pid, 25, STAR), 25 * PAGE);
  assert.deepEqual(['pages_shared', 'pages_sharing', 'stable_node_chains', 'stable_node_dups'].map((f) => ksm(a.k, f)), [3, 22, 1, 3]);
  const b = machine();
  mergePages(b.k, b.pid, allocateMemory(b.k, b.pid, 300, STAR), 300 * PAGE);
  assert.deepEqual([ksm(b.k, 'pages_shared'), ksm(b.k, 'pages_sharing')], [2, 298]);
});

// ---- ksm_functional_tests.c ---------------------------------------------------------------------------

/** __mmap_and_merge_range(): 2 MiB (or `size`) of one byte, made mergeable, two full scans. */
function mmapAndMergeRange(k: SimKernel, pid: number, fill: number, size: number, prot: 'rw' | 'r' | 'none', mode: 'madvise' | 'prctl' | 'none'): number {
  setKsm(k, 'run', 2); // stabilize accounting
  assert.equal(k.readFile(`/proc/${pid}/ksm_merging_pages`), '0\n');
  const p = k.mmap(pid, size);
  k.madvise(pid, p, size, 'MADV_NOHUGEPAGE');
  k.touch(pid, p, size, { fill });
  k.mprotect(pid, p, size, prot);
  if (mode === 'madvise') k.madvise(pid, p, size, 'MADV_MERGEABLE');
  if (mode === 'prctl') k.prctl(pid, 'PR_SET_MEMORY_MERGE', 1);
  scans(k, 2);
  if (fill !== 0) assert.ok(Number(k.readFile(`/proc/${pid}/ksm_merging_pages`)) > 0, 'No pages got merged');
  return p;
}

test('test_unmerge: MADV_UNMERGEABLE leaves no frame mapped twice', () => {
  const { k, pid } = machine();
  const p = mmapAndMergeRange(k, pid, 0xcfcfcfcf, H, 'rw', 'madvise');
  assert.ok(rangeMapsDuplicates(k, pid, p, H));
  k.madvise(pid, p, H, 'MADV_UNMERGEABLE');
  assert.ok(!rangeMapsDuplicates(k, pid, p, H), 'Pages were unmerged');
  // Each mapping was copied at once (cow_ksm); the counters wait for ksmd's next visit.
  assert.equal(vmstatItem(k, 'cow_ksm'), 512);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing')], [2, 510]);
  scans(k, 1);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing')], [0, 0]);
  checkInvariants(k);
});

test('test_unmerge_zero_pages: ksm_zero_pages follows unmerging and write faults', () => {
  const { k, pid } = machine();
  setKsm(k, 'use_zero_pages', 1);
  const p = mmapAndMergeRange(k, pid, 0, H, 'rw', 'madvise');
  assert.equal(ksmStat(k, pid).ksm_zero_pages, 512, "'ksm_zero_pages' updated after merging");
  assert.equal(ksm(k, 'ksm_zero_pages'), 512);
  k.madvise(pid, p, H / 2, 'MADV_UNMERGEABLE');
  assert.equal(ksmStat(k, pid).ksm_zero_pages, 256, "'ksm_zero_pages' updated after unmerging");
  k.touch(pid, p + H / 2, H / 2); // a write to each page of the other half
  assert.equal(ksmStat(k, pid).ksm_zero_pages, 0, "'ksm_zero_pages' updated after write fault");
  assert.equal(ksm(k, 'ksm_zero_pages'), 0);
  assert.ok(!rangeMapsDuplicates(k, pid, p, H), 'KSM zero pages were unmerged');
  checkInvariants(k);
});

test('test_unmerge_discarded: unmerging after MADV_DONTNEED of half the range', () => {
  const { k, pid } = machine();
  const p = mmapAndMergeRange(k, pid, 0xcfcfcfcf, H, 'rw', 'madvise');
  k.madvise(pid, p, H / 2, 'MADV_DONTNEED');
  k.madvise(pid, p, H, 'MADV_UNMERGEABLE');
  assert.ok(!rangeMapsDuplicates(k, pid, p, H), 'Pages were unmerged');
  checkInvariants(k);
});

test('test_prctl: PR_SET_MEMORY_MERGE sets and clears, PR_GET_MEMORY_MERGE reads it', () => {
  const { k, pid } = machine();
  k.prctl(pid, 'PR_SET_MEMORY_MERGE', 1);
  assert.equal(k.prctl(pid, 'PR_GET_MEMORY_MERGE'), 1);
  assert.equal(ksmStat(k, pid).ksm_merge_any, 'yes');
  k.prctl(pid, 'PR_SET_MEMORY_MERGE', 0);
  assert.equal(k.prctl(pid, 'PR_GET_MEMORY_MERGE'), 0);
  assert.equal(ksmStat(k, pid).ksm_merge_any, 'no');
});

test('test_prctl_fork: PR_SET_MEMORY_MERGE is inherited, and the child\'s memory merges', () => {
  const { k, pid } = machine();
  k.prctl(pid, 'PR_SET_MEMORY_MERGE', 1);
  const child = k.fork(pid);
  assert.equal(k.prctl(child, 'PR_GET_MEMORY_MERGE'), 1);
  assert.equal(ksmStat(k, child).ksm_merge_any, 'yes');
  const p = mmapAndMergeRange(k, child, 0xcfcfcfcf, H, 'rw', 'none'); // new VMAs are mergeable already
  assert.equal(ksmStat(k, child).ksm_merging_pages, 512);
  assert.ok(rangeMapsDuplicates(k, child, p, H));
  k.prctl(pid, 'PR_SET_MEMORY_MERGE', 0);
  assert.equal(k.prctl(child, 'PR_GET_MEMORY_MERGE'), 1);
  checkInvariants(k);
});

test('test_prctl_unmerge: PR_SET_MEMORY_MERGE 0 unmerges the process', () => {
  const { k, pid } = machine();
  const p = mmapAndMergeRange(k, pid, 0xcfcfcfcf, H, 'rw', 'prctl');
  k.prctl(pid, 'PR_SET_MEMORY_MERGE', 0);
  assert.ok(!rangeMapsDuplicates(k, pid, p, H), 'Pages were unmerged');
  assert.equal(ksmStat(k, pid).ksm_mergeable, 'no');
  checkInvariants(k);
});

test('test_prot_none: pages of a PROT_NONE mapping merge and unmerge', () => {
  const { k, pid } = machine();
  const p = mmapAndMergeRange(k, pid, 0x11111111, H, 'none', 'madvise');
  assert.ok(rangeMapsDuplicates(k, pid, p, H));
  k.madvise(pid, p, H, 'MADV_UNMERGEABLE');
  assert.ok(!rangeMapsDuplicates(k, pid, p, H));
  checkInvariants(k);
});

test('cow_ksm: a write to a merged page gets a copy; the KSM page and its other sharers are left alone', () => {
  const { k, pid } = machine();
  const p = allocateMemory(k, pid, 4, STAR);
  mergePages(k, pid, p, 4 * PAGE);
  const [kpfn] = pfns(k, pid, p, 1);
  k.touch(pid, p + PAGE, PAGE, { fill: 7 });
  assert.equal(vmstatItem(k, 'cow_ksm'), 1);
  const after = pfns(k, pid, p, 4);
  assert.notEqual(after[1], kpfn);
  assert.deepEqual([after[0], after[2], after[3]], [kpfn, kpfn, kpfn]);
  assert.equal(kernelOf(k).frames.content(after[1]!), 7);
  checkInvariants(k);
});

// ---- state rules ---------------------------------------------------------------------------------

test('max_page_sharing and merge_across_nodes are EBUSY while KSM pages exist: run 2, change, run 1', () => {
  const { k, pid } = machine();
  const p = allocateMemory(k, pid, 30, STAR);
  mergePages(k, pid, p, 30 * PAGE);
  assertErrno(() => setKsm(k, 'max_page_sharing', 10), 'EBUSY');
  assertErrno(() => setKsm(k, 'merge_across_nodes', 0), 'EBUSY');
  setKsm(k, 'max_page_sharing', 256); // the same value is no change
  setKsm(k, 'merge_across_nodes', 1);
  setKsm(k, 'run', 2);
  assert.deepEqual(['pages_shared', 'pages_sharing', 'pages_unshared', 'pages_volatile', 'full_scans'].map((f) => ksm(k, f)), [0, 0, 0, 0, 0]);
  assert.ok(!rangeMapsDuplicates(k, pid, p, 30 * PAGE));
  assert.equal(ksmStat(k, pid).ksm_rmap_items, 0);
  setKsm(k, 'max_page_sharing', 10);
  scans(k, 2);
  assertPagesCount(k, 30);
  checkInvariants(k);
});

// ---- THP -------------------------------------------------------------------------------------------------

test('a THP in a mergeable VMA is split when its subpages merge (thp_split_page + 1)', () => {
  const { k, pid } = machine();
  const p = mapAligned(k, pid, 1);
  k.madvise(pid, p, H, 'MADV_HUGEPAGE');
  k.touch(pid, p, H, { fill: 0x5a5a5a5a });
  assert.ok(regionIsHuge(k, pid, p));
  k.madvise(pid, p, H, 'MADV_MERGEABLE');
  scans(k, 1);
  assert.ok(regionIsHuge(k, pid, p), 'the first visit only checksums');
  scans(k, 1);
  // Subpages 0 and 1 are of the same THP: that merge fails (the split fails on the tree page's
  // reference), the THP is split; the rest merge at once, subpage 1 at the next visit (as 6.18 does).
  assert.ok(!regionIsHuge(k, pid, p));
  assert.deepEqual([vmstatItem(k, 'thp_split_page'), vmstatItem(k, 'thp_split_page_failed')], [1, 1]);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing'), ksm(k, 'pages_volatile')], [2, 509, 1]);
  scans(k, 1);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing'), ksm(k, 'pages_volatile')], [2, 510, 0]);
  assert.equal(k.readFile(`/proc/${pid}/smaps_rollup`).match(/AnonHugePages:\s+(\d+)/)?.[1], '0');
  checkInvariants(k);
});

// ---- KSM pages and collapse ------------------------------------------------------------------------------

test('MADV_COLLAPSE answers EAGAIN for a region where a KSM page is mapped at several PTEs, and goes on', () => {
  const { k, pid } = machine();
  const p = mapAligned(k, pid, 2);
  k.touch(pid, p, H, { fill: STAR }); // region 0: one content, merged into two KSM pages
  k.touch(pid, p + H, H); // region 1: distinct pages
  k.madvise(pid, p, 2 * H, 'MADV_MERGEABLE');
  scans(k, 2);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing')], [2, 510]);
  const allocs = vmstatItem(k, 'thp_collapse_alloc');
  assert.deepEqual(madviseCollapse(k, pid, p, 2 * H), { ret: -1, errno: 'EAGAIN' });
  // The huge page was allocated, then the second PTE of a KSM page was found locked (SCAN_PAGE_LOCK).
  assert.equal(vmstatItem(k, 'thp_collapse_alloc') - allocs, 2);
  assert.ok(!regionIsHuge(k, pid, p));
  assert.ok(regionIsHuge(k, pid, p + H), 'the walk went on to region 1');
  checkInvariants(k);
});

test('MADV_COLLAPSE copies KSM pages mapped once in the region; ksmd then splits the THP to merge it again', () => {
  const { k, pid } = machine();
  const other = k.spawn({ comm: 'twin' });
  const regions = [pid, other].map((who) => {
    const r = mapAligned(k, who, 1);
    for (let i = 0; i < 512; i++) k.touch(who, r + i * PAGE, PAGE, { fill: 1000 + i });
    k.madvise(who, r, H, 'MADV_MERGEABLE');
    return r;
  });
  scans(k, 2);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing')], [512, 512]);
  assert.deepEqual(madviseCollapse(k, pid, regions[0], H), { ret: 0, errno: null });
  assert.ok(regionIsHuge(k, pid, regions[0]));
  const twin = pfns(k, other, regions[1], 512);
  assert.ok(twin.every((pfn) => pfn !== undefined && kernelOf(k).frames.has(pfn, 1 << 11)), 'the twin still maps KSM pages');
  // The subpages' content has not changed since ksmd's last visit, so the next visit finds the twin's
  // KSM pages in the stable tree at once and splits the new THP to merge into them again.
  scans(k, 1);
  assert.ok(!regionIsHuge(k, pid, regions[0]));
  assert.equal(vmstatItem(k, 'thp_split_page'), 1);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing')], [512, 512]);
  checkInvariants(k);
});

test('khugepaged counts KSM pages as shared: max_ptes_shared refuses the region, 511 lets it collapse', () => {
  const { k, pid } = machine();
  const other = k.spawn({ comm: 'twin' });
  const regions = [pid, other].map((who) => {
    const r = mapAligned(k, who, 1);
    // Pages 1–511 alike in both processes: 511 KSM pages in the region, and one page of its own.
    for (let i = 0; i < 512; i++) k.touch(who, r + i * PAGE, PAGE, { fill: i === 0 ? 9000 + who : 5000 + i });
    k.madvise(who, r, H, 'MADV_MERGEABLE');
    return r;
  });
  scans(k, 2);
  k.writeFile('/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs', '100');
  k.madvise(pid, regions[0], H, 'MADV_HUGEPAGE');
  k.advance(1000);
  assert.ok(!regionIsHuge(k, pid, regions[0]));
  assert.ok(vmstatItem(k, 'thp_scan_exceed_share_pte') >= 1);
  k.writeFile('/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_shared', '511');
  k.advance(1000);
  assert.ok(regionIsHuge(k, pid, regions[0]));
  assert.equal(Number(k.readFile('/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed')), 1);
  checkInvariants(k);
});

// ---- fork, smart scan, chains ------------------------------------------------------------------------------

test('a fork\'s mappings of KSM pages join their stable node at ksmd\'s next scan, even past max_page_sharing', () => {
  const { k, pid } = machine();
  setKsm(k, 'max_page_sharing', 10);
  const p = allocateMemory(k, pid, 10, STAR);
  mergePages(k, pid, p, 10 * PAGE);
  assertPagesCount(k, 10);
  const child = k.fork(pid);
  assert.deepEqual(pfns(k, child, p, 10), pfns(k, pid, p, 10));
  scans(k, 1);
  assert.deepEqual([ksm(k, 'pages_shared'), ksm(k, 'pages_sharing')], [1, 19]);
  assert.equal(ksmStat(k, child).ksm_merging_pages, 10);
  checkInvariants(k);
});

test('smart scan skips pages that keep failing to merge, ever less often', () => {
  for (const smart of [1, 0]) {
    const { k, pid } = machine();
    setKsm(k, 'smart_scan', smart);
    const p = k.mmap(pid, 100 * PAGE);
    k.touch(pid, p, 100 * PAGE); // 100 distinct pages: none ever merges
    k.madvise(pid, p, 100 * PAGE, 'MADV_MERGEABLE');
    scans(k, 8);
    // Visits at age 0–3 and 5 are made; ages 4, 6 and 7 are skipped (skip_age: 1, then 2).
    assert.equal(ksm(k, 'pages_skipped'), smart ? 300 : 0);
    assert.equal(ksm(k, 'pages_scanned'), smart ? 500 : 800);
    kernelOf(k).ksm.checkInvariants();
  }
});

test('a chain whose other dups went stale collapses back into a single stable node', () => {
  const { k, pid } = machine();
  setKsm(k, 'max_page_sharing', 10);
  const p = allocateMemory(k, pid, 15, STAR);
  mergePages(k, pid, p, 15 * PAGE);
  assert.deepEqual(['pages_shared', 'pages_sharing', 'stable_node_chains', 'stable_node_dups'].map((f) => ksm(k, f)), [2, 13, 1, 2]);
  k.munmap(pid, p + 10 * PAGE, 5 * PAGE); // the second KSM page's mappings go: it is freed, its node stale
  scans(k, 1);
  assert.deepEqual(['pages_shared', 'pages_sharing', 'stable_node_chains', 'stable_node_dups'].map((f) => ksm(k, f)), [1, 9, 1, 1]);
  const q = allocateMemory(k, pid, 1, STAR);
  mergePages(k, pid, q, PAGE);
  // The lookup for the new page finds a chain of one dup and drops the chain; that page is full, so the
  // newcomer waits in the unstable tree.
  assert.deepEqual(['pages_shared', 'pages_sharing', 'stable_node_chains', 'stable_node_dups', 'pages_unshared'].map((f) => ksm(k, f)), [1, 9, 0, 0, 1]);
  checkInvariants(k);
});

test('stable_node_chains_prune_millisecs: a due prune picks the fullest dup with room, else the first', () => {
  for (const pruneMs of [2000, 0]) {
    const { k, pid } = machine();
    setKsm(k, 'max_page_sharing', 4);
    setKsm(k, 'stable_node_chains_prune_millisecs', pruneMs);
    const p = k.mmap(pid, 13 * PAGE);
    k.madvise(pid, p, 13 * PAGE, 'MADV_NOHUGEPAGE');
    k.touch(pid, p, 12 * PAGE, { fill: STAR });
    k.madvise(pid, p, 13 * PAGE, 'MADV_MERGEABLE');
    scans(k, 2); // three full KSM pages: pages 0–3, 4–7 (page 5's frame), 8–11 (page 9's frame)
    assert.deepEqual(['pages_shared', 'pages_sharing', 'stable_node_dups'].map((f) => ksm(k, f)), [3, 9, 3]);
    const before = pfns(k, pid, p, 12);
    for (const i of [4, 8, 9]) k.touch(pid, p + i * PAGE, PAGE); // the second keeps 3, the third 2
    scans(k, 1);
    k.touch(pid, p + 12 * PAGE, PAGE, { fill: STAR });
    scans(k, 2);
    const [newcomer] = pfns(k, pid, p + 12 * PAGE, 1);
    // The chain lists its dups newest first: without a prune the first with room (page 9's) takes it;
    // a prune walks them all and picks the fullest with room (page 5's).
    assert.equal(newcomer, pruneMs ? before[10] : before[5], `prune ${pruneMs} ms`);
    checkInvariants(k);
  }
});

// ---- invariants under random workloads ------------------------------------------------------------------------

type Op =
  | { t: 'write'; p: number; page: number; pages: number; v: number }
  | { t: 'mergeable'; p: number; on: boolean }
  | { t: 'prctl'; p: number; on: boolean }
  | { t: 'fork' | 'exit' | 'migrate' | 'collapse' | 'dontneed'; p: number }
  | { t: 'scan'; n: number }
  | { t: 'run2' }
  | { t: 'knob'; name: string; v: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('write' as const), p: fc.nat(3), page: fc.nat(575), pages: fc.integer({ min: 1, max: 64 }), v: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('mergeable' as const), p: fc.nat(3), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('prctl' as const), p: fc.nat(3), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('fork' as const, 'exit' as const, 'migrate' as const, 'collapse' as const, 'dontneed' as const), p: fc.nat(3) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('scan' as const), n: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('run2' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('knob' as const), name: fc.constantFrom('max_page_sharing', 'use_zero_pages', 'merge_across_nodes', 'smart_scan'), v: fc.integer({ min: 0, max: 4 }) }) },
);

test('random workloads keep KSM\'s counters, trees, zero-page marks and the frame rmap consistent', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
      const k = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }] });
      setKsm(k, 'pages_to_scan', 100000);
      setKsm(k, 'sleep_millisecs', 100);
      // Each process: a 2 MiB MADV_HUGEPAGE region (a THP at its first write) and 256 KiB of small pages.
      const procs: { pid: number; r: number }[] = [];
      for (let i = 0; i < 2; i++) {
        const pid = k.spawn({ comm: `p${i}`, node: i });
        const r = k.mmap(pid, H + 64 * PAGE, { align: H });
        k.madvise(pid, r, H, 'MADV_HUGEPAGE');
        k.madvise(pid, r, H + 64 * PAGE, 'MADV_MERGEABLE');
        procs.push({ pid, r });
      }
      for (const op of ops) {
        const proc = 'p' in op ? procs[op.p % procs.length] : undefined;
        if (proc && !k.listPids().includes(proc.pid)) continue;
        try {
          switch (op.t) {
            case 'write': {
              const len = Math.min(op.pages, 576 - op.page) * PAGE;
              k.touch(proc!.pid, proc!.r + op.page * PAGE, len, { fill: op.v === 3 ? undefined : op.v * 0x01010101 });
              break;
            }
            case 'mergeable':
              k.madvise(proc!.pid, proc!.r, H + 64 * PAGE, op.on ? 'MADV_MERGEABLE' : 'MADV_UNMERGEABLE');
              break;
            case 'prctl':
              k.prctl(proc!.pid, 'PR_SET_MEMORY_MERGE', op.on ? 1 : 0);
              break;
            case 'fork':
              if (procs.length < 6) procs.push({ pid: k.fork(proc!.pid), r: proc!.r });
              break;
            case 'exit':
              k.exit(proc!.pid);
              break;
            case 'migrate':
              k.migratePages(proc!.pid, [0, 1], [1, 0]);
              break;
            case 'collapse':
              k.madvise(proc!.pid, proc!.r, H, 'MADV_COLLAPSE');
              break;
            case 'dontneed':
              k.madvise(proc!.pid, proc!.r + 8 * PAGE, 16 * PAGE, 'MADV_DONTNEED');
              break;
            case 'scan': // with nothing mergeable left ksmd idles, so time is bounded rather than scans counted
              setKsm(k, 'run', 1);
              k.advance(100 * op.n + 1);
              setKsm(k, 'run', 0);
              break;
            case 'run2':
              setKsm(k, 'run', 2);
              break;
            case 'knob':
              setKsm(k, op.name, op.name === 'max_page_sharing' ? op.v + 2 : op.v % 2);
              break;
          }
        } catch (e) {
          if (!(e instanceof SyscallError)) throw e;
        }
        checkInvariants(k);
      }
    }),
    { numRuns: 40 },
  );
});

// ---- ksmd ----------------------------------------------------------------------------------------------------

test('ksmd is a kernel thread: pages_to_scan per sleep_millisecs, its CPU in kernelThreadCpu, run 0 stops it', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 1024 }] });
  const pid = k.spawn({ comm: 'ksm' });
  const p = k.mmap(pid, 1000 * PAGE);
  k.touch(pid, p, 1000 * PAGE);
  k.madvise(pid, p, 1000 * PAGE, 'MADV_MERGEABLE');
  k.advance(1000);
  assert.equal(ksm(k, 'pages_scanned'), 0, 'run is 0 at boot');
  setKsm(k, 'run', 1); // the defaults: 100 pages per batch, 20 ms apart
  k.advance(190);
  assert.equal(ksm(k, 'pages_scanned'), 1000); // batches at 0, 20, …, 180 ms
  assert.equal(ksm(k, 'full_scans'), 0);
  k.advance(10);
  assert.equal(ksm(k, 'full_scans'), 1, 'the 11th batch finds the end of the list');
  assert.ok(Math.abs(k.kernelThreadCpu().ksmd - 1000 * Cost.ksmScanPage) < 1e-9);
  assert.equal(ksm(k, 'pages_volatile'), 1000);
  setKsm(k, 'run', 0);
  k.advance(1000);
  assert.equal(ksm(k, 'pages_scanned'), 1000);
});

// ---- the seed: rmap walks of widely shared KSM pages -------------------------------------------------------

/**
 * The seed program (Arcangeli, 2016): one page of 0xff, mergeable, whose content 2^20 − 1 other pages
 * share; migrate_pages() moves it between nodes. Returns the migration's cost to the caller (ms).
 */
function seedMigration(maxPageSharing: number): { ms: number; moved: number; sharers: (number | undefined)[] } {
  const sharers = (1 << 20) - 1;
  const { k, seed, p, guests, g } = buildKsmSeed(sharers, maxPageSharing);
  const [kpfn] = pfns(k, seed, p, 1);
  assert.ok(kpfn !== undefined && kernelOf(k).frames.has(kpfn, 1 << 11), 'the seed page is a KSM page');
  const mapcount = kernelOf(k).frames.getMapcount(kpfn);
  assert.equal(mapcount, Math.min(maxPageSharing, sharers + 1));
  const before = k.stallTime(seed).migration;
  assert.equal(k.migratePages(seed, [0], [1]), 0);
  const [moved] = pfns(k, seed, p, 1);
  // Every mapping of the KSM page was rewritten: the guests' last pages follow it to node 1.
  return { ms: k.stallTime(seed).migration - before, moved: moved!, sharers: pfns(k, guests, g + (sharers - 255) * PAGE, 255) };
}

// Slow (about 8 s): two machines with 4 GiB of identical pages each.
test('the seed: migrating one page shared 2^20 times takes tens of seconds; at max_page_sharing 256, milliseconds', () => {
  const unlimited = seedMigration(2 ** 31 - 1);
  const capped = seedMigration(256);
  assert.ok(unlimited.ms > 20_000 && unlimited.ms < 60_000, `unlimited: ${unlimited.ms} ms`);
  assert.ok(capped.ms > 1 && capped.ms < 10, `max_page_sharing 256: ${capped.ms} ms`);
  const ratio = unlimited.ms / capped.ms;
  assert.ok(ratio > 3000 && ratio < 4096, `ratio ${ratio}: 2^20 mappings against 256 (plus the fixed part)`);
  for (const r of [unlimited, capped]) assert.ok(r.sharers.every((pfn) => pfn === r.moved));
});
