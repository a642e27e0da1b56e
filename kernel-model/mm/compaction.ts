/**
 * Memory compaction (Linux mm/compaction.c, as of 6.18): move movable pages out of the way so that free
 * pages coalesce into high-order blocks — what a THP allocation needs once memory is fragmented.
 *
 * ## Two scanners
 *
 *   zone start                                                                        zone end
 *   |[migrate →]·············································[← free]|
 *    │ isolates in-use movable pages,                       │ isolates free pages of MOVABLE
 *    │ pageblock by pageblock, upward                       │ pageblocks, downward
 *    └──────────── pages are migrated into the free pages ─────────►
 *
 * The migration scanner isolates up to COMPACT_CLUSTER_MAX (32) movable pages at a time; each is migrated
 * (Migration.migratePage) into a target taken from the free scanner's private lists. The freed source
 * frames go back to the buddy allocator and merge behind the migration scanner. A pass over a zone ends
 * when the scanners reach the same pageblock (COMPACT_COMPLETE / PARTIAL_SKIPPED), or — checked only at
 * pageblock boundaries — when a free block of the wanted order exists (COMPACT_SUCCESS; order −1, manual
 * compaction, never stops early; proactive compaction stops once the zone's fragmentation score is under
 * the low mark). Free pages isolated but not used are returned to the buddy allocator at the end.
 *
 * Rules that keep a pass cheap and sound, each as in Linux:
 *  - Sources: only LRU pages that Migration calls movable (not pinned, not unmovable kinds). Async direct
 *    compaction only takes MIGRATE_MOVABLE source pageblocks, and gives up on a cc.order-aligned chunk at
 *    the first page it cannot isolate (the chunk cannot become free anyway). Compound pages of order
 *    ≥ pageblock order — every THP — are stepped over whole and never migrated (skip_isolation_on_order:
 *    moving a 2 MiB page cannot create a 2 MiB hole); a pageblock headed by one is never a source.
 *  - Targets: free pages of MOVABLE pageblocks (any type at direct sync-full priority) that are not already
 *    free as a whole pageblock, so high-order free blocks stay available. A free block is isolated whole
 *    (__isolate_free_page, which refuses to dig below min watermark + its size) and kept per order;
 *    compaction_alloc splits the smallest adequate block on demand. Before the linear scan, a fast search
 *    (fast_isolate_freepages) looks for a free page in the top quarter of the scan space on the MOVABLE
 *    free lists of orders below the request.
 *  - Skip bits: one per pageblock. A block is marked when a scanner finishes it with nothing isolated, when
 *    the migration scanner first isolates from it, or when the free scanner has scanned it fully. Marked
 *    blocks are passed over until the bits are flushed (__reset_isolation_suitable), which happens only
 *    after a direct compaction's scanners met (compact_blockskip_flush): when kswapd goes to sleep (the
 *    model's kswapd calls `wakeKcompactd` at that moment) or when compaction restarts after the longest
 *    deferral. Whole-zone passes (manual, proactive, direct sync-full) ignore the bits.
 *  - Cached positions: non-whole-zone passes resume where the previous one stopped (one migration
 *    position for async and one for sync, one free position), reset when the scanners meet.
 *
 * ## Entry points
 *
 *   direct      tryDirect(nodes, order, prio, task)  async → sync-light (costly orders stop there);
 *               per-zone deferral; charged to the task as a stall and to PSI
 *   kcompactd   wakeKcompactd(node, order) from kswapd: sync-light for that order, charged to the thread
 *               every 500 ms: proactive whole-node pass while the fragmentation score > high mark
 *   manual      compactMemory() / compactNode(node): every zone, whole, MIGRATE_SYNC
 *
 * Deferral (compaction_deferred / defer_compaction / compaction_defer_reset): after a failed synchronous
 * pass a zone skips the next 2^defer_shift − 1 attempts at orders ≥ compact_order_failed; defer_shift
 * grows to 6 (64 attempts); a success resets it.
 *
 * Cost: Cost.compactScanPage per frame the migration scanner looks at, Cost.compactFreeScanPage per frame
 * the free scanner looks at, plus what Migration reports for each move. Direct compaction charges it to
 * the allocating task (a directCompaction stall) and to PSI, kcompactd to its own thread, and manual
 * compaction returns it to the caller.
 *
 * ## Deviations from Linux (deliberate, for a single-threaded model)
 * No per-CPU page lists: a migrated page's old frame merges into the buddy allocator at once, so the
 * migration scanner can land inside a free block and steps over it (Linux's would still see the unmerged
 * buddy pages). No locks or contention (COMPACT_CONTENDED only when no target page can be found), no
 * capture of the freed page for the compacting task, no too_many_isolated throttling, no migration
 * retries, no fast_find_migrateblock; the fast free-page search walks a free list from its head and does
 * not rotate it (the model's lists have no tail pointer); kswapd's running state is not consulted; the
 * machine-wide direct-compaction events are counted on the first node of the request.
 *
 * ## Invariants
 * Between isolation and the end of a zone pass, isolated free blocks belong to this object (their frames
 * carry no PG_buddy) and are always returned; isolated source pages stay in use and are migrated or
 * dropped before the next isolation. The scanners allocate nothing per page: PFNs live in typed arrays.
 */
import { KernelThread, Priority, type Engine } from '../engine/engine.js';
import {
  HPAGE_PMD_ORDER,
  MAX_ORDER,
  MIGRATE_PCPTYPES,
  MigrateType,
  NR_MIGRATETYPES,
  NR_ORDERS,
  PAGE_ALLOC_COSTLY_ORDER,
  PAGEBLOCK_NR_PAGES,
  PAGEBLOCK_ORDER,
  type MigrateType as MigrateTypeT,
} from './constants.js';
import { Cost } from './costs.js';
import type { Task } from './mm-types.js';
import { WMARK_LOW, WMARK_MIN, fallbacks, type BuddyAllocator, type Zone } from './page-alloc.js';
import { PG, type PageFrames } from './page-flags.js';
import type { Tunables } from './tunables.js';
import { Vm, type VmStat } from './vmstat.js';

// ---- the narrow interface compaction needs ------------------------------------------------------

/** The outcome of one migration attempt, as compaction reads it (Migration's MigrateResult fits). */
export interface CompactionMigrateResult {
  readonly ok: boolean;
  readonly costMs: number;
  /** Why it failed; 'nomem' means no target page could be allocated. */
  readonly reason?: string;
}

/** Page migration as compaction uses it (mm/migrate.ts's Migration satisfies this). */
export interface CompactionMigrator {
  /** Moves the page or folio at `pfn` into a frame from `allocTarget(order)` (−1: none). */
  migratePage(pfn: number, allocTarget: (order: number) => number): CompactionMigrateResult;
  /** Whether the page could be migrated at all (not pinned, not an unmovable kind, not isolated). */
  isMovable(pfn: number): boolean;
}

/** Memory pressure accounting as compaction charges it (mm/psi.ts's Psi satisfies this). */
export interface CompactionPsi {
  /** `task` (undefined: a kernel thread) stalled on memory for `ms`; `full`: it could do nothing else. */
  memstall(task: Task | undefined, ms: number, full: boolean): void;
}

/** What compaction needs from the kernel; the Kernel satisfies it, and tests can build a small one. */
export interface CompactionHost {
  readonly frames: PageFrames;
  readonly zones: readonly Zone[];
  readonly buddy: BuddyAllocator;
  readonly vmstat: VmStat;
  readonly tunables: Pick<Tunables, 'compactionProactiveness' | 'extfragThreshold'>;
  readonly migration: CompactionMigrator;
  readonly engine: Engine;
  readonly psi?: CompactionPsi | undefined;
  /** Free page reporting, told which free blocks the free scanner takes (their Reported mark is lost). */
  readonly pageReporting?: { compactionIsolating(pfn: number): void } | undefined;
}

/**
 * How hard direct compaction tries (enum compact_priority). `sync-full` (whole zone, skip hints and
 * pageblock types ignored) is only for non-costly orders: costly orders stop at `sync-light`.
 */
export type CompactPriority = 'async' | 'sync-light' | 'sync-full';

/**
 * What direct compaction tells the allocator: `skipped` (not worth trying: too little free memory, or the
 * fragmentation index says reclaim is the answer), `deferred` (recent failures; nothing was done and the
 * allocation still cannot succeed), `success` (the allocation can now succeed), `fail`.
 */
