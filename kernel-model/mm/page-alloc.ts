/**
 * The buddy allocator (Linux mm/page_alloc.c), one zone per NUMA node.
 *
 * Free memory is kept as blocks of 2^order frames (order 0–10), each on the free list of its order and
 * of its pageblock's migratetype. The lists are intrusive doubly linked lists threaded through the frame
 * arrays (`link0` = next, `link1` = prev of a free block's first frame), so no JavaScript object exists
 * per free block. Invariants (tested by property tests):
 *   - a free block is aligned to its size, its first frame has PG_buddy and `order` = its order, and its
 *     other frames are neither free heads nor in use;
 *   - two free buddies of the same order never coexist (they are merged on free);
 *   - `nrFree` = Σ 2^order over the blocks on the lists, `freeCount[o][mt]` = the blocks on list (o, mt);
 *   - a free block's first frame records the migratetype of the list it is on in its `mapcount` slot
 *     (a union, as in struct page), so unlinking a buddy never searches a list.
 *
 * Allocation takes the smallest adequate block of the wanted migratetype and splits it ("expand"). When
 * that type has nothing, it falls back to another type's largest block (fallbacks: Unmovable →
 * Reclaimable, Movable; Reclaimable → Unmovable, Movable; Movable → Reclaimable, Unmovable) and tries to
 * claim the whole pageblock when the request is large (≥ order 4) or unmovable/reclaimable: the block
 * changes type only if at least half of it is free or already holds compatible pages. Claiming from a
 * foreign block boosts the watermark, which wakes kswapd. Mixing types inside pageblocks is what makes
 * memory unfit for huge pages over time; this file reproduces it.
 *
 * Free page reporting (page-reporting.ts) leans on two details kept here as Linux keeps them: a block
 * can carry the Reported mark (PG_reported), which it loses whenever it leaves its free list — taken,
 * merged with a buddy, isolated — and `freePages` can put a block at the tail of its list (FPI_TO_TAIL)
 * and skip the reporting notification (FPI_SKIP_REPORT_NOTIFY), which is how reported blocks go back.
 */
import {
  MAX_ORDER,
  MigrateType,
  NR_MIGRATETYPES,
  NR_ORDERS,
  PAGEBLOCK_NR_PAGES,
  PAGEBLOCK_ORDER,
  PageKind,
  migrateTypeOfKind,
  type MigrateType as MigrateTypeT,
} from './constants.js';
import { PG, type PageFrames } from './page-flags.js';

/** Watermark indices (enum zone_watermarks). */
export const WMARK_MIN = 0;
export const WMARK_LOW = 1;
export const WMARK_HIGH = 2;
export const NR_WMARK = 3;

/** Fallback migratetypes of each allocatable type, in the order they are tried (page_alloc.c `fallbacks`). */
export const fallbacks: readonly (readonly MigrateTypeT[])[] = [
  [MigrateType.Reclaimable, MigrateType.Movable], // Unmovable
  [MigrateType.Reclaimable, MigrateType.Unmovable], // Movable
  [MigrateType.Unmovable, MigrateType.Movable], // Reclaimable
];

/** A zone: the free lists and watermarks of one node. */
export class Zone {
  readonly freeHead: Int32Array = new Int32Array(NR_ORDERS * NR_MIGRATETYPES).fill(-1);
  /** Last block of each free list (FPI_TO_TAIL puts blocks there). */
  readonly freeTail: Int32Array = new Int32Array(NR_ORDERS * NR_MIGRATETYPES).fill(-1);
  readonly freeCount: Float64Array = new Float64Array(NR_ORDERS * NR_MIGRATETYPES);
  /** Migratetype of each pageblock of the zone. */
  readonly pageblockMt: Uint8Array;
  /** Free pages (PAGE_SIZE units) on the lists. */
  nrFree = 0;
  /** Free pages in blocks that carry the Reported mark (free page reporting). */
  nrReported = 0;
  /** min, low, high, without the boost. */
  /** Free pages per pageblock (what move_freepages_block would count as free), kept by the free lists. */
  readonly blockFree: Uint16Array;
  readonly watermark = new Float64Array(NR_WMARK);
  /** Temporary boost added to every watermark after fragmenting fallbacks. */
  watermarkBoost = 0;
  /** Pages never given to the allocator (spanned - managed): none in the model. */
  readonly managed: number;

