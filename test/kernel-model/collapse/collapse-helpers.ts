/**
 * Helpers shared by the collapse tests (khugepaged and MADV_COLLAPSE selftest ports, the observed 6.18
 * results, and the workload agent's simulated twin). They play the part of the selftests' vm_util.c and
 * thp_settings.c: map an aligned region, fill it with a recognisable value per page and validate it,
 * read AnonHugePages and Swap of a VMA from /proc/PID/smaps, read counters, push and pop THP settings,
 * and wait for khugepaged's full scans as wait_for_scan() does — on simulated time, with a bound.
 *
 * Everything goes through the model's public API (SimKernel) except `validateMemory`, which reads page
 * contents through the evaluation entry (a real test reads its own memory; the model keeps one 32-bit
 * value per page that only the evaluation entry shows).
 */
import assert from 'node:assert/strict';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { kernelOf } from '../../../kernel-model/evaluation.js';
import { parseSmaps, parseVmstat, type SmapsRecord } from '../../../daemon/kernel-port/procfs-parsers.js';

export const PAGE_SIZE = 4096;
export const HPAGE_PMD_SIZE = 2 << 20;
export const HPAGE_PMD_NR = HPAGE_PMD_SIZE / PAGE_SIZE;
export const PIDFD_SELF_THREAD = -10000;
export const PIDFD_SELF_THREAD_GROUP = -10001;

const THP = '/sys/kernel/mm/transparent_hugepage';

// ---- settings (thp_settings.c) ------------------------------------------------------------------

/** A THP setting: a path under /sys/kernel/mm/transparent_hugepage/ and the text to write. */
export type ThpSettings = Readonly<Record<string, string>>;

/**
 * khugepaged.c main(): the settings every selftest case starts from (`shmem_enabled` and
 * `read_ahead_kb` left out: file and shmem THP are out of the model's scope). With 4 KiB pages:
 * max_ptes_none = 511, max_ptes_swap = 64, max_ptes_shared = 256, pages_to_scan = 4096.
 */
export const selftestSettings: ThpSettings = {
  enabled: 'madvise',
  defrag: 'always',
  use_zero_page: '0',
  'khugepaged/defrag': '1',
  'khugepaged/alloc_sleep_millisecs': '10',
  'khugepaged/scan_sleep_millisecs': '10',
  'khugepaged/max_ptes_none': String(HPAGE_PMD_NR - 1),
  'khugepaged/max_ptes_swap': String(HPAGE_PMD_NR / 8),
  'khugepaged/max_ptes_shared': String(HPAGE_PMD_NR / 2),
  'khugepaged/pages_to_scan': String(HPAGE_PMD_NR * 8),
};

/** The current value of a THP file: the bracketed word of a choice file, else the trimmed text. */
export function readThp(k: SimKernel, name: string): string {
  const text = k.readFile(`${THP}/${name}`).trim();
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? text;
}

/** A numeric THP file, e.g. `khugepaged/full_scans`. */
export function readThpNum(k: SimKernel, name: string): number {
  const v = Number(readThp(k, name));
  assert.ok(Number.isInteger(v), `${THP}/${name} is not a number`);
  return v;
}

export function writeThp(k: SimKernel, name: string, value: string | number): void {
  k.writeFile(`${THP}/${name}`, `${value}\n`);
}

/** thp_push_settings(): writes `settings`, returns the thp_pop_settings() that restores what was there. */
export function pushSettings(k: SimKernel, settings: ThpSettings): () => void {
  const saved = Object.keys(settings).map((name) => [name, readThp(k, name)] as const);
  for (const [name, value] of Object.entries(settings)) writeThp(k, name, value);
  return () => {
    for (const [name, value] of saved.reverse()) writeThp(k, name, value);
  };
}

// ---- counters -----------------------------------------------------------------------------------

export function vmstat(k: SimKernel): Map<string, number> {
  return parseVmstat(k.readFile('/proc/vmstat'));
}

