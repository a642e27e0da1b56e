/**
 * Address-space layout (Linux mm/mmap.c, mm/mprotect.c, mm/mlock.c): placing new anonymous mappings
 * top-down, and splitting and merging VMAs as mmap, munmap, mprotect, mlock and madvise change parts of
 * them. Adjacent VMAs merge when their flags and policy are equal and their anon_vmas are compatible
 * (either has none, or they are the same), as is_mergeable_anon_vma allows.
 */
import { HPAGE_PMD_SIZE, PAGE_SIZE } from './constants.js';
import { Cost } from './costs.js';
import { VM, type MmStruct, type Task, type Vma } from './mm-types.js';
import { PG } from './page-flags.js';
import { PTRS_PER_PTE, ptePfn } from './pgtable.js';
import { Vm } from './vmstat.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** Protection as the API names it. */
export type Prot = 'rw' | 'r' | 'none';

const PROT_BITS = VM.READ | VM.WRITE;

/** VM flag bits of a protection. */
export function protFlags(prot: Prot): number {
  return prot === 'rw' ? VM.READ | VM.WRITE : prot === 'r' ? VM.READ : 0;
}

/** Rounds up to a page. */
export const pageAlignUp = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/** VMA operations. */
export class Mmap {
  constructor(private readonly k: Kernel) {}

  /**
   * mmap(2) of anonymous memory; returns the address. With `fixed`, the mapping goes exactly there
   * (MAP_FIXED_NOREPLACE: EEXIST if anything is mapped in the range, EINVAL if it is not page aligned).
   */
  mmap(task: Task, length: number, prot: Prot, shared: boolean, align: number | undefined, fixed?: number): number {
    const len = pageAlignUp(length);
    const alignment = align ?? (len % HPAGE_PMD_SIZE === 0 ? HPAGE_PMD_SIZE : PAGE_SIZE);
    if (!(alignment >= PAGE_SIZE) || (alignment & (alignment - 1)) !== 0) {
      throw new SyscallError('EINVAL', 'mmap', `alignment ${alignment} is not a power of two ≥ 4096`);
    }
    let addr: number;
    if (fixed !== undefined) {
      this.checkRange('mmap', fixed, len);
      if (task.mm.vmas.some((v) => v.start < fixed + len && v.end > fixed)) {
        throw new SyscallError('EEXIST', 'mmap', `${hex(fixed)}+${len} overlaps a mapping`);
      }
      addr = fixed;
    } else {
      addr = this.findGap(task.mm, len, alignment);
      if (addr < 0) throw new SyscallError('ENOMEM', 'mmap', 'no room in the address space');
    }
    let flags = protFlags(prot) | (shared ? VM.SHARED : 0);
    if (!shared && flags & VM.WRITE) flags |= VM.ACCOUNT;
    this.insert(task.mm, { start: addr, end: addr + len, flags, anonVma: 0, policy: undefined, pgoff: 0 });
    task.chargeSys(Cost.syscall);
    task.mm.updateHiwater();
    return addr;
  }

  /** Top-down search for a free, aligned range of `len` bytes below mmapBase. */
  private findGap(mm: MmStruct, len: number, align: number): number {
    let hi = mm.mmapBase;
    for (let i = mm.vmas.length - 1; i >= -1; i--) {
      const lo = i >= 0 ? mm.vmas[i].end : 0x1000_0000;
      if (hi - len >= lo) {
        const addr = Math.floor((hi - len) / align) * align;
        if (addr >= lo) return addr;
      }
      if (i >= 0) hi = Math.min(hi, mm.vmas[i].start);
    }
    return -1;
  }

  /** munmap(2). */
  munmap(task: Task, addr: number, length: number): void {
    this.checkRange('munmap', addr, length);
    const end = addr + pageAlignUp(length);
    this.splitAt(task, addr);
    this.splitAt(task, end);
    this.k.memory.zapRange(task, addr, end, false);
    task.mm.vmas = task.mm.vmas.filter((v) => v.end <= addr || v.start >= end);
    this.freePgtables(task, addr, end);
    task.chargeSys(Cost.syscall);
  }

  /** mprotect(2): ENOMEM when the range is not entirely mapped. */
  mprotect(task: Task, addr: number, length: number, prot: Prot): void {
    const end = addr + pageAlignUp(length);
    this.modify('mprotect', task, addr, end, (v) => {
      let flags = (v.flags & ~PROT_BITS) | protFlags(prot);
      if (!(flags & VM.SHARED) && flags & VM.WRITE) flags |= VM.ACCOUNT;
      v.flags = flags;
    });
  }

  /** mlock(2): locks the VMAs and populates them, marking every page unevictable. */
  mlock(task: Task, addr: number, length: number): void {
    const end = addr + pageAlignUp(length);
    this.modify('mlock', task, addr, end, (v) => {
      v.flags |= VM.LOCKED;
    });
    const k = this.k;
    for (let a = addr; a < end; a += PAGE_SIZE) {
      const vma = task.mm.findVma(a)!;
      if (!(vma.flags & VM.READ)) continue;
      const write = (vma.flags & VM.WRITE) !== 0;
      if (k.memory.populate(task, vma, a, write) === 'oom') {
        throw new SyscallError('ENOMEM', 'mlock');
      }
    }
    this.markMlocked(task, addr, end);
  }

