/**
 * Automatic NUMA balancing (`kernel.numa_balancing`): memory follows the task that uses it. Linux spreads
 * it over kernel/sched/fair.c (task_tick_numa, task_numa_work, should_numa_migrate_memory,
 * update_task_scan_period), mm/mprotect.c (change_prot_numa), mm/memory.c (do_numa_page),
 * mm/huge_memory.c (do_huge_pmd_numa_page) and mm/migrate.c (migrate_misplaced_folio); the model keeps it
 * in this one file.
 *
 *   every scan period, for a running task          (a task runs while it has an access stream)
 *     task_numa_work: from the mm's scan offset, mark up to scan_size (256 MiB) of populated memory —
 *     at most 8× that of address space — PROT_NONE: each PTE (numa_pte_updates) or PMD (+512, and
 *     numa_huge_pte_updates) of a page that is not on the task's node, not shared, not pinned, not KSM
 *     and not the zero page. Reaching the end of the address space wraps the offset (numa_scan_seq + 1)
 *     and adapts the period from the faults of the last pass.
 *   the task's next access to a marked page       (from touch, or the accesses of its streams)
 *     NUMA hinting fault (numa_hint_faults, numa_hint_faults_local when the page is on the task's node):
 *     the entry is restored; under the default policy the page moves to the task's node when
 *     should_numa_migrate_memory agrees — early in the task's life at once, later only if the previous
 *     hinting fault on the page came from the same node (the two-fault filter, through the page's
 *     last_cpupid) — and the target node keeps free memory above its high watermark. THPs move whole
 *     or not at all (no split); the allocation never reclaims. numa_pages_migrated and pgmigrate_* count
 *     it; the task stalls (`numaHint`) for the fault and the copy.
 *
 * A mark is remembered as (PTE slot → frame) or ((pid, PMD) → head frame) and counts only while that
 * entry still maps that frame: whatever rewrites the entry in Linux (zap, swap-out, migration, COW)
 * drops the PROT_NONE bit with it, and here it leaves the mark stale, forgotten when next looked at.
 *
 * Scan timing as 6.18: the first scan of an mm waits scan_delay (1000 ms) after its creation, then one
 * scan per numa_scan_period, which starts at max(scan_period_min / windows, 100 ms) (windows: RSS in
 * 256 MiB units) and, at each wrap, doubles when the last pass saw no local fault or a failed migration,
 * else grows or shrinks by tenths with the ratio of private and local faults (update_task_scan_period),
 * clamped between that minimum and scan_period_max / windows. The sysctls scan_delay_ms,
 * scan_period_min_ms, scan_period_max_ms and scan_size_mb moved to debugfs in 5.13, so they are
 * constants here. The task's runtime is simulated time while it has a stream (Linux uses its CPU time).
 *
 * Not modelled: the scheduler side (preferred-node task placement, task swapping, numa groups — every
 * fault counts as private), per-VMA scan delays and PID-access filtering (vma_is_accessed), memory
 * tiering (`numa_balancing` 2 = promotion needs slow-tier nodes: values 2 and 4 are accepted and mark
 * nothing, as on a machine whose nodes are all top tier).
 */
import { KernelThread, Priority } from '../engine/engine.js';
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE, PageKind, pmdIndexOf } from './constants.js';
import { Cost } from './costs.js';
import { GFP, GFP_TRANSHUGE_LIGHT } from './gfp.js';
import { VM, type Task, type Vma } from './mm-types.js';
import { WMARK_HIGH } from './page-alloc.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn, ptePresent } from './pgtable.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** sysctl_numa_balancing_scan_delay (debugfs `numa_balancing/scan_delay_ms`). */
export const NUMA_BALANCING_SCAN_DELAY_MS = 1000;
/** sysctl_numa_balancing_scan_period_min (debugfs `scan_period_min_ms`). */
export const NUMA_BALANCING_SCAN_PERIOD_MIN_MS = 1000;
/** sysctl_numa_balancing_scan_period_max (debugfs `scan_period_max_ms`). */
export const NUMA_BALANCING_SCAN_PERIOD_MAX_MS = 60000;
/** sysctl_numa_balancing_scan_size (debugfs `scan_size_mb`). */
export const NUMA_BALANCING_SCAN_SIZE_MB = 256;
/** How often the model's stand-in for the scheduler tick looks at the running tasks, ms. */
export const NUMA_TICK_MS = 100;
/** `kernel.numa_balancing` bit of normal (non-tiering) balancing. */
export const NUMA_BALANCING_NORMAL = 1;

