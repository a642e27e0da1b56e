/**
 * The page cache as a memory consumer (Linux mm/filemap.c, without files): scenarios read and write
 * "files" so that clean and dirty cache pages compete with anonymous memory, are reclaimed by vmscan and
 * moved by compaction like real cache pages. Pages are kept in one growable array; each page's index in
 * it lives in its frame's `link0` (page-cache pages are not mapped by any process in the model).
 */
import { GFP } from './gfp.js';
import { PageKind } from './constants.js';
import { PG } from './page-flags.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** The page cache. */
export class PageCache {
  private pages = new Int32Array(1024);
  private count = 0;

  constructor(private readonly k: Kernel) {}

  /** Pages in the cache. */
  get size(): number {
    return this.count;
  }

  /**
   * Reads (or writes, `dirty`) `nrPages` pages of file data on `node`, as a buffered read would. Stops
   * early when memory cannot be had without reclaiming anonymous memory hard; returns pages added.
   */
  add(node: number, nrPages: number, dirty: boolean): number {
    const k = this.k;
    let added = 0;
    for (; added < nrPages; added++) {
      const pfn = k.allocator.allocPages({
        order: 0,
        kind: PageKind.PageCache,
        gfp: GFP.KSWAPD_RECLAIM | GFP.DIRECT_RECLAIM | GFP.MOVABLE | GFP.NORETRY,
        nodes: [node],
      });
      if (pfn < 0) break;
      this.insert(pfn);
      const n = k.nodeOfPfn(pfn);
      k.vmstat.modNodeState(n, Vm.nr_file_pages, 1);
      if (dirty) {
        k.frames.set(pfn, PG.dirty);
        k.vmstat.modNodeState(n, Vm.nr_dirty, 1);
        k.vmstat.countVmEvent(n, Vm.nr_dirtied);
      }
      k.vmscan.lruAdd(pfn);
    }
    return added;
  }

  /**
   * Drops up to `nrPages` cache pages, as deleting files would; with `cleanOnly` (drop_caches) dirty
   * pages are kept.
   */
  drop(nrPages: number, cleanOnly = false): number {
    let dropped = 0;
    for (let i = this.count - 1; i >= 0 && dropped < nrPages; i--) {
      const pfn = this.pages[i];
      if (cleanOnly && this.k.frames.has(pfn, PG.dirty)) continue;
      this.evict(pfn);
      dropped++;
    }
    return dropped;
  }

  /** Removes a clean page from the cache and frees it (reclaim or drop). */
  evict(pfn: number): void {
    const k = this.k;
    const node = k.nodeOfPfn(pfn);
    if (k.frames.has(pfn, PG.dirty)) k.vmstat.modNodeState(node, Vm.nr_dirty, -1);
    k.vmscan.lruDel(pfn);
    this.remove(pfn);
    k.vmstat.modNodeState(node, Vm.nr_file_pages, -1);
    k.allocator.freePages(pfn, 0);
  }

  /** Compaction moved a cache page. */
  relocate(from: number, to: number): void {
    const i = this.k.frames.link0[from];
    this.pages[i] = to;
    this.k.frames.link0[to] = i;
    const a = this.k.nodeOfPfn(from);
    const b = this.k.nodeOfPfn(to);
    if (a !== b) {
      this.k.vmstat.modNodeState(a, Vm.nr_file_pages, -1);
      this.k.vmstat.modNodeState(b, Vm.nr_file_pages, 1);
    }
  }

  private insert(pfn: number): void {
    if (this.count === this.pages.length) {
      const bigger = new Int32Array(this.pages.length * 2);
      bigger.set(this.pages);
      this.pages = bigger;
    }
    this.pages[this.count] = pfn;
    this.k.frames.link0[pfn] = this.count++;
  }

  private remove(pfn: number): void {
    const i = this.k.frames.link0[pfn];
    const last = this.pages[--this.count];
    this.pages[i] = last;
    this.k.frames.link0[last] = i;
  }
}