export type DirectCompactResult = 'skipped' | 'deferred' | 'success' | 'fail';

/** A zone's deferral state, for procfs and tests. */
export interface CompactDeferState {
  readonly considered: number;
  readonly deferShift: number;
  readonly orderFailed: number;
}

// ---- constants -----------------------------------------------------------------------------------

/** Pages isolated per migration batch (COMPACT_CLUSTER_MAX = SWAP_CLUSTER_MAX). */
const COMPACT_CLUSTER_MAX = 32;
/** At most 2^6 = 64 attempts are skipped after repeated failures. */
export const COMPACT_MAX_DEFER_SHIFT = 6;
/** Period of kcompactd's proactive check (HPAGE_FRAG_CHECK_INTERVAL_MSEC). */
export const HPAGE_FRAG_CHECK_INTERVAL_MS = 500;
/** The order the fragmentation score is computed for (COMPACTION_HPAGE_ORDER). */
const COMPACTION_HPAGE_ORDER = HPAGE_PMD_ORDER;
/** The order of /proc/sys/vm/compact_memory and proactive compaction: the whole zone. */
const ORDER_WHOLE_ZONE = -1;
/** __reset_isolation_pfn samples one page in 2^PAGE_ALLOC_COSTLY_ORDER. */
const RESET_SAMPLE_STRIDE = 1 << PAGE_ALLOC_COSTLY_ORDER;
const PAGEBLOCK_MASK = PAGEBLOCK_NR_PAGES - 1;
const NONE = -1;


/** enum compact_result, in Linux's order: try_to_compact_pages keeps the maximum over zones. */
const CompactResult = {
  NotSuitableZone: 0,
  Skipped: 1,
  Deferred: 2,
  NoSuitablePage: 3,
  Continue: 4,
  Complete: 5,
  PartialSkipped: 6,
  Contended: 7,
  Success: 8,
} as const;
type CompactResult = (typeof CompactResult)[keyof typeof CompactResult];

/** enum migrate_mode. */
const MigrateMode = { Async: 0, SyncLight: 1, Sync: 2 } as const;
type MigrateMode = (typeof MigrateMode)[keyof typeof MigrateMode];

/** isolate_migrate_t. */
const IsolateResult = { None: 0, Success: 1 } as const;
type IsolateResult = (typeof IsolateResult)[keyof typeof IsolateResult];

/** What a migration batch ended with (migrate_pages' return). */
const MigrateOutcome = { Ok: 0, Failed: 1, NoMem: 2 } as const;
type MigrateOutcome = (typeof MigrateOutcome)[keyof typeof MigrateOutcome];

// ---- small pure helpers --------------------------------------------------------------------------

function pageblockStart(pfn: number): number {
  return pfn - (pfn & PAGEBLOCK_MASK);
}

/** pageblock_end_pfn: ALIGN(pfn + 1, pageblock_nr_pages). */
function pageblockEnd(pfn: number): number {
  return pageblockStart(pfn) + PAGEBLOCK_NR_PAGES;
}

function pageblockAligned(pfn: number): boolean {
  return (pfn & PAGEBLOCK_MASK) === 0;
}

/** block_start_pfn(pfn, order). */
function orderBlockStart(pfn: number, order: number): number {
  return pfn - (pfn & ((1 << order) - 1));
}

/** block_end_pfn(pfn, order): ALIGN(pfn + 1, 2^order). */
function orderBlockEnd(pfn: number, order: number): number {
  return orderBlockStart(pfn, order) + (1 << order);
}

/** compact_gap: twice the request, room for the migration targets of one allocation's worth of pages. */
function compactGap(order: number): number {
  return 2 << order;
}

/**
 * skip_isolation_on_order: a folio at least as large as the target order (outside manual compaction) or
 * as a pageblock is not worth migrating.
 */
function skipIsolationOnOrder(order: number, targetOrder: number): boolean {
  if (targetOrder !== ORDER_WHOLE_ZONE && order >= targetOrder) return true;
  return order >= PAGEBLOCK_ORDER;
}

/** Orders from which any fallback tries to claim the whole pageblock: pageblock_order / 2 in C, i.e. 4. */
const CLAIM_ORDER = PAGEBLOCK_ORDER >> 1;

/** should_try_claim_block: whether a fallback of this order and type would take the whole pageblock. */
function shouldTryClaimBlock(order: number, mt: number): boolean {
  if (order >= CLAIM_ORDER) return true;
  return mt === MigrateType.Reclaimable || mt === MigrateType.Unmovable;
}

/** Free blocks of `order` on every list of the zone (free_area[order].nr_free). */
function freeBlocksAt(zone: Zone, order: number): number {
  let n = 0;
  for (let mt = 0; mt < NR_MIGRATETYPES; mt++) n += zone.blocks(order, mt);
  return n;
}

/** struct contig_page_info. */
interface ContigPageInfo {
  readonly freePages: number;
  readonly freeBlocksTotal: number;
  /** Free blocks of `suitableOrder` the free memory could be cut into without merging. */
  readonly freeBlocksSuitable: number;
}

/** fill_contig_page_info. */
function contigPageInfo(zone: Zone, suitableOrder: number): ContigPageInfo {
  let freePages = 0;
  let freeBlocksTotal = 0;
  let freeBlocksSuitable = 0;
  for (let order = 0; order < NR_ORDERS; order++) {
    const blocks = freeBlocksAt(zone, order);
    freeBlocksTotal += blocks;
    freePages += blocks * 2 ** order;
    if (order >= suitableOrder) freeBlocksSuitable += blocks * 2 ** (order - suitableOrder);
  }
  return { freePages, freeBlocksTotal, freeBlocksSuitable };
}

/** extfrag_for_order: percentage of free memory not in blocks of `order` or larger. */
function extfragForOrder(zone: Zone, order: number): number {
  const info = contigPageInfo(zone, order);
  if (info.freePages === 0) return 0;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 100) / info.freePages);
}

/**
 * fragmentation_score_wmark: the node score proactive compaction starts above (high) and stops at (low),
 * from vm.compaction_proactiveness.
 */
export function fragmentationScoreWmark(proactiveness: number, low: boolean): number {
  const wmarkLow = Math.max(100 - proactiveness, 5);
  return low ? wmarkLow : Math.min(wmarkLow + 10, 100);
}

// ---- per-zone state -------------------------------------------------------------------------------

/** Compaction's per-zone state (the compact_* fields of struct zone and the pageblock skip bits). */
class ZoneCompactState {
  considered = 0;
  deferShift = 0;
  orderFailed = 0;
  /** Where the migration scanner resumes: [async, sync]. */
  readonly cachedMigratePfn: [number, number];
  cachedFreePfn: number;
  initMigratePfn: number;
  initFreePfn: number;
  /** The scanners of a direct compaction met: the skip bits should be flushed. */
  blockskipFlush = false;
  /** PG_migrate_skip of each pageblock. */
  readonly skip: Uint8Array;

  constructor(readonly zone: Zone) {
    if ((zone.startPfn & PAGEBLOCK_MASK) !== 0 || (zone.endPfn & PAGEBLOCK_MASK) !== 0) {
      throw new RangeError(`zone of node ${zone.node} does not span whole pageblocks`);
    }
    this.skip = new Uint8Array((zone.endPfn - zone.startPfn) >> PAGEBLOCK_ORDER);
    this.cachedMigratePfn = [zone.startPfn, zone.startPfn];
    this.cachedFreePfn = this.lastBlockStart();
    this.initMigratePfn = zone.startPfn;
    this.initFreePfn = this.cachedFreePfn;
  }

  lastBlockStart(): number {
    return pageblockStart(this.zone.endPfn - 1);
  }

  blockIndex(pfn: number): number {
    return (pfn - this.zone.startPfn) >> PAGEBLOCK_ORDER;
  }
}

/** Options of one zone pass (the settings of struct compact_control). */
interface CompactOptions {
  readonly order: number;
  readonly mode: MigrateMode;
  /** The allocation's migratetype (gfp_migratetype): decides which free lists count as success. */
  readonly migratetype: MigrateTypeT;
  readonly direct?: boolean;
  readonly wholeZone?: boolean;
  readonly ignoreSkipHint?: boolean;
  readonly ignoreBlockSuitable?: boolean;
  readonly proactive?: boolean;
}

