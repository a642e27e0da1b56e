/**
 * The kernel's own allocations (slab, kernel stacks, network buffers) as a memory consumer. They are
 * what fragments memory over days: an unmovable page pins its whole pageblock against compaction, and
 * unmovable requests steal from movable pageblocks when their own run out. Scenarios allocate batches
 * with a lifetime (short-lived buffers) or without (long-lived caches). Reclaimable slab (dentries,
 * inodes) is freed by the shrinkers when vmscan asks.
 */
import { GFP, type AllocRequest } from './gfp.js';
import { PageKind } from './constants.js';
import { Priority } from '../engine/engine.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** The kind of a kernel allocation. */
export type KernelAllocKind = 'unmovable' | 'reclaimable';

/** Pages allocated or freed per batch. */
const BATCH = 512;

/** Kernel allocations. */
export class KernelAllocations {
  /** Reclaimable pages per node, newest last. */
  private readonly reclaimable: number[][];
  /** Pages of the batch being allocated or freed. */
  private readonly batch = new Int32Array(BATCH);

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
    const req: AllocRequest = { order: 0, kind: pageKind, gfp: GFP.KSWAPD_RECLAIM | GFP.DIRECT_RECLAIM | GFP.NORETRY, nodes: [node] };
    const got: number[] = [];
    // In batches: the fast path at once while the watermarks allow, the slow path page by page after.
    while (got.length < nrPages) {
      const n = k.allocator.allocPagesBulk(req, Math.min(BATCH, nrPages - got.length), this.batch);
      if (n === 0) break;
      this.count(n, item, 1);
      for (let i = 0; i < n; i++) got.push(this.batch[i]);
    }
    if (lifetimeMs !== undefined) {
      k.engine.after(lifetimeMs, Priority.workload, () => {
        // As before each free: a page no longer of this kind is no longer this allocation's.
        this.free(got.filter((pfn) => k.frames.kind(pfn) === pageKind), item);
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
    this.free(list.splice(0, n), Vm.nr_slab_reclaimable);
    if (n > 0) this.k.vmstat.countVmEvent(node, Vm.slabs_scanned, n);
    return n;
  }

  /** Frees `pfns` in batches (each freed sorted by frame, see freeBulk), taking them off counter `item`. */
  private free(pfns: readonly number[], item: number): void {
    for (let start = 0; start < pfns.length; start += BATCH) {
      const n = Math.min(BATCH, pfns.length - start);
      for (let i = 0; i < n; i++) this.batch[i] = pfns[start + i];
      this.count(n, item, -1);
      this.k.allocator.freeBulk(this.batch, 0, n);
    }
  }

  /** Adds `sign` per page of the first `n` of the batch to counter `item`, once per run of one node. */
  private count(n: number, item: number, sign: 1 | -1): void {
    const k = this.k;
    let node = -1;
    let run = 0;
    for (let i = 0; i < n; i++) {
      const pn = k.nodeOfPfn(this.batch[i]);
      if (pn !== node) {
        if (run > 0) k.vmstat.modNodeState(node, item, sign * run);
        node = pn;
        run = 0;
      }
      run++;
    }
    if (run > 0) k.vmstat.modNodeState(node, item, sign * run);
  }
}
