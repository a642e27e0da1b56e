/**
 * Long-term pinning (Linux mm/gup.c with FOLL_LONGTERM), as vfio device assignment or RDMA do: the
 * pages are faulted in for writing and their reference count is raised, so they cannot be migrated
 * (compaction skips them and their pageblock cannot be freed) and MADV_COLLAPSE meets a refcount that
 * does not match the mapcount. Pins nest: a page stays pinned until every pin is released.
 */
import { HPAGE_PMD_SIZE, PAGE_SIZE } from './constants.js';
import { VM, type Task } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn } from './pgtable.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** Pin bookkeeping. */
export class Pins {
  private readonly counts = new Map<number, number>();
  /** The frames each task holds pins on (one entry per pin). */
  private readonly byTask = new Map<number, number[]>();

  constructor(private readonly k: Kernel) {}

  /** pin_user_pages(FOLL_LONGTERM | FOLL_WRITE) over a range; EFAULT for unmapped or PROT_NONE pages. */
  pin(task: Task, addr: number, length: number): void {
    const held = this.byTask.get(task.pid) ?? [];
    this.byTask.set(task.pid, held);
    this.forEachPage(task, addr, length, true, (pfn) => {
      this.counts.set(pfn, (this.counts.get(pfn) ?? 0) + 1);
      this.k.frames.set(pfn, PG.pinned);
      held.push(pfn);
    });
  }

  /** unpin_user_pages over a range previously pinned. */
  unpin(task: Task, addr: number, length: number): void {
    const held = this.byTask.get(task.pid) ?? [];
    this.forEachPage(task, addr, length, false, (pfn) => {
      const i = held.indexOf(pfn);
      if (i < 0) return;
      held.splice(i, 1);
      this.release(pfn);
    });
  }

  /** Pins a task holds (VmPin). */
  pinnedPagesOf(pid: number): number {
    return this.byTask.get(pid)?.length ?? 0;
  }

  /** Drops every pin a task holds (the device is closed when the process exits). */
  releaseTask(pid: number): void {
    for (const pfn of this.byTask.get(pid) ?? []) this.release(pfn);
    this.byTask.delete(pid);
  }

  private release(pfn: number): void {
    const n = (this.counts.get(pfn) ?? 0) - 1;
    if (n > 0) this.counts.set(pfn, n);
    else {
      this.counts.delete(pfn);
      this.k.frames.clear(pfn, PG.pinned);
    }
  }

  private forEachPage(task: Task, addr: number, length: number, fault: boolean, fn: (pfn: number) => void): void {
    const k = this.k;
    const end = addr + length;
    for (let a = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE; a < end; a += PAGE_SIZE) {
      const vma = task.mm.findVma(a);
      if (!vma || !(vma.flags & VM.READ)) throw new SyscallError('EFAULT', 'pin_user_pages', `0x${a.toString(16)} is not mapped readable`);
      if (fault && k.memory.populate(task, vma, a, (vma.flags & VM.WRITE) !== 0) === 'oom') throw new SyscallError('ENOMEM', 'pin_user_pages');
      const pfn = this.pageAt(task, a);
      if (pfn >= 0 && pfn !== k.zeroPfn) fn(pfn);
    }
  }

  /** The frame mapped at `addr`, or -1. */
  private pageAt(task: Task, addr: number): number {
    const k = this.k;
    const e = task.mm.pmd.get(Math.floor(addr / HPAGE_PMD_SIZE));
    if (e === undefined) return -1;
    if (e < 0) return -e - 1 + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
    const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE)];
    return pte > 0 ? ptePfn(pte) : -1;
  }
}
