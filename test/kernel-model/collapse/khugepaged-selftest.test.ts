/**
 * The kernel's khugepaged selftest, tools/testing/selftests/mm/khugepaged.c (with vm_util.c's
 * check_huge_anon and thp_settings.c), ported case by case to the simulated kernel's public API.
 *
 * As in the selftest, every case starts from its settings (enabled=madvise, defrag=always,
 * use_zero_page=0, khugepaged: defrag=1, scan_sleep_millisecs=10, alloc_sleep_millisecs=10,
 * pages_to_scan=4096, max_ptes_none=511, max_ptes_swap=64, max_ptes_shared=256) and runs in two
 * collapse contexts:
 *  - khugepaged: MADV_HUGEPAGE on the range, then simulated time in 500 ms ticks until the range is huge
 *    or khugepaged/full_scans has grown by 2 (wait_for_scan, at most 3 s), then MADV_NOHUGEPAGE; the
 *    max_ptes_{none,swap,shared} limits apply;
 *  - madvise: enabled=never, MADV_HUGEPAGE, then MADV_COLLAPSE (retried once on EAGAIN); the limits do not
 *    apply.
 * THP-ness is AnonHugePages of the VMA in /proc/PID/smaps, as check_huge_anon() reads it; contents are
 * validated page by page as validate_memory() does. Beyond the selftest, each case also checks the
 * counters reference section 2 defines: khugepaged/pages_collapsed grows by one per PMD khugepaged
 * collapses and never under MADV_COLLAPSE; thp_scan_exceed_* move when khugepaged refuses a PMD for a
 * limit and never under MADV_COLLAPSE.
 *
 * The selftest's file and shmem variants (mem_ops file_ops/shmem_ops), collapse_compound_extreme (mremap
 * of PTE-mapped THPs) and madvise_retracted_page_tables (file/shmem only) need mechanisms the model does
 * not have; they are listed as skipped tests with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import {
  HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE, checkHuge, checkSwap, contexts, fillMemory, khugepagedContext,
  madviseCollapseRetry, madviseCollapseUnchecked, madviseContext, mapAligned, pushSettings, readThpNum,
  selftestMachine, validateMemory, writeThp, type CollapseContext, type CollapseReport,
} from './collapse-helpers.js';

/** alloc_hpage(): a region collapsed by MADV_COLLAPSE into a PMD-mapped THP, then marked VM_HUGEPAGE. */
function allocHpage(k: SimKernel, pid: number): number {
  const p = mapAligned(k, pid, 1);
  fillMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
  const r = madviseCollapseRetry(k, pid, p, HPAGE_PMD_SIZE);
  assert.equal(r.ret, 0, `Allocate huge page: madvise(MADV_COLLAPSE) gave ${r.errno}`);
  assert.ok(checkHuge(k, pid, p, 1), 'Allocate huge page: check_huge() after MADV_COLLAPSE');
  k.madvise(pid, p, HPAGE_PMD_SIZE, 'MADV_HUGEPAGE');
  return p;
}

/** The counters MADV_COLLAPSE must leave alone (reference sections 2 and 4). */
function assertNoKhugepagedCounters(c: CollapseContext, report: CollapseReport): void {
  if (c !== madviseContext) return;
  const { pages_collapsed, thp_scan_exceed_none_pte, thp_scan_exceed_swap_pte, thp_scan_exceed_share_pte } = report.counters;
  assert.deepEqual(
    { pages_collapsed, thp_scan_exceed_none_pte, thp_scan_exceed_swap_pte, thp_scan_exceed_share_pte },
    { pages_collapsed: 0, thp_scan_exceed_none_pte: 0, thp_scan_exceed_swap_pte: 0, thp_scan_exceed_share_pte: 0 },
    'MADV_COLLAPSE moved a khugepaged-only counter',
  );
}

/** A khugepaged refusal for a limit counts thp_scan_exceed_<what> (once per PMD per scan). */
function assertExceeded(c: CollapseContext, report: CollapseReport, counter: string): void {
  if (c === khugepagedContext) assert.ok((report.counters[counter] ?? 0) >= 1, `${counter} did not grow (${JSON.stringify(report.counters)})`);
  else assertNoKhugepagedCounters(c, report);
}

const skipFileShmem = 'file-backed and shmem THP are out of the model\'s scope (reference section 11: no page-cache THP, no shmem_enabled)';

test('alloc_at_fault', () => {
  const { k, pid } = selftestMachine();
  const pop = pushSettings(k, { enabled: 'always' });
  const p = mapAligned(k, pid, 1);
  k.touch(pid, p, 1); // *p = 1
  assert.ok(checkHuge(k, pid, p, 1), 'Allocate huge page on fault');
  pop();
  k.madvise(pid, p, PAGE_SIZE, 'MADV_DONTNEED');
  assert.ok(checkHuge(k, pid, p, 0), 'Split huge PMD on MADV_DONTNEED');
  k.munmap(pid, p, HPAGE_PMD_SIZE);
});

