/**
 * Collapsing a 2 MiB region of small pages into a THP (Linux mm/khugepaged.c: hpage_collapse_scan_pmd,
 * collapse_huge_page, madvise_collapse). One implementation serves both callers, which differ only in
 * what they enforce and who pays:
 *
 *                    khugepaged                          MADV_COLLAPSE (madvise / process_madvise)
 *   sysfs enabled    enforced                            ignored
 *   max_ptes_*       enforced (thp_scan_exceed_* +1)      ignored
 *   young pages      ≥ 1 (≥ 256 if any PTE swapped)      ignored
 *   allocation       khugepaged/defrag: with or without   always GFP_TRANSHUGE (reclaim and compaction)
 *                    reclaim
 *   pays             the khugepaged thread                the caller (CPU); the target stalls either way
 *
 * Per region (scan): PMD none → PMD_NONE; huge → PMD_MAPPED (already done); then each PTE: swap entries,
 * empty and zero-page entries, pages mapped elsewhere, pinned pages (refcount ≠ mapcount → PAGE_COUNT),
 * the node of each page (for the target node). Collapse: allocate on the node holding most of the
 * region's pages (ties: any of the tied nodes, no fallback), count thp_collapse_alloc, charge the memcg,
 * isolate the small pages (one mapped at two PTEs of the region, a KSM page, → PAGE_LOCK, EAGAIN for
 * MADV_COLLAPSE), swap in synchronously, copy (empty and zero entries become zero-filled subpages),
 * install the PMD and free the small pages; the old PTE table becomes the THP's deposited table. The
 * target's range is unmapped while the copy runs: the copy time is charged to the target as a `collapse`
 * stall.
 */
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, HPAGE_PMD_SIZE, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { GFP, GFP_TRANSHUGE, GFP_TRANSHUGE_LIGHT } from './gfp.js';
import { VM, type Task, type Vma } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn, pteSwapSlot } from './pgtable.js';
import { effectiveThpEnabled } from './tunables.js';
import { Vm } from './vmstat.js';
import type { Kernel } from '../kernel.js';

/** Outcomes of scanning or collapsing one region (enum scan_result, the subset the model produces). */
export type ScanResult =
  | 'SUCCEED'
  | 'PMD_NONE'
  | 'PMD_MAPPED'
  | 'EXCEED_NONE_PTE'
  | 'EXCEED_SWAP_PTE'
  | 'EXCEED_SHARED_PTE'
  | 'PAGE_COUNT'
  | 'PAGE_LOCK'
  | 'PAGE_LRU'
  | 'PAGE_ANON'
  | 'LACK_REFERENCED_PAGE'
  | 'VMA_CHECK'
  | 'ALLOC_HUGE_PAGE_FAIL'
  | 'CGROUP_CHARGE_FAIL'
  | 'SCAN_FAIL';

/** The errno MADV_COLLAPSE reports for a failed region (madvise_collapse_errno). */
export function collapseErrno(r: ScanResult): 'ENOMEM' | 'EBUSY' | 'EAGAIN' | 'EINVAL' {
  switch (r) {
    case 'ALLOC_HUGE_PAGE_FAIL':
      return 'ENOMEM';
    case 'CGROUP_CHARGE_FAIL':
    case 'EXCEED_NONE_PTE':
      return 'EBUSY';
    case 'PAGE_COUNT':
    case 'PAGE_LOCK':
    case 'PAGE_LRU':
      return 'EAGAIN';
    default:
      return 'EINVAL';
  }
}

/** Results after which MADV_COLLAPSE goes on with the next region of the VMA. */
const continueResults: ReadonlySet<ScanResult> = new Set<ScanResult>(['PAGE_COUNT', 'PAGE_LOCK', 'PAGE_LRU', 'LACK_REFERENCED_PAGE']);

/** Who is collapsing, and what they enforce (struct collapse_control). */
export interface CollapseControl {
  readonly isKhugepaged: boolean;
  /** The task that pays CPU and allocation stalls (the caller, or khugepaged's own accounting task). */
  readonly payer: Task;
}