/** One compaction pass over one zone (struct compact_control). */
class CompactControl {
  readonly order: number;
  readonly mode: MigrateMode;
  readonly migratetype: MigrateTypeT;
  readonly direct: boolean;
  readonly ignoreSkipHint: boolean;
  readonly ignoreBlockSuitable: boolean;
  readonly proactive: boolean;
  wholeZone: boolean;
  /** Next PFN the migration scanner looks at. */
  migratePfn = 0;
  /** Where the free scanner resumes; it walks down pageblock by pageblock. */
  freePfn = 0;
  /** Pages on the private free lists. */
  nrFreepages = 0;
  /** Pages isolated for migration that have no target yet. */
  nrMigratepages = 0;
  totalMigrateScanned = 0;
  totalFreeScanned = 0;
  /** Time spent migrating, ms (scanning time is derived from the scanned counts). */
  migrateCostMs = 0;
  /** Order the fast free-page search starts at. */
  searchOrder: number;
  fastSearchFail = 0;
  /** Scan the current pageblock to its end, isolating without the batch limit. */
  finishPageblock = false;

  constructor(
    readonly zone: Zone,
    readonly state: ZoneCompactState,
    opts: CompactOptions,
  ) {
    this.order = opts.order;
    this.searchOrder = opts.order;
    this.mode = opts.mode;
    this.migratetype = opts.migratetype;
    this.direct = opts.direct ?? false;
    this.wholeZone = opts.wholeZone ?? false;
    this.ignoreSkipHint = opts.ignoreSkipHint ?? false;
    this.ignoreBlockSuitable = opts.ignoreBlockSuitable ?? false;
    this.proactive = opts.proactive ?? false;
  }

  /** Everything this pass cost, ms: scanning plus migration. */
  get costMs(): number {
    return (
      this.migrateCostMs +
      this.totalMigrateScanned * Cost.compactScanPage +
      this.totalFreeScanned * Cost.compactFreeScanPage
    );
  }
}

/** The free scanner's private free lists (cc->freepages[order]): a stack of block PFNs per order. */
class IsolatedFreeBlocks {
  private readonly stacks: Int32Array[] = Array.from({ length: NR_ORDERS }, () => new Int32Array(64));
  private readonly sizes = new Int32Array(NR_ORDERS);

  push(order: number, pfn: number): void {
    let stack = this.stacks[order];
    const size = this.sizes[order];
    if (size === stack.length) {
      const grown = new Int32Array(stack.length * 2);
      grown.set(stack);
      this.stacks[order] = stack = grown;
    }
    stack[size] = pfn;
    this.sizes[order] = size + 1;
  }

  /** The smallest order ≥ `order` with a block, or −1. */
  firstOrderFrom(order: number): number {
    for (let o = order; o < NR_ORDERS; o++) if (this.sizes[o] > 0) return o;
    return NONE;
  }

  pop(order: number): number {
    const size = this.sizes[order] - 1;
    this.sizes[order] = size;
    return this.stacks[order][size];
  }

  size(order: number): number {
    return this.sizes[order];
  }
}

/** Per-node kcompactd state (pgdat->kcompactd_*). */
interface Kcompactd {
  readonly thread: KernelThread;
  /** Highest order kswapd asked for since the last run (0: no work requested). */
  maxOrder: number;
  /** compaction_proactiveness was written: run a proactive check now. */
  proactiveTrigger: boolean;
}

// ---- the mechanism --------------------------------------------------------------------------------

/** Memory compaction: direct, by kcompactd (on demand and proactive), and manual. */
export class Compaction {
  private readonly states: readonly ZoneCompactState[];
  private readonly statesOfNode: readonly (readonly ZoneCompactState[])[];
  private readonly kcompactd: readonly Kcompactd[];
  private readonly freeBlocks = new IsolatedFreeBlocks();
  /** Head PFNs isolated for migration (cc->migratepages); at most one pageblock's worth. */
  private readonly migrateList = new Int32Array(PAGEBLOCK_NR_PAGES);
  private nrMigrateList = 0;
  /** The pass in progress: compaction_alloc's context. */
  private current: CompactControl | undefined;
  /** compaction_alloc, bound once so migrating a page allocates no closure. */
  private readonly allocTarget = (order: number): number => this.compactionAlloc(this.current!, order);

  /**
   * `host.migration` and `host.psi` are read only when compaction runs, so a kernel may construct them
   * after this object.
   */
  constructor(private readonly host: CompactionHost) {
    this.states = host.zones.map((z) => new ZoneCompactState(z));
    const nodeCount = host.zones.reduce((n, z) => Math.max(n, z.node + 1), 0);
    this.statesOfNode = Array.from({ length: nodeCount }, (_, node) => this.states.filter((s) => s.zone.node === node));
    this.kcompactd = Array.from({ length: nodeCount }, (_, node) => {
      const thread = new KernelThread(`kcompactd${node}`, host.engine, Priority.reclaim, () => this.kcompactdRun(node));
      return { thread, maxOrder: 0, proactiveTrigger: false };
    });
    if (host.tunables.compactionProactiveness !== 0) {
      for (const kd of this.kcompactd) kd.thread.wake(HPAGE_FRAG_CHECK_INTERVAL_MS);
    }
  }

  // ---- indices and scores (procfs, debugfs) ---------------------------------------------------------

  /**
   * __fragmentation_index ×1000: −1000 when a free block of `order` exists, 0 when nothing is free;
   * towards 0 the allocation fails for lack of memory, towards 1000 for fragmentation.
   */
  fragmentationIndex(zone: Zone, order: number): number {
    if (order < 0 || order > MAX_ORDER) return 0;
    const info = contigPageInfo(zone, order);
    if (info.freeBlocksTotal === 0) return 0;
    if (info.freeBlocksSuitable > 0) return -1000;
    const requested = 2 ** order;
    return 1000 - Math.floor((1000 + Math.floor((info.freePages * 1000) / requested)) / info.freeBlocksTotal);
  }