/** One /proc/vmstat item (fails the test if the kernel does not print it). */
export function vmstatItem(k: SimKernel, name: string): number {
  const v = vmstat(k).get(name);
  assert.ok(v !== undefined, `/proc/vmstat has no ${name}`);
  return v;
}

/** The khugepaged counters and the collapse-related vmstat items, for before/after comparisons. */
export function collapseCounters(k: SimKernel): Record<string, number> {
  const v = vmstat(k);
  const item = (n: string) => v.get(n) ?? NaN;
  return {
    pages_collapsed: readThpNum(k, 'khugepaged/pages_collapsed'),
    full_scans: readThpNum(k, 'khugepaged/full_scans'),
    thp_collapse_alloc: item('thp_collapse_alloc'),
    thp_collapse_alloc_failed: item('thp_collapse_alloc_failed'),
    thp_scan_exceed_none_pte: item('thp_scan_exceed_none_pte'),
    thp_scan_exceed_swap_pte: item('thp_scan_exceed_swap_pte'),
    thp_scan_exceed_share_pte: item('thp_scan_exceed_share_pte'),
  };
}

/** after − before, item by item. */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(before).map((n) => [n, (after[n] ?? NaN) - (before[n] ?? NaN)]));
}

// ---- memory -------------------------------------------------------------------------------------

/** alloc_mapping(): nr 2 MiB-aligned huge-page-sized regions of private anonymous memory. */
export function mapAligned(k: SimKernel, pid: number, nrHpages: number, opts: { prot?: 'rw' | 'r' | 'none' } = {}): number {
  const p = k.mmap(pid, nrHpages * HPAGE_PMD_SIZE, { align: HPAGE_PMD_SIZE, ...opts });
  assert.equal(p % HPAGE_PMD_SIZE, 0, 'mmap did not place the region on a 2 MiB boundary');
  return p;
}

/** The value fill_memory() writes to page i of a region: i + 0xdead0000. */
export const pageValue = (i: number): number => (i + 0xdead0000) >>> 0;

/** fill_memory(): writes page i of [p + start, p + end) with i + 0xdead0000 (a write fault per page). */
export function fillMemory(k: SimKernel, pid: number, p: number, start: number, end: number): void {
  for (let i = start / PAGE_SIZE; i < end / PAGE_SIZE; i++) k.touch(pid, p + i * PAGE_SIZE, PAGE_SIZE, { fill: pageValue(i) });
}

/** Pages with distinct values, bulk (for cases that do not validate contents). */
export function writePages(k: SimKernel, pid: number, addr: number, pages: number): void {
  if (pages > 0) k.touch(pid, addr, pages * PAGE_SIZE);
}

/**
 * The differential test's table-kept cases: the region's first page is split off, written (before the split
 * when `anonVma`, so the region's VMA has an anon_vma; after it otherwise) and unmapped while the rest of
 * the region keeps the PTE table, then mapped again at the same place, merging back into one VMA.
 */
export function keepTableByNeighbour(k: SimKernel, pid: number, p: number, anonVma: boolean): void {
  if (anonVma) writePages(k, pid, p, 1);
  k.mprotect(pid, p + PAGE_SIZE, HPAGE_PMD_SIZE - PAGE_SIZE, 'r');
  if (!anonVma) writePages(k, pid, p, 1);
  k.munmap(pid, p, PAGE_SIZE);
  k.mprotect(pid, p + PAGE_SIZE, HPAGE_PMD_SIZE - PAGE_SIZE, 'rw');
  k.mmap(pid, PAGE_SIZE, { addr: p });
}

/** Read faults over the pages (zero pages where nothing is mapped). */
export function readPages(k: SimKernel, pid: number, addr: number, pages: number): void {
  if (pages > 0) k.touch(pid, addr, pages * PAGE_SIZE, { write: false });
}

/** The pagemap entries of `pages` pages from addr, as bigints. */
export function pagemap(k: SimKernel, pid: number, addr: number, pages: number): bigint[] {
  const bytes = k.readBinary(`/proc/${pid}/pagemap`, (addr / PAGE_SIZE) * 8, pages * 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: pages }, (_, i) => view.getBigUint64(i * 8, true));
}

