/**
 * Transparent huge pages for anonymous memory (Linux mm/huge_memory.c): eligibility, the THP fault and
 * its NUMA placement, the huge zero page, splitting a PMD mapping and splitting the huge page itself,
 * and the deferred-split queue with the underused-THP shrinker.
 *
 * A PMD entry of a process is either a PTE table or a huge mapping of a 2 MiB compound page (or the huge
 * zero page). Like Linux, every anonymous huge mapping deposits a pre-allocated page-table page, so that
 * splitting the PMD later never needs memory. Splitting the PMD turns the mapping into 512 PTEs (the page
 * stays compound: a "PTE-mapped THP"); splitting the page turns it into 512 order-0 pages and frees the
 * subpages nobody maps. A THP that loses some of its mappings is queued for a deferred split, which
 * reclaim carries out.
 *
 * THP fault placement follows the model knob `numa_fault_policy` (docs/linux-semantics.md §6):
 *   thisnode     local node only, with the defrag mode's full effort (2015–2018: swap storms)
 *   remote       any node, full effort (Arcangeli's 2018 fix: remote huge pages)
 *   local-first  local node with THISNODE|NORETRY (compaction, no reclaim); then, if the defrag mode
 *                allows direct reclaim, any node with full effort; else small pages (today's kernels)
 */
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, HPAGE_PMD_SIZE, PAGE_SIZE, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { GFP, GFP_KERNEL, GFP_TRANSHUGE, GFP_TRANSHUGE_LIGHT } from './gfp.js';
import { MemcgEvent } from './memcontrol-items.js';
import { policyAllowsFallback } from './mempolicy.js';
import type { FaultResult } from './memory.js';
import { VM, type MmStruct, type Task, type Vma } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePresent, pteSwap } from './pgtable.js';
import { effectiveThpEnabled } from './tunables.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** Counters of /sys/kernel/mm/transparent_hugepage/hugepages-2048kB/stats/. */
export interface MthpStats {
  anon_fault_alloc: number;
  anon_fault_fallback: number;
  anon_fault_fallback_charge: number;
  swpout: number;
  swpout_fallback: number;
  split: number;
  split_failed: number;
  split_deferred: number;
  nr_anon: number;
  nr_anon_partially_mapped: number;
}

/** THPs examined per call of the underused shrinker. */
const UNDERUSED_SCAN_BATCH = 64;

/** Transparent huge pages. */
export class HugeMemory {
  /** The huge zero page (-1 until first needed). */
  hugeZeroPfn = -1;
  readonly stats: MthpStats = {
    anon_fault_alloc: 0,
    anon_fault_fallback: 0,
    anon_fault_fallback_charge: 0,
    swpout: 0,
    swpout_fallback: 0,
    split: 0,
    split_failed: 0,
    split_deferred: 0,
    nr_anon: 0,
    nr_anon_partially_mapped: 0,
  };
  /** Per node: every anonymous THP, in creation order; `true` once it is partially mapped. */
  private readonly thps: Map<number, boolean>[];
  /** Per node: the partially mapped THPs, in the order they became so (the deferred split queue). */
  private readonly partial: Set<number>[];
  /** Deposited page-table pages: mm → PMD index → table index. */
  private readonly deposits = new WeakMap<MmStruct, Map<number, number>>();
  /**
   * THP heads some of whose subpages may be mapped by PTEs (each __split_huge_pmd adds its head; a
   * check that finds none removes it). Saves the write path a 512-entry scan per access on the common
   * THPs that were never split — Linux keeps a mapped-pages count in the folio for the same reason.
   */
  private readonly maybePteMapped = new Set<number>();

  constructor(private readonly k: Kernel) {
    this.thps = k.zones.map(() => new Map<number, boolean>());
    this.partial = k.zones.map(() => new Set<number>());
  }

  // ---- eligibility --------------------------------------------------------------------------------

