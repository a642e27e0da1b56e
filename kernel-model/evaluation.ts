/**
 * The kernel model's evaluation-only entry: ground truth that no real kernel exposes (the mechanisms'
 * internal state, the modelled MMU cost, which memory is hot). Simulation tooling in sim/ may import it;
 * the daemon may not (a dependency rule enforces it), so the daemon only ever sees what Linux shows.
 */
export { kernelOf } from './sim-kernel.js';
export type { Kernel } from './kernel.js';
export { PageFrames } from './mm/page-flags.js';
export { Vm, vmstatNames, type VmstatName } from './mm/vmstat-items.js';
