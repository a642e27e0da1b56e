/**
 * Kernel samepage merging (Linux mm/ksm.c): ksmd, a kernel thread, walks the anonymous pages of
 * mergeable VMAs (MADV_MERGEABLE, or every VMA after prctl(PR_SET_MEMORY_MERGE)) and merges pages of
 * equal content into one write-protected KSM page that all their PTEs map; a write to it copies it
 * (cow_ksm). What it costs is the point of modelling it: ksmd's CPU, and the rmap walk of a widely
 * shared KSM page (migration, compaction and reclaim visit every mapping — see Cost.ksmRmapItem), which
 * `max_page_sharing` bounds by splitting a content over several KSM pages.
 *
 * The scan (ksm_do_scan, scan_get_next_rmap_item, cmp_and_merge_page), `pages_to_scan` pages per wake,
 * `sleep_millisecs` apart:
 *
 *   mm list (FIFO, cursor) ─► mergeable VMA ─► anon page at address ─► rmap item (mm, address)
 *     page already KSM ──────────────────────────────► its stable node (a fork's new mapping joins it)
 *     checksum changed since the last visit ─────────► remember it, next page     (pages_volatile)
 *     all zeroes and use_zero_pages ─────────────────► map the zero page          (ksm_zero_pages)
 *     stable tree has the content with room ─────────► map that KSM page          (pages_sharing + 1)
 *     unstable tree has the content ─────────────────► both become a KSM page     (shared + 1, sharing + 1)
 *     else ──────────────────────────────────────────► insert into the unstable tree (pages_unshared)
 *   end of the list: full_scans + 1, the unstable tree starts afresh.
 *
 * So a page merges at the earliest on ksmd's second visit (its checksum must hold still across two),
 * and the global counters follow the rmap items, not the page tables: a sharer that writes (cow_ksm),
 * unmaps or unmerges leaves its item behind until ksmd's next visit of that address, as in Linux.
 * Which page becomes the KSM page is Linux's: the page being scanned, the tree's page mapped onto it. A
 * THP met in a mergeable VMA is split (thp_split_page + 1) when one of its subpages is about to merge;
 * two identical subpages of one THP cannot merge in that visit (the split fails on the extra reference,
 * thp_split_page_failed + 1, and is retried at once).
 *
 * Unmerging (MADV_UNMERGEABLE, PR_SET_MEMORY_MERGE 0, `run` 2) breaks every KSM mapping of the range
 * at once by copying it, and KSM-placed zero pages too (break_ksm: an unsharing fault, which counts
 * cow_ksm and is charged to the process whose page is copied). `run` 2 then drops every rmap item and
 * every stable node: the counters are 0 and full_scans restarts at 0. `max_page_sharing` and
 * `merge_across_nodes` refuse changes (EBUSY) while KSM pages exist.
 *
 * State: rmap items in a typed-array pool (ksm-items.ts, 40 bytes per scanned page — Linux's 64-byte
 * items are what ksm_stat and general_profit charge), the stable tree (ksm-stable.ts), an unstable tree
 * per node as a Map content → item (rebuilt each full scan), one small object per mm on the list, and
 * the PTE slots where KSM mapped the zero page (Linux marks those PTEs dirty; the model keeps a Set).
 *
 * Simplified: no swap cache (a swapped-out KSM page comes back as one copy per sharer, ksm_swpin_copy
 * stays 0); a KSM page migrated to another node without merge_across_nodes moves to that node's tree at
 * once (Linux parks it on migrate_nodes until ksmd meets it); an exited process's items wait for ksmd's
 * cursor to reach its mm (Linux moves the mm just after the cursor); a fork's copies of KSM-placed zero
 * pages are plain zero-page mappings; mlock and KSM only meet in that a KSM page mapped into a locked
 * VMA is mlocked. Invariants (tested): pages_shared and pages_sharing equal the counts the stable nodes'
 * item lists give, every rmap item is in exactly one mm list, and each KSM page's mappings are all in
 * the frame rmap (migration's walk finds every one).
 */
import { KernelThread, Priority } from '../engine/engine.js';
import type { KsmStat } from '../fs/ksm-stat.js';
import { HPAGE_PMD_SIZE, PAGE_SIZE, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { RmapItems, SEQNR_MASK, STABLE_FLAG, UNSTABLE_FLAG } from './ksm-items.js';
import { StableTree } from './ksm-stable.js';
import { VM, type MmStruct, type Task, type Vma } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePresent } from './pgtable.js';
import { Vm } from './vmstat.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** `run` bits. */
const KSM_RUN_MERGE = 1;
const KSM_RUN_UNMERGE = 2;
/** try_to_merge_* failure. */
const EFAULT = -1;
/** pages_to_scan without the advisor (DEFAULT_PAGES_TO_SCAN). */
const DEFAULT_PAGES_TO_SCAN = 100;
const KSM_ADVISOR_MIN_CPU = 10;
const EWMA_WEIGHT = 30;
/** With sleep_millisecs 0 ksmd runs back to back; the model still lets simulated time pass between batches. */
const MIN_BATCH_GAP_MS = 0.05;

