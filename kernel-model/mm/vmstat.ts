/**
 * Counters, as in Linux's mm/vmstat.c: one Float64Array per node indexed by {@link Vm}. Event counters
 * only go up (`countVmEvent`); state counters move both ways (`modNodeState`). /proc/vmstat prints the
 * sum over nodes; per-node files print one node. Ratios are computed when read, never stored.
 */
import { NR_VM_ITEMS, Vm } from './vmstat-items.js';

export { Vm, vmstatNames, NR_VM_ITEMS } from './vmstat-items.js';

/** Per-node counters of the whole machine. */
export class VmStat {
  private readonly perNode: Float64Array[];

  constructor(nodeCount: number) {
    this.perNode = Array.from({ length: nodeCount }, () => new Float64Array(NR_VM_ITEMS));
  }

  /** Counts `n` events of `item` on `node` (events only go up). */
  countVmEvent(node: number, item: number, n = 1): void {
    this.perNode[node][item] += n;
  }

  /** Changes state counter `item` of `node` by `delta`. */
  modNodeState(node: number, item: number, delta: number): void {
    this.perNode[node][item] += delta;
  }

  /** One node's value. */
  node(node: number, item: number): number {
    return this.perNode[node][item];
  }

  /** The machine-wide value. */
  global(item: number): number {
    let sum = 0;
    for (const arr of this.perNode) sum += arr[item];
    return sum;
  }

  /** A copy of the machine-wide values in /proc/vmstat order. */
  snapshot(): Float64Array {
    const out = new Float64Array(NR_VM_ITEMS);
    for (const arr of this.perNode) for (let i = 0; i < NR_VM_ITEMS; i++) out[i] += arr[i];
    return out;
  }
}

/** The allocation-stall counter for the model's single zone (ZONE_NORMAL). */
export const VM_ALLOCSTALL = Vm.allocstall_normal;