  /** Sets PG_mlocked on every mapped page of the range (they leave the evictable LRU lists). */
  private markMlocked(task: Task, start: number, end: number): void {
    const k = this.k;
    for (let a = start; a < end; a += PAGE_SIZE) {
      const e = task.mm.pmd.get(Math.floor(a / HPAGE_PMD_SIZE));
      if (e === undefined) continue;
      let pfn: number;
      if (e < 0) {
        pfn = -e - 1;
        a += HPAGE_PMD_SIZE - (a % HPAGE_PMD_SIZE) - PAGE_SIZE;
        if (pfn === k.huge.hugeZeroPfn) continue;
      } else {
        const pte = k.pgtables.entries[e * PTRS_PER_PTE + (Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE)];
        if (pte <= 0) continue;
        pfn = k.frames.compoundHead(ptePfn(pte));
        if (pfn === k.zeroPfn) continue;
      }
      if (k.frames.has(pfn, PG.mlocked)) continue;
      k.vmscan.lruUpdate(pfn, PG.mlocked, 0);
      const n = k.frames.has(pfn, PG.head) ? 512 : 1;
      k.vmstat.modNodeState(k.nodeOfPfn(pfn), Vm.nr_mlock, n);
      k.vmstat.countVmEvent(k.nodeOfPfn(pfn), Vm.unevictable_pgs_mlocked, n);
    }
  }

  /**
   * Applies `change` to the VMAs covering [start, end), splitting them at the boundaries and merging
   * afterwards. The range must be mapped without holes (else ENOMEM, nothing changed).
   */
  modify(syscall: string, task: Task, start: number, end: number, change: (v: Vma) => void): void {
    this.checkRange(syscall, start, end - start);
    const mm = task.mm;
    for (let a = start; a < end; ) {
      const v = mm.findVma(a);
      if (!v) throw new SyscallError('ENOMEM', syscall, `${hex(a)} is not mapped`);
      a = v.end;
    }
    this.splitAt(task, start);
    this.splitAt(task, end);
    for (const v of mm.vmas) if (v.start >= start && v.end <= end) change(v);
    this.mergeAll(mm);
    task.chargeSys(Cost.syscall);
  }

  /** Rejects an unaligned start or a non-positive length (EINVAL). */
  checkRange(syscall: string, addr: number, length: number): void {
    if (addr % PAGE_SIZE !== 0 || !(length > 0) || !Number.isFinite(addr) || addr < 0) {
      throw new SyscallError('EINVAL', syscall, `bad range ${hex(addr)}+${length}`);
    }
  }

  /**
   * Splits the VMA containing `addr` so that a VMA starts there (__split_vma). A huge mapping the new
   * boundary cuts is split to PTEs first, as vma_adjust_trans_huge does: a THP cannot straddle VMAs.
   */
  splitAt(task: Task, addr: number): void {
    const mm = task.mm;
    const i = mm.vmas.findIndex((v) => v.start < addr && addr < v.end);
    if (i < 0) return;
    const pmdIdx = Math.floor(addr / HPAGE_PMD_SIZE);
    const e = mm.pmd.get(pmdIdx);
    if (addr % HPAGE_PMD_SIZE !== 0 && e !== undefined && e < 0) this.k.huge.splitHugePmd(mm, task.pid, pmdIdx);
    const v = mm.vmas[i];
    const upper: Vma = { ...v, start: addr, pgoff: v.pgoff + (addr - v.start) / PAGE_SIZE };
    v.end = addr;
    mm.vmas.splice(i + 1, 0, upper);
  }

  /** Inserts a new VMA in order and merges it with its neighbours when allowed. */
  insert(mm: MmStruct, vma: Vma): void {
    const i = mm.vmas.findIndex((v) => v.start > vma.start);
    mm.vmas.splice(i < 0 ? mm.vmas.length : i, 0, vma);
    this.mergeAll(mm);
  }

  /** Merges every mergeable adjacent pair. */
  mergeAll(mm: MmStruct): void {
    const out: Vma[] = [];
    for (const v of mm.vmas) {
      const prev = out[out.length - 1];
      if (prev && canMerge(prev, v)) {
        prev.end = v.end;
        prev.anonVma = prev.anonVma || v.anonVma;
      } else out.push(v);
    }
    mm.vmas = out;
  }

  /**
   * Frees the PTE tables of the unmapped [start, end) (free_pgtables): only those whose 2 MiB no VMA
   * still overlaps — free_pgd_range keeps a table shared with the VMA below `floor` or above `ceiling`,
   * even an empty one.
   */
  private freePgtables(task: Task, start: number, end: number): void {
    const mm = task.mm;
    const first = Math.floor(start / HPAGE_PMD_SIZE);
    const last = Math.ceil(end / HPAGE_PMD_SIZE);
    for (let p = first; p < last; p++) {
      const t = mm.pmd.get(p);
      if (t === undefined || t < 0) continue;
      const lo = p * HPAGE_PMD_SIZE;
      if (mm.vmas.some((v) => v.start < lo + HPAGE_PMD_SIZE && v.end > lo)) continue;
      this.k.memory.freePteTable(mm, p);
    }
  }
}

function canMerge(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    a.flags === b.flags &&
    a.policy === b.policy &&
    (a.anonVma === 0 || b.anonVma === 0 || a.anonVma === b.anonVma)
  );
}

/** An address in hex, for messages. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