const PM_PRESENT = 1n << 63n;
const PM_PFN_MASK = (1n << 55n) - 1n;
const KPF_COMPOUND_HEAD = 1n << 15n;
const KPF_THP = 1n << 22n;

/**
 * validate_memory(): the process reads every page of [p + start, p + end) (faulting as the C loop does)
 * and each must hold i + 0xdead0000.
 */
export function validateMemory(k: SimKernel, pid: number, p: number, start: number, end: number): void {
  const first = start / PAGE_SIZE;
  const count = (end - start) / PAGE_SIZE;
  readPages(k, pid, p + start, count);
  const frames = kernelOf(k).frames;
  pagemap(k, pid, p + start, count).forEach((e, j) => {
    const i = first + j;
    assert.ok((e & PM_PRESENT) !== 0n, `page ${i} is not present after being read`);
    const got = frames.content(Number(e & PM_PFN_MASK));
    assert.equal(got, pageValue(i), `Page ${i} is corrupted: 0x${got.toString(16)}`);
  });
}

/** The process reads the page at addr; its content value (0 for the zero page). */
export function readWord(k: SimKernel, pid: number, addr: number): number {
  readPages(k, pid, addr, 1);
  const [e = 0n] = pagemap(k, pid, addr, 1);
  assert.ok((e & PM_PRESENT) !== 0n, `page 0x${addr.toString(16)} is not present after being read`);
  return kernelOf(k).frames.content(Number(e & PM_PFN_MASK));
}

/** The content values of the pages from addr, without accessing them (undefined where not present). */
export function pageContents(k: SimKernel, pid: number, addr: number, pages: number): (number | undefined)[] {
  const frames = kernelOf(k).frames;
  return pagemap(k, pid, addr, pages).map((e) => ((e & PM_PRESENT) !== 0n ? frames.content(Number(e & PM_PFN_MASK)) : undefined));
}

/** Whether the page at addr is present in pagemap (no access is made). */
export function pagePresent(k: SimKernel, pid: number, addr: number): boolean {
  const [e = 0n] = pagemap(k, pid, addr, 1);
  return (e & PM_PRESENT) !== 0n;
}

/**
 * Whether the 2 MiB at addr is backed by one huge page: the 512 pagemap PFNs present and contiguous from a
 * 512-aligned head that /proc/kpageflags marks COMPOUND_HEAD and THP — what the real-kernel workload agent checks.
 */
export function regionIsHuge(k: SimKernel, pid: number, addr: number): boolean {
  const entries = pagemap(k, pid, addr, HPAGE_PMD_NR);
  const pfn0 = (entries[0] ?? 0n) & PM_PFN_MASK;
  if (pfn0 === 0n || pfn0 % BigInt(HPAGE_PMD_NR) !== 0n) return false;
  if (!entries.every((e, i) => (e & PM_PRESENT) !== 0n && (e & PM_PFN_MASK) === pfn0 + BigInt(i))) return false;
  const flagBytes = k.readBinary('/proc/kpageflags', Number(pfn0) * 8, 8);
  const flags = new DataView(flagBytes.buffer, flagBytes.byteOffset, 8).getBigUint64(0, true);
  return (flags & KPF_THP) !== 0n && (flags & KPF_COMPOUND_HEAD) !== 0n;
}

/** regionIsHuge for n consecutive regions, as 0/1 (the workload agent's `huge` array). */
export function hugeRegions(k: SimKernel, pid: number, base: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (regionIsHuge(k, pid, base + i * HPAGE_PMD_SIZE) ? 1 : 0));
}

// ---- /proc/PID/smaps ----------------------------------------------------------------------------

/** The smaps record of the VMA containing addr. */
export function smapsVma(k: SimKernel, pid: number, addr: number): SmapsRecord {
  const vma = parseSmaps(k.readFile(`/proc/${pid}/smaps`)).find((v) => v.start <= addr && addr < v.end);
  assert.ok(vma, `no VMA of pid ${pid} contains 0x${addr.toString(16)}`);
  return vma;
}