  /** unusable_free_index ×1000: the share of free memory in blocks smaller than `order` (1000: none free). */
  unusableIndex(zone: Zone, order: number): number {
    const info = contigPageInfo(zone, order);
    if (info.freePages === 0) return 1000;
    return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 1000) / info.freePages);
  }

  /**
   * fragmentation_score_node (0–100): each zone's external fragmentation for THP-sized blocks, weighted
   * by its share of the node's pages. Proactive compaction keeps it under the mark derived from
   * vm.compaction_proactiveness.
   */
  extfragScore(node: number): number {
    const states = this.statesOfNode[node] ?? [];
    let nodePresent = 0;
    for (const st of states) nodePresent += st.zone.managed;
    let score = 0;
    for (const st of states) {
      score += Math.floor((st.zone.managed * extfragForOrder(st.zone, COMPACTION_HPAGE_ORDER)) / (nodePresent + 1));
    }
    return score;
  }

  /**
   * compaction_suitable: whether compacting `zone` for `order` can help. Order-0 free pages must exceed
   * `watermark` (the allocation's; min by default) plus compact_gap(order) — plus low − min for costly
   * orders, so a THP needs low + 1024 — and for costly orders the fragmentation index must not lie in
   * [0, vm.extfrag_threshold] (then the shortage is memory and reclaim is the answer).
   */
  compactionSuitable(zone: Zone, order: number, watermark: number = zone.wmark(WMARK_MIN)): boolean {
    if (!this.enoughFreeToCompact(zone, order, watermark)) return false;
    if (order > PAGE_ALLOC_COSTLY_ORDER) {
      const fragindex = this.fragmentationIndex(zone, order);
      if (fragindex >= 0 && fragindex <= this.host.tunables.extfragThreshold) return false;
    }
    return true;
  }

  /** A zone's deferral counters. */
  deferState(zone: Zone): CompactDeferState {
    const st = this.stateOf(zone);
    return { considered: st.considered, deferShift: st.deferShift, orderFailed: st.orderFailed };
  }

  /** Whether the pageblock holding `pfn` carries the compaction skip hint. */
  isPageblockSkipped(pfn: number): boolean {
    const st = this.stateOf(this.host.buddy.zoneOf(pfn));
    return st.skip[st.blockIndex(pfn)] === 1;
  }

  /** Bytes of compaction state that scale with physical memory: one skip byte per pageblock. */
  stateBytes(): number {
    let bytes = 0;
    for (const st of this.states) bytes += st.skip.byteLength;
    return bytes;
  }

  /** CPU time used by a node's kcompactd, ms (/proc/PID/stat of the kernel thread). */
  kcompactdCpuMs(node: number): number {
    return this.kcompactd[node]?.thread.cpuMs ?? 0;
  }

  // ---- direct compaction ----------------------------------------------------------------------------

  /**
   * __alloc_pages_direct_compact + try_to_compact_pages: compacts the zones of `nodes` in order until one
   * can serve an allocation of `order` at the min watermark. Deferred zones are passed over (except at
   * sync-full); a failed synchronous pass defers the zone further. Counts compact_stall (unless skipped),
   * compact_success or compact_fail, and charges the time to `task` as a directCompaction stall and PSI.
   */
  tryDirect(
    nodes: readonly number[],
    order: number,
    priority: CompactPriority,
    task?: Task,
    migratetype: MigrateTypeT = MigrateType.Movable,
  ): DirectCompactResult {
    if (order <= 0) return 'skipped';
    const prio = order > PAGE_ALLOC_COSTLY_ORDER && priority === 'sync-full' ? 'sync-light' : priority;
    const { result, costMs } = this.tryToCompactPages(nodes, order, prio, migratetype);
    if (costMs > 0) {
      task?.stall('directCompaction', costMs);
      this.host.psi?.memstall(task, costMs, true);
    }
    if (result === CompactResult.Skipped) return 'skipped';
    const eventNode = nodes[0] ?? 0;
    this.host.vmstat.countVmEvent(eventNode, Vm.compact_stall);
    const ready = this.firstZoneReadyFor(nodes, order);
    if (ready !== undefined) {
      this.deferReset(ready, order, true);
      this.host.vmstat.countVmEvent(eventNode, Vm.compact_success);
      return 'success';
    }
    this.host.vmstat.countVmEvent(eventNode, Vm.compact_fail);
    return result === CompactResult.Deferred ? 'deferred' : 'fail';
  }

  /** try_to_compact_pages: the maximum result over the zones tried, and the time spent. */
  private tryToCompactPages(
    nodes: readonly number[],
    order: number,
    prio: CompactPriority,
    migratetype: MigrateTypeT,
  ): { result: CompactResult; costMs: number } {
    let result: CompactResult = CompactResult.Skipped;
    let costMs = 0;
    for (const node of nodes) {
      for (const st of this.statesOfNode[node] ?? []) {
        if (prio !== 'sync-full' && this.compactionDeferred(st, order)) {
          result = Math.max(result, CompactResult.Deferred) as CompactResult;
          continue;
        }
        const cc = new CompactControl(st.zone, st, directOptions(order, prio, migratetype));
        const status = this.compactZone(cc);
        costMs += cc.costMs;
        result = Math.max(result, status) as CompactResult;
        if (status === CompactResult.Success) {
          this.deferReset(st, order, false);
          return { result, costMs };
        }
        if (prio !== 'async' && (status === CompactResult.Complete || status === CompactResult.PartialSkipped)) {
          this.deferCompaction(st, order);
        }
      }
    }
    return { result, costMs };
  }

  /** The first zone (in request order) where the allocation would now succeed at the min watermark. */
  private firstZoneReadyFor(nodes: readonly number[], order: number): ZoneCompactState | undefined {
    for (const node of nodes) {
      for (const st of this.statesOfNode[node] ?? []) {
        if (this.host.buddy.watermarkOk(st.zone, order, st.zone.wmark(WMARK_MIN))) return st;
      }
    }
    return undefined;
  }

  // ---- manual and proactive compaction --------------------------------------------------------------

  /**
   * /proc/sys/vm/compact_memory: compacts every zone of every node completely (MIGRATE_SYNC, skip hints
   * ignored). Returns the time spent, ms, for the caller to charge to the writing task.
   */
  compactMemory(): number {
    let costMs = 0;
    for (let node = 0; node < this.statesOfNode.length; node++) costMs += this.compactNode(node);
    return costMs;
  }

  /** /sys/devices/system/node/nodeN/compact: compacts one node completely; returns the time spent, ms. */
  compactNode(node: number): number {
    return this.compactNodeZones(node, false);
  }

  /**
   * The vm.compaction_proactiveness sysctl handler: after a write of a non-zero value every kcompactd
   * runs its proactive check at once (and resumes its periodic checks if they were off).
   */
  proactivenessChanged(): void {
    if (this.host.tunables.compactionProactiveness === 0) return;
    for (const kd of this.kcompactd) {
      if (kd.proactiveTrigger) continue;
      kd.proactiveTrigger = true;
      kd.thread.wake(0);
    }
  }

  /** compact_node: a whole-zone pass over each zone of the node; proactive passes stop at the low mark. */
  private compactNodeZones(node: number, proactive: boolean): number {
    let costMs = 0;
    for (const st of this.statesOfNode[node] ?? []) {
      const cc = new CompactControl(st.zone, st, {
        order: ORDER_WHOLE_ZONE,
        mode: proactive ? MigrateMode.SyncLight : MigrateMode.Sync,
        migratetype: MigrateType.Unmovable, // GFP_KERNEL
        ignoreSkipHint: true,
        wholeZone: true,
        proactive,
      });
      this.compactZone(cc);
      costMs += cc.costMs;
      if (proactive) this.countDaemonScanned(cc);
    }
    return costMs;
  }

  // ---- kcompactd ------------------------------------------------------------------------------------

  /**
   * kswapd's hook when it goes to sleep after balancing the node for a high-order waker
   * (kswapd_try_to_sleep): flushes the pageblock skip hints if a direct compaction asked for it
   * (reset_isolation_suitable), then wakes kcompactd for `order` (wakeup_kcompactd) if compacting the node
   * can help.
   */
  wakeKcompactd(node: number, order: number): void {
    this.resetIsolationSuitable(node);
    const kd = this.kcompactd[node];
    if (order <= 0 || kd === undefined) return;
    kd.maxOrder = Math.max(kd.maxOrder, order);
    if (!this.kcompactdNodeSuitable(node, kd.maxOrder)) return;
    kd.thread.wake(0);
  }

  /** reset_isolation_suitable: flushes the skip hints of the node's zones whose flush is pending. */
  resetIsolationSuitable(node: number): void {
    for (const st of this.statesOfNode[node] ?? []) this.resetIsolationSuitableZone(st);
  }

  /**
   * One iteration of kcompactd's loop: requested work if kswapd asked for an order, else (the 500 ms
   * timeout, or a proactiveness write) the proactive check. Returns the next timeout, or null to sleep
   * until woken when proactive compaction is off.
   */
  private kcompactdRun(node: number): number | null {
    const kd = this.kcompactd[node];
    let timeout = HPAGE_FRAG_CHECK_INTERVAL_MS;
    if (kd.maxOrder > 0 && !kd.proactiveTrigger) {
      const costMs = this.kcompactdDoWork(node, kd);
      kd.thread.charge(costMs);
      if (costMs > 0) this.host.psi?.memstall(undefined, costMs, false);
    } else {
      if (this.shouldProactiveCompactNode(node)) {
        const prevScore = this.extfragScore(node);
        kd.thread.charge(this.compactNodeZones(node, true));
        // No progress: back off as kcompactd does (timeout << COMPACT_MAX_DEFER_SHIFT).
        if (this.extfragScore(node) >= prevScore) timeout = HPAGE_FRAG_CHECK_INTERVAL_MS << COMPACT_MAX_DEFER_SHIFT;
      }
      kd.proactiveTrigger = false;
    }
    return this.host.tunables.compactionProactiveness === 0 ? null : timeout;
  }

  /** kcompactd_do_work: a sync-light pass for the requested order over each zone that can use one. */
  private kcompactdDoWork(node: number, kd: Kcompactd): number {
    const order = kd.maxOrder;
    this.host.vmstat.countVmEvent(node, Vm.compact_daemon_wake);
    let costMs = 0;
    for (const st of this.statesOfNode[node] ?? []) {
      if (this.compactionDeferred(st, order)) continue;
      if (this.suitAllocationOrder(st.zone, order, st.zone.wmark(WMARK_MIN)) !== CompactResult.Continue) continue;
      const cc = new CompactControl(st.zone, st, {
        order,
        mode: MigrateMode.SyncLight,
        migratetype: MigrateType.Unmovable, // GFP_KERNEL
      });
      const status = this.compactZone(cc);
      costMs += cc.costMs;
      if (status === CompactResult.Success) this.deferReset(st, order, false);
      else if (status === CompactResult.PartialSkipped || status === CompactResult.Complete) this.deferCompaction(st, order);
      this.countDaemonScanned(cc);
    }
    if (kd.maxOrder <= order) kd.maxOrder = 0;
    return costMs;
  }

  /** kcompactd_node_suitable. */
  private kcompactdNodeSuitable(node: number, order: number): boolean {
    for (const st of this.statesOfNode[node] ?? []) {
      if (this.suitAllocationOrder(st.zone, order, st.zone.wmark(WMARK_MIN)) === CompactResult.Continue) return true;
    }
    return false;
  }

  /** should_proactive_compact_node (kswapd's running state is not visible to the model). */
  private shouldProactiveCompactNode(node: number): boolean {
    const proactiveness = this.host.tunables.compactionProactiveness;
    if (proactiveness === 0) return false;
    return this.extfragScore(node) > fragmentationScoreWmark(proactiveness, false);
  }

  private countDaemonScanned(cc: CompactControl): void {
    const node = cc.zone.node;
    this.host.vmstat.countVmEvent(node, Vm.compact_daemon_migrate_scanned, cc.totalMigrateScanned);
    this.host.vmstat.countVmEvent(node, Vm.compact_daemon_free_scanned, cc.totalFreeScanned);
  }

  // ---- suitability and deferral ---------------------------------------------------------------------

  /** __compaction_suitable: enough order-0 free pages above the watermark to hold migration targets. */
  private enoughFreeToCompact(zone: Zone, order: number, watermark: number): boolean {
    let mark = watermark + compactGap(order);
    if (order > PAGE_ALLOC_COSTLY_ORDER) mark += zone.wmark(WMARK_LOW) - zone.wmark(WMARK_MIN);
    return this.host.buddy.watermarkOk(zone, 0, mark);
  }

  /** compaction_suit_allocation_order: Success if the allocation can already succeed, Skipped if hopeless. */
  private suitAllocationOrder(zone: Zone, order: number, watermark: number): CompactResult {
    if (this.host.buddy.watermarkOk(zone, order, watermark)) return CompactResult.Success;
    if (!this.compactionSuitable(zone, order, watermark)) return CompactResult.Skipped;
    return CompactResult.Continue;
  }

  /** compaction_deferred: counts the attempt and says whether to skip it. */
  private compactionDeferred(st: ZoneCompactState, order: number): boolean {
    if (order < st.orderFailed) return false;
    const limit = 1 << st.deferShift;
    if (++st.considered >= limit) {
      st.considered = limit;
      return false;
    }
    return true;
  }

  /** defer_compaction: after a failed synchronous pass. */
  private deferCompaction(st: ZoneCompactState, order: number): void {
    st.considered = 0;
    st.deferShift = Math.min(st.deferShift + 1, COMPACT_MAX_DEFER_SHIFT);
    if (order < st.orderFailed) st.orderFailed = order;
  }

  /** compaction_defer_reset: a pass succeeded (and, with `allocSuccess`, so did the allocation). */
  private deferReset(st: ZoneCompactState, order: number, allocSuccess: boolean): void {
    if (allocSuccess) {
      st.considered = 0;
      st.deferShift = 0;
    }
    if (order >= st.orderFailed) st.orderFailed = order + 1;
  }

  /** compaction_restarting: the longest deferral just ran out. */
  private compactionRestarting(st: ZoneCompactState, order: number): boolean {
    if (order < st.orderFailed) return false;
    return st.deferShift === COMPACT_MAX_DEFER_SHIFT && st.considered >= 1 << st.deferShift;
  }

  // ---- one zone pass --------------------------------------------------------------------------------

  /** compact_zone. */
  private compactZone(cc: CompactControl): CompactResult {
    const { zone, state: st } = cc;
    if (cc.order !== ORDER_WHOLE_ZONE) {
      const suit = this.suitAllocationOrder(zone, cc.order, zone.wmark(WMARK_MIN));
      if (suit !== CompactResult.Continue) return suit;
    }
    if (this.compactionRestarting(st, cc.order)) this.resetIsolationSuitableZone(st);
    this.initScanners(cc);
    this.current = cc;
    try {
      return this.compactZoneLoop(cc);
    } finally {
      this.releaseFreepages(cc);
      this.current = undefined;
      this.host.vmstat.countVmEvent(zone.node, Vm.compact_migrate_scanned, cc.totalMigrateScanned);
      this.host.vmstat.countVmEvent(zone.node, Vm.compact_free_scanned, cc.totalFreeScanned);
    }
  }

  /** Where the scanners start: the zone's ends for a whole-zone pass, else the cached positions. */
  private initScanners(cc: CompactControl): void {
    const { zone, state: st } = cc;
    if (cc.wholeZone) {
      cc.migratePfn = zone.startPfn;
      cc.freePfn = st.lastBlockStart();
      return;
    }
    const sync = cc.mode !== MigrateMode.Async ? 1 : 0;
    cc.migratePfn = st.cachedMigratePfn[sync];
    cc.freePfn = st.cachedFreePfn;
    if (cc.freePfn < zone.startPfn || cc.freePfn >= zone.endPfn) {
      cc.freePfn = st.lastBlockStart();
      st.cachedFreePfn = cc.freePfn;
    }
    if (cc.migratePfn < zone.startPfn || cc.migratePfn >= zone.endPfn) {
      cc.migratePfn = zone.startPfn;
      st.cachedMigratePfn[0] = st.cachedMigratePfn[1] = zone.startPfn;
    }
    if (cc.migratePfn <= st.initMigratePfn) cc.wholeZone = true;
  }

  /** The main loop of compact_zone: isolate a batch, migrate it, until compact_finished says stop. */
  private compactZoneLoop(cc: CompactControl): CompactResult {
    const { zone, state: st } = cc;
    let updateCached = cc.mode === MigrateMode.Async && st.cachedMigratePfn[0] === st.cachedMigratePfn[1];
    let lastMigratedPfn = NONE;
    let ret: CompactResult;
    while ((ret = this.compactFinished(cc)) === CompactResult.Continue) {
      // A second batch from the same pageblock takes the rest of it at once.
      cc.finishPageblock = lastMigratedPfn !== NONE && pageblockStart(lastMigratedPfn) === pageblockStart(cc.migratePfn);
      for (;;) {
        if (this.isolateMigratepages(cc) === IsolateResult.None) {
          if (updateCached) st.cachedMigratePfn[1] = st.cachedMigratePfn[0];
          break;
        }
        updateCached = false;
        lastMigratedPfn = Math.max(zone.startPfn, pageblockStart(cc.migratePfn - 1));
        const outcome = this.migratePages(cc);
        if (outcome === MigrateOutcome.NoMem && !scannersMet(cc)) return CompactResult.Contended;
        if (outcome === MigrateOutcome.Ok || !this.shouldRescanPageblock(cc)) break;
        // A page of this pageblock did not migrate: scan the rest of it so it gets marked skip.
        cc.finishPageblock = true;
        if (cc.order === COMPACTION_HPAGE_ORDER) lastMigratedPfn = NONE;
      }
      // check_drain: once the scanner left the order-aligned block it migrated from, forget it.
      if (cc.order > 0 && lastMigratedPfn !== NONE && lastMigratedPfn < orderBlockStart(cc.migratePfn, cc.order)) {
        lastMigratedPfn = NONE;
      }
    }
    return ret;
  }

  private shouldRescanPageblock(cc: CompactControl): boolean {
    return !pageblockAligned(cc.migratePfn) && !cc.ignoreSkipHint && !cc.finishPageblock && cc.mode < MigrateMode.Sync;
  }

  /** compact_finished (with COMPACT_NO_SUITABLE_PAGE meaning go on). */
  private compactFinished(cc: CompactControl): CompactResult {
    const ret = this.compactFinishedWhy(cc);
    return ret === CompactResult.NoSuitablePage ? CompactResult.Continue : ret;
  }

  /** __compact_finished. */
  private compactFinishedWhy(cc: CompactControl): CompactResult {
    const { zone, state: st } = cc;
    if (scannersMet(cc)) {
      this.resetCachedPositions(st);
      if (cc.direct) st.blockskipFlush = true;
      return cc.wholeZone ? CompactResult.Complete : CompactResult.PartialSkipped;
    }
    if (cc.proactive) {
      const lowMark = fragmentationScoreWmark(this.host.tunables.compactionProactiveness, true);
      return extfragForOrder(zone, COMPACTION_HPAGE_ORDER) > lowMark ? CompactResult.Continue : CompactResult.Success;
    }
    if (cc.order === ORDER_WHOLE_ZONE) return CompactResult.Continue;
    // Always finish a pageblock, so it is as free as possible.
    if (!pageblockAligned(cc.migratePfn)) return CompactResult.Continue;
    return freeBlockAvailable(zone, cc.order, cc.migratetype) ? CompactResult.Success : CompactResult.NoSuitablePage;
  }

  // ---- the migration scanner ------------------------------------------------------------------------

  /** isolate_migratepages: finds the next suitable pageblock below the free scanner and isolates from it. */
  private isolateMigratepages(cc: CompactControl): IsolateResult {
    const zone = cc.zone;
    let lowPfn = cc.migratePfn;
    let blockStart = Math.max(pageblockStart(lowPfn), zone.startPfn);
    let blockEnd = pageblockEnd(lowPfn);
    for (; blockEnd <= cc.freePfn; cc.migratePfn = lowPfn = blockEnd, blockStart = blockEnd, blockEnd += PAGEBLOCK_NR_PAGES) {
      if ((pageblockAligned(lowPfn) || lowPfn === zone.startPfn) && !this.isolationSuitable(cc, lowPfn)) continue;
      if (!this.suitableMigrationSource(cc, blockStart)) {
        this.updateCachedMigrate(cc, blockEnd);
        continue;
      }
      this.isolateMigratepagesBlock(cc, lowPfn, blockEnd);
      break;
    }
    return cc.nrMigratepages > 0 ? IsolateResult.Success : IsolateResult.None;
  }

  /**
   * isolate_migratepages_block: isolates the movable pages of [startPfn, endPfn) (one pageblock) onto
   * the migrate list, at most a batch unless the block is being finished. Leaves cc.migratePfn at the
   * next PFN to scan.
   */
  private isolateMigratepagesBlock(cc: CompactControl, startPfn: number, endPfn: number): void {
    const flags = this.host.frames.flags;
    const orders = this.host.frames.order;
    const zone = cc.zone;
    const skipOnFailure = cc.direct && cc.mode === MigrateMode.Async;
    let nextSkipPfn = skipOnFailure ? orderBlockEnd(startPfn, cc.order) : 0;
    let nrScanned = 0;
    let nrIsolated = 0;
    let validBlock = NONE;
    let skipUpdated = false;
    let pfn = startPfn;
    for (; pfn < endPfn; pfn++) {
      if (skipOnFailure && pfn >= nextSkipPfn) {
        // The previous order-aligned chunk is fully isolated: migrate it now.
        if (nrIsolated > 0) break;
        nextSkipPfn = orderBlockEnd(pfn, cc.order);
      }
      nrScanned++;
      if (validBlock === NONE && (pageblockAligned(pfn) || pfn === zone.startPfn)) {
        if (!this.isolationSuitable(cc, pfn)) {
          pfn = endPfn;
          break;
        }
        validBlock = pfn;
      }
      const fl = flags[pfn];
      const freeEnd = fl & PG.buddy ? pfn + (1 << orders[pfn]) : fl === 0 ? this.freeBlockEndAround(zone, pfn) : NONE;
      if (freeEnd !== NONE) {
        nrScanned += freeEnd - pfn - 1;
        pfn = freeEnd - 1;
        continue;
      }
      const outcome = this.migrateCandidate(cc, pfn, fl);
      if (outcome > 0) {
        if (validBlock !== NONE && !skipUpdated) {
          skipUpdated = true;
          this.testAndSetSkip(cc, validBlock);
        }
        this.migrateList[this.nrMigrateList++] = pfn;
        cc.nrMigratepages += outcome;
        nrIsolated += outcome;
        pfn += outcome - 1;
        nrScanned += outcome - 1;
        if (cc.nrMigratepages >= COMPACT_CLUSTER_MAX && !cc.finishPageblock) {
          pfn++;
          break;
        }
        continue;
      }
      // isolate_fail: step over what the candidate check said to skip.
      pfn -= outcome;
      nrScanned -= outcome;
      if (!skipOnFailure) continue;
      if (nrIsolated > 0) {
        this.putbackMigratepages(cc);
        nrIsolated = 0;
      }
      if (pfn < nextSkipPfn) {
        pfn = nextSkipPfn - 1;
        nextSkipPfn += 1 << cc.order;
      }
    }
    if (pfn > endPfn) pfn = endPfn;
    if (pfn === endPfn && (nrIsolated === 0 || cc.finishPageblock)) {
      if (validBlock !== NONE && !skipUpdated) this.setSkip(cc.state, validBlock);
      this.updateCachedMigrate(cc, pfn);
    }
    cc.totalMigrateScanned += nrScanned;
    if (nrIsolated > 0) this.host.vmstat.countVmEvent(zone.node, Vm.compact_isolated, nrIsolated);
    cc.migratePfn = pfn;
  }

  /**
   * What the migration scanner does with the in-use frame `pfn` (flags `fl`): a positive result is the
   * number of pages isolated (the page, or its whole folio); zero or less is a failure, minus the number
   * of further frames to step over (a folio too large to migrate).
   */
  private migrateCandidate(cc: CompactControl, pfn: number, fl: number): number {
    if (fl & PG.head) {
      const order = this.host.frames.order[pfn];
      if (skipIsolationOnOrder(order, cc.order)) return -((1 << order) - 1);
      return (fl & PG.lru) !== 0 && this.host.migration.isMovable(pfn) ? 1 << order : 0;
    }
    if (fl & PG.tail || !(fl & PG.lru)) return 0;
    return this.host.migration.isMovable(pfn) ? 1 : 0;
  }

  /**
   * The end of the free buddy block that `pfn` lies inside (not at its head), or −1. Migrated pages are
   * freed straight into the buddy allocator here and merge at once (Linux parks them on per-CPU lists
   * until the scanner has left the block), so the scanner can land inside a free block; it steps over
   * it, as Linux's steps over the still-unmerged buddy pages.
   */
  private freeBlockEndAround(zone: Zone, pfn: number): number {
    const f = this.host.frames;
    for (let order = 1; order <= MAX_ORDER; order++) {
      const head = pfn - ((pfn - zone.startPfn) & ((1 << order) - 1));
      if (head === pfn || (f.flags[head] & PG.buddy) === 0) continue;
      return f.order[head] >= order ? head + (1 << f.order[head]) : NONE;
    }
    return NONE;
  }

  /** putback_movable_pages: the isolated pages stay where they are. */
  private putbackMigratepages(cc: CompactControl): void {
    this.nrMigrateList = 0;
    cc.nrMigratepages = 0;
  }

  /** suitable_migration_source. */
  private suitableMigrationSource(cc: CompactControl, blockStart: number): boolean {
    if (this.pageblockSkipPersistent(blockStart)) return false;
    if (cc.mode !== MigrateMode.Async || !cc.direct) return true;
    const mt = cc.zone.blockMt(blockStart);
    return cc.migratetype === MigrateType.Movable ? mt === MigrateType.Movable : mt === cc.migratetype;
  }

  /** pageblock_skip_persistent: the block holds (part of) a folio of pageblock order or larger. */
  private pageblockSkipPersistent(pfn: number): boolean {
    const f = this.host.frames;
    const head = f.compoundHead(pfn);
    return (f.flags[head] & PG.head) !== 0 && f.order[head] >= PAGEBLOCK_ORDER;
  }

  /** migrate_pages for the isolated batch: each page is moved into a target from compaction_alloc. */
  private migratePages(cc: CompactControl): MigrateOutcome {
    const migration = this.host.migration;
    let outcome: MigrateOutcome = MigrateOutcome.Ok;
    for (let i = 0; i < this.nrMigrateList; i++) {
      const result = migration.migratePage(this.migrateList[i], this.allocTarget);
      cc.migrateCostMs += result.costMs;
      if (result.ok) continue;
      if (result.reason === 'nomem') {
        outcome = MigrateOutcome.NoMem;
        break;
      }
      outcome = MigrateOutcome.Failed;
    }
    this.putbackMigratepages(cc);
    return outcome;
  }

  // ---- the free scanner -----------------------------------------------------------------------------

  /** compaction_alloc: the smallest isolated block that fits, split down to `order`. */
  private compactionAlloc(cc: CompactControl, order: number): number {
    let start = this.freeBlocks.firstOrderFrom(order);
    if (start === NONE) {
      this.isolateFreepages(cc);
      start = this.freeBlocks.firstOrderFrom(order);
      if (start === NONE) return NONE;
    }
    const pfn = this.freeBlocks.pop(start);
    let size = 1 << start;
    while (start > order) {
      start--;
      size >>= 1;
      this.freeBlocks.push(start, pfn + size);
    }
    cc.nrFreepages -= 1 << order;
    cc.nrMigratepages -= 1 << order;
    return pfn;
  }

  /**
   * isolate_freepages: after a fast search of the free lists, walks down from cc.freePfn pageblock by
   * pageblock (never into the migration scanner's block) until enough free pages are isolated.
   */
  private isolateFreepages(cc: CompactControl): void {
    this.fastIsolateFreepages(cc);
    if (cc.nrFreepages > 0) return;
    const zone = cc.zone;
    let isolateStart = cc.freePfn;
    let blockStart = pageblockStart(isolateStart);
    let blockEnd = Math.min(blockStart + PAGEBLOCK_NR_PAGES, zone.endPfn);
    const lowPfn = pageblockEnd(cc.migratePfn);
    let stride = cc.mode === MigrateMode.Async ? COMPACT_CLUSTER_MAX : 1;
    for (
      ;
      blockStart >= lowPfn;
      blockEnd = blockStart, blockStart -= PAGEBLOCK_NR_PAGES, isolateStart = blockStart
    ) {
      if (!this.suitableMigrationTarget(cc, blockStart) || !this.isolationSuitable(cc, blockStart)) continue;
      const before = cc.nrFreepages;
      isolateStart = this.isolateFreepagesBlock(cc, isolateStart, blockEnd, stride);
      if (isolateStart === blockEnd) this.updatePageblockSkip(cc, blockStart, blockStart - PAGEBLOCK_NR_PAGES);
      if (cc.nrFreepages >= cc.nrMigratepages) {
        // Enough: resume in the next block down if this one is used up.
        if (isolateStart >= blockEnd) isolateStart = blockStart - PAGEBLOCK_NR_PAGES;
        break;
      }
      if (isolateStart < blockEnd) break; // isolation failed early (watermark)
      stride = cc.nrFreepages > before ? 1 : Math.min(COMPACT_CLUSTER_MAX, stride << 1);
    }
    cc.freePfn = isolateStart;
  }

  /**
   * isolate_freepages_block: isolates free blocks in [startPfn, endPfn), looking at every `stride`-th
   * frame, until the batch has targets. Returns where it stopped.
   */
  private isolateFreepagesBlock(cc: CompactControl, startPfn: number, endPfn: number, stride: number): number {
    const flags = this.host.frames.flags;
    const orders = this.host.frames.order;
    let pfn = startPfn;
    let nrScanned = 0;
    let total = 0;
    for (; pfn < endPfn; pfn += stride) {
      nrScanned++;
      const fl = flags[pfn];
      if (fl & PG.head) {
        const skip = (1 << orders[pfn]) - 1;
        pfn += skip;
        nrScanned += skip;
        continue;
      }
      if (!(fl & PG.buddy)) continue;
      const order = orders[pfn];
      if (!this.isolateFreePage(cc.zone, pfn, order)) break;
      const isolated = 1 << order;
      nrScanned += isolated - 1;
      total += isolated;
      cc.nrFreepages += isolated;
      this.freeBlocks.push(order, pfn);
      if (cc.nrMigratepages <= cc.nrFreepages) {
        pfn += isolated;
        break;
      }
      pfn += isolated - 1;
    }
    if (pfn > endPfn) pfn = endPfn;
    cc.totalFreeScanned += nrScanned;
    if (total > 0) this.host.vmstat.countVmEvent(cc.zone.node, Vm.compact_isolated, total);
    return pfn;
  }

  /**
   * fast_isolate_freepages: looks on the MOVABLE free lists of orders below the request for a free page
   * in the top quarter of the space between the scanners (else the highest in the top half), isolates
   * it, and tops up from its pageblock.
   */
  private fastIsolateFreepages(cc: CompactControl): void {
    if (cc.order <= 0) return;
    const { zone, state: st } = cc;
    const link0 = this.host.frames.link0;
    let limit = Math.max(1, freelistScanLimit(cc) >> 1);
    let scanStart = false;
    if (cc.freePfn >= st.initFreePfn) {
      limit = PAGEBLOCK_NR_PAGES >> 1;
      scanStart = true;
    }
    const distance = cc.freePfn - cc.migratePfn;
    const minPfn = pageblockStart(cc.freePfn - (distance >> 1));
    const lowPfn = Math.max(pageblockStart(cc.freePfn - (distance >> 2)), minPfn);
    cc.searchOrder = Math.min(cc.order - 1, cc.searchOrder);
    let page = NONE;
    let highest = NONE;
    let nrScanned = 0;
    for (let order = cc.searchOrder; page === NONE && order >= 0; order = nextSearchOrder(cc, order)) {
      if (freeBlocksAt(zone, order) === 0) continue;
      let orderScanned = 0;
      let highPfn = NONE;
      for (let fp = zone.freeHead[order * NR_MIGRATETYPES + MigrateType.Movable]; fp >= 0; fp = link0[fp]) {
        orderScanned++;
        nrScanned++;
        if (fp >= highest) highest = Math.max(pageblockStart(fp), zone.startPfn);
        if (fp >= lowPfn) {
          cc.fastSearchFail = 0;
          cc.searchOrder = order;
          page = fp;
          break;
        }
        if (fp >= minPfn && fp > highPfn) {
          highPfn = fp;
          limit >>= 1; // a candidate shortens the search
        }
        if (orderScanned >= limit) break;
      }
      if (page === NONE) page = highPfn;
      if (page !== NONE) {
        if (!this.isolateFreePage(zone, page, order)) {
          page = NONE;
          break;
        }
        const isolated = 1 << order;
        nrScanned += isolated - 1;
        cc.nrFreepages += isolated;
        this.freeBlocks.push(order, page);
        this.host.vmstat.countVmEvent(zone.node, Vm.compact_isolated, isolated);
      }
      if (cc.nrFreepages >= cc.nrMigratepages) break;
      if (orderScanned >= limit) limit = Math.max(1, limit >> 1);
    }
    cc.totalFreeScanned += nrScanned;
    if (page === NONE) {
      cc.fastSearchFail++;
      if (scanStart) {
        // Start the linear scan at the highest block seen in the top half, or (direct) its lower end.
        if (highest !== NONE && highest >= minPfn) page = cc.freePfn = highest;
        else if (cc.direct) page = cc.freePfn = minPfn;
      }
    }
    if (highest !== NONE && highest >= st.cachedFreePfn) st.cachedFreePfn = highest - PAGEBLOCK_NR_PAGES;
    if (page !== NONE) this.fastIsolateAround(cc, page);
  }

  /** fast_isolate_around: tops up the batch from the pageblock of a page the fast search found. */
  private fastIsolateAround(cc: CompactControl, pfn: number): void {
    if (cc.nrFreepages >= cc.nrMigratepages) return;
    if (cc.direct && cc.mode === MigrateMode.Async) return;
    const start = Math.max(pageblockStart(pfn), cc.zone.startPfn);
    const end = Math.min(pageblockEnd(pfn), cc.zone.endPfn);
    if (this.isolateFreepagesBlock(cc, start, end, 1) === end) this.setSkip(cc.state, start);
  }

  /**
   * __isolate_free_page: takes a free block off the buddy lists unless that would leave fewer than the
   * min watermark (without boost) + its size free. A block of half a pageblock or more turns its
   * pageblocks MOVABLE.
   */
  private isolateFreePage(zone: Zone, pfn: number, order: number): boolean {
    const buddy = this.host.buddy;
    if (zone.blockMt(pfn) !== MigrateType.Isolate) {
      if (!buddy.watermarkOk(zone, 0, zone.watermark[WMARK_MIN] + (1 << order))) return false;
    }
    this.host.pageReporting?.compactionIsolating(pfn);
    buddy.isolateFreeBlock(pfn);
    if (order >= PAGEBLOCK_ORDER - 1) {
      for (let block = pageblockStart(pfn); block < pfn + (1 << order); block += PAGEBLOCK_NR_PAGES) {
        const mt = zone.blockMt(block);
        if (mt < MIGRATE_PCPTYPES && mt !== MigrateType.Movable) {
          buddy.setPageblockMt(zone, block, MigrateType.Movable);
          buddy.moveFreePagesBlock(zone, block, MigrateType.Movable);
        }
      }
    }
    return true;
  }

  /** suitable_migration_target: a pageblock whose free pages may become migration targets. */
  private suitableMigrationTarget(cc: CompactControl, blockStart: number): boolean {
    const f = this.host.frames;
    // A pageblock that is free as a whole is worth more as it is.
    if ((f.flags[blockStart] & PG.buddy) !== 0 && f.order[blockStart] >= PAGEBLOCK_ORDER) return false;
    if (cc.ignoreBlockSuitable) return true;
    return cc.zone.blockMt(blockStart) === MigrateType.Movable;
  }

  /** release_free_list: gives the unused targets back to the buddy allocator. */
  private releaseFreepages(cc: CompactControl): void {
    let highPfn = NONE;
    for (let order = 0; order < NR_ORDERS; order++) {
      while (this.freeBlocks.size(order) > 0) {
        const pfn = this.freeBlocks.pop(order);
        this.host.buddy.freePages(pfn, order);
        if (pfn > highPfn) highPfn = pfn;
      }
    }
    this.nrMigrateList = 0;
    cc.nrFreepages = 0;
    if (highPfn === NONE) return;
    // The free scanner restarts no lower than the returned pages (only go back, not forward).
    const freePfn = pageblockStart(highPfn);
    if (freePfn > cc.state.cachedFreePfn) cc.state.cachedFreePfn = freePfn;
  }

  // ---- skip hints and cached positions --------------------------------------------------------------

  private isolationSuitable(cc: CompactControl, pfn: number): boolean {
    return cc.ignoreSkipHint || cc.state.skip[cc.state.blockIndex(pfn)] === 0;
  }

  private setSkip(st: ZoneCompactState, pfn: number): void {
    st.skip[st.blockIndex(pfn)] = 1;
  }

  /** test_and_set_skip: the migration scanner claims a pageblock as it first isolates from it. */
  private testAndSetSkip(cc: CompactControl, pfn: number): void {
    if (!cc.ignoreSkipHint) this.setSkip(cc.state, pfn);
  }

  /** update_pageblock_skip: the free scanner used a pageblock up; restart below it next time. */
  private updatePageblockSkip(cc: CompactControl, blockStart: number, nextFreePfn: number): void {
    this.setSkip(cc.state, blockStart);
    if (nextFreePfn < cc.state.cachedFreePfn) cc.state.cachedFreePfn = nextFreePfn;
  }

  /** update_cached_migrate. */
  private updateCachedMigrate(cc: CompactControl, pfn: number): void {
    const st = cc.state;
    const end = pageblockEnd(pfn);
    if (end > st.cachedMigratePfn[0]) st.cachedMigratePfn[0] = end;
    if (cc.mode !== MigrateMode.Async && end > st.cachedMigratePfn[1]) st.cachedMigratePfn[1] = end;
  }

  /** reset_cached_positions. */
  private resetCachedPositions(st: ZoneCompactState): void {
    st.cachedMigratePfn[0] = st.cachedMigratePfn[1] = st.zone.startPfn;
    st.cachedFreePfn = st.lastBlockStart();
  }

  /**
   * __reset_isolation_suitable: if a flush is pending, walks the zone from both ends clearing the skip
   * hint of pageblocks where a sample finds an LRU page (source side) or a free page (target side), and
   * restarts the scanners at the outermost such blocks.
   */
  private resetIsolationSuitableZone(st: ZoneCompactState): void {
    if (!st.blockskipFlush) return;
    st.blockskipFlush = false;
    const zone = st.zone;
    let migratePfn = zone.startPfn;
    let freePfn = zone.endPfn - 1;
    let resetMigrate = freePfn;
    let resetFree = migratePfn;
    let sourceSet = false;
    let freeSet = false;
    for (; migratePfn < freePfn; migratePfn += PAGEBLOCK_NR_PAGES, freePfn -= PAGEBLOCK_NR_PAGES) {
      if (this.resetIsolationPfn(st, migratePfn, true, sourceSet) && migratePfn < resetMigrate) {
        sourceSet = true;
        resetMigrate = migratePfn;
        st.initMigratePfn = st.cachedMigratePfn[0] = st.cachedMigratePfn[1] = resetMigrate;
      }
      if (this.resetIsolationPfn(st, freePfn, freeSet, true) && freePfn > resetFree) {
        freeSet = true;
        resetFree = freePfn;
        st.initFreePfn = st.cachedFreePfn = resetFree;
      }
    }
    // No suitable block: leave no distance between the scanners.
    if (resetMigrate >= resetFree) {
      st.cachedMigratePfn[0] = st.cachedMigratePfn[1] = migratePfn;
      st.cachedFreePfn = freePfn;
    }
  }

  /** __reset_isolation_pfn: clears the skip hint of `pfn`'s pageblock if a sample shows it is useful. */
  private resetIsolationPfn(st: ZoneCompactState, pfn: number, checkSource: boolean, checkTarget: boolean): boolean {
    const flags = this.host.frames.flags;
    const zone = st.zone;
    if (this.pageblockSkipPersistent(pfn)) return false;
    const index = st.blockIndex(pfn);
    if (checkSource && checkTarget && st.skip[index] === 0) return true;
    if (!checkSource && checkTarget && zone.blockMt(pfn) !== MigrateType.Movable) return false;
    const start = Math.max(pageblockStart(pfn), zone.startPfn);
    const last = Math.min(pageblockEnd(pfn) - 1, zone.endPfn - 1);
    for (let p = start; p <= last; p += RESET_SAMPLE_STRIDE) {
      const fl = flags[p];
      if ((checkSource && (fl & PG.lru) !== 0) || (checkTarget && (fl & PG.buddy) !== 0)) {
        st.skip[index] = 0;
        return true;
      }
    }
    return false;
  }

  private stateOf(zone: Zone): ZoneCompactState {
    const st = this.states.find((s) => s.zone === zone);
    if (st === undefined) throw new RangeError(`zone of node ${zone.node} is not compacted here`);
    return st;
  }
}

