/**
 * The page allocator's policy (Linux __alloc_pages and its slow path): which zones to try, at which
 * watermark, and what to do when they are short — wake kswapd, compact, reclaim, or give up.
 *
 *   fast path:  each allowed node in policy order, low watermark
 *   slow path:  wake kswapd (KSWAPD_RECLAIM) → retry at min watermark
 *               → no DIRECT_RECLAIM: fail
 *               → costly order: async direct compaction
 *                   NORETRY: if compaction was skipped or deferred, or THISNODE (Dec 2025 fix): fail;
 *                            else one round of reclaim + async compaction, then fail
 *               → loop: direct reclaim → retry → (costly) sync-light compaction → retry
 *                   order ≤ 3 with no progress: OOM kill (not for NORETRY, RETRY_MAYFAIL, THISNODE), then retry
 *
 * zone_reclaim_mode ≠ 0 makes the fast path reclaim the first node before spilling to others. Stall time
 * in reclaim and compaction is charged to the allocating task (and to PSI).
 */
import { PAGE_ALLOC_COSTLY_ORDER, PAGEBLOCK_ORDER, HPAGE_PMD_ORDER, PageKind, migrateTypeOfKind } from './constants.js';
import { GFP, type AllocRequest } from './gfp.js';
import { WMARK_LOW, WMARK_MIN, type Zone } from './page-alloc.js';
import { PG } from './page-flags.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

const MAX_RECLAIM_RETRIES = 16;
const MAX_COSTLY_RETRIES = 3;

/** The allocation entry point of the machine. */
export class PageAllocator {
  constructor(private readonly k: Kernel) {}

  /** Allocates 2^order frames for `req`; returns the first PFN, or -1 when the request fails. */
  allocPages(req: AllocRequest): number {
    const nodes = this.candidateNodes(req);
    const pfn = this.getPageFromFreelist(req, nodes, WMARK_LOW, true);
    if (pfn >= 0) return pfn;
    const got = this.slowpath(req, nodes);
    if (got >= 0 && req.task !== undefined && !req.task.alive) {
      // The OOM killer chose the allocating task itself: it gets nothing, as a killed task does.
      this.freePages(got, req.order);
      return -1;
    }
    return got;
  }

  /**
   * The fast path for many order-0 pages at once (as alloc_pages_bulk): takes pages while the low
   * watermark allows, node by node in the request's order, into `out`; returns how many it got. The
   * caller falls back to `allocPages` (and its slow path) for the rest, or uses `allocPagesBulk`, which
   * does. Equivalent to as many fast-path `allocPages` calls, with the counters added once.
   */
  allocBulk(req: AllocRequest, count: number, out: Int32Array): number {
    let nodes = this.candidateNodes(req);
    // With zone_reclaim_mode the fast path reclaims the first node before spilling to the others: only
    // the page-by-page path does that, so the bulk stays on the first node.
    if (this.k.tunables.zoneReclaimMode !== 0 && nodes.length > 1) nodes = nodes.slice(0, 1);
    const f = this.k.frames;
    const mt = migrateTypeOfKind(req.kind);
    let got = 0;
    for (let i = 0; i < nodes.length && got < count; i++) {
      const zone = this.k.zones[nodes[i]];
      const first = got;
      // zone_watermark_ok for order 0 before each page: a run from one free block takes what the low
      // mark leaves; the mark is read again after each run because a fallback that claims a pageblock
      // boosts it.
      while (got < count) {
        const room = zone.nrFree - zone.wmark(WMARK_LOW);
        if (room <= 0) break;
        let n = this.k.buddy.rmqueueBulk(zone, mt, Math.min(count - got, room), out, got);
        if (n === 0) {
          const pfn = this.k.buddy.rmqueue(zone, 0, mt);
          if (pfn < 0) break;
          out[got] = pfn;
          n = 1;
        }
        for (let j = got; j < got + n; j++) f.initAllocated(out[j], req.kind);
        got += n;
      }
      if (got > first) this.countAllocated(zone, got - first, nodes[0], req.task);
    }
    if (this.k.pageReporting.enabled) for (let i = 0; i < got; i++) this.k.pageReporting.allocated(out[i], 1, req.task);
    return got;
  }