for (const c of contexts) {
  test(`collapse_full (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const nr = 4;
    const size = nr * HPAGE_PMD_SIZE;
    const p = mapAligned(k, pid, nr);
    fillMemory(k, pid, p, 0, size);
    const report = c.collapse(k, pid, 'Collapse multiple fully populated PTE table', p, nr, true);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, pid, p, 0, size);
    k.munmap(pid, p, size);
  });
}

for (const c of contexts) {
  test(`collapse_empty (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const p = mapAligned(k, pid, 1);
    const report = c.collapse(k, pid, 'Do not collapse empty PTE table', p, 1, false);
    if (report.madvise) assert.equal(report.madvise.errno, 'EINVAL', 'no page table: MADV_COLLAPSE answers EINVAL (reference section 4)');
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_single_pte_entry (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const p = mapAligned(k, pid, 1);
    fillMemory(k, pid, p, 0, PAGE_SIZE);
    const report = c.collapse(k, pid, 'Collapse PTE table with single PTE entry present', p, 1, true);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, pid, p, 0, PAGE_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_max_ptes_none (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const maxPtesNone = HPAGE_PMD_NR / 2;
    const pop = pushSettings(k, { 'khugepaged/max_ptes_none': String(maxPtesNone) });
    const p = mapAligned(k, pid, 1);
    fillMemory(k, pid, p, 0, (HPAGE_PMD_NR - maxPtesNone - 1) * PAGE_SIZE);
    const report = c.collapse(k, pid, 'Maybe collapse with max_ptes_none exceeded', p, 1, !c.enforcePteScanLimits);
    assertExceeded(c, report, 'thp_scan_exceed_none_pte');
    validateMemory(k, pid, p, 0, (HPAGE_PMD_NR - maxPtesNone - 1) * PAGE_SIZE);
    if (c.enforcePteScanLimits) {
      fillMemory(k, pid, p, 0, (HPAGE_PMD_NR - maxPtesNone) * PAGE_SIZE);
      c.collapse(k, pid, 'Collapse with max_ptes_none PTEs empty', p, 1, true);
      validateMemory(k, pid, p, 0, (HPAGE_PMD_NR - maxPtesNone) * PAGE_SIZE);
    }
    k.munmap(pid, p, HPAGE_PMD_SIZE);
    pop();
  });
}

for (const c of contexts) {
  test(`collapse_single_pte_entry_compound (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const p = allocHpage(k, pid);
    k.madvise(pid, p, HPAGE_PMD_SIZE, 'MADV_NOHUGEPAGE');
    k.madvise(pid, p + PAGE_SIZE, HPAGE_PMD_SIZE - PAGE_SIZE, 'MADV_DONTNEED');
    assert.ok(checkHuge(k, pid, p, 0), 'Split huge page leaving single PTE mapping compound page');
    const report = c.collapse(k, pid, 'Collapse PTE table with single PTE mapping compound page', p, 1, true);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, pid, p, 0, PAGE_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_full_of_compound (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const p = allocHpage(k, pid);
    // Splitting the VMA at the first page splits the PMD; the second madvise merges the VMA back.
    k.madvise(pid, p, PAGE_SIZE, 'MADV_NOHUGEPAGE');
    k.madvise(pid, p, HPAGE_PMD_SIZE, 'MADV_NOHUGEPAGE');
    assert.ok(checkHuge(k, pid, p, 0), 'Split huge page leaving single PTE page table full of compound pages');
    const report = c.collapse(k, pid, 'Collapse PTE table full of compound pages', p, 1, true);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_compound_extreme (${c.name}:anon)`, {
    skip: 'needs mremap(MREMAP_MAYMOVE | MREMAP_FIXED) to build a PTE table of 512 different PTE-mapped THPs; SimKernel has no mremap',
  });
}

for (const c of contexts) {
  test(`collapse_swapin_single_pte (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine({ swapMiB: 64 });
    const p = mapAligned(k, pid, 1);
    fillMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    k.madvise(pid, p, PAGE_SIZE, 'MADV_PAGEOUT');
    assert.ok(checkSwap(k, pid, p, PAGE_SIZE), 'Swapout one page');
    const report = c.collapse(k, pid, 'Collapse with swapping in single PTE entry', p, 1, true);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_max_ptes_swap (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine({ swapMiB: 64 });
    const maxPtesSwap = readThpNum(k, 'khugepaged/max_ptes_swap');
    const p = mapAligned(k, pid, 1);
    fillMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    k.madvise(pid, p, (maxPtesSwap + 1) * PAGE_SIZE, 'MADV_PAGEOUT');
    assert.ok(checkSwap(k, pid, p, (maxPtesSwap + 1) * PAGE_SIZE), `Swapout ${maxPtesSwap + 1} of ${HPAGE_PMD_NR} pages`);
    const report = c.collapse(k, pid, 'Maybe collapse with max_ptes_swap exceeded', p, 1, !c.enforcePteScanLimits);
    assertExceeded(c, report, 'thp_scan_exceed_swap_pte');
    validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    if (c.enforcePteScanLimits) {
      fillMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
      k.madvise(pid, p, maxPtesSwap * PAGE_SIZE, 'MADV_PAGEOUT');
      assert.ok(checkSwap(k, pid, p, maxPtesSwap * PAGE_SIZE), `Swapout ${maxPtesSwap} of ${HPAGE_PMD_NR} pages`);
      c.collapse(k, pid, 'Collapse with max_ptes_swap pages swapped out', p, 1, true);
      validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    }
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_fork (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const p = mapAligned(k, pid, 1);
    fillMemory(k, pid, p, 0, PAGE_SIZE);
    assert.ok(checkHuge(k, pid, p, 0), 'Allocate small page');

    const child = k.fork(pid); // Share small page over fork()
    assert.ok(checkHuge(k, child, p, 0), 'child: small page');
    fillMemory(k, child, p, PAGE_SIZE, 2 * PAGE_SIZE);
    const report = c.collapse(k, child, 'Collapse PTE table with single page shared with parent process', p, 1, true);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, child, p, 0, PAGE_SIZE);
    k.munmap(child, p, HPAGE_PMD_SIZE);
    k.exit(child);

    assert.ok(checkHuge(k, pid, p, 0), 'Check if parent still has small page');
    validateMemory(k, pid, p, 0, PAGE_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_fork_compound (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const maxPtesShared = readThpNum(k, 'khugepaged/max_ptes_shared');
    const p = allocHpage(k, pid);

    const child = k.fork(pid); // Share huge page over fork()
    assert.ok(checkHuge(k, child, p, 1), 'child: huge page shared over fork()');
    k.madvise(child, p, PAGE_SIZE, 'MADV_NOHUGEPAGE');
    k.madvise(child, p, HPAGE_PMD_SIZE, 'MADV_NOHUGEPAGE');
    assert.ok(checkHuge(k, child, p, 0), 'Split huge page PMD in child process');
    fillMemory(k, child, p, 0, PAGE_SIZE);
    writeThp(k, 'khugepaged/max_ptes_shared', HPAGE_PMD_NR - 1);
    const report = c.collapse(k, child, 'Collapse PTE table full of compound pages in child', p, 1, true);
    writeThp(k, 'khugepaged/max_ptes_shared', maxPtesShared);
    assertNoKhugepagedCounters(c, report);
    validateMemory(k, child, p, 0, HPAGE_PMD_SIZE);
    k.munmap(child, p, HPAGE_PMD_SIZE);
    k.exit(child);

    assert.ok(checkHuge(k, pid, p, 1), 'Check if parent still has huge page');
    validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

for (const c of contexts) {
  test(`collapse_max_ptes_shared (${c.name}:anon)`, () => {
    const { k, pid } = selftestMachine();
    const maxPtesShared = readThpNum(k, 'khugepaged/max_ptes_shared');
    const p = allocHpage(k, pid);

    const child = k.fork(pid); // Share huge page over fork()
    assert.ok(checkHuge(k, child, p, 1), 'child: huge page shared over fork()');
    fillMemory(k, child, p, 0, (HPAGE_PMD_NR - maxPtesShared - 1) * PAGE_SIZE);
    assert.ok(checkHuge(k, child, p, 0), `Trigger CoW on page ${HPAGE_PMD_NR - maxPtesShared - 1} of ${HPAGE_PMD_NR}`);
    const report = c.collapse(k, child, 'Maybe collapse with max_ptes_shared exceeded', p, 1, !c.enforcePteScanLimits);
    assertExceeded(c, report, 'thp_scan_exceed_share_pte');
    if (c.enforcePteScanLimits) {
      fillMemory(k, child, p, 0, (HPAGE_PMD_NR - maxPtesShared) * PAGE_SIZE);
      assert.ok(checkHuge(k, child, p, 0), `Trigger CoW on page ${HPAGE_PMD_NR - maxPtesShared} of ${HPAGE_PMD_NR}`);
      c.collapse(k, child, 'Collapse with max_ptes_shared PTEs shared', p, 1, true);
    }
    validateMemory(k, child, p, 0, HPAGE_PMD_SIZE);
    k.munmap(child, p, HPAGE_PMD_SIZE);
    k.exit(child);

    assert.ok(checkHuge(k, pid, p, 1), 'Check if parent still has huge page');
    validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
    k.munmap(pid, p, HPAGE_PMD_SIZE);
  });
}

test('madvise_collapse_existing_thps (madvise:anon)', () => {
  const { k, pid } = selftestMachine();
  const p = mapAligned(k, pid, 1);
  fillMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
  const first = madviseContext.collapse(k, pid, 'Collapse fully populated PTE table...', p, 1, true);
  assert.equal(first.counters.thp_collapse_alloc, 1, 'a collapse allocates one huge page (thp_collapse_alloc)');
  validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
  // c->collapse() would find a hugepage and complain: call __madvise_collapse directly.
  const again = madviseCollapseUnchecked(k, pid, 'Re-collapse PMD-mapped hugepage', p, 1, true);
  assert.equal(again.counters.thp_collapse_alloc, 0, 'an already PMD-mapped region allocates nothing');
  validateMemory(k, pid, p, 0, HPAGE_PMD_SIZE);
  k.munmap(pid, p, HPAGE_PMD_SIZE);
});

/** The selftest's file and shmem variants of the cases above (main()'s TEST lines), all out of scope. */
const fileShmemVariants: readonly [string, string][] = [
  ['collapse_full', 'khugepaged:file, khugepaged:shmem, madvise:file, madvise:shmem'],
  ['collapse_single_pte_entry', 'khugepaged:file, khugepaged:shmem, madvise:file, madvise:shmem'],
  ['collapse_max_ptes_none', 'khugepaged:file, madvise:file'],
  ['collapse_single_pte_entry_compound', 'khugepaged:file, madvise:file'],
  ['collapse_full_of_compound', 'khugepaged:file, khugepaged:shmem, madvise:file, madvise:shmem'],
];
for (const [name, variants] of fileShmemVariants) test(`${name} (${variants})`, { skip: skipFileShmem });
test('madvise_collapse_existing_thps (madvise:file, madvise:shmem)', { skip: skipFileShmem });
test('madvise_retracted_page_tables (madvise:file, madvise:shmem)', {
  skip: `only for file and shmem memory (khugepaged retracts the page table, MADV_COLLAPSE reinstalls the PMD from the page cache); ${skipFileShmem}`,
});

// ---- what the selftest's settings rely on ----------------------------------------------------------

test('thp_settings: writing khugepaged/scan_sleep_millisecs wakes khugepaged at once (scan_sleep_millisecs_store)', () => {
  // mm/khugepaged.c: the store sets khugepaged_sleep_expire = 0 and wakes khugepaged_wait, so the
  // selftest's 10 ms applies at once, not after the 10 s sleep already begun.
  const k = new SimKernel({ nodes: [{ memoryMiB: 1024 }], seed: 1 });
  const a = k.spawn({ comm: 'a' });
  const pa = mapAligned(k, a, 1);
  fillMemory(k, a, pa, 0, HPAGE_PMD_SIZE);
  k.madvise(a, pa, HPAGE_PMD_SIZE, 'MADV_HUGEPAGE'); // the first mm on an empty list wakes khugepaged
  k.advance(100);
  assert.ok(checkHuge(k, a, pa, 1), 'khugepaged collapsed the first mm\'s region at once');

  const b = k.spawn({ comm: 'b' });
  const pb = mapAligned(k, b, 1);
  fillMemory(k, b, pb, 0, HPAGE_PMD_SIZE);
  k.madvise(b, pb, HPAGE_PMD_SIZE, 'MADV_HUGEPAGE'); // joins a non-empty list: no wake-up
  k.advance(1000);
  assert.ok(checkHuge(k, b, pb, 0), 'khugepaged sleeps scan_sleep_millisecs (10 s) between passes');
  writeThp(k, 'khugepaged/scan_sleep_millisecs', 10);
  k.advance(100);
  assert.ok(checkHuge(k, b, pb, 1), 'the write woke khugepaged');
});

test('khugepaged’s work is charged to its own thread, not to the process it collapses', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 256 }] });
  const pid = k.spawn();
  const a = k.mmap(pid, 4 * HPAGE_PMD_SIZE);
  k.madvise(pid, a, 4 * HPAGE_PMD_SIZE, 'MADV_NOHUGEPAGE');
  k.touch(pid, a, 4 * HPAGE_PMD_SIZE);
  k.madvise(pid, a, 4 * HPAGE_PMD_SIZE, 'MADV_HUGEPAGE');
  const before = k.cpuTime(pid).stimeMs;
  k.advance(1000);
  assert.equal(k.readFile('/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed'), '4\n');
  assert.ok(k.kernelThreadCpu().khugepaged > 0);
  assert.equal(k.cpuTime(pid).stimeMs, before, 'the target pays no CPU');
  assert.ok(k.stallTime(pid).collapse > 0, 'but it stalls while its pages are copied');
});
