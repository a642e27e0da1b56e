/**
 * Page faults and page-table maintenance for anonymous memory (Linux mm/memory.c): the 4 KiB fault
 * paths, copy-on-write, swap-in, unmapping (munmap, MADV_DONTNEED, exit), and swap-out of one page for
 * reclaim. THP-specific paths live in huge-memory.ts and are called from here.
 *
 * Fault paths for one 4 KiB page (handle_pte_fault):
 *   no PTE table    → allocate the table (an unmovable page-table page)
 *   PTE none        → read: map the zero page | write: allocate, zero, map (anon_vma made on first write);
 *                     on a machine without zero-page faults (`noZeroPage`) a read allocates as a write does
 *   PTE zero page   → write: allocate a new page (COW from the zero page)
 *   PTE present     → write to a page mapped elsewhere too (after fork) or to a KSM page: copy (COW)
 *   PTE swap entry  → major fault: allocate, read from swap, map
 * Every fault charges its cost as system time to the faulting task; a fault that cannot get memory
 * after reclaim (and OOM) kills the task, as the kernel's OOM path does.
 */
import { HPAGE_PMD_NR, PAGE_SIZE, PageKind, pmdIndexOf } from './constants.js';
import { Cost } from './costs.js';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from './gfp.js';
import { MemcgEvent } from './memcontrol-items.js';
import { policyAllowsFallback, policyNodeOrder } from './mempolicy.js';
import { VM, type MmStruct, type Task, type Vma } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn, ptePresent, pteSwap, pteSwapSlot } from './pgtable.js';
import { Vm } from './vmstat.js';
import { WMARK_LOW } from './page-alloc.js';
import type { Kernel } from '../kernel.js';

/** Outcome of a fault. */
export type FaultResult = 'ok' | 'oom';

let anonVmaIds = 1;

/** Faults and page tables. */
export class Memory {
  constructor(private readonly k: Kernel) {}

  /** Gives the VMA an anon_vma if it has none (anon_vma_prepare). */
  anonVmaPrepare(vma: Vma): void {
    if (vma.anonVma === 0) vma.anonVma = anonVmaIds++;
  }

  /** The nodes an allocation at `addr` may use, in order, under the task's and the VMA's policy. */
  policyNodes(task: Task, vma: Vma, addr: number, order: number): readonly number[] {
    const policy = vma.policy ?? task.mempolicy;
    const ilx = Math.floor((addr - vma.start) / (PAGE_SIZE << order));
    return policyNodeOrder(policy, task.node, this.k.distances, ilx);
  }