/** Never scan more than this many MiB per second (MAX_SCAN_WINDOW). */
const MAX_SCAN_WINDOW = 2560;
const NUMA_PERIOD_SLOTS = 10;
const NUMA_PERIOD_THRESHOLD = 7;
/** Pages of one scan (scan_size in 4 KiB pages). */
const SCAN_PAGES = NUMA_BALANCING_SCAN_SIZE_MB << 8;

/** A task's NUMA balancing state (task_struct and mm_struct fields; one task per mm in the model). */
interface NumaTaskState {
  /** Runtime while it had a stream, ms (sum_exec_runtime). */
  runtimeMs: number;
  /** Runtime at which the next scan is due (node_stamp). */
  nodeStamp: number;
  scanPeriod: number;
  /** mm->numa_next_scan: no scan before this time. */
  nextScan: number;
  /** mm->numa_scan_offset. */
  scanOffset: number;
  /** mm->numa_scan_seq: passes over the address space. */
  scanSeq: number;
  /** numa_preferred_nid (-1: none yet): the node with most faults so far. */
  preferredNid: number;
  /** numa_faults_locality: pages of remote faults, local faults, failed migrations since the last wrap. */
  readonly locality: Float64Array;
  /** Pages faulted per node (where they ended up), for the preferred node. */
  readonly faultsByNode: Float64Array;
}

/** Automatic NUMA balancing. */
export class NumaBalancing {
  private readonly thread: KernelThread;
  private readonly tasks = new WeakMap<Task, NumaTaskState>();
  /** PROT_NONE-marked PTEs: slot → the frame it mapped when marked. */
  private readonly pteMarks = new Map<number, number>();
  /** PROT_NONE-marked huge PMDs: (pid, PMD index) → the THP head it mapped when marked. */
  private readonly pmdMarks = new Map<number, number>();
  /** Per frame: (node + 1) << 8 | (pid & 0xff) of the last hinting fault (0: unset); made on first use. */
  private lastCpupid: Uint16Array | undefined;

  constructor(private readonly k: Kernel) {
    this.thread = new KernelThread('numa_balancing', k.engine, Priority.scanner, () => this.tick());
  }

  /** Whether normal NUMA balancing is on (`kernel.numa_balancing` & 1). */
  get active(): boolean {
    return (this.k.tunables.numaBalancing & NUMA_BALANCING_NORMAL) !== 0;
  }

  /** Marked entries that have not faulted yet (stale ones included until looked at). */
  get nrMarked(): number {
    return this.pteMarks.size + this.pmdMarks.size;
  }

  /** `kernel.numa_balancing` was written. */
  modeChanged(): void {
    if (this.active) {
      this.lastCpupid ??= new Uint16Array(this.k.frames.count);
      this.thread.wake(NUMA_TICK_MS);
    }
  }

  /** A task's scan state (evaluation): period (ms), passes over its address space, preferred node. */
  taskInfo(task: Task): { scanPeriodMs: number; scanSeq: number; preferredNid: number } | undefined {
    const s = this.tasks.get(task);
    return s && { scanPeriodMs: s.scanPeriod, scanSeq: s.scanSeq, preferredNid: s.preferredNid };
  }

  /** Bytes of per-frame state (last_cpupid), for the bench's bytes-per-frame figure. */
  stateBytes(): number {
    return this.lastCpupid?.byteLength ?? 0;
  }

  // ---- last_cpupid, kept in struct page by Linux --------------------------------------------------

  /** Frames were freed: their last_cpupid resets (page_cpupid_reset_last). */
  framesFreed(pfn: number, n: number): void {
    if (this.lastCpupid !== undefined) this.lastCpupid.fill(0, pfn, pfn + n);
  }

  /** Migration moved a folio: its last_cpupid goes along (folio_migrate_flags). */
  folioMigrated(from: number, to: number): void {
    if (this.lastCpupid !== undefined) this.lastCpupid[to] = this.lastCpupid[from];
  }

  // ---- the periodic scan --------------------------------------------------------------------------

  private tick(): number | null {
    if (!this.active) return null;
    const k = this.k;
    for (const t of k.tasks.values()) {
      if (t.alive && k.streams.hasStream(t.pid)) this.taskTickNuma(t);
    }
    return NUMA_TICK_MS;
  }

  private stateOf(task: Task): NumaTaskState {
    let s = this.tasks.get(task);
    if (!s) {
      s = {
        runtimeMs: 0,
        nodeStamp: 0,
        scanPeriod: NUMA_BALANCING_SCAN_DELAY_MS,
        nextScan: task.startTimeMs + NUMA_BALANCING_SCAN_DELAY_MS,
        scanOffset: 0,
        scanSeq: 0,
        preferredNid: -1,
        locality: new Float64Array(3),
        faultsByNode: new Float64Array(this.k.nodeCount),
      };
      this.tasks.set(task, s);
    }
    return s;
  }

