/**
 * The kernel model's evaluation-only entry: ground truth that no real kernel exposes (the mechanisms'
 * internal state, the modelled MMU cost, which memory is hot). Simulation tooling in sim/ may import it;
 * the daemon may not (a dependency rule enforces it), so the daemon only ever sees what Linux shows.
 */
import { kernelOf, type SimKernel } from './sim-kernel.js';
import type { PageReportingSnapshot } from './mm/page-reporting.js';

export { kernelOf } from './sim-kernel.js';
export type { Kernel } from './kernel.js';
export { PageFrames } from './mm/page-flags.js';
export { Vm, vmstatNames, type VmstatName } from './mm/vmstat-items.js';
export type { PageReportingSnapshot } from './mm/page-reporting.js';

/**
 * Free page reporting seen from the host (model-only ground truth; a guest cannot observe it): pages
 * reported, reported pages the guest wrote again (each a host fault) and how many of those compaction
 * consumed, what is unbacked now. Zeros without `balloon: true`.
 */
export function pageReportingStats(sim: SimKernel): PageReportingSnapshot {
  return kernelOf(sim).pageReporting.snapshot();
}
