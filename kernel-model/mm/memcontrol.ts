/**
 * Memory cgroups, cgroup v2 (Linux mm/memcontrol.c and mm/page_counter.c, reduced to anonymous memory).
 *
 * ## The hierarchy
 * A cgroup is a path under /sys/fs/cgroup: `/` is the root, `/a/b` a grandchild. Each has a small id
 * (1 is the root, 2–255 the others), and every frame records the id of the memcg it is charged to in
 * `ids` (one byte per frame; 0 = not charged). Tasks name their cgroup by path (`Task.cgroup`).
 *
 *            root (1)              usage counts every charged page below it (page_counter)
 *           /        \
 *       /a (2)      /b (3)         memory.max, memory.high per cgroup; a charge must fit every ancestor
 *         |
 *      /a/x (4)                    rmdir'd with pages still charged → a zombie: offline, id kept until
 *                                  its last page is uncharged (as Linux's dying memcgs)
 *
 * ## What is charged (mem_cgroup_charge)
 * Anonymous pages of user processes, to the memcg of the task whose fault (or collapse) allocated them:
 * 4 KiB faults (first write, copy-on-write, swap-in) and THPs (fault and collapse). Not charged: page
 * tables, the zero pages, the page cache and kernel allocations (the model's consumers without a task).
 * A page stays charged to that memcg until it is freed (`uncharge`, called by PageAllocator.freePages,
 * the one place every frame is freed): moving a task to another cgroup leaves its charges behind (cgroup
 * v2's default), a fork-shared page stays with the memcg that allocated it, and migration moves the
 * charge with the contents (`migrate`). A swapped-out page is freed, so it is uncharged; the model keeps
 * no memory.swap.* accounting; swap-in charges again.
 *
 * ## Charging against the limits (try_charge_memcg)
 *
 *   charge n pages ──► every ancestor fits usage + n ≤ max? ──yes──► commit; over memory.high? → batch
 *        ▲                      │ no: memory.events max +1 (the cgroup over its limit)
 *        │                      ▼
 *        └── retry ◄── reclaim within that cgroup (the clock sweeps only its subtree's frames)
 *                        up to MAX_RECLAIM_RETRIES rounds without success, then, for orders ≤ 3 only,
 *                        the memcg OOM killer (oom, oom_kill) kills the largest task of that subtree
 *                        and the rounds start again; THPs just fail (the fault falls back to 4 KiB)
 *
 * Without __GFP_DIRECT_RECLAIM a charge over the limit fails at once (no reclaim, no `max` event), as a
 * THP fault under defrag=never does; with __GFP_NORETRY it gives up after one round.
 *
 * ## memory.high (mem_cgroup_handle_over_high)
 * Linux charges from a per-CPU stock of MEMCG_CHARGE_BATCH (64) pages and checks memory.high when it
 * refills the stock, so a task over high is dealt with once per 64 pages it charges: it reclaims within
 * the cgroups over high (memory.events high +1 each), and if reclaim cannot bring usage down it sleeps a
 * penalty that grows with the square of the overage (at most 2 s per batch). The model keeps the batch
 * per task instead of per CPU, and runs the handler right after the charge rather than on the return
 * to user space.
 *
 * ## Costs
 * Reclaim for a limit and the memory.high penalty are charged to the task as `memcgThrottle` stalls (so
 * they can be told apart from `directReclaim`, the machine running short) and count in PSI.
 *
 * ## Invariants (test/support/kernel-invariants.ts checks them)
 * - `usage` of a memcg = frames whose id is that memcg or one of its descendants (zombies included);
 * - a free frame has id 0; every charged frame is an in-use anonymous page;
 * - `localThps` of a memcg = compound THP heads charged to it (not its descendants).
 */