  /** task_tick_numa: queue task_numa_work once the task has run a scan period since the last one. */
  private taskTickNuma(task: Task): void {
    const s = this.stateOf(task);
    s.runtimeMs += NUMA_TICK_MS;
    const period = s.scanPeriod;
    if (s.runtimeMs <= s.nodeStamp + period) return;
    if (s.nodeStamp === 0) s.scanPeriod = this.taskScanMin(task);
    s.nodeStamp += period;
    if (this.k.engine.now >= s.nextScan) this.taskNumaWork(task, s);
  }

  /** task_nr_scan_windows: the task's RSS in scan_size units, at least 1. */
  private scanWindows(task: Task): number {
    const rss = task.mm.rssPages || SCAN_PAGES;
    return Math.ceil(rss / SCAN_PAGES);
  }

  /** task_scan_min (= task_scan_start without numa groups). */
  private taskScanMin(task: Task): number {
    const floor = Math.floor(1000 / Math.floor(MAX_SCAN_WINDOW / NUMA_BALANCING_SCAN_SIZE_MB));
    return Math.max(floor, Math.floor(NUMA_BALANCING_SCAN_PERIOD_MIN_MS / this.scanWindows(task)));
  }

  /** task_scan_max. */
  private taskScanMax(task: Task): number {
    return Math.max(this.taskScanMin(task), Math.floor(NUMA_BALANCING_SCAN_PERIOD_MAX_MS / this.scanWindows(task)));
  }