  /** The PTE table of `pmdIdx`, allocating it when asked; -1 when there is none (or no memory). */
  pteTable(task: Task, pmdIdx: number, alloc: boolean): number {
    const mm = task.mm;
    const e = mm.pmd.get(pmdIdx);
    if (e !== undefined) return e >= 0 ? e : -1;
    if (!alloc) return -1;
    const k = this.k;
    const pfn = k.allocator.allocPages({ order: 0, kind: PageKind.PageTable, gfp: GFP_KERNEL, nodes: [task.node], task });
    if (pfn < 0) return -1;
    const t = k.pgtables.alloc(task.pid, pmdIdx, pfn);
    mm.pmd.set(pmdIdx, t);
    mm.ptePages++;
    k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_page_table_pages, 1);
    task.chargeSys(Cost.pageTable);
    return t;
  }

  /** Frees an empty PTE table (free_pte_range). */
  freePteTable(mm: MmStruct, pmdIdx: number): void {
    const k = this.k;
    const t = mm.pmd.get(pmdIdx);
    if (t === undefined || t < 0) return;
    const pfn = k.pgtables.backingFrame(t);
    k.pgtables.release(t);
    mm.pmd.delete(pmdIdx);
    mm.ptePages--;
    k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_page_table_pages, -1);
    k.allocator.freePages(pfn, 0);
  }

  /**
   * One access by `task` to the 4 KiB page at `addr` inside `vma` (permissions already checked).
   * `content` is the value written (ignored for reads). Charges the task; returns the outcome.
   */
  access(task: Task, vma: Vma, addr: number, write: boolean, content: number): FaultResult {
    const before = task.faultClockMs();
    const r = this.accessPage(task, vma, addr, write, content);
    // An access that took time was a fault (a present page's hit costs the kernel nothing).
    const took = task.faultClockMs() - before;
    if (took > 0) task.recordFault(took);
    return r;
  }

  private accessPage(task: Task, vma: Vma, addr: number, write: boolean, content: number): FaultResult {
    const k = this.k;
    if (k.numaBalancing.nrMarked > 0) k.numaBalancing.hintFault(task, addr);
    const pmdIdx = pmdIndexOf(addr);
    let e = task.mm.pmd.get(pmdIdx);
    if (e === undefined) {
      const huge = k.huge.tryHugeFault(task, vma, pmdIdx, addr, write, content);
      if (huge !== 'fallback') return huge;
      e = task.mm.pmd.get(pmdIdx);
    }
    if (e !== undefined && e < 0) {
      const huge = k.huge.hugePmdAccess(task, vma, pmdIdx, addr, write, content);
      if (huge !== 'fallback') return huge;
    }
    const t = this.pteTable(task, pmdIdx, true);
    if (t < 0) return this.oomKill(task);
    const slot = t * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
    const pte = k.pgtables.entries[slot];
    if (pte > 0) {
      const pfn = ptePfn(pte);
      if (!write) {
        k.frames.set(pfn, PG.young);
        return 'ok';
      }
      if (pfn !== k.zeroPfn && !this.mappedElsewhere(pfn) && !k.frames.has(pfn, PG.ksm)) {
        k.frames.flags[pfn] |= PG.young | PG.dirty;
        k.frames.setContent(pfn, content);
        return 'ok';
      }
      return this.wpCopy(task, vma, addr, slot, pfn, content);
    }
    if (pte < 0) return this.swapIn(task, vma, addr, slot, pte, write, content);
    return this.anonymousPage(task, vma, addr, slot, write, content);
  }

  /**
   * The process accesses every page of [start, end), all inside `vma`, in address order (what `touch`
   * does). Same effect as `access` page by page; the common case — writing pages that are not there
   * yet in an existing PTE table — is done a run at a time with bulk allocation and counters added
   * once. `fill` is the content of written pages (default: a new distinct value per page).
   */
  touchRange(task: Task, vma: Vma, start: number, end: number, write: boolean, fill: number | undefined): FaultResult {
    const k = this.k;
    for (let a = start; a < end; ) {
      const pmdIdx = pmdIndexOf(a);
      const pmdEnd = Math.min(end, (pmdIdx + 1) * PTRS_PER_PTE * PAGE_SIZE);
      const e = task.mm.pmd.get(pmdIdx);
      if (write && e !== undefined && e >= 0 && !(vma.flags & VM.LOCKED)) {
        const next = this.writeNewPages(task, vma, e, a, pmdEnd, fill);
        if (next > a) {
          a = next;
          continue;
        }
      }
      const r = this.access(task, vma, a, write, write ? (fill ?? k.newContent()) : 0);
      if (r !== 'ok') return r;
      a += PAGE_SIZE;
    }
    return 'ok';
  }

  private readonly bulk = new Int32Array(PTRS_PER_PTE);

  /**
   * Maps fresh pages at the run of empty PTEs of table `t` that starts at `a` (up to `end`); returns
   * where the run (or the bulk allocation) stopped — `a` itself when the first PTE is not empty.
   */
  private writeNewPages(task: Task, vma: Vma, t: number, a: number, end: number, fill: number | undefined): number {
    const k = this.k;
    const base = t * PTRS_PER_PTE;
    const firstIdx = Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE;
    let n = 0;
    while (a + n * PAGE_SIZE < end && k.pgtables.entries[base + firstIdx + n] === 0) n++;
    // Only what the memcg takes without reclaim; the page-by-page path charges the rest.
    n = Math.min(n, k.memcg.marginOf(task));
    if (n === 0) return a;
    const policy = vma.policy ?? task.mempolicy;
    // Interleave picks a node per page: the page-by-page path does that.
    if (policy.mode === 'interleave') return a;
    this.anonVmaPrepare(vma);
    const got = k.allocator.allocBulk(
      { order: 0, kind: PageKind.Anon, gfp: GFP_HIGHUSER_MOVABLE, nodes: this.policyNodes(task, vma, a, 0), task, mayFallBack: policyAllowsFallback(policy) },
      n,
      this.bulk,
    );
    if (got === 0) return a;
    const f = k.frames;
    const perNode = new Float64Array(k.nodeCount);
    for (let i = 0; i < got; i++) {
      const pfn = this.bulk[i];
      const slot = base + firstIdx + i;
      k.pgtables.set(slot, ptePresent(pfn));
      f.link0[pfn] = slot;
      f.mapcount[pfn] = 1;
      f.flags[pfn] |= PG.young | PG.dirty | PG.lru;
      f.setContent(pfn, fill ?? k.newContent());
      perNode[k.nodeOfPfn(pfn)]++;
    }
    for (let node = 0; node < k.nodeCount; node++) {
      const pages = perNode[node];
      if (pages === 0) continue;
      k.vmstat.modNodeState(node, Vm.nr_inactive_anon, pages);
      k.vmstat.modNodeState(node, Vm.nr_zone_inactive_anon, pages);
      k.vmstat.modNodeState(node, Vm.nr_anon_pages, pages);
    }
    task.mm.anonPtePages += got;
    task.mm.updateHiwater();
    task.minflt += got;
    k.vmstat.countVmEvent(task.node, Vm.pgfault, got);
    k.memcg.countTaskEvent(task, MemcgEvent.pgfault, got);
    k.memcg.chargeBulk(task, this.bulk, got);
    task.chargeSys(got * Cost.fault4k);
    task.recordFault(Cost.fault4k, got);
    for (const zone of k.zones) if (zone.nrFree < zone.wmark(WMARK_LOW)) k.vmscan.wakeKswapd(zone.node, 0);
    return a + got * PAGE_SIZE;
  }

  /**
   * Faults a page in without writing data to it, as get_user_pages does for mlock and MADV_WILLNEED:
   * an absent (or zero) page becomes a zero-filled page (`write`) or the zero page; a swapped page is
   * read back; a present page is left alone.
   */
  populate(task: Task, vma: Vma, addr: number, write: boolean): FaultResult {
    const k = this.k;
    const e = task.mm.pmd.get(pmdIndexOf(addr));
    if (e !== undefined && e < 0) {
      return write && -e - 1 === k.huge.hugeZeroPfn ? this.access(task, vma, addr, true, 0) : 'ok';
    }
    if (e !== undefined) {
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE)];
      if (pte < 0) return this.access(task, vma, addr, false, 0);
      if (pte > 0 && (ptePfn(pte) !== k.zeroPfn || !write)) return 'ok';
    }
    return this.access(task, vma, addr, write, 0);
  }

  /** Whether a mapped page is also mapped by another PTE or by a PMD (then a write must copy it). */
  mappedElsewhere(pfn: number): boolean {
    const f = this.k.frames;
    if (f.getMapcount(pfn) > 1) return true;
    return f.has(pfn, PG.head) || f.has(pfn, PG.tail) ? this.k.rmap.pmdMapcount(f.compoundHead(pfn)) > 0 : false;
  }

  /** do_anonymous_page: a first access to a page. */
  private anonymousPage(task: Task, vma: Vma, addr: number, slot: number, write: boolean, content: number): FaultResult {
    const k = this.k;
    this.countFault(task);
    if (!write && !k.noZeroPage) {
      k.pgtables.set(slot, ptePresent(k.zeroPfn));
      k.rmap.addPte(k.zeroPfn, slot);
      task.chargeSys(Cost.faultZero);
      return 'ok';
    }
    this.anonVmaPrepare(vma);
    const pfn = this.allocAnonPage(task, vma, addr);
    if (pfn < 0) return this.oomKill(task);
    this.mapNewAnonPage(task, vma, slot, pfn, write ? content : 0);
    task.chargeSys(Cost.fault4k);
    return 'ok';
  }

  /** do_wp_page copy path: a write to a shared page (zero page, fork-shared or KSM) gets a copy. */
  private wpCopy(task: Task, vma: Vma, addr: number, slot: number, oldPfn: number, content: number): FaultResult {
    const k = this.k;
    this.countFault(task);
    this.anonVmaPrepare(vma);
    const pfn = this.allocAnonPage(task, vma, addr);
    if (pfn < 0) return this.oomKill(task);
    if (oldPfn !== k.zeroPfn && k.frames.has(oldPfn, PG.ksm)) k.vmstat.countVmEvent(k.nodeOfPfn(oldPfn), Vm.cow_ksm);
    this.unmapPte(task.mm, slot);
    this.mapNewAnonPage(task, vma, slot, pfn, content);
    task.chargeSys(Cost.fault4k + (oldPfn === k.zeroPfn ? 0 : Cost.copyPage));
    return 'ok';
  }

  /** do_swap_page: a major fault reading the page back from swap, synchronously. */
  private swapIn(task: Task, vma: Vma, addr: number, slot: number, pte: number, write: boolean, content: number): FaultResult {
    const k = this.k;
    const swapSlot = pteSwapSlot(pte);
    const pfn = this.allocAnonPage(task, vma, addr);
    if (pfn < 0) return this.oomKill(task);
    const stored = k.swap.read(swapSlot);
    k.pgtables.set(slot, 0);
    k.swap.release(swapSlot);
    task.mm.swapEntries--;
    this.mapNewAnonPage(task, vma, slot, pfn, write ? content : stored);
    if (!write) k.frames.clear(pfn, PG.dirty);
    task.majflt++;
    k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.pgmajfault);
    k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.pgfault);
    k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.pswpin);
    k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.pgpgin, 4);
    k.memcg.countTaskEvent(task, MemcgEvent.pgmajfault);
    k.memcg.countTaskEvent(task, MemcgEvent.pgfault);
    k.memcg.countPageEvent(pfn, MemcgEvent.pswpin);
    task.stall('swapIn', Cost.swapIn);
    k.psi.memstall(task, Cost.swapIn);
    return 'ok';
  }

  private countFault(task: Task): void {
    task.minflt++;
    this.k.vmstat.countVmEvent(task.node, Vm.pgfault);
    this.k.memcg.countTaskEvent(task, MemcgEvent.pgfault);
  }

  /**
   * Allocates an order-0 anonymous page for `addr` under the policies and charges it to the task's
   * memcg (mem_cgroup_charge); -1 when either fails — a failed charge means the memcg OOM killer has
   * killed the task.
   */
  allocAnonPage(task: Task, vma: Vma, addr: number): number {
    const policy = vma.policy ?? task.mempolicy;
    const pfn = this.k.allocator.allocPages({
      order: 0,
      kind: PageKind.Anon,
      gfp: GFP_HIGHUSER_MOVABLE,
      nodes: this.policyNodes(task, vma, addr, 0),
      task,
      mayFallBack: policyAllowsFallback(policy),
    });
    if (pfn < 0 || this.k.memcg.chargeAnon(task, pfn)) return pfn;
    this.k.allocator.freePages(pfn, 0);
    return -1;
  }

  /** Maps a freshly allocated anonymous page at `slot` (page_add_new_anon_rmap + lru add). */
  mapNewAnonPage(task: Task, vma: Vma, slot: number, pfn: number, content: number): void {
    const k = this.k;
    k.pgtables.set(slot, ptePresent(pfn));
    k.rmap.addPte(pfn, slot);
    k.frames.flags[pfn] |= PG.young | PG.dirty;
    k.frames.setContent(pfn, content);
    if (vma.flags & VM.LOCKED) k.frames.set(pfn, PG.mlocked);
    k.vmscan.lruAdd(pfn);
    k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_anon_pages, 1);
    task.mm.anonPtePages++;
    task.mm.updateHiwater();
  }

  /**
   * Clears one PTE of `mm` and drops what it referenced (zap_pte_range for one entry): a page loses a
   * mapping and is freed with its last; a THP subpage's THP is queued for deferred split; a swap entry
   * releases its slot.
   */
  unmapPte(mm: MmStruct, slot: number): void {
    const k = this.k;
    const pte = k.pgtables.entries[slot];
    if (pte === 0) return;
    k.pgtables.set(slot, 0);
    if (pte < 0) {
      k.swap.release(pteSwapSlot(pte));
      mm.swapEntries--;
      return;
    }
    const pfn = ptePfn(pte);
    const left = k.rmap.removePte(pfn, slot);
    if (pfn === k.zeroPfn) {
      k.ksm.zeroPteUnmapped(mm, slot);
      return;
    }
    mm.anonPtePages--;
    if (k.frames.has(pfn, PG.head) || k.frames.has(pfn, PG.tail)) {
      k.huge.subpageUnmapped(k.frames.compoundHead(pfn), pfn);
      return;
    }
    if (left === 0) this.freeAnonPage(pfn);
  }

  /** Frees an unmapped order-0 anonymous page. */
  freeAnonPage(pfn: number): void {
    const k = this.k;
    k.vmscan.lruDel(pfn);
    k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_anon_pages, -1);
    k.allocator.freePages(pfn, 0);
  }

  /**
   * Unmaps [start, end) of `mm` (page aligned): whole PMD-mapped THPs in range are unmapped, THPs cut by
   * the range are split at the PMD first. PTE tables stay unless `reclaimPt` (MADV_DONTNEED with
   * CONFIG_PT_RECLAIM: zap_pte_range frees a table the call covered whole and left empty — a table
   * emptied a piece at a time stays); munmap frees tables afterwards (Mmap.munmap). Returns pages zapped.
   */
  zapRange(task: Task, start: number, end: number, reclaimPt: boolean): number {
    const k = this.k;
    const mm = task.mm;
    let zapped = 0;
    for (let pmdIdx = pmdIndexOf(start); pmdIdx * PTRS_PER_PTE * PAGE_SIZE < end; pmdIdx++) {
      const e = mm.pmd.get(pmdIdx);
      if (e === undefined) continue;
      const base = pmdIdx * PTRS_PER_PTE * PAGE_SIZE;
      const from = Math.max(start, base);
      const to = Math.min(end, base + PTRS_PER_PTE * PAGE_SIZE);
      if (e < 0) {
        if (from === base && to === base + PTRS_PER_PTE * PAGE_SIZE) {
          k.huge.zapHugePmd(task, pmdIdx);
          zapped += HPAGE_PMD_NR;
          continue;
        }
        k.huge.splitHugePmd(task.mm, task.pid, pmdIdx);
      }
      const t = mm.pmd.get(pmdIdx)!;
      const first = t * PTRS_PER_PTE + (from - base) / PAGE_SIZE;
      const last = t * PTRS_PER_PTE + (to - base) / PAGE_SIZE;
      for (let slot = first; slot < last; slot++) {
        if (k.pgtables.entries[slot] === 0) continue;
        this.unmapPte(mm, slot);
        zapped++;
      }
      const whole = from === base && to === base + PTRS_PER_PTE * PAGE_SIZE;
      if (reclaimPt && whole && k.pgtables.usedEntries(t) === 0) this.freePteTable(mm, pmdIdx);
    }
    task.chargeSys(zapped * Cost.zapPage);
    return zapped;
  }

  /**
   * try_to_unmap + pageout for one order-0 anonymous page: every PTE mapping it becomes a swap entry.
   * Fails (without side effects) when swap is full.
   */
  swapOutPage(pfn: number): { ok: boolean; costMs: number } {
    const k = this.k;
    const slots = k.rmap.ptesOf(pfn);
    const swapSlot = k.swap.alloc(k.frames.content(pfn));
    if (swapSlot < 0) return { ok: false, costMs: 0 };
    const walkMs = k.rmap.walkCostMs(pfn, slots.length);
    for (let i = 1; i < slots.length; i++) k.swap.dup(swapSlot);
    for (const slot of slots) {
      const t = Math.floor(slot / PTRS_PER_PTE);
      const mm = k.task(k.pgtables.ownerOf(t))?.mm;
      k.rmap.removePte(pfn, slot);
      k.pgtables.set(slot, pteSwap(swapSlot));
      if (mm) {
        mm.anonPtePages--;
        mm.swapEntries++;
      }
    }
    const node = k.nodeOfPfn(pfn);
    k.vmstat.countVmEvent(node, Vm.pswpout);
    k.vmstat.countVmEvent(node, Vm.pgpgout, 4);
    k.memcg.countPageEvent(pfn, MemcgEvent.pswpout);
    this.freeAnonPage(pfn);
    return { ok: true, costMs: Cost.swapOutSubmit + walkMs };
  }

  /** A fault that found no memory even after reclaim: the OOM killer has picked this task. */
  private oomKill(task: Task): FaultResult {
    if (task.alive) {
      this.k.log.printk(this.k.engine.now, 3, `Out of memory: Killed process ${task.pid} (${task.comm}) in page fault`);
      this.k.vmstat.countVmEvent(task.node, Vm.oom_kill);
      this.k.exitTask(task.pid);
    }
    return 'oom';
  }
}
