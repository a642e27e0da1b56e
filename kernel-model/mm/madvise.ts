/**
 * madvise(2) for anonymous memory (Linux mm/madvise.c). Advice that changes VMA flags splits and merges
 * VMAs; advice that acts on pages walks the page tables. Like Linux, the walk applies the advice to
 * every mapped part of the range and reports ENOMEM at the end if the range had holes.
 *
 * MADV_COLLAPSE runs the collapse of mm/collapse.ts synchronously in the caller's context;
 * MADV_MERGEABLE and MADV_UNMERGEABLE are KSM's (mm/ksm.ts).
 */
import { HPAGE_PMD_SIZE, PAGE_SIZE, PageKind } from './constants.js';
import { Cost } from './costs.js';
import { VM, type Task } from './mm-types.js';
import { pageAlignUp, type Mmap } from './mmap.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn } from './pgtable.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** The advice values the model knows. */
export const madviseAdvices = [
  'MADV_NORMAL',
  'MADV_DONTNEED',
  'MADV_HUGEPAGE',
  'MADV_NOHUGEPAGE',
  'MADV_COLLAPSE',
  'MADV_MERGEABLE',
  'MADV_UNMERGEABLE',
  'MADV_PAGEOUT',
  'MADV_COLD',
  'MADV_WILLNEED',
] as const;
export type Advice = (typeof madviseAdvices)[number];

const flagAdvice: Partial<Record<Advice, { set: number; clear: number }>> = {
  MADV_HUGEPAGE: { set: VM.HUGEPAGE, clear: VM.NOHUGEPAGE },
  MADV_NOHUGEPAGE: { set: VM.NOHUGEPAGE, clear: VM.HUGEPAGE },
};

/** madvise. */
export class Madvise {
  constructor(
    private readonly k: Kernel,
    private readonly mmap: Mmap,
  ) {}

  /**
   * madvise(2) on `task`'s memory; throws SyscallError. `payer` is the task in whose context the call
   * runs (itself, or the caller of process_madvise) and pays its CPU time.
   */
  madvise(task: Task, addr: number, length: number, advice: string, payer: Task = task): void {
    if (!(madviseAdvices as readonly string[]).includes(advice)) throw new SyscallError('EINVAL', 'madvise', `unknown advice ${advice}`);
    if (addr % PAGE_SIZE !== 0 || !(length >= 0)) throw new SyscallError('EINVAL', 'madvise', 'unaligned start or negative length');
    if (length === 0) return;
    const a = advice as Advice;
    const end = addr + pageAlignUp(length);
    payer.chargeSys(Cost.syscall);
    const parts = this.mappedParts(task, addr, end);
    const flags = flagAdvice[a];
    if (a === 'MADV_COLLAPSE') {
      this.collapse(task, parts, payer);
    } else if (a === 'MADV_MERGEABLE' || a === 'MADV_UNMERGEABLE') {
      for (const [s, e] of parts) this.k.ksm.madvise(task, s, e, a === 'MADV_MERGEABLE');
    } else if (flags) {
      for (const [s, e] of parts) {
        this.mmap.modify('madvise', task, s, e, (v) => {
          v.flags = (v.flags | flags.set) & ~flags.clear;
        });
        if (a === 'MADV_HUGEPAGE') for (const v of task.mm.vmas) if (v.end > s && v.start < e) this.k.khugepaged.enterVma(task, v.start);
      }
    } else {
      for (const [s, e] of parts) this.pageAdvice(task, a, s, e, payer);
    }
    if (parts.reduce((n, [s, e]) => n + e - s, 0) < end - addr) throw new SyscallError('ENOMEM', 'madvise', 'range has unmapped holes');
  }

  /**
   * MADV_COLLAPSE, VMA by VMA: the first VMA that reports an error ends the walk with its errno (holes
   * alone give ENOMEM at the end, after the mapped parts were collapsed).
   */
  private collapse(task: Task, parts: [number, number][], payer: Task): void {
    for (const [s, e] of parts) {
      const vma = task.mm.findVma(s);
      if (!vma) continue;
      const errno = this.k.collapse.madviseCollapse(task, vma, s, e, payer);
      if (errno !== null) throw new SyscallError(errno, 'madvise', `MADV_COLLAPSE of 0x${s.toString(16)}-0x${e.toString(16)}`);
    }
  }

  /** The mapped sub-ranges of [start, end). */
  private mappedParts(task: Task, start: number, end: number): [number, number][] {
    return task.mm.vmas
      .filter((v) => v.end > start && v.start < end)
      .map((v) => [Math.max(v.start, start), Math.min(v.end, end)] as [number, number]);
  }