  /** task_numa_work: marks the next scan_size of populated memory PROT_NONE. */
  private taskNumaWork(task: Task, s: NumaTaskState): void {
    const k = this.k;
    const now = k.engine.now;
    if (now < s.nextScan) return;
    s.nextScan = now + s.scanPeriod;
    let pages = SCAN_PAGES;
    let virtpages = pages * 8;
    const vmas = task.mm.vmas;
    let start = s.scanOffset;
    let i = vmas.findIndex((v) => v.end > start);
    if (i < 0) {
      this.resetScan(task, s);
      start = 0;
      i = 0;
    }
    let work = 0;
    let stopped = false;
    for (; i < vmas.length && !stopped; i++) {
      const v = vmas[i];
      if (!this.vmaScannable(task, v)) continue;
      let end: number;
      do {
        start = Math.max(start, v.start);
        end = Math.min(Math.ceil((start + pages * PAGE_SIZE) / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE, v.end);
        const r = this.changeProtNuma(task, start, end);
        work += r.examined;
        if (r.updated > 0) pages -= (end - start) / PAGE_SIZE;
        virtpages -= (end - start) / PAGE_SIZE;
        start = end;
        if (pages <= 0 || virtpages <= 0) {
          stopped = true;
          break;
        }
      } while (end !== v.end);
    }
    if (stopped) s.scanOffset = start;
    else this.resetScan(task, s);
    task.chargeSys(work * Cost.numaScanPte);
  }

  /**
   * A VMA task_numa_work looks at: migratable, accessible, and under a policy with MPOL_F_MOF — only
   * the default policy has it (shmem without a policy of its own has none).
   */
  private vmaScannable(task: Task, v: Vma): boolean {
    if (v.flags & VM.SHARED) return false;
    if (!(v.flags & (VM.READ | VM.WRITE | VM.EXEC))) return false;
    return (v.policy ?? task.mempolicy).mode === 'default';
  }

  /** reset_ptenuma_scan, and the placement pass that follows a new scan sequence. */
  private resetScan(task: Task, s: NumaTaskState): void {
    s.scanSeq++;
    s.scanOffset = 0;
    this.updateTaskScanPeriod(task, s);
    this.forgetStaleMarks();
  }

  /** Drops marks whose entry no longer maps the marked frame (unmapped, migrated, exited). */
  private forgetStaleMarks(): void {
    const k = this.k;
    for (const [slot, pfn] of this.pteMarks) if (k.pgtables.entries[slot] !== ptePresent(pfn)) this.pteMarks.delete(slot);
    for (const [key, head] of this.pmdMarks) {
      const pid = Math.floor(key / 2 ** 27);
      if (k.task(pid)?.mm.pmd.get(key - pid * 2 ** 27) !== -head - 1) this.pmdMarks.delete(key);
    }
  }

  /**
   * update_task_scan_period: no local fault or a failed migration doubles the period; otherwise it
   * changes by tenths — every fault counts as private in the model (no numa groups), so by Linux's
   * ps_ratio branch the period grows while faults keep coming.
   */
  private updateTaskScanPeriod(task: Task, s: NumaTaskState): void {
    const [remote, local, failed] = s.locality;
    const shared = 0;
    const priv = remote + local;
    if (priv > 0) {
      let best = 0;
      for (let n = 1; n < s.faultsByNode.length; n++) if (s.faultsByNode[n] > s.faultsByNode[best]) best = n;
      s.preferredNid = best;
    }
    const max = this.taskScanMax(task);
    if (local + shared === 0 || failed > 0) {
      s.scanPeriod = Math.min(max, s.scanPeriod * 2);
      s.nextScan = this.k.engine.now + s.scanPeriod;
    } else {
      const slot = Math.ceil(s.scanPeriod / NUMA_PERIOD_SLOTS);
      const lrRatio = Math.floor((local * NUMA_PERIOD_SLOTS) / (local + remote));
      const psRatio = Math.floor((priv * NUMA_PERIOD_SLOTS) / (priv + shared));
      let diff: number;
      if (psRatio >= NUMA_PERIOD_THRESHOLD) diff = (psRatio - NUMA_PERIOD_THRESHOLD || 1) * slot;
      else if (lrRatio >= NUMA_PERIOD_THRESHOLD) diff = (lrRatio - NUMA_PERIOD_THRESHOLD || 1) * slot;
      else diff = -(NUMA_PERIOD_THRESHOLD - Math.max(lrRatio, psRatio)) * slot;
      s.scanPeriod = Math.min(max, Math.max(this.taskScanMin(task), s.scanPeriod + diff));
    }
    s.locality.fill(0);
  }

  /**
   * change_prot_numa over [start, end): marks the PTEs and whole huge PMDs worth a hinting fault.
   * Returns the pages updated (512 per PMD) and the entries examined (for the cost).
   */
  private changeProtNuma(task: Task, start: number, end: number): { updated: number; examined: number } {
    const k = this.k;
    const f = k.frames;
    const mm = task.mm;
    let updated = 0;
    let huge = 0;
    let examined = 0;
    for (let pmdIdx = pmdIndexOf(start); pmdIdx * HPAGE_PMD_SIZE < end; pmdIdx++) {
      const e = mm.pmd.get(pmdIdx);
      if (e === undefined) continue;
      const base = pmdIdx * HPAGE_PMD_SIZE;
      examined++;
      if (e < 0) {
        const head = -e - 1;
        if (base < start || base + HPAGE_PMD_SIZE > end || head === k.huge.hugeZeroPfn) continue;
        const key = pmdKey(task.pid, pmdIdx);
        if (this.pmdMarks.get(key) === head) continue;
        if (k.rmap.pmdMapcount(head) > 1 || k.migration.isPinned(head) || f.has(head, PG.ksm)) continue;
        if (k.nodeOfPfn(head) === task.node) continue;
        this.pmdMarks.set(key, head);
        updated += HPAGE_PMD_NR;
        huge++;
        continue;
      }
      const first = e * PTRS_PER_PTE + (Math.max(start, base) - base) / PAGE_SIZE;
      const last = e * PTRS_PER_PTE + (Math.min(end, base + HPAGE_PMD_SIZE) - base) / PAGE_SIZE;
      for (let slot = first; slot < last; slot++) {
        const pte = k.pgtables.entries[slot];
        examined++;
        if (pte <= 0) continue;
        const pfn = ptePfn(pte);
        if (pfn === k.zeroPfn || this.pteMarks.get(slot) === pfn) continue;
        if (f.getMapcount(pfn) > 1 || f.has(pfn, PG.pinned) || f.has(pfn, PG.ksm) || f.kind(pfn) !== PageKind.Anon) continue;
        if (f.has(pfn, PG.tail) && k.rmap.pmdMapcount(f.compoundHead(pfn)) > 0) continue;
        if (k.nodeOfPfn(pfn) === task.node) continue;
        this.pteMarks.set(slot, pfn);
        updated++;
      }
    }
    if (updated > 0) k.vmstat.countVmEvent(task.node, Vm.numa_pte_updates, updated);
    if (huge > 0) k.vmstat.countVmEvent(task.node, Vm.numa_huge_pte_updates, huge);
    return { updated, examined };
  }

  // ---- hinting faults -----------------------------------------------------------------------------

  /**
   * The task accesses `addr`: if its PTE or huge PMD is marked PROT_NONE, take the NUMA hinting fault
   * first (do_numa_page / do_huge_pmd_numa_page); the access then proceeds on the restored entry.
   */
  hintFault(task: Task, addr: number): void {
    const k = this.k;
    const pmdIdx = pmdIndexOf(addr);
    const e = task.mm.pmd.get(pmdIdx);
    if (e === undefined) return;
    if (e < 0) {
      if (this.pmdMarks.size === 0) return;
      const key = pmdKey(task.pid, pmdIdx);
      const head = this.pmdMarks.get(key);
      if (head === undefined) return;
      this.pmdMarks.delete(key);
      if (head === -e - 1) this.doNumaPage(task, addr, head);
      return;
    }
    if (this.pteMarks.size === 0) return;
    const slot = e * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
    const pfn = this.pteMarks.get(slot);
    if (pfn === undefined) return;
    this.pteMarks.delete(slot);
    if (k.pgtables.entries[slot] === ptePresent(pfn)) this.doNumaPage(task, addr, pfn);
  }

  /** The hinting fault proper: count it, maybe migrate the folio to the task's node, charge the task. */
  private doNumaPage(task: Task, addr: number, pfn: number): void {
    const k = this.k;
    const f = k.frames;
    const s = this.stateOf(task);
    const head = f.compoundHead(pfn);
    const nrPages = f.has(head, PG.head) ? HPAGE_PMD_NR : 1;
    const nid = k.nodeOfPfn(head);
    const local = nid === task.node;
    k.vmstat.countVmEvent(task.node, Vm.numa_hint_faults);
    if (local) k.vmstat.countVmEvent(task.node, Vm.numa_hint_faults_local);
    let cost = Cost.numaHintFault;
    let endNid = nid;
    let failed = false;
    // mpol_misplaced: only the default policy (MPOL_F_MORON) moves memory towards the faulting CPU.
    const policy = task.mm.findVma(addr)?.policy ?? task.mempolicy;
    if (policy.mode === 'default' && this.shouldMigrate(task, s, head) && !local) {
      const r = this.migrateMisplaced(task, head, nrPages, task.node);
      cost += r.costMs;
      if (r.ok) endNid = task.node;
      else failed = true;
    }
    s.locality[local ? 1 : 0] += nrPages;
    if (failed) s.locality[2] += nrPages;
    s.faultsByNode[endNid] += nrPages;
    task.stall('numaHint', cost);
  }

  /**
   * should_numa_migrate_memory: records this fault in the folio's last_cpupid and decides. Early in the
   * task's life (no preferred node, or at most 4 passes) a first or same-task fault migrates at once;
   * later the previous fault must have come from this node (the two-stage filter).
   */
  private shouldMigrate(task: Task, s: NumaTaskState, head: number): boolean {
    const cpupids = (this.lastCpupid ??= new Uint16Array(this.k.frames.count));
    const last = cpupids[head];
    cpupids[head] = ((task.node + 1) << 8) | (task.pid & 0xff);
    const unset = last === 0;
    const samePid = !unset && (last & 0xff) === (task.pid & 0xff);
    if ((s.preferredNid < 0 || s.scanSeq <= 4) && (unset || samePid)) return true;
    if (!unset && (last >> 8) - 1 !== task.node) return false;
    // A private fault, or a shared one without a numa group (none in the model): migrate.
    return true;
  }

  /**
   * migrate_misplaced_folio: to `target` if it stays above its high watermark after the move, with an
   * allocation that neither reclaims nor falls back (and, for a THP, no split).
   */
  private migrateMisplaced(task: Task, head: number, nrPages: number, target: number): { ok: boolean; costMs: number } {
    const k = this.k;
    const zone = k.zones[target];
    if (!k.buddy.watermarkOk(zone, 0, zone.wmark(WMARK_HIGH) + nrPages)) return { ok: false, costMs: 0 };
    if (k.frames.has(head, PG.isolated)) return { ok: false, costMs: 0 };
    const r = k.migration.migratePage(
      head,
      (order) =>
        k.allocator.allocPages({
          order,
          kind: PageKind.Anon,
          gfp: order > 0 ? GFP_TRANSHUGE_LIGHT | GFP.THISNODE : GFP.MOVABLE | GFP.THISNODE | GFP.NORETRY,
          nodes: [target],
          task,
          mayFallBack: false,
        }),
      'numa',
    );
    if (r.ok) k.vmstat.countVmEvent(target, Vm.numa_pages_migrated, nrPages);
    return r;
  }
}

/** The key of a huge PMD mark: pid and PMD index (< 2^26 below 128 TiB) in one safe integer. */
function pmdKey(pid: number, pmdIdx: number): number {
  return pid * 2 ** 27 + pmdIdx;
}
