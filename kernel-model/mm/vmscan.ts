/**
 * Page reclaim (Linux mm/vmscan.c): the active/inactive LRU, kswapd, direct reclaim and node reclaim.
 *
 * The LRU is kept as page flags (PG_lru, PG_active, PG_referenced, and the mapping's young bit) rather
 * than linked lists, and is scanned by a clock hand per node that sweeps the node's frames — the
 * two-handed-clock equivalent of Linux's active/inactive lists, with no per-page list links:
 *
 *   young (accessed since last look)   → clear young; an inactive page is activated (pgactivate)
 *   not young, active                  → deactivate (pgdeactivate): it gets one more sweep to be used
 *   not young, inactive                → reclaim: clean file pages are dropped, dirty ones written back
 *                                        first; anonymous pages are swapped out (THPs split first)
 *
 * File pages are preferred; anonymous pages are reclaimed only with swap space and swappiness > 0. A
 * file-only pass does not look at anonymous pages at all — not even their accessed bits — as Linux's
 * get_scan_count scans only the file lists while there is page cache enough (SCAN_FILE).
 * Mlocked and pinned pages are skipped (unevictable). kswapd is woken when a node's free pages fall
 * below the low watermark (plus boost) and reclaims until they exceed the high watermark, then wakes
 * kcompactd for a high-order waker; direct reclaim takes SWAP_CLUSTER_MAX pages at a time in the
 * allocating task's context and charges it the time (a stall, also counted by PSI). The deferred-split
 * shrinker (partially unmapped THPs) runs with every reclaim pass.
 */
