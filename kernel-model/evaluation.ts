/**
 * The kernel model's evaluation-only entry: ground truth that no real kernel exposes (the mechanisms'
 * internal state, the modelled MMU cost, which memory is hot). Simulation tooling in sim/ may import it;
 * the daemon may not (a dependency rule enforces it), so the daemon only ever sees what Linux shows.
 */
import { kernelOf, type SimKernel } from './sim-kernel.js';
import type { PageReportingSnapshot } from './mm/page-reporting.js';
import { DEFAULT_HOT_THRESHOLD_PER_SEC, measureHotMemory, type HotMemory } from './workload/hot-memory.js';

export { kernelOf } from './sim-kernel.js';
export type { Kernel } from './kernel.js';
export { PageFrames } from './mm/page-flags.js';
export { PageKind } from './mm/constants.js';
export { Vm, vmstatNames, type VmstatName } from './mm/vmstat-items.js';
export type { PageReportingSnapshot } from './mm/page-reporting.js';
export { DEFAULT_HOT_THRESHOLD_PER_SEC, type HotMemory } from './workload/hot-memory.js';

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
