/**
 * The page cache as a memory consumer (Linux mm/filemap.c, without files): scenarios read and write
 * "files" so that clean and dirty cache pages compete with anonymous memory, are reclaimed by vmscan and
 * moved by compaction like real cache pages. Pages are kept in one growable array; each page's index in
 * it lives in its frame's `link0` (page-cache pages are not mapped by any process in the model).
 */
import { GFP, type AllocRequest } from './gfp.js';
import { PageKind } from './constants.js';
import { PG } from './page-flags.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** Pages allocated or freed per batch. */
const BATCH = 1024;

/** The page cache. */
export class PageCache {
  private pages = new Int32Array(1024);
  private count = 0;
  /** Pages of the batch being added or freed. */
  private readonly batch = new Int32Array(BATCH);
  /** Pages, and dirty pages, of a batch per node. */
  private readonly batchPages: Float64Array;
  private readonly batchDirty: Float64Array;

  constructor(private readonly k: Kernel) {
    this.batchPages = new Float64Array(k.nodeCount);
    this.batchDirty = new Float64Array(k.nodeCount);
  }

  /** Pages in the cache. */
  get size(): number {
    return this.count;
  }

  /** The page at index `i` (0 ≤ i < size): its frame's `link0` is `i` (for invariant checks). */
  pageAt(i: number): number {
    return this.pages[i];
  }

  /**
   * Reads (or writes, `dirty`) `nrPages` pages of file data on `node`, as a buffered read would. Stops
   * early when memory cannot be had without reclaiming anonymous memory hard; returns pages added.
   */
  add(node: number, nrPages: number, dirty: boolean): number {
    const k = this.k;
    const req: AllocRequest = {
      order: 0,
      kind: PageKind.PageCache,
      gfp: GFP.KSWAPD_RECLAIM | GFP.DIRECT_RECLAIM | GFP.MOVABLE | GFP.NORETRY,
      nodes: [node],
    };
    let added = 0;
    // In batches: the fast path takes what the watermarks allow at once, and a batch it cannot start
    // goes through the slow path (kswapd, reclaim) one page at a time, as page-by-page reads would.
    while (added < nrPages) {
      const got = k.allocator.allocPagesBulk(req, Math.min(BATCH, nrPages - added), this.batch);
      if (got === 0) break;
      this.addBatch(got, dirty);
      added += got;
    }
    return added;
  }

  /** Puts the first `n` pages of the batch in the cache (and dirty them), on the inactive file list. */
  private addBatch(n: number, dirty: boolean): void {
    const k = this.k;
    const f = k.frames;
    const perNode = this.batchPages;
    perNode.fill(0);
    this.reserve(n);
    for (let i = 0; i < n; i++) {
      const pfn = this.batch[i];
      this.pages[this.count] = pfn;
      f.link0[pfn] = this.count++;
      perNode[k.nodeOfPfn(pfn)]++;
      if (dirty) f.set(pfn, PG.dirty);
    }
    k.vmscan.lruAddBulk(this.batch, 0, n);
    for (let node = 0; node < perNode.length; node++) {
      const pages = perNode[node];
      if (pages === 0) continue;
      k.vmstat.modNodeState(node, Vm.nr_file_pages, pages);
      if (dirty) {
        k.vmstat.modNodeState(node, Vm.nr_dirty, pages);
        k.vmstat.countVmEvent(node, Vm.nr_dirtied, pages);
      }
    }
  }

  /**
   * Drops up to `nrPages` cache pages, as deleting files would; with `cleanOnly` (drop_caches) dirty
   * pages are kept.
   */
  drop(nrPages: number, cleanOnly = false): number {
    if (!cleanOnly) {
      // The pages at the end of the array go, in batches from the last one (freeBulk frees each batch
      // sorted by frame): the array just gets shorter.
      const n = nrPages >= this.count ? this.count : nrPages > 0 ? Math.ceil(nrPages) : 0;
      const from = this.count - n;
      this.pages.subarray(from, this.count).reverse();
      this.count = from;
      for (let i = from; i < from + n; i += BATCH) this.release(this.pages, i, Math.min(i + BATCH, from + n));
      return n;
    }
    let dropped = 0;
    let n = 0;
    for (let i = this.count - 1; i >= 0 && dropped < nrPages; i--) {
      const pfn = this.pages[i];
      if (this.k.frames.has(pfn, PG.dirty)) continue;
      this.remove(pfn);
      this.batch[n++] = pfn;
      dropped++;
      if (n === BATCH) {
        this.release(this.batch, 0, n);
        n = 0;
      }
    }
    this.release(this.batch, 0, n);
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

  /** `evict` for pages `pfns[from..to)` already out of the array: off the LRU, uncounted, freed (freeBulk sorts them). */
  private release(pfns: Int32Array, from: number, to: number): void {
    const k = this.k;
    const f = k.frames;
    const perNode = this.batchPages;
    const perNodeDirty = this.batchDirty;
    perNode.fill(0);
    perNodeDirty.fill(0);
    for (let i = from; i < to; i++) {
      const pfn = pfns[i];
      const node = k.nodeOfPfn(pfn);
      perNode[node]++;
      if (f.has(pfn, PG.dirty)) perNodeDirty[node]++;
    }
    k.vmscan.lruDelBulk(pfns, from, to);
    for (let node = 0; node < perNode.length; node++) {
      if (perNodeDirty[node] > 0) k.vmstat.modNodeState(node, Vm.nr_dirty, -perNodeDirty[node]);
      if (perNode[node] > 0) k.vmstat.modNodeState(node, Vm.nr_file_pages, -perNode[node]);
    }
    k.allocator.freeBulk(pfns, from, to);
  }

  /**
   * Compaction moved a cache page. Migration has already carried the frame's `link0` (our index) over
   * to `to` and cleared it in `from`, so the index is read from `to`.
   */
  relocate(from: number, to: number): void {
    const i = this.k.frames.link0[to];
    this.pages[i] = to;
    const a = this.k.nodeOfPfn(from);
    const b = this.k.nodeOfPfn(to);
    if (a !== b) {
      this.k.vmstat.modNodeState(a, Vm.nr_file_pages, -1);
      this.k.vmstat.modNodeState(b, Vm.nr_file_pages, 1);
    }
  }

  /** Grows the array to take `n` more pages. */
  private reserve(n: number): void {
    if (this.count + n <= this.pages.length) return;
    let size = this.pages.length * 2;
    while (size < this.count + n) size *= 2;
    const bigger = new Int32Array(size);
    bigger.set(this.pages.subarray(0, this.count));
    this.pages = bigger;
  }

  private remove(pfn: number): void {
    const i = this.k.frames.link0[pfn];
    const last = this.pages[--this.count];
    this.pages[i] = last;
    this.k.frames.link0[last] = i;
  }
}
