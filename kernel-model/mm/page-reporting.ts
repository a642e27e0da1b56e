/**
 * Free page reporting (Linux mm/page_reporting.c) with a virtio-balloon device behind it: a guest tells
 * its hypervisor which free memory it does not need, the host takes that memory back, and the guest pays
 * when it reuses it.
 *
 *   free of a block ≥ page_reporting_order ──► request: REQUESTED; if the worker was idle, run it 2 s later
 *   worker (page_reporting_process), per zone, only if free > low watermark + 32 << order:
 *     for order = page_reporting_order … MAX_ORDER, for each migratetype but Isolate:
 *       walk the free list, skipping Reported blocks; isolate unreported ones 32 at a time (budget:
 *       ⌈blocks of the order / 512⌉ + 1 reports per list and pass, so an idle machine is reported in at
 *       most ~16 passes, about 30 s); each full batch is reported to the host, then put back at the tail
 *       of its list (FPI_TO_TAIL, without a new notification) and marked Reported if it did not merge on
 *       the way back; the batch carries over from one list to the next
 *     leftover blocks are reported at the end of the zone
 *   if something asked for reporting during the pass (a qualifying free, an exhausted budget), run again
 *   2 s later; else go idle.
 *
 * The host side. A reported block's frames become *unbacked*: the host discarded them. That is a property
 * of the memory, not of the mark: a Reported block that is split or merged loses its mark (the allocator
 * clears it whenever a block leaves its list) but its frames stay unbacked until the guest writes them.
 * Whoever first writes an unbacked frame pays Cost.hostRefault for it (7–12 µs per 4 KiB on the project's
 * VM, against nothing for backed memory): the allocating task as system time (page allocation is followed
 * by zeroing), or the migration that copies into it — compaction's free scanner takes free pages with no
 * regard to the mark (the seed's concern: it undoes the host's reclaim and pays for it). It skips whole
 * free pageblocks, so at the default order it reaches only the unbacked remains of split blocks; with a
 * lower page_reporting_order it takes Reported blocks themselves.
 *
 * Model choices: memory starts backed (a guest that has touched its memory once, or preallocated); the
 * host never backs memory on its own; reporting runs only with a balloon device (`balloon: true`), which
 * registers at boot and triggers the initial pass; balloon inflation and deflation are not modelled.
 * The counters (reported, refaulted, what compaction consumed) are host-side truth a guest cannot see:
 * they are read through the evaluation entry, not a file.
 */
import { KernelThread, Priority } from '../engine/engine.js';
import { MAX_ORDER, MIGRATE_PCPTYPES, MigrateType, NR_MIGRATETYPES, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER } from './constants.js';
import { Cost } from './costs.js';
import type { MigrateReason } from './migrate.js';
import type { Task } from './mm-types.js';
import { FPI_SKIP_REPORT_NOTIFY, FPI_TO_TAIL, WMARK_LOW, WMARK_MIN, type Zone } from './page-alloc.js';
import { PG } from './page-flags.js';
import type { Kernel } from '../kernel.js';

/** Blocks per report (PAGE_REPORTING_CAPACITY). */
export const PAGE_REPORTING_CAPACITY = 32;
/** Delay between a request and the worker's pass (PAGE_REPORTING_DELAY, 2 × HZ). */
export const PAGE_REPORTING_DELAY_MS = 2000;
/** page_reporting_order before a device registers ("unset", read as -1). */
export const PAGE_REPORTING_ORDER_UNSET = -1;

const IDLE = 0;
const REQUESTED = 1;
const ACTIVE = 2;

/** Host-side counters of free page reporting (evaluation only). */
export interface PageReportingStats {
  /** Pages reported to the host (a block reported again after a merge counts again). */
  reportedPages: number;
  /** Unbacked pages the guest wrote again (each cost the host a fault). */
  refaultedPages: number;
  /** Of those, the ones compaction migrated into. */
  compactionRefaultedPages: number;
  /** Pages of Reported blocks that compaction's free scanner isolated (their mark is lost). */
  compactionIsolatedReportedPages: number;
  /** Time the host faults cost the guest, ms. */
  refaultMs: number;
}