  constructor(
    readonly node: number,
    readonly startPfn: number,
    readonly endPfn: number,
  ) {
    this.managed = endPfn - startPfn;
    this.pageblockMt = new Uint8Array(Math.ceil(this.managed / PAGEBLOCK_NR_PAGES)).fill(MigrateType.Movable);
    this.blockFree = new Uint16Array(this.pageblockMt.length);
  }

  /** Watermark `i` including the boost (wmark_pages). */
  wmark(i: number): number {
    return this.watermark[i] + this.watermarkBoost;
  }

  /** Number of free blocks on list (order, mt). */
  blocks(order: number, mt: number): number {
    return this.freeCount[order * NR_MIGRATETYPES + mt];
  }

  /** Migratetype of the pageblock holding `pfn`. */
  blockMt(pfn: number): MigrateTypeT {
    return this.pageblockMt[(pfn - this.startPfn) >> PAGEBLOCK_ORDER] as MigrateTypeT;
  }

  contains(pfn: number): boolean {
    return pfn >= this.startPfn && pfn < this.endPfn;
  }
}

/** __free_one_page flags: put the block at the tail of its list. */
export const FPI_TO_TAIL = 1 << 0;
/** __free_one_page flags: do not notify free page reporting (a reported block going back). */
export const FPI_SKIP_REPORT_NOTIFY = 1 << 1;

/** The machine's buddy allocator. */
export class BuddyAllocator {
  /** Called when a watermark boost asks kswapd of `node` to wake. */
  onBoost: (node: number) => void = () => undefined;
  /**
   * page_reporting_notify_free: a free that leaves a block of at least `reportingOrder` calls
   * `onReportableFree` (Infinity while no reporting device is registered).
   */
  reportingOrder = Number.POSITIVE_INFINITY;
  onReportableFree: () => void = () => undefined;

  constructor(
    readonly frames: PageFrames,
    readonly zones: readonly Zone[],
  ) {
    for (const zone of zones) this.initZoneFree(zone);
  }

  /** The zone holding `pfn`. */
  zoneOf(pfn: number): Zone {
    for (const z of this.zones) if (z.contains(pfn)) return z;
    throw new RangeError(`pfn ${pfn} is outside every zone`);
  }

  private initZoneFree(zone: Zone): void {
    let pfn = zone.startPfn;
    while (pfn < zone.endPfn) {
      let order = MAX_ORDER;
      while (order > 0 && ((pfn - zone.startPfn) % (1 << order) !== 0 || pfn + (1 << order) > zone.endPfn)) order--;
      this.addToFreeList(zone, pfn, order, zone.blockMt(pfn));
      pfn += 1 << order;
    }
  }

  // ---- free lists -------------------------------------------------------------------------------

  private addToFreeList(zone: Zone, pfn: number, order: number, mt: number, toTail = false): void {
    const f = this.frames;
    const list = order * NR_MIGRATETYPES + mt;
    f.flags[pfn] = PG.buddy;
    f.order[pfn] = order;
    f.mapcount[pfn] = mt;
    if (toTail && zone.freeTail[list] >= 0) {
      const tail = zone.freeTail[list];
      f.link0[pfn] = -1;
      f.link1[pfn] = tail;
      f.link0[tail] = pfn;
      zone.freeTail[list] = pfn;
    } else {
      const head = zone.freeHead[list];
      f.link0[pfn] = head;
      f.link1[pfn] = -1;
      if (head >= 0) f.link1[head] = pfn;
      else zone.freeTail[list] = pfn;
      zone.freeHead[list] = pfn;
    }
    zone.freeCount[list]++;
    zone.nrFree += 1 << order;
    this.countBlockFree(zone, pfn, order, 1);
  }

  /** Keeps Zone.blockFree: a block of `order` adds or removes its pages in the pageblock(s) it covers. */
  private countBlockFree(zone: Zone, pfn: number, order: number, sign: 1 | -1): void {
    const first = (pfn - zone.startPfn) >> PAGEBLOCK_ORDER;
    if (order < PAGEBLOCK_ORDER) {
      zone.blockFree[first] += sign * (1 << order);
      return;
    }
    const blocks = 1 << (order - PAGEBLOCK_ORDER);
    for (let b = 0; b < blocks; b++) zone.blockFree[first + b] += sign * PAGEBLOCK_NR_PAGES;
  }