import { KernelThread, Priority } from '../engine/engine.js';
import { HPAGE_PMD_NR, PAGE_ALLOC_COSTLY_ORDER, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { MemcgEvent } from './memcontrol-items.js';
import type { Task } from './mm-types.js';
import { WMARK_HIGH, WMARK_LOW, WMARK_MIN } from './page-alloc.js';
import { PG } from './page-flags.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** Failed kswapd runs after which the node is left alone (MAX_RECLAIM_RETRIES). */
const MAX_RECLAIM_RETRIES = 16;

/** Pages reclaimed per batch (SWAP_CLUSTER_MAX). */
export const SWAP_CLUSTER_MAX = 32;

/** Who reclaims: kswapd, direct reclaim, node reclaim, or a memory cgroup over its limit (cgroup_reclaim). */
export type ReclaimContext = 'kswapd' | 'direct' | 'node' | 'memcg';

/** Reclaim. */
export class Vmscan {
  private readonly hand: number[];
  private readonly kswapd: KernelThread[];
  private readonly kswapdOrder: number[];
  /** kswapd runs in a row that reclaimed nothing (pgdat->kswapd_failures). */
  private readonly kswapdFailures: number[];

  constructor(private readonly k: Kernel) {
    this.hand = k.zones.map((z) => z.startPfn);
    this.kswapdOrder = k.zones.map(() => 0);
    this.kswapdFailures = k.zones.map(() => 0);
    this.kswapd = k.zones.map(
      (z) => new KernelThread(`kswapd${z.node}`, k.engine, Priority.reclaim, () => this.balanceNode(z.node)),
    );
  }

  /** CPU time used by a node's kswapd, ms. */
  kswapdCpuMs(node: number): number {
    return this.kswapd[node].cpuMs;
  }

  // ---- LRU membership ----------------------------------------------------------------------------

  /** The vmstat state item of the list a page is on. */
  private lruItem(pfn: number): number {
    const f = this.k.frames;
    if (f.has(pfn, PG.mlocked)) return Vm.nr_unevictable;
    const anon = f.kind(pfn) === PageKind.Anon;
    const active = f.has(pfn, PG.active);
    if (anon) return active ? Vm.nr_active_anon : Vm.nr_inactive_anon;
    return active ? Vm.nr_active_file : Vm.nr_inactive_file;
  }

  private lruAccount(pfn: number, sign: 1 | -1): void {
    const n = this.k.frames.has(pfn, PG.head) ? HPAGE_PMD_NR : 1;
    this.lruCount(this.k.nodeOfPfn(pfn), this.lruItem(pfn), sign * n);
  }

  /** Puts a new page (or THP head) on the inactive list. */
  lruAdd(pfn: number): void {
    const f = this.k.frames;
    f.set(pfn, PG.lru);
    f.clear(pfn, PG.active);
    this.lruAccount(pfn, 1);
  }

  /** Takes a page off the LRU (before it is freed or split). */
  lruDel(pfn: number): void {
    const f = this.k.frames;
    if (!f.has(pfn, PG.lru)) return;
    this.lruAccount(pfn, -1);
    f.clear(pfn, PG.lru | PG.active | PG.referenced);
  }

  /**
   * `lruAdd` for each of `pfns[from..to)` (a batch of new pages, as folio_batch_add_and_move does), with
   * the list counts changed once per run of pages of one node and list.
   */
  lruAddBulk(pfns: Int32Array, from: number, to: number): void {
    const f = this.k.frames;
    const runs = new LruRuns((node, item, pages) => this.lruCount(node, item, pages));
    for (let i = from; i < to; i++) {
      const pfn = pfns[i];
      f.set(pfn, PG.lru);
      f.clear(pfn, PG.active);
      runs.add(this.k.nodeOfPfn(pfn), this.lruItem(pfn), f.has(pfn, PG.head) ? HPAGE_PMD_NR : 1);
    }
    runs.end();
  }

  /** `lruDel` for each of `pfns[from..to)`, with the list counts changed once per run as in `lruAddBulk`. */
  lruDelBulk(pfns: Int32Array, from: number, to: number): void {
    const f = this.k.frames;
    const runs = new LruRuns((node, item, pages) => this.lruCount(node, item, -pages));
    for (let i = from; i < to; i++) {
      const pfn = pfns[i];
      if (!f.has(pfn, PG.lru)) continue;
      runs.add(this.k.nodeOfPfn(pfn), this.lruItem(pfn), f.has(pfn, PG.head) ? HPAGE_PMD_NR : 1);
      f.clear(pfn, PG.lru | PG.active | PG.referenced);
    }
    runs.end();
  }

  /** Adds `pages` to list `item` of `node` and to its zone counterpart. */
  private lruCount(node: number, item: number, pages: number): void {
    this.k.vmstat.modNodeState(node, item, pages);
    this.k.vmstat.modNodeState(node, zoneLruItem(item), pages);
  }

  /** Changes flags of an LRU page, keeping the per-list counts right. */
  lruUpdate(pfn: number, set: number, clear: number): void {
    const f = this.k.frames;
    const onLru = f.has(pfn, PG.lru);
    if (onLru) this.lruAccount(pfn, -1);
    f.set(pfn, set);
    f.clear(pfn, clear);
    if (onLru) this.lruAccount(pfn, 1);
  }

  /** Migration moved an LRU page to another frame (maybe another node). */
  lruMoved(from: number, to: number): void {
    const f = this.k.frames;
    if (!f.has(to, PG.lru)) return;
    const n = f.has(to, PG.head) ? HPAGE_PMD_NR : 1;
    const a = this.k.nodeOfPfn(from);
    const b = this.k.nodeOfPfn(to);
    if (a === b) return;
    const item = this.lruItem(to);
    this.k.vmstat.modNodeState(a, item, -n);
    this.k.vmstat.modNodeState(a, zoneLruItem(item), -n);
    this.k.vmstat.modNodeState(b, item, n);
    this.k.vmstat.modNodeState(b, zoneLruItem(item), n);
  }

  // ---- kswapd ------------------------------------------------------------------------------------

  /**
   * Whether kswapd has given up on the node: MAX_RECLAIM_RETRIES runs in a row reclaimed nothing
   * (zoneinfo's node_unreclaimable). Any later reclaim progress on the node clears it.
   */
  nodeUnreclaimable(node: number): boolean {
    return this.kswapdFailures[node] >= MAX_RECLAIM_RETRIES;
  }

  /** wakeup_kswapd: wakes the node's kswapd unless it is balanced for `order` or has given up. */
  wakeKswapd(node: number, order: number): void {
    if (this.nodeUnreclaimable(node)) return;
    const zone = this.k.zones[node];
    this.kswapdOrder[node] = Math.max(this.kswapdOrder[node], order);
    if (this.k.buddy.watermarkOk(zone, order, zone.wmark(WMARK_HIGH)) && zone.watermarkBoost === 0) return;
    this.kswapd[node].wake(0);
  }

  /** balance_pgdat: reclaim until free pages exceed the high watermark, then sleep. */
  private balanceNode(node: number): number | null {
    const zone = this.k.zones[node];
    const order = this.kswapdOrder[node];
    const thread = this.kswapd[node];
    this.k.vmstat.countVmEvent(node, Vm.pageoutrun);
    const target = (): number => zone.wmark(WMARK_HIGH);
    let progress = 0;
    let rounds = 0;
    const unbalanced = zone.nrFree < target();
    while (zone.nrFree < target() && rounds++ < 64) {
      const { reclaimed, costMs } = this.shrinkNode(node, SWAP_CLUSTER_MAX * 16, 'kswapd');
      thread.charge(costMs);
      progress += reclaimed;
      if (reclaimed === 0) break;
    }
    if (unbalanced && progress === 0) this.kswapdFailures[node]++;
    zone.watermarkBoost = 0;
    this.k.compaction.wakeKcompactd(node, order);
    this.kswapdOrder[node] = 0;
    if (zone.nrFree < zone.wmark(WMARK_LOW) && progress > 0) return 100;
    return null;
  }

  // ---- direct and node reclaim -------------------------------------------------------------------

  /** try_to_free_pages: reclaims a batch from the allowed nodes in the allocating task's context. */
  directReclaim(nodes: readonly number[], order: number, task: Task | undefined): number {
    const want = Math.max(SWAP_CLUSTER_MAX, 1 << Math.min(order, 9));
    let reclaimed = 0;
    let cost = 0;
    for (const node of nodes) {
      if (order > PAGE_ALLOC_COSTLY_ORDER && this.compactionReady(node, order)) continue;
      const r = this.shrinkNode(node, want - reclaimed, 'direct');
      reclaimed += r.reclaimed;
      cost += r.costMs;
      if (reclaimed >= want) break;
    }
    task?.stall('directReclaim', cost);
    this.k.psi.memstall(task, cost);
    return reclaimed;
  }

  /**
   * compaction_ready (shrink_zones): for a costly order, a node where the allocation could already
   * succeed, or where compaction is suitable and free memory is above high + compact_gap, is not
   * reclaimed: what it lacks is contiguity, which reclaim does not give — freeing memory there would
   * only swap (the defrag=always storm on a fragmented machine).
   */
  private compactionReady(node: number, order: number): boolean {
    const k = this.k;
    const zone = k.zones[node];
    if (k.buddy.watermarkOk(zone, order, zone.wmark(WMARK_MIN))) return true;
    if (!k.compaction.compactionSuitable(zone, order, zone.wmark(WMARK_MIN))) return false;
    return zone.nrFree >= zone.wmark(WMARK_HIGH) + (2 << order);
  }

  /** node_reclaim (zone_reclaim_mode): clean page cache of one node only. */
  nodeReclaim(node: number, nrPages: number, task: Task | undefined): number {
    const r = this.shrinkNode(node, Math.max(nrPages, SWAP_CLUSTER_MAX), 'node');
    task?.stall('directReclaim', r.costMs);
    this.k.vmstat.countVmEvent(node, r.reclaimed > 0 ? Vm.zone_reclaim_success : Vm.zone_reclaim_failed);
    return r.reclaimed;
  }

  /**
   * shrink_node: sweeps the node's clock hand until `nrToReclaim` pages are freed or two full sweeps
   * found nothing more. Returns pages freed and the CPU/IO-submission time spent. For a memory cgroup
   * (`ctx` 'memcg') `memcgMask` lists the memcg ids of its subtree (MemControl.ids): the hand passes
   * every other frame without looking at it, and the global pgscan/pgsteal_direct counters are left
   * alone, as Linux counts cgroup reclaim only in the memcg.
   */
  shrinkNode(node: number, nrToReclaim: number, ctx: ReclaimContext, memcgMask?: Uint8Array): { reclaimed: number; costMs: number } {
    const k = this.k;
    const zone = k.zones[node];
    let costMs = k.huge.deferredSplitScan(node);
    let reclaimed = 0;
    const span = zone.endPfn - zone.startPfn;
    const mayAnon = ctx !== 'node' && k.swap.free > 0 && k.tunables.swappiness > 0;
    const ids = k.memcg.ids;
    // Pass 0 reclaims file pages only; pass 1 (when that was not enough) anonymous pages too. A memcg
    // is charged anonymous pages only: it starts at pass 1, and without swap has nothing to reclaim.
    // A pass that has nothing to look for is skipped (get_scan_count does not scan empty lists) and its
    // sweeps go to the next pass instead. The file pass leaves anonymous pages as they are, so the
    // anonymous pass ages them first (young → active → inactive) before it can reclaim any.
    let laps = 0;
    for (let pass = ctx === 'memcg' ? 1 : 0; pass < 2 && reclaimed < nrToReclaim && (ctx !== 'memcg' || mayAnon); pass++) {
      const allowAnon = pass === 1 && mayAnon;
      laps += 2;
      const file = k.vmstat.node(node, Vm.nr_inactive_file) + k.vmstat.node(node, Vm.nr_active_file);
      const anon = k.vmstat.node(node, Vm.nr_inactive_anon) + k.vmstat.node(node, Vm.nr_active_anon);
      if (file === 0 && !(allowAnon && anon > 0)) continue;
      let scanned = 0;
      const limit = span * laps;
      laps = 0;
      while (reclaimed < nrToReclaim && scanned < limit) {
        const pfn = this.hand[node];
        this.hand[node] = pfn + 1 >= zone.endPfn ? zone.startPfn : pfn + 1;
        scanned++;
        if (memcgMask !== undefined && memcgMask[ids[pfn]] === 0) continue;
        const r = this.scanOne(pfn, allowAnon, ctx);
        reclaimed += r.freed;
        costMs += r.costMs;
      }
      reclaimed += ctx === 'node' || ctx === 'memcg' ? 0 : k.kernelAllocs.shrinkReclaimable(node, nrToReclaim - reclaimed);
    }
    if (reclaimed > 0) this.kswapdFailures[node] = 0;
    return { reclaimed, costMs };
  }

  /** Looks at one frame under the clock hand. */
  private scanOne(pfn: number, allowAnon: boolean, ctx: ReclaimContext): { freed: number; costMs: number } {
    const k = this.k;
    const f = k.frames;
    if (!f.has(pfn, PG.lru) || f.has(pfn, PG.mlocked) || f.has(pfn, PG.isolated)) return NOTHING;
    const kind = f.kind(pfn);
    // A file-only pass leaves anonymous pages alone, accessed bits included (get_scan_count's SCAN_FILE).
    if (kind === PageKind.Anon && !allowAnon) return NOTHING;
    const node = k.nodeOfPfn(pfn);
    const isThp = f.has(pfn, PG.head);
    const n = isThp ? HPAGE_PMD_NR : 1;
    if (ctx !== 'memcg') k.vmstat.countVmEvent(node, ctx === 'kswapd' ? Vm.pgscan_kswapd : Vm.pgscan_direct, n);
    k.vmstat.countVmEvent(node, kind === PageKind.Anon ? Vm.pgscan_anon : Vm.pgscan_file, n);
    k.memcg.countPageEvent(pfn, ctx === 'kswapd' ? MemcgEvent.pgscan_kswapd : MemcgEvent.pgscan_direct, n);
    if (f.has(pfn, PG.young)) {
      f.clear(pfn, PG.young);
      if (!f.has(pfn, PG.active)) {
        this.lruUpdate(pfn, PG.active | PG.referenced, 0);
        k.vmstat.countVmEvent(node, Vm.pgactivate, n);
        k.memcg.countPageEvent(pfn, MemcgEvent.pgactivate, n);
      }
      return { freed: 0, costMs: Cost.scanPage * n };
    }
    if (f.has(pfn, PG.active)) {
      this.lruUpdate(pfn, 0, PG.active | PG.referenced);
      k.vmstat.countVmEvent(node, Vm.pgdeactivate, n);
      k.memcg.countPageEvent(pfn, MemcgEvent.pgdeactivate, n);
      return { freed: 0, costMs: Cost.scanPage };
    }
    if (kind === PageKind.PageCache) return this.reclaimFile(pfn, node, ctx);
    if (kind !== PageKind.Anon || !allowAnon || k.migration.isPinned(pfn)) return NOTHING;
    return this.reclaimAnon(pfn, node, ctx);
  }

  private reclaimFile(pfn: number, node: number, ctx: ReclaimContext): { freed: number; costMs: number } {
    const k = this.k;
    const f = k.frames;
    if (f.has(pfn, PG.dirty)) {
      if (ctx === 'node') return NOTHING;
      // Start writeback; the page is reclaimed on a later sweep once clean.
      f.clear(pfn, PG.dirty);
      k.vmstat.modNodeState(node, Vm.nr_dirty, -1);
      k.vmstat.countVmEvent(node, Vm.nr_written);
      k.vmstat.countVmEvent(node, Vm.nr_vmscan_write);
      return { freed: 0, costMs: Cost.writeback };
    }
    k.pageCache.evict(pfn);
    k.vmstat.countVmEvent(node, ctx === 'kswapd' ? Vm.pgsteal_kswapd : Vm.pgsteal_direct);
    k.vmstat.countVmEvent(node, Vm.pgsteal_file);
    return { freed: 1, costMs: Cost.zapPage };
  }

  private reclaimAnon(pfn: number, node: number, ctx: ReclaimContext): { freed: number; costMs: number } {
    const cg = this.k.memcg.memcgOfPage(pfn);
    const r = this.pageoutAnon(pfn);
    if (r.freed > 0) {
      if (ctx !== 'memcg') this.k.vmstat.countVmEvent(node, ctx === 'kswapd' ? Vm.pgsteal_kswapd : Vm.pgsteal_direct, r.freed);
      this.k.vmstat.countVmEvent(node, Vm.pgsteal_anon, r.freed);
      if (cg) this.k.memcg.countEvent(cg, ctx === 'kswapd' ? MemcgEvent.pgsteal_kswapd : MemcgEvent.pgsteal_direct, r.freed);
    }
    return r;
  }

  /**
   * pageout of an anonymous page or THP (shrink_folio_list's swap path, also MADV_PAGEOUT): a THP goes
   * to swap whole when 512 slots are free (thp_swpout), else it is split and its pages go one by one
   * (thp_swpout_fallback). Returns pages freed and the time spent.
   */
  pageoutAnon(pfn: number): { freed: number; costMs: number } {
    const k = this.k;
    let costMs = 0;
    let pages = [pfn];
    if (k.frames.has(pfn, PG.head)) {
      const whole = k.huge.swapOutThp(pfn);
      if (whole.ok) return { freed: HPAGE_PMD_NR, costMs: whole.costMs };
      k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.thp_swpout_fallback);
      k.memcg.countPageEvent(pfn, MemcgEvent.thp_swpout_fallback);
      k.huge.stats.swpout_fallback++;
      const split = k.huge.splitHugePage(pfn);
      costMs += split.costMs;
      if (!split.ok) return { freed: 0, costMs };
      pages = split.pages;
    }
    let freed = 0;
    for (const p of pages) {
      if (k.frames.getMapcount(p) === 0) continue;
      const r = k.memory.swapOutPage(p);
      costMs += r.costMs;
      if (r.ok) freed++;
    }
    return { freed, costMs };
  }
}

const NOTHING = { freed: 0, costMs: 0 } as const;

function zoneLruItem(item: number): number {
  switch (item) {
    case Vm.nr_inactive_anon:
      return Vm.nr_zone_inactive_anon;
    case Vm.nr_active_anon:
      return Vm.nr_zone_active_anon;
    case Vm.nr_inactive_file:
      return Vm.nr_zone_inactive_file;
    case Vm.nr_active_file:
      return Vm.nr_zone_active_file;
    default:
      return Vm.nr_zone_unevictable;
  }
}

/** Pages summed per run of one (node, LRU list), each run handed to `count` once (the bulk LRU paths). */
class LruRuns {
  private node = -1;
  private item = -1;
  private pages = 0;

  constructor(private readonly count: (node: number, item: number, pages: number) => void) {}

  add(node: number, item: number, pages: number): void {
    if (node !== this.node || item !== this.item) {
      this.end();
      this.node = node;
      this.item = item;
    }
    this.pages += pages;
  }

  end(): void {
    if (this.pages > 0) this.count(this.node, this.item, this.pages);
    this.pages = 0;
  }
}