/** `advisor_mode` values. */
export type KsmAdvisorMode = 'none' | 'scan-time';

/** An mm on ksmd's list (struct ksm_mm_slot) with its per-mm counters. */
interface KsmMmSlot {
  readonly id: number;
  readonly pid: number;
  readonly mm: MmStruct;
  /** First rmap item of the mm's list (by address), or -1. */
  rmapHead: number;
  /** mm->ksm_rmap_items, mm->ksm_merging_pages. */
  rmapItems: number;
  mergingPages: number;
}

/** A VMA that ksmd may merge in (find_mergeable_vma): mergeable, with an anon_vma, of a live mm. */
interface ItemTarget {
  readonly task: Task;
  readonly vma: Vma;
}

/** vma_ksm_compatible: MADV_MERGEABLE and PR_SET_MEMORY_MERGE leave shared mappings alone. */
function ksmCompatible(v: Vma): boolean {
  return (v.flags & VM.SHARED) === 0;
}

/** skip_age: how many scans smart scan skips a page that has failed to merge `age` times. */
function skipAge(age: number): number {
  if (age <= 3) return 1;
  if (age <= 5) return 2;
  if (age <= 8) return 4;
  return 8;
}

/** KSM. */
export class Ksm {
  // ---- knobs (/sys/kernel/mm/ksm/) ----
  run = 0;
  pagesToScan = DEFAULT_PAGES_TO_SCAN;
  sleepMs = 20;
  mergeAcrossNodes = true;
  useZeroPages = false;
  smartScan = true;
  advisorMode: KsmAdvisorMode = 'none';
  advisorMaxCpu = 70;
  advisorMinPagesToScan = 500;
  advisorMaxPagesToScan = 30000;
  advisorTargetScanTime = 200;

  // ---- counters ----
  pagesScanned = 0;
  /** Items in the unstable tree (ksm_pages_unshared). */
  pagesUnshared = 0;
  pagesSkipped = 0;
  /** Zero pages KSM mapped, machine-wide (ksm_zero_pages). */
  zeroPages = 0;
  /** ksm_scan.seqnr: completed full scans. */
  fullScans = 0;

  readonly items = new RmapItems();
  readonly stable: StableTree;
  /** Per tree: content → the item inserted with it this scan. */
  private unstable: Map<number, number>[];
  private readonly slots: KsmMmSlot[] = [];
  private readonly slotOfMm = new Map<MmStruct, KsmMmSlot>();
  private readonly slotById = new Map<number, KsmMmSlot>();
  private nextSlotId = 1;
  /** The scan cursor: index into `slots` (-1: the list head, a new full scan starts), address, and the item before it. */
  private cursor = -1;
  private scanAddress = 0;
  private rmapPrev = -1;
  /** The page of the item scanNext returned; the tree page unstableSearchInsert found. */
  private nextPfn = -1;
  private treePfn = -1;
  /** PTE slots where KSM mapped the zero page, and their count per mm. */
  private readonly zeroPtes = new Set<number>();
  private readonly zeroPagesOfMm = new Map<MmStruct, number>();
  private readonly thread: KernelThread;
  private batchMs = 0;
  private readonly advisor = { startScan: 0, scanTime: 0, change: 0, cpuTime: 0 };

  constructor(private readonly k: Kernel) {
    const mergingPages = (item: number, delta: number): void => {
      this.slotById.get(this.items.mm[item])!.mergingPages += delta;
    };
    this.stable = new StableTree(k.frames, this.items, k.nodeCount, mergingPages, () => k.engine.now);
    this.unstable = k.zones.map(() => new Map<number, number>());
    this.thread = new KernelThread('ksmd', k.engine, Priority.scanner, () => this.ksmd());
  }

  // ---- what /sys/kernel/mm/ksm/ shows ---------------------------------------------------------------

  /** CPU time ksmd has used, ms. */
  get cpuMs(): number {
    return this.thread.cpuMs;
  }

  get pagesShared(): number {
    return this.stable.pagesShared;
  }

  get pagesSharing(): number {
    return this.stable.pagesSharing;
  }

  /** ksm_rmap_items − shared − sharing − unshared, never negative. */
  get pagesVolatile(): number {
    return Math.max(0, this.items.live - this.stable.pagesShared - this.stable.pagesSharing - this.pagesUnshared);
  }

  /** (pages_sharing + ksm_zero_pages) × 4096 − rmap items × sizeof(struct ksm_rmap_item). */
  get generalProfit(): number {
    return (this.stable.pagesSharing + this.zeroPages) * PAGE_SIZE - this.items.live * 64;
  }

  /** /proc/PID/ksm_stat of a task. */
  stat(task: Task): KsmStat {
    const slot = this.slotOfMm.get(task.mm);
    return {
      rmapItems: slot?.rmapItems ?? 0,
      zeroPages: this.zeroPagesOfMm.get(task.mm) ?? 0,
      mergingPages: slot?.mergingPages ?? 0,
      mergeAny: task.memoryMerge,
      mergeable: task.mm.vmas.some((v) => (v.flags & VM.MERGEABLE) !== 0),
    };
  }

