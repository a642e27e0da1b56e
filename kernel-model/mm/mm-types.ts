/**
 * Processes, their address spaces and VMAs (Linux's task_struct, mm_struct and vm_area_struct, reduced
 * to what huge pages depend on). VMAs are few per process and are plain objects; per-page state lives in
 * the page tables (pgtable.ts) and the frame arrays (page-flags.ts).
 */
import { FaultLatency } from './fault-latency.js';
import type { Mempolicy } from './mempolicy.js';

/** VMA flag bits (the model's own numbering; smaps prints Linux's two-letter names). */
export const VM = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  EXEC: 1 << 2,
  SHARED: 1 << 3,
  LOCKED: 1 << 4,
  HUGEPAGE: 1 << 5,
  NOHUGEPAGE: 1 << 6,
  MERGEABLE: 1 << 7,
  ACCOUNT: 1 << 8,
} as const;

/** smaps `VmFlags` names of the bits above, in Linux's print order. */
export const vmFlagNames: readonly (readonly [number, string])[] = [
  [VM.READ, 'rd'],
  [VM.WRITE, 'wr'],
  [VM.EXEC, 'ex'],
  [VM.SHARED, 'sh'],
  [-1, 'mr'],
  [-2, 'mw'],
  [-3, 'me'],
  [VM.LOCKED, 'lo'],
  [VM.ACCOUNT, 'ac'],
  [VM.HUGEPAGE, 'hg'],
  [VM.NOHUGEPAGE, 'nh'],
  [VM.MERGEABLE, 'mg'],
];

/** A virtual memory area: [start, end) with flags. */
export interface Vma {
  start: number;
  end: number;
  flags: number;
  /**
   * Identity of the anon_vma (0: none yet). Created by the first write fault; VMAs that share it may
   * merge, and MADV_COLLAPSE needs one.
   */
  anonVma: number;
  /** Per-VMA NUMA policy from mbind, if any. */
  policy: Mempolicy | undefined;
  /**
   * vm_pgoff: the VMA's offset in pages from the start of its mapping (moved on a split). The maps and
   * smaps headers print it for shared anonymous memory (a shmem file) only, 0 for private memory.
   */
  readonly pgoff: number;
}

/** Causes of stall time a task can suffer, for the typed stall accessor. */
export const StallCause = {
  directReclaim: 0,
  directCompaction: 1,
  swapIn: 2,
  collapse: 3,
  migration: 4,
  numaHint: 5,
  memcgThrottle: 6,
} as const;
export type StallCause = keyof typeof StallCause;
export const NR_STALL_CAUSES = 7;

/** Stall causes during which the task sleeps rather than runs. */
const waitingStalls: ReadonlySet<StallCause> = new Set<StallCause>(['swapIn', 'collapse', 'memcgThrottle']);

/**
 * An mm's PMD table: PMD index → entry. A Map whose changes (set, delete, clear) are reported to
 * `onChange` while one is attached: the access streams subscribe to the address spaces they run in, to
 * revisit only the 2 MiB regions whose mapping changed.
 */
export class PmdMap extends Map<number, number> {
  onChange: ((pmdIdx: number) => void) | undefined = undefined;

  override set(pmdIdx: number, entry: number): this {
    this.onChange?.(pmdIdx);
    return super.set(pmdIdx, entry);
  }

  override delete(pmdIdx: number): boolean {
    this.onChange?.(pmdIdx);
    return super.delete(pmdIdx);
  }

  override clear(): void {
    if (this.onChange) for (const pmdIdx of this.keys()) this.onChange(pmdIdx);
    super.clear();
  }
}

/** An address space. */
export class MmStruct {
  /** Sorted by start, non-overlapping. */
  vmas: Vma[] = [];
  /** PMD index (address / 2 MiB) → entry: ≥ 0 a PTE table index, < 0 a PMD mapping of frame −entry−1. */
  readonly pmd = new PmdMap();
  /** Pages mapped by PTEs (anonymous, present), excluding the zero page. */
  anonPtePages = 0;
  /** PMD mappings of anonymous THPs. */
  thpPmdMapped = 0;
  /** Swap entries in the page tables. */
  swapEntries = 0;
  /**
   * The address spaces this one shares anonymous pages with copy-on-write: a parent and the children it
   * forked (and theirs) join one group and leave it at exit. Undefined before any fork.
   */
  cowGroup: { members: number } | undefined = undefined;
  /** PTE tables allocated. */
  ptePages = 0;
  /** Peak RSS in pages (VmHWM). */
  hiwaterRss = 0;
  /** Peak virtual size in bytes (VmPeak). */
  peakVm = 0;
  /** Highest address of the top-down mmap area. */
  readonly mmapBase = 0x7f00_0000_0000;