import { HPAGE_PMD_NR, PAGE_ALLOC_COSTLY_ORDER, PAGE_SIZE } from './constants.js';
import { GFP, GFP_KERNEL, GFP_TRANSHUGE } from './gfp.js';
import type { Task } from './mm-types.js';
import { MemcgEvent, MemcgMemoryEvent, NR_MEMCG_EVENTS, NR_MEMCG_MEMORY_EVENTS } from './memcontrol-items.js';
import { PG } from './page-flags.js';
import { SWAP_CLUSTER_MAX } from './vmscan.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** The largest page count a page_counter holds (LONG_MAX / PAGE_SIZE): what `max` means. */
export const PAGE_COUNTER_MAX = Math.floor((2 ** 63 - 1) / PAGE_SIZE);
/** Reclaim rounds without progress before a charge gives up or invokes the OOM killer. */
const MAX_RECLAIM_RETRIES = 16;
/** Pages a CPU's charge stock holds; memory.high is checked once per this many charged pages. */
export const MEMCG_CHARGE_BATCH = 64;
/** The longest memory.high penalty per batch, ms (MEMCG_MAX_HIGH_DELAY_JIFFIES at HZ=1000). */
const MEMCG_MAX_HIGH_DELAY_MS = 2000;
/** Penalties up to this are not worth sleeping (HZ / 100). */
const MEMCG_MIN_HIGH_DELAY_MS = 10;
const MEMCG_DELAY_PRECISION_SHIFT = 20;
const MEMCG_DELAY_SCALING_SHIFT = 14;
/** Ids are one byte per frame; 0 means "not charged". */
const MAX_MEMCG_ID = 255;
const ROOT_ID = 1;

/** One memory cgroup (struct mem_cgroup). */
export class MemCgroup {
  /** Pages charged to this memcg and its descendants (page_counter usage, hierarchical). */
  usage = 0;
  /** memory.max in pages. */
  max = PAGE_COUNTER_MAX;
  /** memory.high in pages. */
  high = PAGE_COUNTER_MAX;
  /** Times a charge found this counter at its max (page_counter failcnt). */
  failcnt = 0;
  /** Compound THPs charged to this memcg itself (not its descendants). */
  localThps = 0;
  /** VM events of this memcg and its descendants ({@link MemcgEvent}). */
  readonly events = new Float64Array(NR_MEMCG_EVENTS);
  /** memory.events: this memcg and its descendants. */
  readonly memoryEvents = new Float64Array(NR_MEMCG_MEMORY_EVENTS);
  /** memory.events.local: this memcg only. */
  readonly memoryEventsLocal = new Float64Array(NR_MEMCG_MEMORY_EVENTS);
  /** Online children (rmdir'd ones are dropped here but keep their `parent`). */
  readonly children = new Map<string, MemCgroup>();
  /** False once rmdir'd: a zombie until its last charged page is gone. */
  online = true;

  constructor(
    readonly id: number,
    /** The cgroup path, `/` for the root. */
    readonly path: string,
    readonly parent: MemCgroup | undefined,
  ) {}

  /** Pages that can still be charged before this memcg or an ancestor hits memory.max. */
  margin(): number {
    const own = Math.max(0, this.max - this.usage);
    return this.parent ? Math.min(own, this.parent.margin()) : own;
  }

  /** Whether `this` is `ancestor` or below it. */
  isDescendantOf(ancestor: MemCgroup): boolean {
    return this === ancestor || (this.parent !== undefined && this.parent.isDescendantOf(ancestor));
  }
}

/** The memory controller of the machine. */
export class MemControl {
  /** Per frame: the id of the memcg the page is charged to, 0 if none. */
  readonly ids: Uint8Array;
  readonly root: MemCgroup;
  /** Every memcg that holds an id, online or zombie, by id. */
  private readonly byId: (MemCgroup | undefined)[] = new Array<MemCgroup | undefined>(MAX_MEMCG_ID + 1).fill(undefined);
  /** Online memcgs by path. */
  private readonly byPath = new Map<string, MemCgroup>();
  /** Pages each task charged since memory.high was last dealt with (memcg_nr_pages_over_high). */
  private readonly overHigh = new WeakMap<Task, number>();
  /** Pages each task charged since its last look at memory.high (the model's per-task charge stock). */
  private readonly stock = new WeakMap<Task, number>();
  /** Reclaim filters by memcg; emptied whenever a memcg comes or goes. */
  private readonly masks = new Map<MemCgroup, Uint8Array>();

  constructor(private readonly k: Kernel) {
    this.ids = new Uint8Array(k.frames.count);
    this.root = new MemCgroup(ROOT_ID, '/', undefined);
    this.byId[ROOT_ID] = this.root;
    this.byPath.set('/', this.root);
  }

  /** Bytes of per-frame state (for Kernel.physicalStateBytes). */
  stateBytes(): number {
    return this.ids.byteLength;
  }

  // ---- the hierarchy --------------------------------------------------------------------------------

  /** The online memcg at a cgroup path (`/`, `/a/b`), or undefined. */
  lookup(path: string): MemCgroup | undefined {
    return this.byPath.get(path);
  }