  // ---- knob writes (the sysfs layer has validated the value) ----------------------------------------

  /** run_store: 1 runs ksmd, 0 stops it, 2 stops it and unmerges everything (ENOMEM if a copy fails). */
  setRun(value: number): void {
    if (this.run !== value) {
      this.run = value;
      if (value & KSM_RUN_UNMERGE) {
        try {
          this.unmergeAll();
        } catch (e) {
          this.run = 0;
          this.cursor = -1;
          throw e;
        }
      }
    }
    if (this.shouldRun()) this.thread.wake(0);
  }

  /** max_page_sharing_store: EBUSY while KSM pages exist. */
  setMaxPageSharing(value: number): void {
    if (this.stable.maxPageSharing === value) return;
    if (this.stable.pagesShared > 0 || this.stable.removeAll()) throw new SyscallError('EBUSY', 'write', 'max_page_sharing: KSM pages exist');
    this.stable.maxPageSharing = value;
  }

  /** merge_across_nodes_store: EBUSY while KSM pages exist. */
  setMergeAcrossNodes(value: boolean): void {
    if (this.mergeAcrossNodes === value) return;
    if (this.stable.pagesShared > 0 || this.stable.removeAll()) throw new SyscallError('EBUSY', 'write', 'merge_across_nodes: KSM pages exist');
    this.mergeAcrossNodes = value;
  }

  /** pages_to_scan_store: EINVAL while the advisor sets it. */
  setPagesToScan(value: number): void {
    if (this.advisorMode !== 'none') throw new SyscallError('EINVAL', 'write', 'pages_to_scan: advisor_mode is scan-time');
    this.pagesToScan = value;
  }

  /** sleep_millisecs_store: a sleeping ksmd starts its next batch at once. */
  setSleepMs(value: number): void {
    this.sleepMs = value;
    if (this.shouldRun()) this.thread.wake(0);
  }

  /** advisor_mode_store: a change resets pages_to_scan (set_advisor_defaults). */
  setAdvisorMode(mode: KsmAdvisorMode): void {
    if (mode === this.advisorMode) return;
    this.advisorMode = mode;
    if (mode === 'none') this.pagesToScan = DEFAULT_PAGES_TO_SCAN;
    else {
      this.advisor.startScan = 0;
      this.advisor.scanTime = 0;
      this.advisor.change = 0;
      this.advisor.cpuTime = 0;
      this.pagesToScan = this.advisorMinPagesToScan;
    }
  }

  // ---- entry points from madvise, prctl, fork, faults and migration ------------------------------------

  /**
   * ksm_madvise over the mapped range [start, end) of `task`: MADV_MERGEABLE marks the compatible VMAs
   * and puts the mm on ksmd's list; MADV_UNMERGEABLE breaks every KSM mapping of the range, then
   * clears the flag (ENOMEM if a copy finds no memory).
   */
  madvise(task: Task, start: number, end: number, mergeable: boolean): void {
    const k = this.k;
    if (mergeable) {
      const marks = task.mm.vmas.some((v) => v.end > start && v.start < end && !(v.flags & VM.MERGEABLE) && ksmCompatible(v));
      if (marks && !this.slotOfMm.has(task.mm)) this.enter(task);
      k.mmap.modify('madvise', task, start, end, (v) => {
        if (ksmCompatible(v)) v.flags |= VM.MERGEABLE;
      });
      return;
    }
    for (const v of [...task.mm.vmas]) {
      if (v.end <= start || v.start >= end || !(v.flags & VM.MERGEABLE) || v.anonVma === 0) continue;
      this.unmergeRange(task, Math.max(start, v.start), Math.min(end, v.end), 'madvise');
    }
    k.mmap.modify('madvise', task, start, end, (v) => {
      v.flags &= ~VM.MERGEABLE;
    });
  }

  /**
   * prctl(PR_SET_MEMORY_MERGE): on, the mm joins ksmd's list and every compatible VMA, now and future,
   * is mergeable (MMF_VM_MERGE_ANY, inherited by fork); off, every mergeable VMA is unmerged and loses
   * the flag, MADV_MERGEABLE ones included.
   */
  setMergeAny(task: Task, enable: boolean): void {
    if (enable === task.memoryMerge) return;
    if (enable) {
      if (!this.slotOfMm.has(task.mm)) this.enter(task);
      task.memoryMerge = true;
      for (const v of task.mm.vmas) if (ksmCompatible(v)) v.flags |= VM.MERGEABLE;
    } else {
      for (const v of [...task.mm.vmas]) {
        if (!(v.flags & VM.MERGEABLE)) continue;
        if (v.anonVma !== 0) this.unmergeRange(task, v.start, v.end, 'prctl');
        v.flags &= ~VM.MERGEABLE;
      }
      task.memoryMerge = false;
    }
    this.k.mmap.mergeAll(task.mm);
  }

