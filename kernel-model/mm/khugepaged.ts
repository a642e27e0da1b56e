/**
 * khugepaged (Linux mm/khugepaged.c): the kernel thread that collapses small pages into THPs in the
 * background, walking every registered address space round-robin with no idea which memory matters.
 *
 *   mm slots   a FIFO of address spaces; an mm joins when one of its VMAs becomes eligible (a THP-eligible
 *              fault, MADV_HUGEPAGE on a VMA that has an anon_vma) or when a registered mm forks; it
 *              leaves when it exits. An mm joining an empty list wakes the thread at once.
 *   a pass     budget `pages_to_scan`: +1 per mm entered, +1 per VMA skipped, +512 per PMD attempted.
 *              A collapse attempt drops the mmap lock, so the pass re-enters the same mm at its cursor;
 *              reaching the end of an mm moves the cursor to the next one, and wrapping the list counts
 *              `full_scans`. A pass also ends after passing the list head twice.
 *   sleeping   `scan_sleep_millisecs` between passes; after a huge-page allocation failure
 *              `alloc_sleep_millisecs` once, and a second failure ends the pass.
 *
 * Its CPU time (scanning, copying, and any reclaim or compaction its allocations do) is the thread's.
 */
import { KernelThread, Priority } from '../engine/engine.js';
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE } from './constants.js';
import type { CollapseControl, ScanResult } from './collapse.js';
import { defaultPolicy } from './mempolicy.js';
import { MmStruct, Task } from './mm-types.js';
import { effectiveThpEnabled } from './tunables.js';
import type { Kernel } from '../kernel.js';

/** Where the scan is (khugepaged_scan). */
interface ScanCursor {
  /** Index into the slot list of the mm being scanned, or -1 for "start from the head". */
  slot: number;
  address: number;
}

/** khugepaged. */
export class Khugepaged {
  /** pids of the registered mms, in FIFO order. */
  private readonly slots: number[] = [];
  private readonly cursor: ScanCursor = { slot: -1, address: 0 };
  private readonly thread: KernelThread;
  /** The thread's accounting identity: allocations it makes stall this task (never scheduled). */
  private readonly self: Task;
  /** pages_collapsed: THPs made by khugepaged (MADV_COLLAPSE adds nothing here). */
  pagesCollapsed = 0;
  /** full_scans: how many times the cursor wrapped the mm list. */
  fullScans = 0;

  constructor(private readonly k: Kernel) {
    this.thread = new KernelThread('khugepaged', k.engine, Priority.scanner, () => this.run());
    this.self = new Task(0, 0, 'khugepaged', 0, new Set(), false, 0, defaultPolicy, '/', new MmStruct(), 0);
  }

  /** CPU time khugepaged has used, ms. */
  get cpuMs(): number {
    return this.thread.cpuMs + this.self.stimeMs;
  }

  /** Whether an mm is registered. */
  isRegistered(pid: number): boolean {
    return this.slots.includes(pid);
  }

  /**
   * khugepaged_enter_vma: registers the task's mm if the VMA is eligible for khugepaged now (sysfs
   * rules, an anon_vma). The first mm on an empty list wakes the thread.
   */
  enterVma(task: Task, vmaStart: number): void {
    if (this.slots.includes(task.pid) || effectiveThpEnabled(this.k.tunables) === 'never') return;
    const vma = task.mm.findVma(vmaStart);
    if (!vma || !this.k.collapse.vmaAllowsCollapse(task, vma, true)) return;
    this.register(task.pid);
  }

  /** khugepaged_fork: a child of a registered mm is registered too. */
  fork(parent: Task, child: Task): void {
    if (this.slots.includes(parent.pid)) this.register(child.pid);
  }

  /** `enabled` changed: never stops the thread's work, otherwise the thread resumes its schedule. */
  enabledChanged(): void {
    if (effectiveThpEnabled(this.k.tunables) === 'never') this.thread.sleep();
    else if (this.slots.length > 0) this.thread.wake(0);
  }