// ---- helpers that read a pass's control only ------------------------------------------------------

/** The compact_control settings of compact_zone_order for a direct compaction priority. */
function directOptions(order: number, prio: CompactPriority, migratetype: MigrateTypeT): CompactOptions {
  const full = prio === 'sync-full';
  return {
    order,
    mode: prio === 'async' ? MigrateMode.Async : MigrateMode.SyncLight,
    migratetype,
    direct: true,
    wholeZone: full,
    ignoreSkipHint: full,
    ignoreBlockSuitable: full,
  };
}

/** compact_scanners_met: the free scanner reached the migration scanner's pageblock. */
function scannersMet(cc: CompactControl): boolean {
  return (cc.freePfn >> PAGEBLOCK_ORDER) <= (cc.migratePfn >> PAGEBLOCK_ORDER);
}

/** freelist_scan_limit: how far the fast search may look, shrinking with repeated failures. */
function freelistScanLimit(cc: CompactControl): number {
  return (COMPACT_CLUSTER_MAX >> Math.min(cc.fastSearchFail, 31)) + 1;
}

/** next_search_order: the fast search walks the orders below the request round-robin. */
function nextSearchOrder(cc: CompactControl, order: number): number {
  order--;
  if (order < 0) order = cc.order - 1;
  if (order === cc.searchOrder) {
    cc.searchOrder--;
    if (cc.searchOrder < 0) cc.searchOrder = cc.order - 1;
    return NONE;
  }
  return order;
}

/**
 * The success test of __compact_finished: a free block of `order` or larger on the allocation's own
 * lists, or on a list it would claim from (find_suitable_fallback).
 */
function freeBlockAvailable(zone: Zone, order: number, mt: MigrateTypeT): boolean {
  for (let o = order; o <= MAX_ORDER; o++) {
    if (zone.blocks(o, mt) > 0) return true;
    if (mt >= MIGRATE_PCPTYPES || !shouldTryClaimBlock(o, mt)) continue;
    for (const fallback of fallbacks[mt]) if (zone.blocks(o, fallback) > 0) return true;
  }
  return false;
}