/** The scan of one region, when it may proceed to a collapse. */
interface RegionScan {
  readonly result: ScanResult;
  /** Nodes ordered for the allocation: the nodes holding most pages (ties), empty = any node. */
  readonly nodes: readonly number[];
  readonly swapped: number;
}

/** Collapse of anonymous memory. */
export class Collapse {
  constructor(private readonly k: Kernel) {}

  /**
   * Whether THPs may back `vma` for a collapse (thp_vma_allowable_order with TVA_KHUGEPAGED or
   * TVA_FORCED_COLLAPSE): private anonymous memory with an anon_vma, not VM_NOHUGEPAGE, THP not disabled
   * for the process, at least one aligned 2 MiB region inside; khugepaged also obeys `enabled`.
   */
  vmaAllowsCollapse(task: Task, vma: Vma, isKhugepaged: boolean): boolean {
    if (vma.flags & (VM.NOHUGEPAGE | VM.SHARED) || task.thpDisable || vma.anonVma === 0) return false;
    if (Math.ceil(vma.start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE + HPAGE_PMD_SIZE > vma.end) return false;
    if (!isKhugepaged) return true;
    const enabled = effectiveThpEnabled(this.k.tunables);
    return enabled === 'always' || (enabled === 'madvise' && (vma.flags & VM.HUGEPAGE) !== 0);
  }

  /**
   * hpage_collapse_scan_pmd followed, when the scan allows, by collapse_huge_page. Returns the result
   * and the CPU time spent (the caller charges it).
   */
  collapseRegion(target: Task, vma: Vma, pmdIdx: number, cc: CollapseControl): { result: ScanResult; costMs: number } {
    const scan = this.scanPmd(target, pmdIdx, cc);
    const scanMs = HPAGE_PMD_NR * Cost.procfsPerPage;
    if (scan.result !== 'SUCCEED') return { result: scan.result, costMs: scanMs };
    const done = this.collapseHugePage(target, vma, pmdIdx, scan, cc);
    return { result: done.result, costMs: scanMs + done.costMs };
  }

  /** hpage_collapse_scan_pmd: may this region be collapsed, and onto which nodes. */
  private scanPmd(target: Task, pmdIdx: number, cc: CollapseControl): RegionScan {
    const k = this.k;
    const t = k.tunables;
    const f = k.frames;
    const fail = (result: ScanResult): RegionScan => ({ result, nodes: [], swapped: 0 });
    const e = target.mm.pmd.get(pmdIdx);
    if (e === undefined) return fail('PMD_NONE');
    if (e < 0) return fail('PMD_MAPPED');
    const nodeLoad = new Array<number>(k.nodeCount).fill(0);
    let noneOrZero = 0;
    let swapped = 0;
    let shared = 0;
    let referenced = 0;
    const base = e * PTRS_PER_PTE;
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const pte = k.pgtables.entries[base + i];
      if (pte < 0) {
        swapped++;
        if (cc.isKhugepaged && swapped > t.khugepagedMaxPtesSwap) {
          k.vmstat.countVmEvent(target.node, Vm.thp_scan_exceed_swap_pte);
          return fail('EXCEED_SWAP_PTE');
        }
        continue;
      }
      if (pte === 0 || ptePfn(pte) === k.zeroPfn) {
        noneOrZero++;
        if (cc.isKhugepaged && noneOrZero > t.khugepagedMaxPtesNone) {
          k.vmstat.countVmEvent(target.node, Vm.thp_scan_exceed_none_pte);
          return fail('EXCEED_NONE_PTE');
        }
        continue;
      }
      const pfn = ptePfn(pte);
      const head = f.compoundHead(pfn);
      if (f.kind(head) !== PageKind.Anon) return fail('PAGE_ANON');
      if (k.memory.mappedElsewhere(pfn)) {
        shared++;
        if (cc.isKhugepaged && shared > t.khugepagedMaxPtesShared) {
          k.vmstat.countVmEvent(target.node, Vm.thp_scan_exceed_share_pte);
          return fail('EXCEED_SHARED_PTE');
        }
      }
      nodeLoad[k.nodeOfPfn(pfn)]++;
      if (f.has(head, PG.isolated) || !f.has(head, PG.lru)) return fail('PAGE_LRU');
      if (f.has(pfn, PG.pinned)) return fail('PAGE_COUNT');
      if (f.has(pfn, PG.young) || f.has(head, PG.young) || f.has(pfn, PG.referenced) || f.has(head, PG.referenced)) referenced++;
    }
    if (cc.isKhugepaged && (referenced === 0 || (swapped > 0 && referenced < HPAGE_PMD_NR / 2))) return fail('LACK_REFERENCED_PAGE');
    return { result: 'SUCCEED', nodes: targetNodes(nodeLoad), swapped };
  }