/** AnonHugePages (kB) of the VMA containing addr. */
export function anonHugeKb(k: SimKernel, pid: number, addr: number): number {
  return smapsVma(k, pid, addr).fields.get('AnonHugePages') ?? NaN;
}

/** AnonHugePages (kB) summed over the VMAs that overlap [lo, hi). */
export function anonHugeKbRange(k: SimKernel, pid: number, lo: number, hi: number): number {
  return parseSmaps(k.readFile(`/proc/${pid}/smaps`))
    .filter((v) => v.start < hi && v.end > lo)
    .reduce((kb, v) => kb + (v.fields.get('AnonHugePages') ?? NaN), 0);
}

/** check_huge_anon(): the VMA holds exactly nr PMD-mapped THPs. */
export function checkHuge(k: SimKernel, pid: number, addr: number, nr: number): boolean {
  return anonHugeKb(k, pid, addr) === nr * (HPAGE_PMD_SIZE >> 10);
}

/** check_swap(): the VMA's Swap is exactly `size` bytes. */
export function checkSwap(k: SimKernel, pid: number, addr: number, size: number): boolean {
  return smapsVma(k, pid, addr).fields.get('Swap') === size >> 10;
}

// ---- syscalls as outcomes -----------------------------------------------------------------------

/** A syscall's result as the C library shows it: ret, and errno when ret is -1. */
export interface Outcome {
  ret: number;
  errno: string | null;
}

/** Runs a call, turning a SyscallError into { ret: -1, errno }. */
export function outcome(call: () => number): Outcome {
  try {
    return { ret: call(), errno: null };
  } catch (e) {
    if (e instanceof SyscallError) return { ret: -1, errno: e.errno };
    throw e;
  }
}

/** madvise(addr, len, MADV_COLLAPSE) as an Outcome. */
export function madviseCollapse(k: SimKernel, pid: number, addr: number, len: number): Outcome {
  return outcome(() => k.madvise(pid, addr, len, 'MADV_COLLAPSE'));
}

/** madvise_collapse_retry(): MADV_COLLAPSE, once more if the first answer was EAGAIN. */
export function madviseCollapseRetry(k: SimKernel, pid: number, addr: number, len: number): Outcome {
  const first = madviseCollapse(k, pid, addr, len);
  return first.errno === 'EAGAIN' ? madviseCollapse(k, pid, addr, len) : first;
}

/** Asserts that `call` throws SyscallError with this errno. */
export function assertErrno(call: () => unknown, errno: string, message?: string): void {
  assert.throws(call, (e: unknown) => {
    assert.ok(e instanceof SyscallError, `expected SyscallError ${errno}, got ${String(e)}`);
    assert.equal(e.errno, errno, message);
    return true;
  });
}

// ---- the selftest's two collapse contexts -------------------------------------------------------

/** khugepaged.c's TICK (500 ms) and wait_for_scan()'s 6 ticks: 3 s of simulated time at most. */
export const TICK_MS = 500;
export const SCAN_TICKS = 6;

/**
 * wait_for_scan(): MADV_HUGEPAGE on the range, then up to 6 ticks of 500 ms of simulated time until the
 * region is huge or khugepaged/full_scans has grown by 2; then MADV_NOHUGEPAGE. Returns true on timeout.
 */
export function waitForScan(k: SimKernel, pid: number, p: number, nrHpages: number): boolean {
  assert.ok(checkHuge(k, pid, p, 0), 'Unexpected huge page');
  k.madvise(pid, p, nrHpages * HPAGE_PMD_SIZE, 'MADV_HUGEPAGE');
  const fullScans = readThpNum(k, 'khugepaged/full_scans') + 2;
  let timeout = SCAN_TICKS;
  while (timeout-- > 0) {
    if (checkHuge(k, pid, p, nrHpages)) break;
    if (readThpNum(k, 'khugepaged/full_scans') >= fullScans) break;
    k.advance(TICK_MS);
  }
  k.madvise(pid, p, nrHpages * HPAGE_PMD_SIZE, 'MADV_NOHUGEPAGE');
  return timeout === -1;
}