/** The counters with the gauges, as the evaluation entry reports them. */
export interface PageReportingSnapshot extends PageReportingStats {
  /** Frames the host has discarded now (reported and not written since). */
  unbackedPages: number;
  /** Free pages in blocks carrying the Reported mark now. */
  reportedFreePages: number;
  /** CPU time of the reporting worker, ms. */
  workerCpuMs: number;
}

/** Free page reporting and the balloon device's host. */
export class PageReporting {
  /** /sys/module/page_reporting/parameters/page_reporting_order (-1 until a device registers). */
  private order = PAGE_REPORTING_ORDER_UNSET;
  private state = IDLE;
  private registered = false;
  /** One bit per frame: the host has discarded it (allocated when a device registers). */
  private unbacked: Uint8Array | undefined;
  private readonly thread: KernelThread;
  readonly stats: PageReportingStats = {
    reportedPages: 0,
    refaultedPages: 0,
    compactionRefaultedPages: 0,
    compactionIsolatedReportedPages: 0,
    refaultMs: 0,
  };
  /** The batch being reported: first frames and orders of the isolated blocks. */
  private readonly batchPfn = new Int32Array(PAGE_REPORTING_CAPACITY);
  private readonly batchOrder = new Uint8Array(PAGE_REPORTING_CAPACITY);
  private batchSize = 0;

  constructor(private readonly k: Kernel) {
    this.thread = new KernelThread('kworker/page_reporting', k.engine, Priority.scanner, () => this.process());
  }

  /** Whether a reporting device is registered (the machine has a balloon). */
  get enabled(): boolean {
    return this.registered;
  }

  /** CPU time of the reporting worker, ms. */
  get cpuMs(): number {
    return this.thread.cpuMs;
  }

  /** The order read from page_reporting_order: -1 while unset. */
  get reportingOrder(): number {
    return this.order;
  }

  /** A write to page_reporting_order (param_set_uint_minmax 0–MAX_ORDER, checked by the caller). */
  setReportingOrder(order: number): void {
    this.order = order;
    this.applyThreshold();
  }

  /**
   * page_reporting_register: the balloon driver registers at boot. An unset order becomes pageblock
   * order (virtio-balloon on x86-64 asks for none); reporting is enabled and a first pass requested.
   */
  register(): void {
    if (this.registered) return;
    this.registered = true;
    if (this.order === PAGE_REPORTING_ORDER_UNSET) this.order = PAGEBLOCK_ORDER;
    this.unbacked = new Uint8Array(Math.ceil(this.k.frames.count / 8));
    this.k.buddy.onReportableFree = () => this.request();
    this.applyThreshold();
    this.request();
  }

  private applyThreshold(): void {
    this.k.buddy.reportingOrder = this.registered && this.order >= 0 ? this.order : Number.POSITIVE_INFINITY;
  }

  // ---- the worker ----------------------------------------------------------------------------------

  /** __page_reporting_request: remember the request; start the worker 2 s from now if it was idle. */
  private request(): void {
    if (this.state === REQUESTED) return;
    const was = this.state;
    this.state = REQUESTED;
    if (was === IDLE) this.thread.wake(PAGE_REPORTING_DELAY_MS);
  }

  /** page_reporting_process: one pass over every zone; returns the delay to the next pass or null. */
  private process(): number | null {
    this.state = ACTIVE;
    for (const zone of this.k.zones) this.processZone(zone);
    if (this.state === REQUESTED) return PAGE_REPORTING_DELAY_MS;
    this.state = IDLE;
    return null;
  }