  /**
   * Whether THPs may back `pmdIdx` of `vma` under the sysfs rules (thp_vma_allowable_order): the VMA
   * covers the whole aligned 2 MiB region, is private anonymous, not VM_NOHUGEPAGE, the process has not
   * disabled THP, and `enabled` is always, or madvise with VM_HUGEPAGE.
   */
  vmaAllowsThp(task: Task, vma: Vma, pmdIdx: number, enforceSysfs = true): boolean {
    const start = pmdIdx * HPAGE_PMD_SIZE;
    if (start < vma.start || start + HPAGE_PMD_SIZE > vma.end) return false;
    if (vma.flags & (VM.NOHUGEPAGE | VM.SHARED) || task.thpDisable) return false;
    if (!enforceSysfs) return true;
    const enabled = effectiveThpEnabled(this.k.tunables);
    return enabled === 'always' || (enabled === 'madvise' && (vma.flags & VM.HUGEPAGE) !== 0);
  }

  /** The GFP mask of a THP fault under `defrag` (vma_thp_gfp_mask). */
  faultGfp(vma: Vma): number {
    const madvised = (vma.flags & VM.HUGEPAGE) !== 0;
    switch (this.k.tunables.thpDefrag) {
      case 'always':
        return GFP_TRANSHUGE | (madvised ? 0 : GFP.NORETRY);
      case 'defer':
        return GFP_TRANSHUGE_LIGHT | GFP.KSWAPD_RECLAIM;
      case 'defer+madvise':
        return madvised ? GFP_TRANSHUGE : GFP_TRANSHUGE_LIGHT | GFP.KSWAPD_RECLAIM;
      case 'madvise':
        return madvised ? GFP_TRANSHUGE : GFP_TRANSHUGE_LIGHT;
      case 'never':
        return GFP_TRANSHUGE_LIGHT;
    }
  }

  // ---- faults ---------------------------------------------------------------------------------------

  /** do_huge_pmd_anonymous_page: a first fault in an empty PMD. 'fallback' means use small pages. */
  tryHugeFault(task: Task, vma: Vma, pmdIdx: number, addr: number, write: boolean, content: number): FaultResult | 'fallback' {
    if (!this.vmaAllowsThp(task, vma, pmdIdx)) return 'fallback';
    const k = this.k;
    k.memory.anonVmaPrepare(vma);
    k.khugepaged.enterVma(task, vma.start);
    if (!write && k.tunables.useZeroPage && !k.noZeroPage) {
      // A read maps the huge zero page; if it cannot be had, the fault falls back to small pages.
      const zero = this.getHugeZeroPage(task);
      if (zero < 0 || !this.depositFor(task, pmdIdx)) {
        k.vmstat.countVmEvent(task.node, Vm.thp_fault_fallback);
        this.stats.anon_fault_fallback++;
        return 'fallback';
      }
      task.mm.pmd.set(pmdIdx, -zero - 1);
      task.minflt++;
      k.vmstat.countVmEvent(task.node, Vm.pgfault);
      k.memcg.countTaskEvent(task, MemcgEvent.pgfault);
      task.chargeSys(Cost.faultZero);
      return 'ok';
    }
    const head = this.allocChargeFaultThp(task, vma, addr);
    if (head < 0) {
      k.vmstat.countVmEvent(task.node, Vm.thp_fault_fallback);
      this.stats.anon_fault_fallback++;
      return 'fallback';
    }
    if (!this.depositFor(task, pmdIdx)) {
      this.freeUnmappedThp(head);
      return 'fallback';
    }
    this.mapNewThp(task, pmdIdx, head, addr, content, write);
    k.vmstat.countVmEvent(k.nodeOfPfn(head), Vm.thp_fault_alloc);
    this.stats.anon_fault_alloc++;
    task.minflt++;
    k.vmstat.countVmEvent(task.node, Vm.pgfault);
    k.memcg.countTaskEvent(task, MemcgEvent.pgfault);
    task.chargeSys(Cost.faultThp);
    return 'ok';
  }