  /**
   * alloc_pages_bulk with its fallback: the fast path for as many of `count` order-0 pages as the
   * watermarks allow (`allocBulk`), and when that gets none, one page through `allocPages`, whose slow
   * path wakes kswapd, reclaims or fails. Returns the pages put in `out`: 0 only when the allocation
   * failed. A caller looping until it has its pages or gets 0 gets the pages, in the same order, and
   * the counters of as many `allocPages` calls.
   */
  allocPagesBulk(req: AllocRequest, count: number, out: Int32Array): number {
    const got = this.allocBulk(req, count, out);
    if (got > 0 || !(count > 0)) return got;
    const pfn = this.allocPages(req);
    if (pfn < 0) return 0;
    out[0] = pfn;
    return 1;
  }

  /** The nodes the request may use, in order. */
  private candidateNodes(req: AllocRequest): readonly number[] {
    if (req.gfp & GFP.THISNODE) return req.nodes.length === 1 ? req.nodes : req.nodes.slice(0, 1);
    if (req.mayFallBack === false || req.nodes.length === this.k.nodeCount) return req.nodes;
    const rest = this.k.nodeOrder(req.nodes[0] ?? 0).filter((n) => !req.nodes.includes(n));
    return [...req.nodes, ...rest];
  }

  private getPageFromFreelist(req: AllocRequest, nodes: readonly number[], wmark: number, fastPath: boolean): number {
    const { order, kind } = req;
    for (let i = 0; i < nodes.length; i++) {
      const zone = this.k.zones[nodes[i]];
      if (!this.k.buddy.watermarkOk(zone, order, zone.wmark(wmark))) {
        if (!(fastPath && i === 0 && this.k.tunables.zoneReclaimMode !== 0 && nodes.length > 1)) continue;
        // node_reclaim: reclaim the local node before spilling elsewhere.
        this.k.vmscan.nodeReclaim(zone.node, 1 << order, req.task);
        if (!this.k.buddy.watermarkOk(zone, order, zone.wmark(wmark))) continue;
      }
      const pfn = this.k.buddy.rmqueue(zone, order, migrateTypeOfKind(kind));
      if (pfn >= 0) {
        this.prepNewPage(pfn, req, zone, nodes[0]);
        return pfn;
      }
    }
    return -1;
  }

  private slowpath(req: AllocRequest, nodes: readonly number[]): number {
    const { order, gfp } = req;
    const costly = order > PAGE_ALLOC_COSTLY_ORDER;
    if (gfp & GFP.KSWAPD_RECLAIM) for (const n of nodes) this.k.vmscan.wakeKswapd(n, order);
    let pfn = this.getPageFromFreelist(req, nodes, WMARK_MIN, false);
    if (pfn >= 0 || !(gfp & GFP.DIRECT_RECLAIM)) return pfn;

    if (costly) {
      const first = this.k.compaction.tryDirect(nodes, order, 'async', req.task);
      pfn = this.getPageFromFreelist(req, nodes, WMARK_MIN, false);
      if (pfn >= 0) return pfn;
      if (gfp & GFP.NORETRY) {
        if (first === 'skipped' || first === 'deferred' || gfp & GFP.THISNODE) return -1;
        this.directReclaim(req, nodes);
        this.k.compaction.tryDirect(nodes, order, 'async', req.task);
        return this.getPageFromFreelist(req, nodes, WMARK_MIN, false);
      }
    }

    const maxRetries = costly ? MAX_COSTLY_RETRIES : MAX_RECLAIM_RETRIES;
    for (let attempt = 0; attempt < maxRetries; attempt++) {
      const reclaimed = this.directReclaim(req, nodes);
      pfn = this.getPageFromFreelist(req, nodes, WMARK_MIN, false);
      if (pfn >= 0) return pfn;
      if (costly) {
        this.k.compaction.tryDirect(nodes, order, 'sync-light', req.task);
        pfn = this.getPageFromFreelist(req, nodes, WMARK_MIN, false);
        if (pfn >= 0) return pfn;
      } else if (reclaimed === 0) {
        // __alloc_pages_may_oom: no OOM kill for RETRY_MAYFAIL, nor for THISNODE (it may not free that node).
        if (gfp & (GFP.NORETRY | GFP.RETRY_MAYFAIL | GFP.THISNODE)) return -1;
        if (!this.k.oom.outOfMemory(nodes, order, req.task)) return -1;
        pfn = this.getPageFromFreelist(req, nodes, WMARK_MIN, false);
        if (pfn >= 0) return pfn;
      }
    }
    return -1;
  }

