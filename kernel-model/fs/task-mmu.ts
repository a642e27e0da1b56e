/**
 * Walks a process's page tables to produce the per-VMA figures of /proc/PID/smaps, smaps_rollup and
 * numa_maps (Linux fs/proc/task_mmu.c). The walk visits every mapped page, which is why reading smaps
 * costs the reader time proportional to the mapping (charged by the caller of these functions).
 */
import { HPAGE_PMD_SIZE, PAGE_SIZE } from '../mm/constants.js';
import { VM, type Task, type Vma } from '../mm/mm-types.js';
import { PG } from '../mm/page-flags.js';
import { PTRS_PER_PTE, ptePfn } from '../mm/pgtable.js';
import type { SmapsField, VmFlag } from './smaps.js';
import type { Kernel } from '../kernel.js';

/** Per-VMA page statistics, in pages (Pss-like fields as fractional pages). */
export interface VmaPageStats {
  rss: number;
  pss: number;
  pssDirty: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  referenced: number;
  anonymous: number;
  ksm: number;
  anonHuge: number;
  swap: number;
  swapPss: number;
  dirty: number;
  active: number;
  mapmax: number;
  /** Resident pages per node. */
  perNode: number[];
  /** Page-table entries walked: PTEs in use plus huge PMDs (the cost driver). */
  walked: number;
}

/** Walks one VMA. */
export function vmaPageStats(k: Kernel, task: Task, vma: Vma): VmaPageStats {
  const s: VmaPageStats = {
    rss: 0, pss: 0, pssDirty: 0, sharedClean: 0, sharedDirty: 0, privateClean: 0, privateDirty: 0, referenced: 0,
    anonymous: 0, ksm: 0, anonHuge: 0, swap: 0, swapPss: 0, dirty: 0, active: 0, mapmax: 0,
    perNode: k.zones.map(() => 0), walked: 0,
  };
  const f = k.frames;
  for (let a = vma.start; a < vma.end; ) {
    const pmdIdx = Math.floor(a / HPAGE_PMD_SIZE);
    const pmdEnd = Math.min(vma.end, (pmdIdx + 1) * HPAGE_PMD_SIZE);
    const e = task.mm.pmd.get(pmdIdx);
    if (e === undefined) {
      a = pmdEnd;
      continue;
    }
    if (e < 0) {
      const head = -e - 1;
      if (head !== k.huge.hugeZeroPfn) {
        const mappers = k.rmap.pmdMapcount(head);
        const n = (pmdEnd - a) / PAGE_SIZE;
        addPages(s, n, mappers, f.has(head, PG.dirty), f.has(head, PG.young) || f.has(head, PG.referenced), f.has(head, PG.active), k.nodeOfPfn(head));
        s.anonymous += n;
        s.anonHuge += n;
      }
      s.walked++;
      a = pmdEnd;
      continue;
    }
    for (; a < pmdEnd; a += PAGE_SIZE) {
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE)];
      if (pte !== 0) s.walked++;
      if (pte < 0) {
        s.swap++;
        s.swapPss++;
        continue;
      }
      if (pte === 0) continue;
      const pfn = ptePfn(pte);
      if (pfn === k.zeroPfn) continue;
      // Only a compound page can also be PMD-mapped (a THP mapped both ways): skip the rmap lookup otherwise.
      const compound = (f.flags[pfn] & (PG.head | PG.tail)) !== 0;
      const head = compound ? f.compoundHead(pfn) : pfn;
      const mapcount = f.getMapcount(pfn) + (compound ? k.rmap.pmdMapcount(head) : 0);
      addPages(s, 1, mapcount, f.has(pfn, PG.dirty) || f.has(head, PG.dirty), f.has(pfn, PG.young) || f.has(head, PG.referenced) || f.has(pfn, PG.referenced), f.has(head, PG.active), k.nodeOfPfn(pfn));
      s.anonymous++;
      if (f.has(pfn, PG.ksm)) s.ksm++;
    }
  }
  return s;
}

function addPages(s: VmaPageStats, n: number, mapcount: number, dirty: boolean, young: boolean, active: boolean, node: number): void {
  s.rss += n;
  s.pss += n / Math.max(1, mapcount);
  if (dirty) {
    s.pssDirty += n / Math.max(1, mapcount);
    s.dirty += n;
  }
  if (mapcount > 1) {
    if (dirty) s.sharedDirty += n;
    else s.sharedClean += n;
  } else if (dirty) s.privateDirty += n;
  else s.privateClean += n;
  if (young) s.referenced += n;
  if (active || young) s.active += n;
  s.mapmax = Math.max(s.mapmax, mapcount);
  s.perNode[node] += n;
}

/** The smaps kB fields from page statistics (Pss rounded down as Linux's shift does). */
export function smapsKb(s: VmaPageStats, locked: boolean): Partial<Record<SmapsField, number>> {
  const kb = (pages: number): number => Math.floor(pages * (PAGE_SIZE / 1024));
  return {
    Rss: kb(s.rss),
    Pss: kb(s.pss),
    Pss_Dirty: kb(s.pssDirty),
    Shared_Clean: kb(s.sharedClean),
    Shared_Dirty: kb(s.sharedDirty),
    Private_Clean: kb(s.privateClean),
    Private_Dirty: kb(s.privateDirty),
    Referenced: kb(s.referenced),
    Anonymous: kb(s.anonymous),
    KSM: kb(s.ksm),
    AnonHugePages: kb(s.anonHuge),
    Swap: kb(s.swap),
    SwapPss: kb(s.swapPss),
    Locked: locked ? kb(s.pss) : 0,
  };
}

/** The VmFlags mnemonics of a VMA. */
export function vmaFlagMnemonics(vma: Vma): VmFlag[] {
  const out: VmFlag[] = [];
  if (vma.flags & VM.READ) out.push('rd');
  if (vma.flags & VM.WRITE) out.push('wr');
  if (vma.flags & VM.EXEC) out.push('ex');
  if (vma.flags & VM.SHARED) out.push('sh', 'ms');
  out.push('mr', 'mw', 'me');
  if (vma.flags & VM.LOCKED) out.push('lo');
  if (vma.flags & VM.ACCOUNT) out.push('ac');
  if (vma.flags & VM.HUGEPAGE) out.push('hg');
  if (vma.flags & VM.NOHUGEPAGE) out.push('nh');
  if (vma.flags & VM.MERGEABLE) out.push('mg');
  return out;
}

/** THPeligible: whether any aligned 2 MiB region of the VMA may get a THP under the sysfs rules. */
export function vmaThpEligible(k: Kernel, task: Task, vma: Vma): boolean {
  const first = Math.ceil(vma.start / HPAGE_PMD_SIZE);
  return (first + 1) * HPAGE_PMD_SIZE <= vma.end && k.huge.vmaAllowsThp(task, vma, first);
}