  /** Unlinks a free block; `mt` must be the list it is on. */
  private delFromFreeList(zone: Zone, pfn: number, order: number, mt: number): void {
    const f = this.frames;
    const list = order * NR_MIGRATETYPES + mt;
    const next = f.link0[pfn];
    const prev = f.link1[pfn];
    if (prev >= 0) f.link0[prev] = next;
    else zone.freeHead[list] = next;
    if (next >= 0) f.link1[next] = prev;
    else zone.freeTail[list] = prev;
    // Leaving the list drops the Reported mark with every other flag (__ClearPageReported).
    if (f.flags[pfn] & PG.reported) zone.nrReported -= 1 << order;
    f.flags[pfn] = 0;
    f.mapcount[pfn] = 0;
    f.link0[pfn] = -1;
    f.link1[pfn] = -1;
    zone.freeCount[list]--;
    zone.nrFree -= 1 << order;
    this.countBlockFree(zone, pfn, order, -1);
  }

  /** The list a free block is on: kept in the head frame's `mapcount` slot while it is free. */
  private listMtOf(_zone: Zone, pfn: number, _order: number): number {
    return this.frames.mapcount[pfn];
  }

  /** Splits a block of `high` order down to `low`, putting the upper halves on list `mt` (expand). */
  private expand(zone: Zone, pfn: number, low: number, high: number, mt: number): void {
    let size = 1 << high;
    while (high > low) {
      high--;
      size >>= 1;
      this.addToFreeList(zone, pfn + size, high, mt);
    }
  }

  // ---- allocation -------------------------------------------------------------------------------

  /**
   * Takes a block of `order` for an allocation of migratetype `mt` from the zone's free lists, with
   * fallback to other types; no watermark check (the caller does that). Returns the PFN or -1.
   */
  rmqueue(zone: Zone, order: number, mt: MigrateTypeT): number {
    const pfn = this.rmqueueSmallest(zone, order, mt);
    if (pfn >= 0 || mt >= fallbacks.length) return pfn;
    return this.rmqueueFallback(zone, order, mt);
  }

  /**
   * Up to `max` order-0 pages of migratetype `mt` into `out[at..]`, exactly as that many rmqueue(zone,
   * 0, mt) calls would take them while no fallback is needed; returns how many (0 when `mt` has no free
   * block: the caller falls back page by page). When the smallest free block of `mt` has order k > 0,
   * every list of `mt` below k is empty, so page-by-page allocation splits that block and hands out its
   * pages in ascending order, each split leaving the upper halves alone on the lower lists: after n
   * pages, what is left of it is the aligned decomposition of [pfn + n, pfn + 2^k), one block per list.
   * That state is built directly, instead of n splits and n list operations.
   */
  rmqueueBulk(zone: Zone, mt: MigrateTypeT, max: number, out: Int32Array, at: number): number {
    for (let o = 0; o <= MAX_ORDER; o++) {
      const pfn = zone.freeHead[o * NR_MIGRATETYPES + mt];
      if (pfn < 0) continue;
      const n = Math.min(max, 1 << o);
      this.delFromFreeList(zone, pfn, o, mt);
      for (let i = 0; i < n; i++) out[at + i] = pfn + i;
      // The rest, in aligned blocks from the top down (each list receives at most one).
      for (let p = pfn + n, end = pfn + (1 << o); p < end; ) {
        let order = 0;
        while (order < o && (p - pfn) % (2 << order) === 0 && p + (2 << order) <= end) order++;
        this.addToFreeList(zone, p, order, mt);
        p += 1 << order;
      }
      return n;
    }
    return 0;
  }

  private rmqueueSmallest(zone: Zone, order: number, mt: number): number {
    for (let o = order; o <= MAX_ORDER; o++) {
      const pfn = zone.freeHead[o * NR_MIGRATETYPES + mt];
      if (pfn < 0) continue;
      this.delFromFreeList(zone, pfn, o, mt);
      this.expand(zone, pfn, order, o, mt);
      return pfn;
    }
    return -1;
  }

  private rmqueueFallback(zone: Zone, order: number, startMt: MigrateTypeT): number {
    const claimable = order >= PAGEBLOCK_ORDER >> 1 || startMt !== MigrateType.Movable;
    if (claimable) {
      // __rmqueue_claim: the largest foreign block first, so that a whole pageblock changes hands.
      for (let o = MAX_ORDER; o >= order; o--) {
        for (const fmt of fallbacks[startMt]) {
          const pfn = zone.freeHead[o * NR_MIGRATETYPES + fmt];
          if (pfn < 0) continue;
          if (this.tryClaimBlock(zone, pfn, o, startMt, fmt)) return this.rmqueueSmallest(zone, order, startMt);
        }
      }
    }
    // __rmqueue_steal: take the smallest foreign block without changing any pageblock's type.
    for (let o = order; o <= MAX_ORDER; o++) {
      for (const fmt of fallbacks[startMt]) {
        const pfn = zone.freeHead[o * NR_MIGRATETYPES + fmt];
        if (pfn < 0) continue;
        this.delFromFreeList(zone, pfn, o, fmt);
        this.expand(zone, pfn, order, o, fmt);
        return pfn;
      }
    }
    return -1;
  }