  private directReclaim(req: AllocRequest, nodes: readonly number[]): number {
    this.k.vmstat.countVmEvent(nodes[0], Vm.allocstall_normal);
    return this.k.vmscan.directReclaim(nodes, req.order, req.task);
  }

  /** Initialises the frames of a new allocation and counts it (prep_new_page, zone_statistics). */
  private prepNewPage(pfn: number, req: AllocRequest, zone: Zone, preferred: number): void {
    const f = this.k.frames;
    const n = 1 << req.order;
    for (let i = 0; i < n; i++) f.initAllocated(pfn + i, req.kind);
    if (req.order === HPAGE_PMD_ORDER && req.kind !== PageKind.Free && req.gfp & GFP.COMP) {
      f.set(pfn, PG.head);
      f.order[pfn] = req.order;
      for (let i = 1; i < n; i++) f.set(pfn + i, PG.tail);
    }
    this.countAllocated(zone, n, preferred, req.task);
    if (this.k.pageReporting.enabled) this.k.pageReporting.allocated(pfn, n, req.task);
    if (zone.nrFree < zone.wmark(WMARK_LOW)) this.k.vmscan.wakeKswapd(zone.node, req.order);
  }

  /** zone_statistics and the allocation counter for `n` pages taken from `zone`. */
  private countAllocated(zone: Zone, n: number, preferred: number, task: AllocRequest['task']): void {
    const vs = this.k.vmstat;
    vs.countVmEvent(zone.node, Vm.pgalloc_normal, n);
    const local = task ? task.node : preferred;
    if (zone.node === preferred) vs.countVmEvent(zone.node, Vm.numa_hit, n);
    else {
      vs.countVmEvent(zone.node, Vm.numa_miss, n);
      vs.countVmEvent(preferred, Vm.numa_foreign, n);
    }
    vs.countVmEvent(zone.node, zone.node === local ? Vm.numa_local : Vm.numa_other, n);
  }

  /** Frees 2^order frames (the caller has unmapped them); their memcg charge goes with them. */
  freePages(pfn: number, order: number): void {
    this.k.memcg.uncharge(pfn, 1 << order);
    this.k.numaBalancing.framesFreed(pfn, 1 << order);
    const node = this.k.nodeOfPfn(pfn);
    this.k.vmstat.countVmEvent(node, Vm.pgfree, 1 << order);
    this.k.buddy.freePages(pfn, order);
  }

  /**
   * Frees the order-0 pages `pfns[from..to)` (as free_pages_bulk / a folio batch), reordering them:
   * sorted by frame, and each aligned run of 2^k consecutive frames (k ≤ pageblock order) freed as one
   * block. The buddy allocator ends with the same free blocks as after page-by-page frees (a fully freed
   * aligned run always merges into itself, within one pageblock); only the order of entries within
   * its free lists may differ, as it does in Linux, whose per-CPU lists reorder frees too. A dropped
   * file's pages, allocated together, free in a few block operations instead of one merge walk each.
   * pgfree is counted once per run of one node. `pfns[from..to)` is sorted in place.
   */
  freeBulk(pfns: Int32Array, from: number, to: number): void {
    const k = this.k;
    const batch = pfns.subarray(from, to).sort();
    let node = -1;
    let run = 0;
    for (let i = 0; i < batch.length; ) {
      const pfn = batch[i];
      const n = k.nodeOfPfn(pfn);
      const zoneOffset = pfn - k.zones[n].startPfn;
      let order = 0;
      while (order < PAGEBLOCK_ORDER) {
        const size = 2 << order;
        if (zoneOffset % size !== 0 || i + size > batch.length || batch[i + size - 1] !== pfn + size - 1) break;
        order++;
      }
      const pages = 1 << order;
      k.memcg.uncharge(pfn, pages);
      k.numaBalancing.framesFreed(pfn, pages);
      if (n !== node) {
        if (run > 0) k.vmstat.countVmEvent(node, Vm.pgfree, run);
        node = n;
        run = 0;
      }
      run += pages;
      k.buddy.freePages(pfn, order);
      i += pages;
    }
    if (run > 0) k.vmstat.countVmEvent(node, Vm.pgfree, run);
  }
}