  /** An access to a PMD-mapped page. 'fallback': the PMD was split and the PTE path must continue. */
  hugePmdAccess(task: Task, vma: Vma, pmdIdx: number, addr: number, write: boolean, content: number): FaultResult | 'fallback' {
    const k = this.k;
    const head = -task.mm.pmd.get(pmdIdx)! - 1;
    const sub = head + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
    if (head === this.hugeZeroPfn) {
      if (!write) return 'ok';
      // [6.18] a write to the huge zero page allocates a THP for the region.
      const thp = this.allocChargeFaultThp(task, vma, addr);
      if (thp >= 0) {
        task.mm.pmd.delete(pmdIdx);
        this.mapNewThp(task, pmdIdx, thp, addr, content, true);
        k.vmstat.countVmEvent(k.nodeOfPfn(thp), Vm.thp_fault_alloc);
        this.stats.anon_fault_alloc++;
        task.minflt++;
        task.chargeSys(Cost.faultThp);
        return 'ok';
      }
      k.vmstat.countVmEvent(task.node, Vm.thp_fault_fallback);
      this.stats.anon_fault_fallback++;
      this.splitHugePmd(task.mm, task.pid, pmdIdx);
      return 'fallback';
    }
    if (!write) {
      k.frames.set(head, PG.young);
      return 'ok';
    }
    if (k.rmap.pmdMapcount(head) > 1 || this.hasPteMappedSubpages(head)) {
      // Shared with another process since fork: split this mapping and copy the one subpage.
      this.splitHugePmd(task.mm, task.pid, pmdIdx);
      return 'fallback';
    }
    k.frames.flags[head] |= PG.young | PG.dirty;
    k.frames.setContent(sub, content);
    return 'ok';
  }

  /** Allocates a THP for a fault at `addr` under defrag, the memory policy and numa_fault_policy. */
  private allocFaultThp(task: Task, vma: Vma, addr: number): number {
    const k = this.k;
    const gfp = this.faultGfp(vma) | GFP.COMP;
    const policy = vma.policy ?? task.mempolicy;
    const nodes = k.memory.policyNodes(task, vma, addr, HPAGE_PMD_ORDER);
    const req = (g: number, n: readonly number[]): number =>
      k.allocator.allocPages({ order: HPAGE_PMD_ORDER, kind: PageKind.Anon, gfp: g, nodes: n, task, mayFallBack: policyAllowsFallback(policy) });
    if (policy.mode === 'interleave' || policy.mode === 'bind') return req(gfp, nodes);
    switch (k.tunables.numaFaultPolicy) {
      case 'thisnode':
        return req(gfp | GFP.THISNODE, nodes);
      case 'remote':
        return req(gfp, nodes);
      case 'local-first': {
        const local = req(gfp | GFP.THISNODE | GFP.NORETRY, nodes);
        if (local >= 0 || !(gfp & GFP.DIRECT_RECLAIM)) return local;
        return req(gfp, nodes);
      }
    }
  }

  /**
   * vma_alloc_anon_folio_pmd: a THP for a fault, charged to the task's memcg with the fault's mask. A
   * failed charge frees the page and counts thp_fault_fallback_charge; the caller counts the fallback.
   */
  private allocChargeFaultThp(task: Task, vma: Vma, addr: number): number {
    const head = this.allocFaultThp(task, vma, addr);
    if (head < 0 || this.k.memcg.chargeFaultThp(task, head, this.faultGfp(vma))) return head;
    this.k.allocator.freePages(head, HPAGE_PMD_ORDER);
    this.k.vmstat.countVmEvent(task.node, Vm.thp_fault_fallback_charge);
    this.stats.anon_fault_fallback_charge++;
    return -1;
  }