  private pageAdvice(task: Task, advice: Advice, start: number, end: number, payer: Task): void {
    const k = this.k;
    switch (advice) {
      case 'MADV_DONTNEED':
        if (task.mm.findVma(start)!.flags & VM.LOCKED) throw new SyscallError('EINVAL', 'madvise', 'MADV_DONTNEED on an mlocked range');
        k.memory.zapRange(task, start, end, true);
        return;
      case 'MADV_COLD':
        this.forEachPrivatePage(task, start, end, (pfn) => k.vmscan.lruUpdate(pfn, 0, PG.active | PG.referenced | PG.young));
        return;
      case 'MADV_PAGEOUT':
        this.pageout(task, start, end, payer);
        return;
      case 'MADV_WILLNEED':
        for (let a = start; a < end; a += PAGE_SIZE) {
          const vma = task.mm.findVma(a)!;
          if (this.isSwapped(task, a)) k.memory.populate(task, vma, a, false);
        }
        return;
      default:
        return;
    }
  }

  /** MADV_PAGEOUT: reclaim the range's private pages now (swap out anon, splitting THPs). */
  private pageout(task: Task, start: number, end: number, payer: Task): void {
    const k = this.k;
    if (k.swap.free === 0) return;
    // A THP the range covers whole goes out as one; one it only cuts is split, and only the pages
    // inside the range go (madvise_cold_or_pageout_pte_range).
    for (let pmdIdx = Math.floor(start / HPAGE_PMD_SIZE); pmdIdx * HPAGE_PMD_SIZE < end; pmdIdx++) {
      const e = task.mm.pmd.get(pmdIdx);
      if (e === undefined || e >= 0) continue;
      const head = -e - 1;
      const covered = pmdIdx * HPAGE_PMD_SIZE >= start && (pmdIdx + 1) * HPAGE_PMD_SIZE <= end;
      if (head === k.huge.hugeZeroPfn || k.rmap.pmdMapcount(head) !== 1 || !this.evictable(head)) continue;
      if (covered) payer.chargeSys(k.vmscan.pageoutAnon(head).costMs);
      else k.huge.splitHugePmd(task.mm, task.pid, pmdIdx);
    }
    const pages: number[] = [];
    this.forEachMappedPte(task, start, end, (pfn) => pages.push(pfn));
    for (const pfn of pages) {
      if (k.frames.getMapcount(pfn) !== 1 || !this.evictable(pfn)) continue;
      if (k.frames.has(pfn, PG.head) || k.frames.has(pfn, PG.tail)) {
        const split = k.huge.splitHugePage(k.frames.compoundHead(pfn));
        payer.chargeSys(split.costMs);
        if (!split.ok || k.frames.getMapcount(pfn) !== 1) continue;
      }
      payer.chargeSys(k.vmscan.pageoutAnon(pfn).costMs);
    }
  }

  private evictable(pfn: number): boolean {
    const f = this.k.frames;
    return f.kind(pfn) === PageKind.Anon && !f.has(f.compoundHead(pfn), PG.mlocked) && !this.k.migration.isPinned(f.compoundHead(pfn));
  }

  /** Calls `fn` with the frame of every present PTE (not the zero page) in the range. */
  private forEachMappedPte(task: Task, start: number, end: number, fn: (pfn: number) => void): void {
    const k = this.k;
    for (let a = start; a < end; a += PAGE_SIZE) {
      const e = task.mm.pmd.get(Math.floor(a / HPAGE_PMD_SIZE));
      if (e === undefined || e < 0) continue;
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE)];
      if (pte > 0 && ptePfn(pte) !== k.zeroPfn) fn(ptePfn(pte));
    }
  }

  /** Calls `fn` once per page (THP head for huge pages) mapped in the range only by this process. */
  private forEachPrivatePage(task: Task, start: number, end: number, fn: (pfn: number) => void): void {
    const k = this.k;
    const seen = new Set<number>();
    for (let a = start; a < end; ) {
      const e = task.mm.pmd.get(Math.floor(a / HPAGE_PMD_SIZE));
      const nextPmd = (Math.floor(a / HPAGE_PMD_SIZE) + 1) * HPAGE_PMD_SIZE;
      if (e === undefined) {
        a = nextPmd;
        continue;
      }
      if (e < 0) {
        const head = -e - 1;
        if (head !== k.huge.hugeZeroPfn && k.rmap.pmdMapcount(head) === 1 && !seen.has(head)) {
          seen.add(head);
          fn(head);
        }
        a = nextPmd;
        continue;
      }
      const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE)];
      if (pte > 0) {
        const pfn = ptePfn(pte);
        const head = k.frames.compoundHead(pfn);
        if (pfn !== k.zeroPfn && k.frames.getMapcount(pfn) === 1 && !seen.has(head)) {
          seen.add(head);
          fn(head);
        }
      }
      a += PAGE_SIZE;
    }
  }

  private isSwapped(task: Task, a: number): boolean {
    const e = task.mm.pmd.get(Math.floor(a / HPAGE_PMD_SIZE));
    if (e === undefined || e < 0) return false;
    return this.k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE)] < 0;
  }
}