  /** ksm_fork: the child of an mm on ksmd's list joins the list. */
  fork(parent: Task, child: Task): void {
    if (this.slotOfMm.has(parent.mm)) this.enter(child);
  }

  /** A zero-page PTE was cleared (zap, a write fault, collapse): if KSM had put it there, count it out. */
  zeroPteUnmapped(mm: MmStruct, slot: number): void {
    if (this.zeroPtes.size === 0 || !this.zeroPtes.delete(slot)) return;
    this.zeroPages--;
    const n = (this.zeroPagesOfMm.get(mm) ?? 1) - 1;
    if (n > 0) this.zeroPagesOfMm.set(mm, n);
    else this.zeroPagesOfMm.delete(mm);
  }

  /** folio_migrate_ksm: a KSM page moved from frame `from` to `to`. */
  folioMigrated(from: number, to: number): void {
    this.stable.migrated(from, to, this.nidOf(to));
  }

  /** Whether a PTE slot holds a KSM page or a KSM-placed zero page (what break_ksm unshares). */
  isKsmPte(slot: number): boolean {
    const k = this.k;
    const pte = k.pgtables.entries[slot];
    if (pte <= 0) return false;
    const pfn = pte - 1;
    if (pfn === k.zeroPfn) return this.zeroPtes.has(slot);
    return k.frames.has(pfn, PG.ksm);
  }

  // ---- ksmd ---------------------------------------------------------------------------------------

  private shouldRun(): boolean {
    return (this.run & KSM_RUN_MERGE) !== 0 && this.slots.length > 0;
  }

  /** ksm_scan_thread: one batch, then sleep_millisecs (or sleep until woken). */
  private ksmd(): number | null {
    if (!this.shouldRun()) return null;
    this.batchMs = 0;
    this.doScan(this.pagesToScan);
    if (!this.shouldRun()) return null;
    return this.sleepMs > 0 ? this.sleepMs : Math.max(this.batchMs, MIN_BATCH_GAP_MS);
  }

  private charge(ms: number): void {
    this.batchMs += ms;
    this.thread.charge(ms);
  }

  /** ksm_do_scan: up to `pages` pages; a batch also ends where a full scan ends. */
  private doScan(pages: number): void {
    for (let n = pages; n > 0; n--) {
      const item = this.scanNext();
      if (item < 0) return;
      this.charge(Cost.ksmScanPage);
      this.cmpAndMergePage(this.nextPfn, item);
      this.pagesScanned++;
    }
  }

  /** __ksm_enter: the mm joins the list just behind the cursor (at the end while unmerging). */
  private enter(task: Task): void {
    const slot: KsmMmSlot = { id: this.nextSlotId++, pid: task.pid, mm: task.mm, rmapHead: -1, rmapItems: 0, mergingPages: 0 };
    const wasEmpty = this.slots.length === 0;
    if (this.run & KSM_RUN_UNMERGE || this.cursor < 0) this.slots.push(slot);
    else {
      this.slots.splice(this.cursor, 0, slot);
      this.cursor++;
    }
    this.slotOfMm.set(task.mm, slot);
    this.slotById.set(slot.id, slot);
    if (wasEmpty && this.shouldRun()) this.thread.wake(0);
  }

  private removeSlot(index: number): void {
    const [slot] = this.slots.splice(index, 1);
    if (this.slotOfMm.get(slot.mm) === slot) this.slotOfMm.delete(slot.mm);
    this.slotById.delete(slot.id);
    if (index < this.cursor) this.cursor--;
  }

  /**
   * scan_get_next_rmap_item: the rmap item of the next anonymous page to look at (its frame in
   * `nextPfn`), or -1 when a full scan has just ended (or there is nothing to scan). Items of addresses
   * passed over are freed on the way; an mm left without mergeable VMAs, or exited, leaves the list.
   */
  private scanNext(): number {
    if (this.slots.length === 0) return -1;
    if (this.cursor < 0) {
      this.advisorStartScan();
      this.unstable = this.unstable.map(() => new Map<number, number>());
      this.cursor = 0;
      this.scanAddress = 0;
      this.rmapPrev = -1;
    }
    for (;;) {
      const slot = this.slots[this.cursor];
      const task = this.k.task(slot.pid);
      if (task !== undefined && task.mm === slot.mm) {
        const item = this.scanMm(slot, task.mm);
        if (item >= 0) return item;
      } else {
        this.scanAddress = 0;
        this.rmapPrev = -1;
      }
      this.removeTrailing(slot, this.rmapPrev);
      if (this.scanAddress === 0) this.removeSlot(this.cursor);
      else this.cursor++;
      if (this.cursor >= this.slots.length) {
        this.advisorStopScan();
        this.fullScans++;
        this.cursor = -1;
        return -1;
      }
      this.scanAddress = 0;
      this.rmapPrev = -1;
    }
  }