  /** page_reporting_process_zone. */
  private processZone(zone: Zone): void {
    const order = this.order;
    if (order < 0 || order > MAX_ORDER) return;
    const buddy = this.k.buddy;
    if (!buddy.watermarkOk(zone, 0, zone.wmark(WMARK_LOW) + (PAGE_REPORTING_CAPACITY << order))) return;
    this.batchSize = 0;
    for (let o = order; o <= MAX_ORDER; o++) {
      for (let mt = 0; mt < NR_MIGRATETYPES; mt++) {
        if (mt !== MigrateType.Isolate) this.cycle(zone, o, mt);
      }
    }
    if (this.batchSize > 0) this.reportBatch(zone);
  }

  /** page_reporting_cycle: isolate and report the unreported blocks of one free list, within budget. */
  private cycle(zone: Zone, order: number, mt: number): void {
    const f = this.k.frames;
    const list = order * NR_MIGRATETYPES + mt;
    if (zone.freeHead[list] < 0) return;
    // A sixteenth of the order's free blocks (area->nr_free, every migratetype) + 1 reports per list.
    let areaFree = 0;
    for (let t = 0; t < NR_MIGRATETYPES; t++) areaFree += zone.blocks(order, t);
    let budget = Math.ceil(areaFree / (PAGE_REPORTING_CAPACITY * 16));
    let pfn = zone.freeHead[list];
    while (pfn >= 0) {
      const next = f.link0[pfn];
      if (f.has(pfn, PG.reported)) {
        pfn = next;
        continue;
      }
      if (budget < 0) {
        this.state = REQUESTED;
        return;
      }
      if (this.batchSize < PAGE_REPORTING_CAPACITY) {
        if (!this.isolate(zone, pfn, order)) return;
        this.batchPfn[this.batchSize] = pfn;
        this.batchOrder[this.batchSize] = order;
        this.batchSize++;
        pfn = next;
        continue;
      }
      // The batch is full: report it, put it back, and start again from the list's head.
      this.reportBatch(zone);
      budget--;
      pfn = zone.freeHead[list];
    }
  }

  /**
   * __isolate_free_page: takes the block off its list unless that would leave fewer than the min
   * watermark (without boost) + its size free; a block of half a pageblock or more turns its
   * pageblocks MOVABLE.
   */
  private isolate(zone: Zone, pfn: number, order: number): boolean {
    const buddy = this.k.buddy;
    if (!buddy.watermarkOk(zone, 0, zone.watermark[WMARK_MIN] + (1 << order))) return false;
    buddy.isolateFreeBlock(pfn);
    if (order >= PAGEBLOCK_ORDER - 1) {
      const first = pfn - ((pfn - zone.startPfn) % PAGEBLOCK_NR_PAGES);
      for (let block = first; block < pfn + (1 << order); block += PAGEBLOCK_NR_PAGES) {
        const mt = zone.blockMt(block);
        if (mt < MIGRATE_PCPTYPES && mt !== MigrateType.Movable) {
          buddy.setPageblockMt(zone, block, MigrateType.Movable);
          buddy.moveFreePagesBlock(zone, block, MigrateType.Movable);
        }
      }
    }
    return true;
  }

  /**
   * prdev->report then page_reporting_drain: the host discards the batch's frames; each block goes
   * back to the tail of its free list without a new notification and is marked Reported unless it
   * merged with a buddy on the way back.
   */
  private reportBatch(zone: Zone): void {
    const buddy = this.k.buddy;
    const f = this.k.frames;
    for (let i = 0; i < this.batchSize; i++) {
      const pfn = this.batchPfn[i];
      const order = this.batchOrder[i];
      setBits(this.unbacked!, pfn, 1 << order);
      this.stats.reportedPages += 1 << order;
    }
    this.thread.charge(Cost.reportBatch);
    for (let i = 0; i < this.batchSize; i++) {
      const pfn = this.batchPfn[i];
      const order = this.batchOrder[i];
      buddy.freePages(pfn, order, FPI_TO_TAIL | FPI_SKIP_REPORT_NOTIFY);
      if (f.has(pfn, PG.buddy) && f.order[pfn] === order) buddy.setReported(zone, pfn);
    }
    this.batchSize = 0;
  }

