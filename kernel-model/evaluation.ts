/**
 * The kernel model's evaluation-only entry: ground truth that no real kernel exposes (the mechanisms'
 * internal state, the modelled MMU cost, which memory is hot). Simulation tooling in sim/ may import it;
 * the daemon may not (a dependency rule enforces it), so the daemon only ever sees what Linux shows.
 */
import { kernelOf, type SimKernel } from './sim-kernel.js';
import type { PageReportingSnapshot } from './mm/page-reporting.js';
import { DEFAULT_HOT_THRESHOLD_PER_SEC, hotPagesByRegion, measureHotMemory, type HotMemory } from './workload/hot-memory.js';
import type { AccessStreamSpec } from './workload/access-pattern.js';
import type { MappingSplit, MmuCost } from './workload/mmu-cost.js';
import { priceStreamAccess } from './workload/streams.js';
import { PTRS_PER_PTE, ptePresent } from './mm/pgtable.js';

export { kernelOf } from './sim-kernel.js';
export type { Kernel } from './kernel.js';
export { PageFrames } from './mm/page-flags.js';
export { PageKind } from './mm/constants.js';
export { Vm, vmstatNames, type VmstatName } from './mm/vmstat-items.js';
export type { PageReportingSnapshot } from './mm/page-reporting.js';
export { DEFAULT_HOT_THRESHOLD_PER_SEC, type HotMemory } from './workload/hot-memory.js';
export { regionMasses, type AccessStreamSpec } from './workload/access-pattern.js';
export { HUGE_PAGE_BYTES, type MappingSplit, type MmuCost } from './workload/mmu-cost.js';

/**
 * Free page reporting seen from the host (model-only ground truth; a guest cannot observe it): pages
 * reported, reported pages the guest wrote again (each a host fault) and how many of those compaction
 * consumed, what is unbacked now. Zeros without `balloon: true`.
 */
export function pageReportingStats(sim: SimKernel): PageReportingSnapshot {
  return kernelOf(sim).pageReporting.snapshot();
}

/**
 * How much of `pid`'s memory is hot (pages whose modelled access rate, summed over its streams, is at
 * least `thresholdPerSec` accesses/s; default 1) and how the page tables map it now: by PMD-mapped THPs
 * (and of those, on a node other than the task's), swapped, absent; the share of its accesses THPs serve,
 * and `coldThpBytes`, its THPs without a hot page (bloat). All zeros for an exited or streamless pid.
 * Cached per process by the identities of its stream specs: O(2 MiB regions of its streams) per call.
 */
export function hotMemory(sim: SimKernel, pid: number, thresholdPerSec = DEFAULT_HOT_THRESHOLD_PER_SEC): HotMemory {
  return measureHotMemory(kernelOf(sim), pid, thresholdPerSec);
}

/** THP bloat of `pid`: bytes of PMD-mapped THPs none of whose pages is hot (`hotMemory(...).coldThpBytes`). */
export function thpBloat(sim: SimKernel, pid: number, thresholdPerSec = DEFAULT_HOT_THRESHOLD_PER_SEC): number {
  return hotMemory(sim, pid, thresholdPerSec).coldThpBytes;
}

/** The access streams `pid` runs now, as declared (empty for an exited or streamless pid). */
export function accessStreamsOf(sim: SimKernel, pid: number): AccessStreamSpec[] {
  const k = kernelOf(sim);
  return k.task(pid) ? k.streams.streamsOf(pid) : [];
}

/**
 * The modelled cost of one access of `spec` under any mapping split, `remoteDistance` the SLIT distance
 * of the remote part: the stream driver's own pricing (priceStreamAccess).
 */
export function streamAccessCost(spec: AccessStreamSpec, mapping: MappingSplit, remoteDistance: number): MmuCost {
  return priceStreamAccess(spec, mapping, remoteDistance);
}

/**
 * The modelled cost of one access of `spec` with the share `thpShare` (0–1) of its access mass on
 * THPs of the accessing CPU's node and the rest on local 4 KiB pages, nothing swapped: the very pricing
 * the stream driver charges (priceStreamAccess), for mappings no run has to have produced.
 */
export function streamAccessCostLocal(spec: AccessStreamSpec, thpShare: number): MmuCost {
  const f = Math.min(1, Math.max(0, thpShare));
  return priceStreamAccess(spec, { thpLocal: f, thpRemote: 0, smallLocal: 1 - f, smallRemote: 0 }, 10);
}

/** How region `pmdIdx` (address / 2 MiB) of `pid` is mapped now. */
export interface RegionMapping {
  /** PMD-mapped (a THP or the huge zero page). */
  readonly huge: boolean;
  /** Used entries of its PTE table (present or swap entries); 512 when PMD-mapped, 0 with no table. */
  readonly usedPtes: number;
  /**
   * Entries that hold memory of the process's own: present pages other than the shared zero page, and
   * swap entries (a page that would have to come back). 512 when PMD-mapped by a THP, 0 for the huge
   * zero page or no table.
   */
  readonly ownedPages: number;
}

/** How region `pmdIdx` of `pid` is mapped (zeros for an exited pid or an unpopulated region). */
export function regionMapping(sim: SimKernel, pid: number, pmdIdx: number): RegionMapping {
  const k = kernelOf(sim);
  const task = k.task(pid);
  const e = task?.mm.pmd.get(pmdIdx);
  if (e === undefined) return { huge: false, usedPtes: 0, ownedPages: 0 };
  if (e < 0) return { huge: true, usedPtes: 512, ownedPages: -e - 1 === k.huge.hugeZeroPfn ? 0 : 512 };
  const used = k.pgtables.usedEntries(e);
  let owned = 0;
  if (used > 0) {
    const base = e * PTRS_PER_PTE;
    const zero = ptePresent(k.zeroPfn);
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const pte = k.pgtables.get(base + i);
      if (pte !== 0 && pte !== zero) owned++;
    }
  }
  return { huge: false, usedPtes: used, ownedPages: owned };
}

/** Hot 4 KiB pages of `pid` per 2 MiB region (PMD index → count), as hotMemory counts them. */
export function hotPagesPerRegion(sim: SimKernel, pid: number, thresholdPerSec = DEFAULT_HOT_THRESHOLD_PER_SEC): Map<number, number> {
  return hotPagesByRegion(kernelOf(sim), pid, thresholdPerSec);
}