  /** The mergeable VMAs of the cursor's mm from `scanAddress` on: the next page to scan, or -1. */
  private scanMm(slot: KsmMmSlot, mm: MmStruct): number {
    const vmas = mm.vmas;
    let lo = 0;
    let hi = vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (vmas[mid].end <= this.scanAddress) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < vmas.length; i++) {
      const vma = vmas[i];
      if (!(vma.flags & VM.MERGEABLE)) continue;
      if (this.scanAddress < vma.start) this.scanAddress = vma.start;
      if (vma.anonVma === 0) this.scanAddress = vma.end;
      while (this.scanAddress < vma.end) {
        const a = this.scanAddress;
        const pmdIdx = Math.floor(a / HPAGE_PMD_SIZE);
        const e = mm.pmd.get(pmdIdx);
        if (e === undefined) {
          this.scanAddress = Math.min(vma.end, (pmdIdx + 1) * HPAGE_PMD_SIZE);
          continue;
        }
        this.scanAddress = a + PAGE_SIZE;
        const pfn = this.anonPageIn(e, a);
        if (pfn < 0) continue;
        const item = this.getNextRmapItem(slot, a);
        this.rmapPrev = item;
        if (this.shouldSkip(pfn, item)) continue;
        this.nextPfn = pfn;
        return item;
      }
    }
    return -1;
  }

  /** The anonymous page mapped at `addr` under PMD entry `e` (a subpage for a THP), or -1. */
  private anonPageIn(e: number, addr: number): number {
    const k = this.k;
    const idx = Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE;
    let pfn: number;
    if (e < 0) {
      const head = -e - 1;
      if (head === k.huge.hugeZeroPfn) return -1;
      pfn = head + idx;
    } else {
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + idx];
      if (pte <= 0) return -1;
      pfn = pte - 1;
      if (pfn === k.zeroPfn) return -1;
    }
    return k.frames.kind(k.frames.compoundHead(pfn)) === PageKind.Anon ? pfn : -1;
  }

  /** The anonymous page at `addr` of `mm`, or -1. */
  private anonPageAt(mm: MmStruct, addr: number): number {
    const e = mm.pmd.get(Math.floor(addr / HPAGE_PMD_SIZE));
    return e === undefined ? -1 : this.anonPageIn(e, addr);
  }

  /** get_next_rmap_item: the item at `addr` after the cursor's, freeing the ones it passes; new if none. */
  private getNextRmapItem(slot: KsmMmSlot, addr: number): number {
    const it = this.items;
    const prev = this.rmapPrev;
    let cur = prev < 0 ? slot.rmapHead : it.next[prev];
    while (cur >= 0) {
      const a = it.address[cur];
      if (a === addr) return cur;
      if (a > addr) break;
      const next = it.next[cur];
      this.link(slot, prev, next);
      this.removeRmapItemFromTree(cur);
      it.free(cur);
      slot.rmapItems--;
      cur = next;
    }
    const id = it.alloc(slot.id, addr);
    slot.rmapItems++;
    it.next[id] = cur;
    this.link(slot, prev, id);
    return id;
  }

  private link(slot: KsmMmSlot, prev: number, id: number): void {
    if (prev < 0) slot.rmapHead = id;
    else this.items.next[prev] = id;
  }

  /** remove_trailing_rmap_items: frees every item of the mm after `prev` (-1: all of them). */
  private removeTrailing(slot: KsmMmSlot, prev: number): void {
    const it = this.items;
    let cur = prev < 0 ? slot.rmapHead : it.next[prev];
    this.link(slot, prev, -1);
    while (cur >= 0) {
      const next = it.next[cur];
      this.removeRmapItemFromTree(cur);
      it.free(cur);
      slot.rmapItems--;
      cur = next;
    }
  }

  /** should_skip_rmap_item (smart_scan): a page that keeps failing to merge is visited less often. */
  private shouldSkip(pfn: number, item: number): boolean {
    if (!this.smartScan || this.k.frames.has(pfn, PG.ksm)) return false;
    const it = this.items;
    const age = it.age[item];
    if (age !== 255) it.age[item] = age + 1;
    if (age < 3) return false;
    if (it.skips[item] === 0) {
      it.skips[item] = skipAge(age);
      return false;
    }
    this.pagesSkipped++;
    it.skips[item]--;
    this.removeRmapItemFromTree(item);
    return true;
  }

  /** remove_rmap_item_from_tree: out of the stable node's list or the unstable tree. */
  private removeRmapItemFromTree(item: number): void {
    const it = this.items;
    const flags = it.flags[item];
    if (flags & STABLE_FLAG) {
      this.stable.removeItem(item);
    } else if (flags & UNSTABLE_FLAG) {
      // Inserted by this scan: erase it; inserted by the last one: that tree is gone already.
      const age = (this.fullScans - (flags & SEQNR_MASK)) & SEQNR_MASK;
      if (age > 1) throw new Error(`ksm: rmap item ${item} left in the unstable tree ${age} scans ago`);
      const root = this.unstable[it.head[item]];
      if (age === 0 && root.get(it.oldChecksum[item]) === item) root.delete(it.oldChecksum[item]);
      this.pagesUnshared--;
      it.head[item] = -1;
      it.flags[item] = 0;
    }
  }

  /** The tree a page belongs to: one for the machine, or its node's without merge_across_nodes. */
  private nidOf(pfn: number): number {
    return this.mergeAcrossNodes ? 0 : this.k.nodeOfPfn(pfn);
  }

  // ---- cmp_and_merge_page ------------------------------------------------------------------------------

  /** cmp_and_merge_page: what to do with the page `pfn` met at `item`'s address. */
  private cmpAndMergePage(pfn: number, item: number): void {
    const it = this.items;
    const f = this.k.frames;
    const node = this.stable.pageStableNode(pfn);
    if (node >= 0) {
      if (it.flags[item] & STABLE_FLAG && it.head[item] === node) return;
    } else {
      this.removeRmapItemFromTree(item);
      const checksum = f.content(pfn);
      if (it.oldChecksum[item] !== checksum) {
        it.oldChecksum[item] = checksum;
        return;
      }
      if (this.tryToMergeWithZeroPage(item, pfn) === 0) return;
    }
    const kpfn = this.stable.search(pfn, this.nidOf(pfn));
    if (kpfn === pfn && it.flags[item] & STABLE_FLAG && it.head[item] === node) return;
    this.removeRmapItemFromTree(item);
    if (kpfn >= 0) {
      if (this.tryToMergeWithKsmPage(item, pfn, kpfn) === 0) this.stable.append(item, this.stable.pageStableNode(kpfn));
      return;
    }
    const treeItem = this.unstableSearchInsert(item, pfn);
    if (treeItem < 0) return;
    const treePfn = this.treePfn;
    const head = f.compoundHead(pfn);
    if ((f.has(pfn, PG.head) || f.has(pfn, PG.tail)) && head === f.compoundHead(treePfn)) {
      // Both pages are subpages of one THP: the merge's split fails on the tree page's reference, then
      // the THP is split on its own and the pages merge on a later visit.
      if (this.itemTarget(item)) this.countSplitFailed(head);
      this.charge(this.k.huge.splitHugePage(head).costMs);
      return;
    }
    const kp = this.tryToMergeTwoPages(item, pfn, treeItem, treePfn);
    if (kp < 0) return;
    const n = this.stable.insert(kp, this.nidOf(kp));
    this.stable.append(treeItem, n);
    this.stable.append(item, n);
  }

  /** unstable_tree_search_insert: an identical page's item (its frame in `treePfn`), else insert `item`. */
  private unstableSearchInsert(item: number, pfn: number): number {
    const k = this.k;
    const nid = this.nidOf(pfn);
    const root = this.unstable[nid];
    const content = k.frames.content(pfn);
    const treeItem = root.get(content);
    if (treeItem !== undefined) {
      const treePfn = this.mergeablePage(treeItem);
      if (treePfn < 0 || treePfn === pfn) return -1; // gone, or the same page (forked): not a merge
      if (k.frames.content(treePfn) === content) {
        if (!this.mergeAcrossNodes && k.nodeOfPfn(treePfn) !== nid) return -1;
        this.treePfn = treePfn;
        return treeItem;
      }
      // The tree page changed since it went in: an rbtree walk would turn aside there, so the newcomer
      // takes the key (the stale item stays counted in pages_unshared, as in Linux).
    }
    const it = this.items;
    it.flags[item] = UNSTABLE_FLAG | (this.fullScans & SEQNR_MASK);
    it.head[item] = nid;
    root.set(content, item);
    this.pagesUnshared++;
    return -1;
  }

  /** find_mergeable_vma for an item: its live mm's VMA at the address, mergeable and with an anon_vma. */
  private itemTarget(item: number): ItemTarget | undefined {
    const slot = this.slotById.get(this.items.mm[item]);
    const task = slot ? this.k.task(slot.pid) : undefined;
    if (!slot || !task || task.mm !== slot.mm) return undefined;
    const vma = task.mm.findVma(this.items.address[item]);
    if (!vma || !(vma.flags & VM.MERGEABLE) || vma.anonVma === 0) return undefined;
    return { task, vma };
  }

  /** get_mergeable_page: the anonymous page at an item's address, or -1. */
  private mergeablePage(item: number): number {
    const t = this.itemTarget(item);
    return t ? this.anonPageAt(t.task.mm, this.items.address[item]) : -1;
  }

  /** try_to_merge_with_zero_page: 0 when merged with the zero page (or the VMA is gone), else EFAULT. */
  private tryToMergeWithZeroPage(item: number, pfn: number): number {
    if (!this.useZeroPages || this.items.oldChecksum[item] !== 0) return EFAULT;
    const t = this.itemTarget(item);
    if (!t) return 0;
    return this.tryToMergeOnePage(t.task, t.vma, this.items.address[item], pfn, this.k.zeroPfn);
  }

  /** try_to_merge_with_ksm_page: merge `pfn` at the item's address into `kpfn` (-1: make `pfn` a KSM page). */
  private tryToMergeWithKsmPage(item: number, pfn: number, kpfn: number): number {
    const t = this.itemTarget(item);
    if (!t) return EFAULT;
    const err = this.tryToMergeOnePage(t.task, t.vma, this.items.address[item], pfn, kpfn);
    if (err) return err;
    this.removeRmapItemFromTree(item);
    return 0;
  }

  /** try_to_merge_two_pages: `pfn` becomes a KSM page and the tree page is replaced by it; its frame or -1. */
  private tryToMergeTwoPages(item: number, pfn: number, treeItem: number, treePfn: number): number {
    let err = this.tryToMergeWithKsmPage(item, pfn, -1);
    if (!err) {
      err = this.tryToMergeWithKsmPage(treeItem, treePfn, pfn);
      // A KSM page with one mapping: undo it (break_cow).
      if (err) this.breakCow(item);
    }
    return err ? -1 : pfn;
  }

  /**
   * try_to_merge_one_page: a THP is split first; the page must still be mapped there and not pinned
   * (write_protect_page's refcount check). Then it becomes a KSM page (`kpfn` -1), or, if its content
   * is `kpfn`'s, its PTE is pointed at `kpfn` (replace_page).
   */
  private tryToMergeOnePage(task: Task, vma: Vma, addr: number, pfn: number, kpfn: number): number {
    const k = this.k;
    const f = k.frames;
    if (pfn === kpfn) return 0;
    const head = f.compoundHead(pfn);
    if (f.kind(head) !== PageKind.Anon) return EFAULT;
    if (f.has(pfn, PG.head) || f.has(pfn, PG.tail)) {
      const split = k.huge.splitHugePage(head);
      this.charge(split.costMs);
      if (!split.ok) return EFAULT;
    }
    const e = task.mm.pmd.get(Math.floor(addr / HPAGE_PMD_SIZE));
    if (e === undefined || e < 0) return EFAULT;
    const slot = e * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
    if (k.pgtables.entries[slot] !== ptePresent(pfn) || f.has(pfn, PG.pinned)) return EFAULT;
    this.charge(Cost.ksmMergePage);
    if (kpfn < 0) {
      this.stable.forgetFrame(pfn);
      f.set(pfn, PG.ksm | PG.dirty | PG.referenced);
      return 0;
    }
    if (f.content(pfn) !== f.content(kpfn)) return EFAULT;
    this.replacePage(task, vma, slot, pfn, kpfn);
    return 0;
  }

  /** replace_page: the PTE at `slot` maps `kpfn` (a KSM page or the zero page) instead of `pfn`. */
  private replacePage(task: Task, vma: Vma, slot: number, pfn: number, kpfn: number): void {
    const k = this.k;
    k.pgtables.set(slot, ptePresent(kpfn));
    k.rmap.addPte(kpfn, slot);
    if (kpfn === k.zeroPfn) {
      this.zeroPtes.add(slot);
      this.zeroPages++;
      this.zeroPagesOfMm.set(task.mm, (this.zeroPagesOfMm.get(task.mm) ?? 0) + 1);
      task.mm.anonPtePages--;
    } else if (vma.flags & VM.LOCKED && !k.frames.has(kpfn, PG.mlocked)) {
      k.vmscan.lruUpdate(kpfn, PG.mlocked, 0);
      k.vmstat.modNodeState(k.nodeOfPfn(kpfn), Vm.nr_mlock, 1);
      k.vmstat.countVmEvent(k.nodeOfPfn(kpfn), Vm.unevictable_pgs_mlocked);
    }
    if (k.rmap.removePte(pfn, slot) === 0) k.memory.freeAnonPage(pfn);
  }

  /** break_cow: undo a merge at an item's address. */
  private breakCow(item: number): void {
    const t = this.itemTarget(item);
    if (!t) return;
    const addr = this.items.address[item];
    const e = t.task.mm.pmd.get(Math.floor(addr / HPAGE_PMD_SIZE));
    if (e === undefined || e < 0) return;
    const slot = e * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
    if (this.isKsmPte(slot)) this.breakKsm(t.task, t.vma, addr, slot);
  }

  /** break_ksm: an unsharing write fault copies the KSM page (or zero page) mapped at `slot`. */
  private breakKsm(task: Task, vma: Vma, addr: number, slot: number): 'ok' | 'oom' {
    const k = this.k;
    const pfn = k.pgtables.entries[slot] - 1;
    return k.memory.access(task, vma, addr, true, pfn === k.zeroPfn ? 0 : k.frames.content(pfn));
  }

  /** unmerge_ksm_pages: break every KSM mapping of [start, end); ENOMEM (as `syscall`) if a copy fails. */
  private unmergeRange(task: Task, start: number, end: number, syscall: string): void {
    const mm = task.mm;
    for (let a = start; a < end; ) {
      const pmdIdx = Math.floor(a / HPAGE_PMD_SIZE);
      const pmdEnd = Math.min(end, (pmdIdx + 1) * HPAGE_PMD_SIZE);
      const e = mm.pmd.get(pmdIdx);
      if (e === undefined || e < 0) {
        a = pmdEnd;
        continue;
      }
      for (; a < pmdEnd; a += PAGE_SIZE) {
        const slot = e * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE);
        if (!this.isKsmPte(slot)) continue;
        if (this.breakKsm(task, mm.findVma(a)!, a, slot) === 'oom') {
          throw new SyscallError('ENOMEM', syscall, `unmerging ${task.pid}: no memory for a copy`);
        }
      }
    }
  }

  /** unmerge_and_remove_all_rmap_items (run = 2). */
  private unmergeAll(): void {
    this.cursor = 0;
    while (this.cursor < this.slots.length) {
      const slot = this.slots[this.cursor];
      const task = this.k.task(slot.pid);
      const alive = task !== undefined && task.mm === slot.mm;
      if (alive) {
        for (const v of [...task.mm.vmas]) {
          if (v.flags & VM.MERGEABLE && v.anonVma !== 0) this.unmergeRange(task, v.start, v.end, 'write');
        }
      }
      this.removeTrailing(slot, -1);
      if (alive) this.cursor++;
      else this.removeSlot(this.cursor);
    }
    this.stable.removeAll();
    this.fullScans = 0;
    this.cursor = -1;
    this.scanAddress = 0;
    this.rmapPrev = -1;
  }

  private countSplitFailed(head: number): void {
    this.k.vmstat.countVmEvent(this.k.nodeOfPfn(head), Vm.thp_split_page_failed);
    this.k.huge.stats.split_failed++;
  }

  // ---- the scan-time advisor ------------------------------------------------------------------------

  private advisorStartScan(): void {
    if (this.advisorMode === 'scan-time') this.advisor.startScan = this.k.engine.now;
  }

  /** scan_time_advisor: sets pages_to_scan so that a full scan takes advisor_target_scan_time. */
  private advisorStopScan(): void {
    if (this.advisorMode !== 'scan-time') return;
    const a = this.advisor;
    const scanTime = Math.floor((this.k.engine.now - a.startScan) / 1000) || 1;
    const cpuTime = this.thread.cpuMs;
    const cpuPercent = Math.floor((Math.floor(cpuTime - a.cpuTime) * 100) / (scanTime * 1000)) || 1;
    const lastScanTime = a.scanTime || scanTime;
    const factor = Math.floor((this.advisorTargetScanTime * 100) / scanTime) || 1;
    let change = Math.floor((scanTime * 100) / lastScanTime) || 1;
    change = Math.floor(((100 - EWMA_WEIGHT) * a.change + EWMA_WEIGHT * change) / 100);
    let pages = Math.floor((this.pagesToScan * 100) / factor);
    pages = Math.floor((pages * change) / 100);
    const perPageCost = Math.floor(this.pagesToScan / cpuPercent) || 1;
    pages = Math.min(pages, perPageCost * this.advisorMaxCpu);
    pages = Math.max(pages, perPageCost * KSM_ADVISOR_MIN_CPU);
    pages = Math.min(pages, this.advisorMaxPagesToScan);
    a.change = change;
    a.scanTime = scanTime;
    a.cpuTime = cpuTime;
    this.pagesToScan = pages;
  }

  /** Invariant checks for tests: the counters agree with the trees and lists they count. */
  checkInvariants(): void {
    const it = this.items;
    let listed = 0;
    let unstable = 0;
    let stable = 0;
    for (const slot of this.slots) {
      let n = 0;
      let prev = -1;
      for (let i = slot.rmapHead; i >= 0; i = it.next[i]) {
        n++;
        if (it.flags[i] & UNSTABLE_FLAG) unstable++;
        if (it.flags[i] & STABLE_FLAG) stable++;
        if (it.mm[i] !== slot.id) throw new Error(`ksm: item ${i} on mm ${slot.id}'s list names mm ${it.mm[i]}`);
        if (i !== slot.rmapHead && it.address[i] <= it.address[prev]) throw new Error(`ksm: mm ${slot.id}'s items are not in address order`);
        prev = i;
      }
      if (n !== slot.rmapItems) throw new Error(`ksm: mm ${slot.id} counts ${slot.rmapItems} items, lists ${n}`);
      listed += n;
    }
    if (listed !== it.live) throw new Error(`ksm: ${it.live} items live, ${listed} on mm lists`);
    if (unstable !== this.pagesUnshared) throw new Error(`ksm: pages_unshared ${this.pagesUnshared}, ${unstable} unstable items`);
    if (stable !== this.stable.pagesShared + this.stable.pagesSharing) {
      throw new Error(`ksm: shared ${this.stable.pagesShared} + sharing ${this.stable.pagesSharing} ≠ ${stable} stable items`);
    }
    this.stable.check();
    let zero = 0;
    for (const n of this.zeroPagesOfMm.values()) zero += n;
    if (zero !== this.zeroPages || this.zeroPtes.size !== this.zeroPages) {
      throw new Error(`ksm: ksm_zero_pages ${this.zeroPages}, per mm ${zero}, zero-page PTEs ${this.zeroPtes.size}`);
    }
    for (const slot of this.zeroPtes) {
      if (this.k.pgtables.entries[slot] !== ptePresent(this.k.zeroPfn)) throw new Error(`ksm: PTE slot ${slot} no longer maps the zero page`);
    }
  }
}