  // ---- the guest reusing reported memory ----------------------------------------------------------

  /**
   * The allocator handed out [pfn, pfn + n) to `task` (undefined: kernel context): unbacked frames are
   * faulted back in by the host, charged to the task as system time. Returns the time charged.
   */
  allocated(pfn: number, n: number, task: Task | undefined): number {
    const bm = this.unbacked;
    if (bm === undefined) return 0;
    const pages = n === 1 ? takeBit(bm, pfn) : takeBits(bm, pfn, n);
    if (pages === 0) return 0;
    const ms = pages * Cost.hostRefault;
    this.stats.refaultedPages += pages;
    this.stats.refaultMs += ms;
    task?.chargeSys(ms);
    return ms;
  }

  /**
   * A migration copied into [pfn, pfn + n) (compaction takes its targets straight from the free lists):
   * returns the host-fault time the migration costs, which its payer is charged with.
   */
  migrationTarget(pfn: number, n: number, reason: MigrateReason): number {
    const bm = this.unbacked;
    if (bm === undefined) return 0;
    const pages = takeBits(bm, pfn, n);
    if (pages === 0) return 0;
    const ms = pages * Cost.hostRefault;
    this.stats.refaultedPages += pages;
    this.stats.refaultMs += ms;
    if (reason === 'compaction') this.stats.compactionRefaultedPages += pages;
    return ms;
  }

  /** Compaction's free scanner is about to isolate the free block at `pfn` (whatever its mark). */
  compactionIsolating(pfn: number): void {
    const f = this.k.frames;
    if (f.has(pfn, PG.reported)) this.stats.compactionIsolatedReportedPages += 1 << f.order[pfn];
  }

  /** Frames the host has discarded right now. */
  unbackedPages(): number {
    const bm = this.unbacked;
    if (bm === undefined) return 0;
    let n = 0;
    for (let i = 0; i < bm.length; i++) if (bm[i] !== 0) n += popcount8(bm[i]);
    return n;
  }

  /** Free pages in Reported blocks, machine-wide. */
  reportedFreePages(): number {
    return this.k.zones.reduce((s, z) => s + z.nrReported, 0);
  }

  /** Counters and gauges at this instant. */
  snapshot(): PageReportingSnapshot {
    return { ...this.stats, unbackedPages: this.unbackedPages(), reportedFreePages: this.reportedFreePages(), workerCpuMs: this.cpuMs };
  }

  /** Bytes of per-frame state (the unbacked bitmap), for the bench's bytes-per-frame figure. */
  stateBytes(): number {
    return this.unbacked?.byteLength ?? 0;
  }
}

function popcount8(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}

/** Sets bits [start, start + n). */
function setBits(bm: Uint8Array, start: number, n: number): void {
  let i = start;
  const end = start + n;
  for (; i < end && (i & 7) !== 0; i++) bm[i >> 3] |= 1 << (i & 7);
  if (end - i >= 8) {
    bm.fill(0xff, i >> 3, end >> 3);
    i = end & ~7;
  }
  for (; i < end; i++) bm[i >> 3] |= 1 << (i & 7);
}

/** Clears bit `i`; returns 1 if it was set. */
function takeBit(bm: Uint8Array, i: number): number {
  const mask = 1 << (i & 7);
  const byte = bm[i >> 3];
  if ((byte & mask) === 0) return 0;
  bm[i >> 3] = byte & ~mask;
  return 1;
}

/** Clears bits [start, start + n); returns how many were set. */
function takeBits(bm: Uint8Array, start: number, n: number): number {
  let i = start;
  const end = start + n;
  let count = 0;
  for (; i < end && (i & 7) !== 0; i++) count += takeBit(bm, i);
  for (; i + 8 <= end; i += 8) {
    const byte = bm[i >> 3];
    if (byte !== 0) {
      count += popcount8(byte);
      bm[i >> 3] = 0;
    }
  }
  for (; i < end; i++) count += takeBit(bm, i);
  return count;
}