  /**
   * Whether another live address space may still share an anonymous page of this one copy-on-write (so
   * a write may copy). Once the others of its fork group have exited, its pages are its own again.
   */
  get cowShared(): boolean {
    return this.cowGroup !== undefined && this.cowGroup.members > 1;
  }

  /** Joins `parent`'s copy-on-write group (fork). */
  shareCowWith(parent: MmStruct): void {
    parent.cowGroup ??= { members: 1 };
    this.cowGroup = parent.cowGroup;
    this.cowGroup.members++;
  }

  /** Leaves the copy-on-write group (exit). */
  leaveCowGroup(): void {
    if (this.cowGroup) this.cowGroup.members--;
    this.cowGroup = undefined;
  }

  /** The VMA containing `addr`, or undefined. */
  findVma(addr: number): Vma | undefined {
    const vmas = this.vmas;
    let lo = 0;
    let hi = vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = vmas[mid];
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  /** Resident pages (4 KiB units): PTE-mapped anonymous pages plus 512 per PMD-mapped THP. */
  get rssPages(): number {
    return this.anonPtePages + this.thpPmdMapped * 512;
  }

  /** Total mapped bytes. */
  get totalVm(): number {
    let n = 0;
    for (const v of this.vmas) n += v.end - v.start;
    return n;
  }

  /** Records the high-water marks after a change. */
  updateHiwater(): void {
    this.hiwaterRss = Math.max(this.hiwaterRss, this.rssPages);
    this.peakVm = Math.max(this.peakVm, this.totalVm);
  }
}

/** A process (one thread per process in the model). */
export class Task {
  /** User and system CPU time, ms. */
  utimeMs = 0;
  stimeMs = 0;
  minflt = 0;
  majflt = 0;
  /** Stall time by {@link StallCause}, ms. */
  readonly stallMs = new Float64Array(NR_STALL_CAUSES);
  /** PR_SET_THP_DISABLE. */
  thpDisable = false;
  /** PR_SET_MEMORY_MERGE. */
  memoryMerge = false;
  alive = true;
  /** The task's open file descriptors (pidfds): fd → target pid. */
  readonly fds = new Map<number, number>();
  /** Latencies of its page faults (made on its first fault). */
  faultLatency: FaultLatency | undefined;

  constructor(
    readonly pid: number,
    readonly ppid: number,
    public comm: string,
    readonly uid: number,
    readonly caps: ReadonlySet<string>,
    readonly dumpable: boolean,
    public node: number,
    public mempolicy: Mempolicy,
    public cgroup: string,
    readonly mm: MmStruct,
    readonly startTimeMs: number,
  ) {}

  /** Charges kernel (system) time. */
  chargeSys(ms: number): void {
    this.stimeMs += ms;
  }

  /**
   * Records a stall. Where the task does the kernel's work itself (direct reclaim and compaction,
   * migration, NUMA hinting faults) the time is also system CPU time; where it only waits (for swap I/O,
   * for a collapse holding its mmap lock, for the memcg throttle to expire) it is not.
   */
  stall(cause: StallCause, ms: number): void {
    this.stallMs[StallCause[cause]] += ms;
    if (!waitingStalls.has(cause)) this.stimeMs += ms;
  }

  hasCap(cap: string): boolean {
    return this.caps.has(cap);
  }

  /** The time a fault can take from the task: kernel time, and the waits of swap-in and the memcg throttle (ms). */
  faultClockMs(): number {
    return this.stimeMs + this.stallMs[StallCause.swapIn] + this.stallMs[StallCause.memcgThrottle];
  }

  /** Records `count` page faults that took `ms` each. */
  recordFault(ms: number, count = 1): void {
    (this.faultLatency ??= new FaultLatency()).add(ms, count);
  }
}