  /** scan_sleep_millisecs or alloc_sleep_millisecs was written: the sleeping thread is woken. */
  sleepChanged(): void {
    if (this.slots.length > 0 && effectiveThpEnabled(this.k.tunables) !== 'never') this.thread.wake(0);
  }

  private register(pid: number): void {
    this.slots.push(pid);
    if (this.slots.length === 1 && effectiveThpEnabled(this.k.tunables) !== 'never') this.thread.wake(0);
  }

  /** One pass, then the delay until the next. */
  private run(): number | null {
    const t = this.k.tunables;
    if (effectiveThpEnabled(t) === 'never') return null;
    const allocFailed = this.doScan();
    if (this.slots.length === 0) return null;
    return allocFailed ? t.khugepagedAllocSleepMs : t.khugepagedScanSleepMs;
  }

  /** khugepaged_do_scan; returns whether it ended on an allocation failure (then sleep longer). */
  private doScan(): boolean {
    const pages = this.k.tunables.khugepagedPagesToScan;
    let progress = 0;
    let passThroughHead = 0;
    while (progress < pages) {
      if (this.cursor.slot < 0) passThroughHead++;
      if (this.slots.length === 0 || passThroughHead >= 2) break;
      const { progress: p, result } = this.scanMmSlot(pages - progress);
      progress += p;
      if (progress >= pages) break;
      // khugepaged_alloc_sleep: the model ends the pass and sleeps alloc_sleep_millisecs; the next pass
      // starts with a fresh budget (Linux resumes the same pass once and gives up on a second failure).
      if (result === 'ALLOC_HUGE_PAGE_FAIL') return true;
    }
    return false;
  }

  /** khugepaged_scan_mm_slot: scan the current mm from its cursor; returns the budget used. */
  private scanMmSlot(budget: number): { progress: number; result: ScanResult | undefined } {
    const k = this.k;
    if (this.cursor.slot < 0 || this.cursor.slot >= this.slots.length) {
      this.cursor.slot = 0;
      this.cursor.address = 0;
    }
    const pid = this.slots[this.cursor.slot];
    const task = k.task(pid);
    let progress = 1;
    let result: ScanResult | undefined;
    let finishedMm = true;
    const cc: CollapseControl = { isKhugepaged: true, payer: this.self };
    if (task) {
      outer: for (const vma of [...task.mm.vmas]) {
        if (vma.end <= this.cursor.address) continue;
        if (!this.k.collapse.vmaAllowsCollapse(task, vma, true)) {
          progress++;
          continue;
        }
        const hstart = Math.ceil(vma.start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
        const hend = Math.floor(vma.end / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
        if (this.cursor.address > hend) {
          progress++;
          continue;
        }
        if (this.cursor.address < hstart) this.cursor.address = hstart;
        while (this.cursor.address < hend) {
          const scanned = this.k.collapse.collapseRegion(task, vma, this.cursor.address / HPAGE_PMD_SIZE, cc);
          this.thread.charge(scanned.costMs);
          result = scanned.result;
          if (result === 'SUCCEED') this.pagesCollapsed++;
          this.cursor.address += HPAGE_PMD_SIZE;
          progress += HPAGE_PMD_NR;
          // A collapse attempt dropped the mmap lock: leave, and come back to this mm at the cursor.
          if (result === 'SUCCEED' || result === 'ALLOC_HUGE_PAGE_FAIL' || result === 'CGROUP_CHARGE_FAIL' || result === 'VMA_CHECK') {
            finishedMm = false;
            break outer;
          }
          if (progress >= budget) {
            finishedMm = false;
            break outer;
          }
        }
      }
    }
    if (finishedMm) this.advanceSlot(task === undefined);
    return { progress, result };
  }

  /** The current mm is done (or gone): move the cursor on, and drop the slot of an exited mm. */
  private advanceSlot(exited: boolean): void {
    const i = this.cursor.slot;
    if (exited) this.slots.splice(i, 1);
    const next = exited ? i : i + 1;
    this.cursor.address = 0;
    if (next < this.slots.length) this.cursor.slot = next;
    else {
      this.cursor.slot = -1;
      this.fullScans++;
    }
  }
}