  /** collapse_huge_page: allocate, charge, swap in, copy, install. */
  private collapseHugePage(target: Task, vma: Vma, pmdIdx: number, scan: RegionScan, cc: CollapseControl): { result: ScanResult; costMs: number } {
    const k = this.k;
    const gfp = (cc.isKhugepaged ? (k.tunables.khugepagedDefrag ? GFP_TRANSHUGE : GFP_TRANSHUGE_LIGHT) : GFP_TRANSHUGE) | GFP.COMP;
    const head = k.allocator.allocPages({
      order: HPAGE_PMD_ORDER,
      kind: PageKind.Anon,
      gfp,
      nodes: scan.nodes.length > 0 ? scan.nodes : k.nodeOrder(target.node),
      task: cc.payer,
      mayFallBack: false,
    });
    const node = head >= 0 ? k.nodeOfPfn(head) : (scan.nodes[0] ?? target.node);
    if (head < 0) {
      k.vmstat.countVmEvent(node, Vm.thp_collapse_alloc_failed);
      return { result: 'ALLOC_HUGE_PAGE_FAIL', costMs: Cost.migrateFixed };
    }
    k.vmstat.countVmEvent(node, Vm.thp_collapse_alloc);
    if (!k.memcg.tryChargeThp(target, head, gfp)) {
      k.allocator.freePages(head, HPAGE_PMD_ORDER);
      return { result: 'CGROUP_CHARGE_FAIL', costMs: Cost.migrateFixed };
    }
    // The process may have changed while the caller slept in the allocator (reclaim, OOM).
    const e = target.mm.pmd.get(pmdIdx);
    if (!target.alive || e === undefined || e < 0 || target.mm.findVma(pmdIdx * HPAGE_PMD_SIZE) !== vma) {
      k.allocator.freePages(head, HPAGE_PMD_ORDER); // uncharges it too
      return { result: e !== undefined && e < 0 ? 'PMD_MAPPED' : 'VMA_CHECK', costMs: Cost.migrateFixed };
    }
    if (this.smallPageMappedTwice(e)) {
      k.allocator.freePages(head, HPAGE_PMD_ORDER);
      return { result: 'PAGE_LOCK', costMs: Cost.migrateFixed };
    }
    const copied = this.copyAndReplace(target, pmdIdx, e, head);
    const swapMs = scan.swapped * Cost.swapIn;
    const copyMs = copied.populated * Cost.copyPage + copied.mappings * Cost.rmapPerMapping + Cost.migrateFixed;
    target.stall('collapse', copyMs + swapMs);
    if (cc.payer !== target) this.k.psi.memstall(target, swapMs);
    return { result: 'SUCCEED', costMs: copyMs + swapMs };
  }