  /** try_to_claim_block: changes the pageblock(s) of a free block to `startMt` when allowed. */
  private tryClaimBlock(zone: Zone, pfn: number, order: number, startMt: MigrateTypeT, fmt: number): boolean {
    if (order >= PAGEBLOCK_ORDER) {
      const blocks = 1 << (order - PAGEBLOCK_ORDER);
      for (let b = 0; b < blocks; b++) this.setPageblockMt(zone, pfn + b * PAGEBLOCK_NR_PAGES, startMt);
      this.delFromFreeList(zone, pfn, order, fmt);
      this.addToFreeList(zone, pfn, order, startMt);
      return true;
    }
    this.boostWatermark(zone);
    const blockStart = pfn - ((pfn - zone.startPfn) % PAGEBLOCK_NR_PAGES);
    let free: number;
    let alike: number;
    if (startMt !== MigrateType.Movable && fmt === MigrateType.Movable) {
      // Movable pages are not alike to an unmovable or reclaimable request: only the free count
      // matters, and the free lists keep it per pageblock.
      free = zone.blockFree[(blockStart - zone.startPfn) >> PAGEBLOCK_ORDER];
      alike = 0;
    } else {
      const counted = this.countPageblock(zone, blockStart);
      free = counted.free;
      alike = startMt === MigrateType.Movable ? counted.movable : PAGEBLOCK_NR_PAGES - counted.free - counted.movable;
    }
    if (free + alike < PAGEBLOCK_NR_PAGES / 2) return false;
    this.setPageblockMt(zone, blockStart, startMt);
    this.moveFreePagesBlock(zone, blockStart, startMt);
    return true;
  }

  /** Free and movable pages of a pageblock (what move_freepages_block counts). */
  countPageblock(zone: Zone, blockStart: number): { free: number; movable: number } {
    const f = this.frames;
    let free = 0;
    let movable = 0;
    const end = Math.min(blockStart + PAGEBLOCK_NR_PAGES, zone.endPfn);
    for (let p = blockStart; p < end; ) {
      if (f.has(p, PG.buddy)) {
        const n = 1 << f.order[p];
        free += n;
        p += n;
        continue;
      }
      const kind = f.kind(p);
      if (kind !== PageKind.Free && migrateTypeOfKind(kind) === MigrateType.Movable) movable++;
      p++;
    }
    return { free, movable };
  }

  /** Moves every free block of a pageblock to the lists of `mt`. */
  moveFreePagesBlock(zone: Zone, blockStart: number, mt: number): number {
    const f = this.frames;
    let moved = 0;
    const end = Math.min(blockStart + PAGEBLOCK_NR_PAGES, zone.endPfn);
    for (let p = blockStart; p < end; ) {
      if (!f.has(p, PG.buddy)) {
        p++;
        continue;
      }
      const order = f.order[p];
      const from = this.listMtOf(zone, p, order);
      if (from !== mt) {
        // move_to_free_list keeps the Reported mark.
        const reported = f.has(p, PG.reported);
        this.delFromFreeList(zone, p, order, from);
        this.addToFreeList(zone, p, order, mt);
        if (reported) this.setReported(zone, p);
      }
      moved += 1 << order;
      p += 1 << order;
    }
    return moved;
  }

  /** Sets the migratetype of the pageblock holding `pfn`. */
  setPageblockMt(zone: Zone, pfn: number, mt: number): void {
    zone.pageblockMt[(pfn - zone.startPfn) >> PAGEBLOCK_ORDER] = mt;
  }

  private boostWatermark(zone: Zone): void {
    const factor = this.watermarkBoostFactor;
    if (factor === 0) return;
    const maxBoost = Math.max(PAGEBLOCK_NR_PAGES, Math.floor((zone.watermark[WMARK_HIGH] * factor) / 10000));
    zone.watermarkBoost = Math.min(zone.watermarkBoost + PAGEBLOCK_NR_PAGES, maxBoost);
    this.onBoost(zone.node);
  }

  /** vm.watermark_boost_factor (default 15000). */
  watermarkBoostFactor = 15000;