  /** The huge zero page, allocated on first use (thp_zero_page_alloc). */
  private getHugeZeroPage(task: Task): number {
    if (this.hugeZeroPfn >= 0) return this.hugeZeroPfn;
    const k = this.k;
    const pfn = k.allocator.allocPages({ order: HPAGE_PMD_ORDER, kind: PageKind.ZeroPage, gfp: GFP_TRANSHUGE_LIGHT & ~GFP.COMP, nodes: [task.node], task });
    if (pfn < 0) {
      k.vmstat.countVmEvent(task.node, Vm.thp_zero_page_alloc_failed);
      return -1;
    }
    for (let i = 0; i < HPAGE_PMD_NR; i++) k.frames.setContent(pfn + i, 0);
    k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.thp_zero_page_alloc);
    this.hugeZeroPfn = pfn;
    return pfn;
  }

  /** Installs a new THP at `pmdIdx`: the faulting subpage gets `content`, the rest are zero-filled. */
  mapNewThp(task: Task, pmdIdx: number, head: number, addr: number, content: number, write: boolean): void {
    const k = this.k;
    const f = k.frames;
    for (let i = 0; i < HPAGE_PMD_NR; i++) f.setContent(head + i, 0);
    if (write) f.setContent(head + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE), content);
    f.flags[head] |= PG.young | (write ? PG.dirty : 0);
    const vma = task.mm.findVma(addr);
    if (vma && vma.flags & VM.LOCKED) f.set(head, PG.mlocked);
    task.mm.pmd.set(pmdIdx, -head - 1);
    k.rmap.addPmd(head, { pid: task.pid, pmdIndex: pmdIdx });
    task.mm.thpPmdMapped++;
    task.mm.updateHiwater();
    this.accountNewThp(head);
  }

  /**
   * Installs a THP made by collapse at `pmdIdx`: the region's emptied PTE table `t` becomes the huge
   * mapping's deposited table, as collapse_huge_page deposits the old page table.
   */
  installCollapsed(task: Task, pmdIdx: number, t: number, head: number, young: boolean, dirty: boolean): void {
    const k = this.k;
    const f = k.frames;
    f.flags[head] |= (young ? PG.young : 0) | (dirty ? PG.dirty : 0);
    const vma = task.mm.findVma(pmdIdx * HPAGE_PMD_SIZE);
    if (vma && vma.flags & VM.LOCKED) f.set(head, PG.mlocked);
    let map = this.deposits.get(task.mm);
    if (!map) this.deposits.set(task.mm, (map = new Map<number, number>()));
    map.set(pmdIdx, t);
    task.mm.pmd.set(pmdIdx, -head - 1);
    k.rmap.addPmd(head, { pid: task.pid, pmdIndex: pmdIdx });
    task.mm.thpPmdMapped++;
    task.mm.updateHiwater();
    this.accountNewThp(head);
  }

  /** Counts a new anonymous THP (also used by collapse). */
  accountNewThp(head: number): void {
    const k = this.k;
    const node = k.nodeOfPfn(head);
    k.vmscan.lruAdd(head);
    k.vmstat.modNodeState(node, Vm.nr_anon_transparent_hugepages, 1);
    k.vmstat.modNodeState(node, Vm.nr_anon_pages, HPAGE_PMD_NR);
    this.stats.nr_anon++;
    this.thps[node].set(head, false);
  }

  /** Pre-allocates the page-table page a huge mapping keeps for a later split (pgtable_trans_huge_deposit). */
  depositFor(task: Task, pmdIdx: number): boolean {
    const k = this.k;
    const pfn = k.allocator.allocPages({ order: 0, kind: PageKind.PageTable, gfp: GFP_KERNEL, nodes: [task.node], task });
    if (pfn < 0) return false;
    const t = k.pgtables.alloc(task.pid, pmdIdx, pfn);
    let map = this.deposits.get(task.mm);
    if (!map) this.deposits.set(task.mm, (map = new Map<number, number>()));
    map.set(pmdIdx, t);
    task.mm.ptePages++;
    k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_page_table_pages, 1);
    return true;
  }

  /** Takes the deposited table of a huge mapping back (for a split) or frees it (for a zap). */
  private withdrawTable(mm: MmStruct, pmdIdx: number): number {
    const map = this.deposits.get(mm);
    const t = map?.get(pmdIdx);
    if (t === undefined) throw new Error(`no deposited page table at PMD ${pmdIdx}`);
    map!.delete(pmdIdx);
    return t;
  }

  // ---- splitting ------------------------------------------------------------------------------------

  /** Subpages of a THP that are mapped by PTEs (in any process). */
  /** Whether any subpage of the THP is mapped by a PTE (fast when it was never split). */
  private hasPteMappedSubpages(head: number): boolean {
    if (!this.maybePteMapped.has(head)) return false;
    if (this.pteMappedSubpages(head) > 0) return true;
    this.maybePteMapped.delete(head);
    return false;
  }

  /**
   * Whether a subpage of the THP is mapped by a PTE. Zaps unmap a THP's subpages in address order, up or
   * down, so the neighbours of the subpage just unmapped (`near`) are looked at first: a whole zap then
   * costs O(512) rather than 512 scans of 512.
   */
  private anySubpagePteMapped(head: number, near: number): boolean {
    const f = this.k.frames;
    if (near + 1 < head + HPAGE_PMD_NR && f.getMapcount(near + 1) > 0) return true;
    if (near - 1 >= head && f.getMapcount(near - 1) > 0) return true;
    return this.pteMappedSubpages(head) > 0;
  }

  pteMappedSubpages(head: number): number {
    let n = 0;
    for (let i = 0; i < HPAGE_PMD_NR; i++) if (this.k.frames.getMapcount(head + i) > 0) n++;
    return n;
  }

  /** __split_huge_pmd: turns the huge mapping at `pmdIdx` of one process into 512 PTEs. */
  splitHugePmd(mm: MmStruct, pid: number, pmdIdx: number): void {
    const k = this.k;
    const head = -mm.pmd.get(pmdIdx)! - 1;
    const t = this.withdrawTable(mm, pmdIdx);
    const base = t * PTRS_PER_PTE;
    const isZero = head === this.hugeZeroPfn;
    if (!isZero) this.maybePteMapped.add(head);
    const young = k.frames.has(head, PG.young);
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const pfn = isZero ? k.zeroPfn : head + i;
      k.pgtables.set(base + i, ptePresent(pfn));
      k.rmap.addPte(pfn, base + i);
      if (young && !isZero) k.frames.set(pfn, PG.young);
    }
    mm.pmd.set(pmdIdx, t);
    if (!isZero) {
      k.rmap.removePmd(head, pid, pmdIdx);
      mm.thpPmdMapped--;
      mm.anonPtePages += HPAGE_PMD_NR;
    }
    k.vmstat.countVmEvent(k.nodeOfPfn(head), Vm.thp_split_pmd);
    k.task(pid)?.chargeSys(Cost.splitThp / 4);
  }

  /**
   * split_huge_page: splits every PMD mapping of the THP, then the compound page into 512 order-0
   * pages; subpages nobody maps are freed. Fails for a pinned THP. Returns the still-mapped pages.
   */
  splitHugePage(head: number): { ok: boolean; pages: number[]; costMs: number } {
    const k = this.k;
    const f = k.frames;
    const node = k.nodeOfPfn(head);
    if (k.migration.isPinned(head)) {
      k.vmstat.countVmEvent(node, Vm.thp_split_page_failed);
      this.stats.split_failed++;
      return { ok: false, pages: [], costMs: 0 };
    }
    for (const m of [...k.rmap.pmdsOf(head)]) {
      const t = k.task(m.pid);
      if (t) this.splitHugePmd(t.mm, m.pid, m.pmdIndex);
    }
    const young = f.has(head, PG.young);
    const dirty = f.has(head, PG.dirty);
    const mlocked = f.has(head, PG.mlocked);
    k.vmscan.lruDel(head);
    this.forget(head, node);
    k.memcg.splitThp(head);
    const pages: number[] = [];
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const p = head + i;
      f.clear(p, PG.head | PG.tail);
      f.order[p] = 0;
      if (f.getMapcount(p) === 0) {
        k.vmstat.modNodeState(node, Vm.nr_anon_pages, -1);
        k.allocator.freePages(p, 0);
        continue;
      }
      f.flags[p] |= (young ? PG.young : 0) | (dirty ? PG.dirty : 0) | (mlocked ? PG.mlocked : 0);
      k.vmscan.lruAdd(p);
      pages.push(p);
    }
    k.vmstat.countVmEvent(node, Vm.thp_split_page);
    this.stats.split++;
    return { ok: true, pages, costMs: Cost.splitThp };
  }

  /** Removes a THP from the bookkeeping of live THPs. */
  private forget(head: number, node: number): void {
    const partial = this.thps[node].get(head);
    if (partial) this.stats.nr_anon_partially_mapped--;
    this.thps[node].delete(head);
    this.partial[node].delete(head);
    this.stats.nr_anon--;
    this.k.vmstat.modNodeState(node, Vm.nr_anon_transparent_hugepages, -1);
  }

  /** zap_huge_pmd: removes a whole huge mapping of `task` (munmap, DONTNEED, exit). */
  zapHugePmd(task: Task, pmdIdx: number): void {
    const k = this.k;
    const mm = task.mm;
    const head = -mm.pmd.get(pmdIdx)! - 1;
    mm.pmd.delete(pmdIdx);
    const t = this.withdrawTable(mm, pmdIdx);
    const tablePfn = k.pgtables.backingFrame(t);
    k.pgtables.release(t);
    mm.ptePages--;
    k.vmstat.modNodeState(k.nodeOfPfn(tablePfn), Vm.nr_page_table_pages, -1);
    k.allocator.freePages(tablePfn, 0);
    if (head === this.hugeZeroPfn) return;
    k.rmap.removePmd(head, task.pid, pmdIdx);
    mm.thpPmdMapped--;
    this.subpageUnmapped(head);
  }

  /**
   * A mapping of part of a THP went away (`near`: the subpage whose PTE did, if one did): free it with
   * its last mapping, else queue a deferred split.
   */
  subpageUnmapped(head: number, near = head): void {
    const k = this.k;
    if (k.rmap.pmdMapcount(head) === 0 && !this.anySubpagePteMapped(head, near)) {
      this.freeUnmappedThp(head);
      return;
    }
    const node = k.nodeOfPfn(head);
    const list = this.thps[node];
    if (list.get(head) === false && k.rmap.pmdMapcount(head) === 0) {
      list.set(head, true);
      this.partial[node].add(head);
      this.stats.nr_anon_partially_mapped++;
      this.stats.split_deferred++;
      k.vmstat.countVmEvent(node, Vm.thp_deferred_split_page);
    }
  }

  /** Frees a THP nobody maps any more. */
  private freeUnmappedThp(head: number): void {
    const k = this.k;
    const node = k.nodeOfPfn(head);
    if (this.thps[node].has(head)) {
      k.vmscan.lruDel(head);
      this.forget(head, node);
      k.vmstat.modNodeState(node, Vm.nr_anon_pages, -HPAGE_PMD_NR);
    }
    k.allocator.freePages(head, HPAGE_PMD_ORDER);
  }

  /**
   * The deferred-split shrinker, run by reclaim: splits partially mapped THPs (freeing their unmapped
   * subpages) and, when `shrink_underused` is on and `max_ptes_none` < 511, splits THPs with more than
   * max_ptes_none zero-filled subpages and maps those to the zero page. Returns the time spent.
   */
  deferredSplitScan(node: number): number {
    const k = this.k;
    const list = this.thps[node];
    let costMs = 0;
    for (const head of [...this.partial[node]]) costMs += this.splitHugePage(head).costMs;
    const maxNone = k.tunables.khugepagedMaxPtesNone;
    if (!k.tunables.shrinkUnderused || maxNone >= HPAGE_PMD_NR - 1) return costMs;
    const batch: number[] = [];
    for (const head of list.keys()) {
      if (batch.length >= UNDERUSED_SCAN_BATCH) break;
      batch.push(head);
    }
    for (const head of batch) {
      costMs += HPAGE_PMD_NR * Cost.procfsPerPage;
      if (this.zeroFilledSubpages(head) <= maxNone) continue;
      const split = this.splitHugePage(head);
      costMs += split.costMs;
      if (!split.ok) continue;
      k.vmstat.countVmEvent(node, Vm.thp_underused_split_page);
      for (const p of split.pages) if (k.frames.content(p) === 0) costMs += this.remapToZeroPage(p);
    }
    return costMs;
  }

  private zeroFilledSubpages(head: number): number {
    let n = 0;
    for (let i = 0; i < HPAGE_PMD_NR; i++) if (this.k.frames.content(head + i) === 0) n++;
    return n;
  }

  /** Replaces every mapping of a zero-filled page with the zero page and frees it. */
  private remapToZeroPage(pfn: number): number {
    const k = this.k;
    const slots = k.rmap.ptesOf(pfn);
    for (const slot of slots) {
      k.rmap.removePte(pfn, slot);
      k.pgtables.set(slot, ptePresent(k.zeroPfn));
      k.rmap.addPte(k.zeroPfn, slot);
      const mm = k.task(k.pgtables.ownerOf(Math.floor(slot / PTRS_PER_PTE)))?.mm;
      if (mm) mm.anonPtePages--;
    }
    k.memory.freeAnonPage(pfn);
    return slots.length * Cost.rmapPerMapping + Cost.zapPage;
  }

  /**
   * Swaps a whole THP out (THP_SWAP): every PMD mapping is split to PTEs, each subpage gets a swap slot
   * and its PTEs become swap entries, and the huge page is freed as one. Needs 512 free swap slots and
   * no pin; returns false (nothing done) otherwise, and the caller falls back to splitting.
   */
  swapOutThp(head: number): { ok: boolean; costMs: number } {
    const k = this.k;
    if (k.swap.free < HPAGE_PMD_NR || k.migration.isPinned(head)) return { ok: false, costMs: 0 };
    for (const m of [...k.rmap.pmdsOf(head)]) {
      const t = k.task(m.pid);
      if (t) this.splitHugePmd(t.mm, m.pid, m.pmdIndex);
    }
    let mappings = 0;
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const pfn = head + i;
      const slots = k.rmap.ptesOf(pfn);
      if (slots.length === 0) continue;
      const swapSlot = k.swap.alloc(k.frames.content(pfn));
      for (let j = 1; j < slots.length; j++) k.swap.dup(swapSlot);
      for (const slot of slots) {
        k.rmap.removePte(pfn, slot);
        k.pgtables.set(slot, pteSwap(swapSlot));
        const mm = k.task(k.pgtables.ownerOf(Math.floor(slot / PTRS_PER_PTE)))?.mm;
        if (mm) {
          mm.anonPtePages--;
          mm.swapEntries++;
        }
      }
      mappings += slots.length;
    }
    const node = k.nodeOfPfn(head);
    k.vmstat.countVmEvent(node, Vm.thp_swpout);
    k.vmstat.countVmEvent(node, Vm.pswpout, HPAGE_PMD_NR);
    k.vmstat.countVmEvent(node, Vm.pgpgout, HPAGE_PMD_NR * 4);
    this.stats.swpout++;
    k.memcg.countPageEvent(head, MemcgEvent.pswpout, HPAGE_PMD_NR);
    k.memcg.countPageEvent(head, MemcgEvent.thp_swpout);
    this.freeUnmappedThp(head);
    return { ok: true, costMs: HPAGE_PMD_NR * Cost.swapOutSubmit + mappings * Cost.rmapPerMapping };
  }

  /** Migration moved a THP to a new head frame. */
  relocate(from: number, to: number): void {
    const a = this.k.nodeOfPfn(from);
    const b = this.k.nodeOfPfn(to);
    const partial = this.thps[a].get(from);
    if (partial === undefined) return;
    this.thps[a].delete(from);
    this.thps[b].set(to, partial);
    if (partial) {
      this.partial[a].delete(from);
      this.partial[b].add(to);
    }
    if (a !== b) {
      this.k.vmstat.modNodeState(a, Vm.nr_anon_transparent_hugepages, -1);
      this.k.vmstat.modNodeState(b, Vm.nr_anon_transparent_hugepages, 1);
      this.k.vmstat.modNodeState(a, Vm.nr_anon_pages, -HPAGE_PMD_NR);
      this.k.vmstat.modNodeState(b, Vm.nr_anon_pages, HPAGE_PMD_NR);
    }
  }

  /** Anonymous THPs on a node. */
  thpCount(node: number): number {
    return this.thps[node].size;
  }
}