  /**
   * Copies the region's pages into the THP headed by `head`, swapping in swapped entries, unmaps the
   * small pages (freeing those nobody else maps), and installs the PMD. The old PTE table is kept as
   * the huge mapping's deposited table.
   */
  private copyAndReplace(target: Task, pmdIdx: number, t: number, head: number): { populated: number; mappings: number } {
    const k = this.k;
    const f = k.frames;
    const mm = target.mm;
    const base = t * PTRS_PER_PTE;
    let populated = 0;
    let mappings = 0;
    let young = false;
    let dirty = false;
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const slot = base + i;
      const pte = k.pgtables.entries[slot];
      if (pte === 0) {
        f.setContent(head + i, 0);
        continue;
      }
      if (pte < 0) {
        const swapSlot = pteSwapSlot(pte);
        f.setContent(head + i, k.swap.read(swapSlot));
        k.pgtables.set(slot, 0);
        k.swap.release(swapSlot);
        mm.swapEntries--;
        k.vmstat.countVmEvent(k.nodeOfPfn(head), Vm.pswpin);
        k.vmstat.countVmEvent(k.nodeOfPfn(head), Vm.pgpgin, 4);
        populated++;
        dirty = true;
        continue;
      }
      const pfn = ptePfn(pte);
      if (pfn === k.zeroPfn) {
        f.setContent(head + i, 0);
        k.pgtables.set(slot, 0);
        k.rmap.removePte(pfn, slot);
        k.ksm.zeroPteUnmapped(mm, slot);
        continue;
      }
      f.setContent(head + i, f.content(pfn));
      const pageHead = f.compoundHead(pfn);
      young ||= f.has(pfn, PG.young) || f.has(pageHead, PG.young) || f.has(pfn, PG.referenced);
      dirty ||= f.has(pfn, PG.dirty) || f.has(pageHead, PG.dirty);
      mappings += f.getMapcount(pfn);
      populated++;
      k.memory.unmapPte(mm, slot);
    }
    k.huge.installCollapsed(target, pmdIdx, t, head, young, dirty);
    return { populated, mappings };
  }

  /**
   * __collapse_huge_page_isolate locks each small page of the region in turn: a page mapped at two of
   * its PTEs (a KSM page merged within the range) is found locked at the second (SCAN_PAGE_LOCK).
   */
  private smallPageMappedTwice(t: number): boolean {
    const k = this.k;
    const f = k.frames;
    const seen = new Set<number>();
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const pte = k.pgtables.entries[t * PTRS_PER_PTE + i];
      if (pte <= 0) continue;
      const pfn = ptePfn(pte);
      if (pfn === k.zeroPfn || f.getMapcount(pfn) < 2 || f.has(pfn, PG.head) || f.has(pfn, PG.tail)) continue;
      if (seen.has(pfn)) return true;
      seen.add(pfn);
    }
    return false;
  }

  /**
   * MADV_COLLAPSE over [start, end) of one VMA (madvise_collapse). Returns null on success or the errno
   * of the last failure; the walk goes on after failures the kernel deems region-local and stops at the
   * others. The payer is charged the CPU time.
   */
  madviseCollapse(target: Task, vma: Vma, start: number, end: number, payer: Task): 'ENOMEM' | 'EBUSY' | 'EAGAIN' | 'EINVAL' | null {
    if (!this.vmaAllowsCollapse(target, vma, false)) return 'EINVAL';
    const hstart = Math.ceil(start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    const hend = Math.floor(end / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    // [6.18] a range inside one region touching neither boundary is EINVAL; one holding no whole
    // region but crossing a boundary succeeds doing nothing.
    if (hstart > hend) return 'EINVAL';
    let thps = 0;
    let lastFail: ScanResult = 'SCAN_FAIL';
    const cc: CollapseControl = { isKhugepaged: false, payer };
    for (let addr = hstart; addr < hend; addr += HPAGE_PMD_SIZE) {
      const { result, costMs } = this.collapseRegion(target, vma, addr / HPAGE_PMD_SIZE, cc);
      payer.chargeSys(costMs);
      if (result === 'SUCCEED' || result === 'PMD_MAPPED') {
        thps++;
        continue;
      }
      lastFail = result;
      if (!continueResults.has(result)) break;
    }
    return thps === (hend - hstart) / HPAGE_PMD_SIZE ? null : collapseErrno(lastFail);
  }
}

/** The nodes holding the most pages of the region (hpage_collapse_find_target_node), highest first. */
function targetNodes(nodeLoad: readonly number[]): number[] {
  const max = Math.max(...nodeLoad);
  if (max === 0) return [];
  return nodeLoad.flatMap((n, node) => (n === max ? [node] : []));
}