  // ---- freeing ----------------------------------------------------------------------------------

  /**
   * Frees a block of 2^order frames starting at `pfn`, merging with free buddies (__free_one_page);
   * `fpi` takes FPI_TO_TAIL and FPI_SKIP_REPORT_NOTIFY.
   */
  freePages(pfn: number, order: number, fpi = 0): void {
    const zone = this.zoneOf(pfn);
    const f = this.frames;
    for (let i = 0; i < 1 << order; i++) {
      f.flags[pfn + i] = 0;
      f.order[pfn + i] = 0;
      f.setMapcount(pfn + i, 0);
      f.link0[pfn + i] = -1;
      f.link1[pfn + i] = -1;
    }
    while (order < MAX_ORDER) {
      const buddy = zone.startPfn + ((pfn - zone.startPfn) ^ (1 << order));
      if (buddy + (1 << order) > zone.endPfn) break;
      if (!f.has(buddy, PG.buddy) || f.order[buddy] !== order) break;
      const buddyMt = this.listMtOf(zone, buddy, order);
      if (buddyMt === MigrateType.Isolate || zone.blockMt(pfn) === MigrateType.Isolate) break;
      this.delFromFreeList(zone, buddy, order, buddyMt);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.addToFreeList(zone, pfn, order, zone.blockMt(pfn), (fpi & FPI_TO_TAIL) !== 0);
    if (order >= this.reportingOrder && !(fpi & FPI_SKIP_REPORT_NOTIFY)) this.onReportableFree();
  }

  /** Marks a free block (its first frame) as reported to the hypervisor (__SetPageReported). */
  setReported(zone: Zone, pfn: number): void {
    const f = this.frames;
    if (!f.has(pfn, PG.buddy) || f.has(pfn, PG.reported)) return;
    f.set(pfn, PG.reported);
    zone.nrReported += 1 << f.order[pfn];
  }

  /**
   * Removes one free block from the lists for compaction's free scanner or page reporting
   * (__isolate_free_page) and returns its order; the frames become unowned until the caller uses them.
   */
  isolateFreeBlock(pfn: number): number {
    const zone = this.zoneOf(pfn);
    const order = this.frames.order[pfn];
    this.delFromFreeList(zone, pfn, order, this.listMtOf(zone, pfn, order));
    return order;
  }

  // ---- watermarks -------------------------------------------------------------------------------

  /**
   * zone_watermark_ok: enough free pages above `mark` after this allocation, and for order > 0 a free
   * block of at least that order on an allocatable list.
   */
  watermarkOk(zone: Zone, order: number, mark: number): boolean {
    const free = zone.nrFree - ((1 << order) - 1);
    if (free <= mark) return false;
    if (order === 0) return true;
    for (let o = order; o <= MAX_ORDER; o++) {
      for (let mt = 0; mt <= MigrateType.HighAtomic; mt++) if (zone.blocks(o, mt) > 0) return true;
    }
    return false;
  }

  /** Whether a free block of `order` or larger exists in the zone (any allocatable list). */
  hasFreeBlock(zone: Zone, order: number): boolean {
    return this.watermarkOk(zone, order, -Infinity);
  }

  /**
   * Sets min/low/high of every zone from vm.min_free_kbytes and vm.watermark_scale_factor
   * (__setup_per_zone_wmarks): min is shared out by managed pages; low = min + step, high = low + step,
   * step = max(min/4, managed × scale/10000).
   */
  setupWatermarks(minFreeKbytes: number, scaleFactor: number): void {
    const total = this.zones.reduce((s, z) => s + z.managed, 0);
    const minPages = minFreeKbytes / 4;
    for (const zone of this.zones) {
      const min = Math.floor((minPages * zone.managed) / total);
      const step = Math.max(Math.floor(min / 4), Math.floor((zone.managed * scaleFactor) / 10000));
      zone.watermark[WMARK_MIN] = min;
      zone.watermark[WMARK_LOW] = min + step;
      zone.watermark[WMARK_HIGH] = min + 2 * step;
    }
  }

  /** Free pages in blocks of at least pageblock order (6.18's nr_free_pages_blocks). */
  freePagesInBlocks(zone: Zone): number {
    let n = 0;
    for (let o = PAGEBLOCK_ORDER; o <= MAX_ORDER; o++) {
      for (let mt = 0; mt < NR_MIGRATETYPES; mt++) n += zone.blocks(o, mt) << o;
    }
    return n;
  }
}
