/**
 * The kernel's own allocations (slab, kernel stacks, network buffers) as a memory consumer. They are
 * what fragments memory over days: an unmovable page pins its whole pageblock against compaction, and
 * unmovable requests steal from movable pageblocks when their own run out. Scenarios allocate batches
 * with a lifetime (short-lived buffers) or without (long-lived caches). Reclaimable slab (dentries,
 * inodes) is freed by the shrinkers when vmscan asks.
 */
import { GFP } from './gfp.js';
import { PageKind } from './constants.js';
import { Priority } from '../engine/engine.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** The kind of a kernel allocation. */
export type KernelAllocKind = 'unmovable' | 'reclaimable';

/** Kernel allocations. */
export class KernelAllocations {
  /** Reclaimable pages per node, newest last. */
  private readonly reclaimable: number[][];

  constructor(private readonly k: Kernel) {
    this.reclaimable = k.zones.map(() => []);
  }

  /**
   * Allocates `nrPages` order-0 pages of `kind` on `node`; with `lifetimeMs` they are freed that much
   * later. Returns the pages obtained (fewer when memory ran out).
   */
  allocate(node: number, nrPages: number, kind: KernelAllocKind, lifetimeMs?: number): number {
    const k = this.k;
    const pageKind = kind === 'unmovable' ? PageKind.KernelUnmovable : PageKind.SlabReclaimable;
    const item = kind === 'unmovable' ? Vm.nr_slab_unreclaimable : Vm.nr_slab_reclaimable;
    const got: number[] = [];
    for (let i = 0; i < nrPages; i++) {
      const pfn = k.allocator.allocPages({ order: 0, kind: pageKind, gfp: GFP.KSWAPD_RECLAIM | GFP.DIRECT_RECLAIM | GFP.NORETRY, nodes: [node] });
      if (pfn < 0) break;
      k.vmstat.modNodeState(k.nodeOfPfn(pfn), item, 1);
      got.push(pfn);
    }
    if (lifetimeMs !== undefined) {
      k.engine.after(lifetimeMs, Priority.workload, () => {
        for (const pfn of got) if (k.frames.kind(pfn) === pageKind) this.freeOne(pfn, item);
      });
    } else if (kind === 'reclaimable') {
      for (const pfn of got) this.reclaimable[k.nodeOfPfn(pfn)].push(pfn);
    }
    return got.length;
  }

  /** The shrinkers: frees up to `nrPages` long-lived reclaimable pages of `node`, oldest first. */
  shrinkReclaimable(node: number, nrPages: number): number {
    const list = this.reclaimable[node];
    const n = Math.min(Math.max(0, nrPages), list.length);
    for (const pfn of list.splice(0, n)) this.freeOne(pfn, Vm.nr_slab_reclaimable);
    if (n > 0) this.k.vmstat.countVmEvent(node, Vm.slabs_scanned, n);
    return n;
  }

  private freeOne(pfn: number, item: number): void {
    this.k.vmstat.modNodeState(this.k.nodeOfPfn(pfn), item, -1);
    this.k.allocator.freePages(pfn, 0);
  }
}