  /** The memcg by id (zombies included), or undefined. */
  byIdOf(id: number): MemCgroup | undefined {
    return this.byId[id];
  }

  /** Every memcg holding an id (online and zombie), root first, by id. */
  all(): MemCgroup[] {
    return this.byId.filter((c): c is MemCgroup => c !== undefined);
  }

  /** The memcg of a task (the root if its path is somehow gone). */
  memcgOf(task: Task): MemCgroup {
    return this.byPath.get(task.cgroup) ?? this.root;
  }

  /** The memcg a page is charged to, or undefined. */
  memcgOfPage(pfn: number): MemCgroup | undefined {
    const id = this.ids[pfn];
    return id === 0 ? undefined : this.byId[id];
  }

  /**
   * mkdir of a cgroup: EEXIST, ENOENT (no parent), EINVAL (a newline in the name), EBUSY (no memcg id
   * left: xa_alloc's answer on 6.18; the model has 254 ids, Linux 65535).
   */
  mkdir(path: string): MemCgroup {
    if (this.byPath.has(path)) throw new SyscallError('EEXIST', 'mkdir', cgroupDir(path));
    const cut = path.lastIndexOf('/');
    const parent = this.byPath.get(cut === 0 ? '/' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    if (!parent) throw new SyscallError('ENOENT', 'mkdir', cgroupDir(path));
    if (name.includes('\n')) throw new SyscallError('EINVAL', 'mkdir', cgroupDir(path));
    const id = this.byId.findIndex((c, i) => i > ROOT_ID && c === undefined);
    if (id < 0) throw new SyscallError('EBUSY', 'mkdir', `${cgroupDir(path)}: all ${MAX_MEMCG_ID - 1} memcg ids are in use`);
    const cg = new MemCgroup(id, path, parent);
    this.byId[id] = cg;
    this.masks.clear();
    this.byPath.set(path, cg);
    parent.children.set(name, cg);
    return cg;
  }

  /**
   * rmdir of a cgroup: ENOENT if missing, EBUSY for the root (a mount point) or a cgroup with live
   * tasks or child cgroups. Pages still charged to it keep it as an offline zombie.
   */
  rmdir(path: string): void {
    const cg = this.byPath.get(path);
    if (!cg) throw new SyscallError('ENOENT', 'rmdir', cgroupDir(path));
    if (cg === this.root) throw new SyscallError('EBUSY', 'rmdir', `${cgroupDir(path)} is a mount point`);
    if (cg.children.size > 0) throw new SyscallError('EBUSY', 'rmdir', `${cgroupDir(path)} has child cgroups`);
    if (this.tasksIn(cg, false).length > 0) throw new SyscallError('EBUSY', 'rmdir', `${cgroupDir(path)} has tasks`);
    this.byPath.delete(path);
    cg.parent!.children.delete(path.slice(path.lastIndexOf('/') + 1));
    cg.online = false;
    this.releaseIfDead(cg);
  }

  /** Live tasks of a memcg, by pid; with `subtree`, of its descendants too. */
  tasksIn(cg: MemCgroup, subtree: boolean): Task[] {
    const out: Task[] = [];
    for (const t of this.k.tasks.values()) {
      if (!t.alive) continue;
      const tc = this.byPath.get(t.cgroup);
      if (tc === cg || (subtree && tc !== undefined && tc.isDescendantOf(cg))) out.push(t);
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  /** Moves a task to another cgroup (a write to cgroup.procs); its charges stay where they are. */
  attach(task: Task, cg: MemCgroup): void {
    task.cgroup = cg.path;
  }

  /** Frees the id of a zombie with nothing charged any more. */
  private releaseIfDead(cg: MemCgroup): void {
    for (let c: MemCgroup | undefined = cg; c && !c.online && c.usage === 0; c = c.parent) {
      this.byId[c.id] = undefined;
      this.masks.clear();
    }
  }

  // ---- events ---------------------------------------------------------------------------------------

  /** Counts a VM event for a memcg and its ancestors (count_memcg_events). */
  countEvent(cg: MemCgroup, event: MemcgEvent, n = 1): void {
    for (let c: MemCgroup | undefined = cg; c; c = c.parent) c.events[event] += n;
  }

  /** Counts a VM event for the memcg of a task (count_memcg_event_mm). */
  countTaskEvent(task: Task, event: MemcgEvent, n = 1): void {
    this.countEvent(this.memcgOf(task), event, n);
  }

  /** Counts a VM event for the memcg a page is charged to, if any (count_memcg_folio_events). */
  countPageEvent(pfn: number, event: MemcgEvent, n = 1): void {
    const id = this.ids[pfn];
    if (id !== 0) this.countEvent(this.byId[id]!, event, n);
  }

  /** memcg_memory_event: counts for the memcg (local and hierarchical) and its non-root ancestors. */
  memoryEvent(cg: MemCgroup, event: MemcgMemoryEvent): void {
    cg.memoryEventsLocal[event]++;
    for (let c: MemCgroup | undefined = cg; c && c !== this.root; c = c.parent) c.memoryEvents[event]++;
  }

  // ---- charging -------------------------------------------------------------------------------------

  /**
   * mem_cgroup_charge of a new order-0 anonymous page (GFP_KERNEL: reclaim, then the memcg OOM killer).
   * True when charged; false when the charge failed, which for a fault means the OOM killer has killed
   * the faulting task (`task.alive` is then false). The caller frees the page on failure.
   */
  chargeAnon(task: Task, pfn: number): boolean {
    const cg = this.memcgOf(task);
    if (!this.tryCharge(cg, 1, GFP_KERNEL, task)) return false;
    this.ids[pfn] = cg.id;
    this.afterCharge(task, cg, 1, 1);
    return true;
  }

  /** Pages `task` may charge at once without reclaim (for the bulk fault path). */
  marginOf(task: Task): number {
    return this.memcgOf(task).margin();
  }

  /**
   * Charges `n` fresh order-0 pages of the bulk fault path, which asked `marginOf` first, so they fit
   * without reclaim.
   */
  chargeBulk(task: Task, pfns: Int32Array, n: number): void {
    const cg = this.memcgOf(task);
    if (this.chargeCounters(cg, n) !== undefined) this.forceCharge(cg, n);
    for (let i = 0; i < n; i++) this.ids[pfns[i]] = cg.id;
    this.afterCharge(task, cg, n, 1);
  }

  /**
   * The memcg charge of a THP fault (vma_alloc_anon_folio_pmd): `gfp` is the fault's THP mask, so it
   * reclaims only where the defrag mode lets the fault reclaim, and it never invokes the OOM killer. On
   * success counts the memcg's thp_fault_alloc; on failure the caller frees the page and falls back.
   */
  chargeFaultThp(task: Task, head: number, gfp: number): boolean {
    if (!this.chargeThp(task, head, gfp)) return false;
    this.countTaskEvent(task, MemcgEvent.thp_fault_alloc);
    return true;
  }

  /**
   * The memcg charge of a THP made by collapse (alloc_charge_folio in mm/khugepaged.c), for the collapse
   * code to call right after it counted `thp_collapse_alloc` in /proc/vmstat: charges the freshly
   * allocated THP headed by `head` to the memcg of `task` — the process whose range is collapsed (its
   * mm), not the caller of MADV_COLLAPSE. `gfp` is the collapse allocation's mask (GFP_TRANSHUGE for
   * MADV_COLLAPSE; khugepaged's follows khugepaged/defrag): over memory.max it reclaims within the
   * cgroup if the mask allows, and never OOM-kills. Returns false when the charge failed — the caller
   * frees the page and reports SCAN_CGROUP_CHARGE_FAIL (EBUSY for MADV_COLLAPSE). On success the
   * memcg's thp_collapse_alloc counts, and the THP shows in memory.stat's anon_thp; the small pages it
   * replaces are uncharged when they are freed.
   */
  tryChargeThp(task: Task, head: number, gfp: number = GFP_TRANSHUGE): boolean {
    if (!this.chargeThp(task, head, gfp)) return false;
    this.countTaskEvent(task, MemcgEvent.thp_collapse_alloc);
    return true;
  }

  private chargeThp(task: Task, head: number, gfp: number): boolean {
    const cg = this.memcgOf(task);
    if (!this.tryCharge(cg, HPAGE_PMD_NR, gfp, task)) return false;
    this.ids.fill(cg.id, head, head + HPAGE_PMD_NR);
    cg.localThps++;
    this.afterCharge(task, cg, HPAGE_PMD_NR, HPAGE_PMD_NR);
    return true;
  }

  /**
   * mem_cgroup_uncharge: the frames [pfn, pfn + n) are being freed. Called by PageAllocator.freePages
   * for every free, so it must be cheap for frames never charged.
   */
  uncharge(pfn: number, n: number): void {
    const ids = this.ids;
    if (n === 1) {
      const id = ids[pfn];
      if (id === 0) return;
      ids[pfn] = 0;
      this.unchargeCounters(this.byId[id]!, 1);
      return;
    }
    if (n === HPAGE_PMD_NR && ids[pfn] !== 0 && this.k.frames.has(pfn, PG.head)) this.byId[ids[pfn]]!.localThps--;
    for (let i = 0; i < n; ) {
      const id = ids[pfn + i];
      let run = 1;
      while (i + run < n && ids[pfn + i + run] === id) run++;
      if (id !== 0) {
        ids.fill(0, pfn + i, pfn + i + run);
        this.unchargeCounters(this.byId[id]!, run);
      }
      i += run;
    }
  }

  /** mem_cgroup_migrate: migration copied [from, from + n) to [to, to + n); the charge goes along. */
  migrate(from: number, to: number, n: number): void {
    const ids = this.ids;
    for (let i = 0; i < n; i++) {
      ids[to + i] = ids[from + i];
      ids[from + i] = 0;
    }
  }

  /** A charged THP was split into small pages: they stay charged, but it no longer counts as anon_thp. */
  splitThp(head: number): void {
    const id = this.ids[head];
    if (id !== 0) this.byId[id]!.localThps--;
  }

  /**
   * try_charge_memcg: charges `nr` pages to `cg` and its ancestors, reclaiming within the cgroup that is
   * over its limit and, for small orders, invoking the memcg OOM killer. True when charged.
   */
  private tryCharge(cg: MemCgroup, nr: number, gfp: number, task: Task): boolean {
    let retries = MAX_RECLAIM_RETRIES;
    let passedOom = false;
    let drained = false;
    for (;;) {
      if (!task.alive) return false;
      const over = this.chargeCounters(cg, nr);
      if (over === undefined) return true;
      if (!(gfp & GFP.DIRECT_RECLAIM)) return false;
      this.memoryEvent(over, MemcgMemoryEvent.max);
      const reclaimed = this.reclaim(over, nr, task);
      if (over.max - over.usage >= nr) continue;
      // drain_all_stock: the model has no per-CPU stock to drain, but Linux tries once more after it.
      if (!drained) {
        drained = true;
        continue;
      }
      if (gfp & GFP.NORETRY) return false;
      // Reclaim made progress: retry the charge before killing anything (small pages only).
      if (reclaimed > 0 && nr <= 1 << PAGE_ALLOC_COSTLY_ORDER) continue;
      if (retries-- > 0) continue;
      if (gfp & GFP.RETRY_MAYFAIL) return false;
      if (passedOom && !task.alive) return false;
      if (this.outOfMemory(over, orderOf(nr), task)) {
        passedOom = true;
        retries = MAX_RECLAIM_RETRIES;
        continue;
      }
      return false;
    }
  }

  /**
   * page_counter_try_charge up the hierarchy: charges all or nothing; returns undefined when charged,
   * else the memcg whose memory.max would be exceeded (its failcnt counts).
   */
  private chargeCounters(cg: MemCgroup, nr: number): MemCgroup | undefined {
    for (let c: MemCgroup | undefined = cg; c; c = c.parent) {
      if (c.usage + nr > c.max) {
        c.failcnt++;
        for (let u: MemCgroup | undefined = cg; u !== c; u = u!.parent) u!.usage -= nr;
        return c;
      }
      c.usage += nr;
    }
    return undefined;
  }

  /** page_counter_charge: charges regardless of the limits. */
  private forceCharge(cg: MemCgroup, nr: number): void {
    for (let c: MemCgroup | undefined = cg; c; c = c.parent) c.usage += nr;
  }

  private unchargeCounters(cg: MemCgroup, nr: number): void {
    for (let c: MemCgroup | undefined = cg; c; c = c.parent) c.usage -= nr;
    if (!cg.online) this.releaseIfDead(cg);
  }

  // ---- memory.high ----------------------------------------------------------------------------------

  /**
   * After a charge: Linux serves small charges from a per-CPU stock and looks at memory.high only when
   * it refills the stock, once per MEMCG_CHARGE_BATCH pages; a larger charge (a THP) bypasses the stock
   * and is looked at on its own. If the memcg or an ancestor is then over memory.high, the task owes
   * that batch and deals with it at once. `folioPages` is 1 for small pages, 512 for a THP.
   */
  private afterCharge(task: Task, cg: MemCgroup, nr: number, folioPages: number): void {
    let batches: number;
    let batch: number;
    if (folioPages > MEMCG_CHARGE_BATCH) {
      batches = 1;
      batch = nr;
    } else {
      const stock = (this.stock.get(task) ?? 0) + nr;
      this.stock.set(task, stock % MEMCG_CHARGE_BATCH);
      batches = Math.floor(stock / MEMCG_CHARGE_BATCH);
      batch = MEMCG_CHARGE_BATCH;
    }
    for (let i = 0; i < batches && task.alive; i++) {
      let over = false;
      for (let c: MemCgroup | undefined = cg; c && !over; c = c.parent) over = c.usage > c.high;
      if (!over) return;
      this.overHigh.set(task, (this.overHigh.get(task) ?? 0) + batch);
      this.handleOverHigh(task);
    }
  }

  /**
   * mem_cgroup_handle_over_high: reclaim within every cgroup of the task's hierarchy that is over
   * memory.high; if usage stays above it, sleep a penalty (memcgThrottle) that grows with the square
   * of the largest overage and with the pages the task charged.
   */
  private handleOverHigh(task: Task): void {
    const nrPages = this.overHigh.get(task) ?? 0;
    if (nrPages === 0) return;
    this.overHigh.set(task, 0);
    const cg = this.memcgOf(task);
    let retries = MAX_RECLAIM_RETRIES;
    let inRetry = false;
    for (;;) {
      if (!task.alive) return;
      const reclaimed = this.reclaimHigh(cg, inRetry ? SWAP_CLUSTER_MAX : nrPages, task);
      const penaltyMs = Math.min(highDelayMs(nrPages, this.maxOverage(cg)), MEMCG_MAX_HIGH_DELAY_MS);
      if (penaltyMs <= MEMCG_MIN_HIGH_DELAY_MS) return;
      if (reclaimed > 0 || retries-- > 0) {
        inRetry = true;
        continue;
      }
      task.stall('memcgThrottle', penaltyMs);
      this.k.psi.memstall(task, penaltyMs);
      return;
    }
  }

  /** reclaim_high: reclaims `nr` pages in each non-root cgroup from `cg` up that is over memory.high. */
  private reclaimHigh(cg: MemCgroup, nr: number, task: Task | undefined): number {
    let reclaimed = 0;
    for (let c: MemCgroup | undefined = cg; c && c !== this.root; c = c.parent) {
      if (c.usage <= c.high) continue;
      this.memoryEvent(c, MemcgMemoryEvent.high);
      reclaimed += this.reclaim(c, nr, task);
    }
    return reclaimed;
  }

  /** mem_find_max_overage: the largest (usage − high) / high of the non-root cgroups from `cg` up, << 20. */
  private maxOverage(cg: MemCgroup): number {
    let max = 0;
    for (let c: MemCgroup | undefined = cg; c && c !== this.root; c = c.parent) {
      if (c.usage <= c.high) continue;
      const high = Math.max(c.high, 1);
      max = Math.max(max, Math.floor(((c.usage - high) * 2 ** MEMCG_DELAY_PRECISION_SHIFT) / high));
    }
    return max;
  }

  // ---- reclaim and OOM ------------------------------------------------------------------------------

  /**
   * try_to_free_mem_cgroup_pages: reclaims at least max(nr, SWAP_CLUSTER_MAX) pages charged to `cg` or
   * its descendants, node by node from the task's; the time is the task's memcgThrottle stall.
   * Returns the pages reclaimed.
   */
  private reclaim(cg: MemCgroup, nr: number, task: Task | undefined): number {
    const r = this.shrink(cg, nr, task?.node ?? 0);
    task?.stall('memcgThrottle', r.costMs);
    this.k.psi.memstall(task, r.costMs);
    return r.reclaimed;
  }

  /** The reclaim itself: the clock of each node, nearest first, sweeps only the subtree's frames. */
  private shrink(cg: MemCgroup, nr: number, fromNode: number): { reclaimed: number; costMs: number } {
    const want = Math.max(nr, SWAP_CLUSTER_MAX);
    const mask = this.subtreeMask(cg);
    let reclaimed = 0;
    let costMs = 0;
    for (const node of this.k.nodeOrder(fromNode)) {
      const r = this.k.vmscan.shrinkNode(node, want - reclaimed, 'memcg', mask);
      reclaimed += r.reclaimed;
      costMs += r.costMs;
      if (reclaimed >= want) break;
    }
    return { reclaimed, costMs };
  }

  /** Per memcg id: 1 if that memcg is `cg` or below it (the reclaim filter), cached until the tree changes. */
  private subtreeMask(cg: MemCgroup): Uint8Array {
    let mask = this.masks.get(cg);
    if (mask) return mask;
    mask = new Uint8Array(MAX_MEMCG_ID + 1);
    for (const c of this.byId) if (c && c.isDescendantOf(cg)) mask[c.id] = 1;
    this.masks.set(cg, mask);
    return mask;
  }

  /**
   * mem_cgroup_oom: for orders ≤ PAGE_ALLOC_COSTLY_ORDER, counts `oom` and kills the task of `cg`'s
   * subtree with the largest badness. True when a task was killed (or the charge now fits).
   */
  private outOfMemory(cg: MemCgroup, order: number, trigger: Task | undefined): boolean {
    if (order > PAGE_ALLOC_COSTLY_ORDER) return false;
    this.memoryEvent(cg, MemcgMemoryEvent.oom);
    if (cg.max - cg.usage >= 1 << order) return true;
    return this.oomKill(cg, order, trigger);
  }

  /** mem_cgroup_out_of_memory: the OOM killer restricted to `cg`'s subtree; true if it killed. */
  private oomKill(cg: MemCgroup, order: number, trigger: Task | undefined): boolean {
    const oc = { path: cg.path, usageKb: cg.usage * 4, limitKb: cg.max * 4, failcnt: cg.failcnt, candidates: this.tasksIn(cg, true) };
    return this.k.oom.memcgOutOfMemory(oc, order, trigger) !== undefined;
  }

  // ---- limits ---------------------------------------------------------------------------------------

  /**
   * A write to memory.max: the new limit holds at once; then reclaim (paid by `writer`) brings usage
   * under it, and when reclaim gives up the memcg OOM killer kills tasks until it fits or none is left.
   */
  setMax(cg: MemCgroup, pages: number, writer: Task | undefined): void {
    cg.max = pages;
    let retries = MAX_RECLAIM_RETRIES;
    while (cg.usage > cg.max) {
      if (retries > 0) {
        if (this.reclaimBy(cg, cg.usage - cg.max, writer) === 0) retries--;
        continue;
      }
      this.memoryEvent(cg, MemcgMemoryEvent.oom);
      if (!this.oomKill(cg, 0, writer)) return;
    }
  }

  /** A write to memory.high: the new value holds; reclaim (paid by `writer`) tries to get under it. */
  setHigh(cg: MemCgroup, pages: number, writer: Task | undefined): void {
    cg.high = pages;
    let retries = MAX_RECLAIM_RETRIES;
    while (cg.usage > cg.high) {
      if (this.reclaimBy(cg, cg.usage - cg.high, writer) === 0 && retries-- <= 0) return;
    }
  }

  /** Reclaim done by the writer of a control file: the writer's system time (and a PSI stall). */
  private reclaimBy(cg: MemCgroup, nr: number, writer: Task | undefined): number {
    const r = this.shrink(cg, nr, writer?.node ?? 0);
    writer?.chargeSys(r.costMs);
    this.k.psi.memstall(writer, r.costMs);
    return r.reclaimed;
  }
}

/** The path of a cgroup's directory. */
export function cgroupDir(path: string): string {
  return path === '/' ? CGROUP_ROOT : `${CGROUP_ROOT}${path}`;
}

/** Where the cgroup v2 hierarchy is mounted. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/** get_order(nr * PAGE_SIZE). */
function orderOf(nr: number): number {
  let order = 0;
  while (1 << order < nr) order++;
  return order;
}

/** calculate_high_delay at HZ=1000 (jiffies are ms): the penalty for `nrPages` charged at `overage`. */
function highDelayMs(nrPages: number, overage: number): number {
  if (overage === 0) return 0;
  const penalty = Math.floor(Math.floor((overage * overage * 1000) / 2 ** MEMCG_DELAY_PRECISION_SHIFT) / 2 ** MEMCG_DELAY_SCALING_SHIFT);
  return Math.floor((penalty * nrPages) / MEMCG_CHARGE_BATCH);
}