/** What one collapse attempt reported, for assertions a case adds. */
export interface CollapseReport {
  /** The khugepaged and vmstat counters' change over the attempt. */
  counters: Record<string, number>;
  /** madvise context: the MADV_COLLAPSE outcome. */
  madvise?: Outcome;
  /** khugepaged context: wait_for_scan timed out. */
  timedOut?: boolean;
}

/** struct collapse_context. */
export interface CollapseContext {
  readonly name: 'khugepaged' | 'madvise';
  /** khugepaged enforces max_ptes_{none,swap,shared}; MADV_COLLAPSE ignores them. */
  readonly enforcePteScanLimits: boolean;
  /** c->collapse(): attempts the collapse of [p, p + nr × 2 MiB) and asserts the selftest's expectation. */
  collapse(k: SimKernel, pid: number, msg: string, p: number, nrHpages: number, expect: boolean): CollapseReport;
}

/** __madvise_collapse() without the sanity check (madvise_collapse_existing_thps calls it directly). */
export function madviseCollapseUnchecked(k: SimKernel, pid: number, msg: string, p: number, nrHpages: number, expect: boolean): CollapseReport {
  // Prevent khugepaged interference, and test that MADV_COLLAPSE ignores `enabled`.
  const pop = pushSettings(k, { enabled: 'never' });
  try {
    const before = collapseCounters(k);
    k.madvise(pid, p, nrHpages * HPAGE_PMD_SIZE, 'MADV_HUGEPAGE'); // clears VM_NOHUGEPAGE
    const r = madviseCollapseRetry(k, pid, p, nrHpages * HPAGE_PMD_SIZE);
    const counters = delta(before, collapseCounters(k));
    assert.equal(r.ret === 0, expect, `${msg}: Fail: Bad return value (MADV_COLLAPSE gave ${r.errno ?? r.ret})`);
    assert.equal(anonHugeKb(k, pid, p), expect ? nrHpages * 2048 : 0, `${msg}: Fail: check_huge()`);
    return { counters, madvise: r };
  } finally {
    pop();
  }
}

export const madviseContext: CollapseContext = {
  name: 'madvise',
  enforcePteScanLimits: false,
  collapse(k, pid, msg, p, nrHpages, expect) {
    assert.ok(checkHuge(k, pid, p, 0), `${msg}: Unexpected huge page`);
    return madviseCollapseUnchecked(k, pid, msg, p, nrHpages, expect);
  },
};

export const khugepagedContext: CollapseContext = {
  name: 'khugepaged',
  enforcePteScanLimits: true,
  collapse(k, pid, msg, p, nrHpages, expect) {
    const before = collapseCounters(k);
    const timedOut = waitForScan(k, pid, p, nrHpages);
    const counters = delta(before, collapseCounters(k));
    if (timedOut) {
      assert.ok(!expect, `${msg}: Timeout (khugepaged/full_scans grew by ${counters.full_scans} in ${SCAN_TICKS * TICK_MS} ms)`);
    } else {
      assert.equal(anonHugeKb(k, pid, p), expect ? nrHpages * 2048 : 0, `${msg}: Fail`);
    }
    // Reference §2: pages_collapsed counts khugepaged's successes, one per PMD.
    assert.equal(counters.pages_collapsed, expect ? nrHpages : 0, `${msg}: khugepaged/pages_collapsed grew by ${counters.pages_collapsed}`);
    return { counters, timedOut };
  },
};

export const contexts: readonly CollapseContext[] = [khugepagedContext, madviseContext];

/** A machine booted with the selftest's settings and one process; swap when a case needs it. */
export function selftestMachine(opts: { swapMiB?: number; memoryMiB?: number } = {}): { k: SimKernel; pid: number } {
  const k = new SimKernel({ nodes: [{ memoryMiB: opts.memoryMiB ?? 1024 }], swapMiB: opts.swapMiB ?? 0, seed: 1 });
  pushSettings(k, selftestSettings);
  const pid = k.spawn({ comm: 'khugepaged-selftest' });
  return { k, pid };
}
