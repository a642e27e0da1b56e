/**
 * Access streams in the running kernel: each declared stream turns, once per tick of simulated time,
 * into what the hardware and the kernel would see of it.
 *
 *   per stream, per tick (default 1 s):
 *     1. faults   — a bounded sample of the pages it touched (sampleTouchedPages) is accessed through
 *                   the fault path, so unpopulated or swapped pages fault in and written pages change;
 *     2. young    — the accessed bits of the pages it touched are set (the THP head for a huge mapping):
 *                   what reclaim's LRU and khugepaged's young check read;
 *     3. swap-in  — while some of its mass lies on swapped-out pages, the distinct swapped pages it
 *                   touched are faulted back in (RegionState.swapInTouched): one major fault per page,
 *                   as on Linux, where the bounded sample of step 1 would take minutes to find them;
 *     4. cost     — the access mass is split by how each 2 MiB region is mapped (THP or 4 KiB, local or
 *                   remote node) and the MMU cost model prices the tick's accesses, plus the swap-ins'
 *                   major faults; the task is charged the access cycles as user time and its perf-like
 *                   counters grow.
 *
 * What a tick costs is proportional to what changed, not to the memory a stream covers (RegionState):
 *   - the kernel reports changes: PTE tables changed (PageTables.drainChanged), PMD entries changed
 *     (PmdMap.onChange, subscribed per address space) and accessed bits cleared (PageFrames.youngLog);
 *     only the regions they name are reclassified, and the split is kept as running sums;
 *   - accessed bits are set on a schedule rather than every tick. After τ ticks of accesses at a expected
 *     accesses per tick, a region of n pages has N(τ) = n·(1 − e^(−a·τ/n)) distinct pages touched
 *     (uniform within the region). A region new to the stream, or whose bits were cleared, is marked at
 *     once (τ = 1), then at τ = 2, 4, 8, ... up to N(τ) pages each time, until a·τ/n reaches
 *     MARK_SATURATION (~86% of its pages young; every page with a non-negligible rate is). A region
 *     touched less than once per tick is first marked at the τ where N(τ) reaches one page. Between two
 *     marks the bits lag the ideal by at most a doubling of the elapsed time: an approximation that
 *     readers (reclaim, khugepaged, smaps) cannot tell from real hardware's reference timing. A region
 *     whose mapping changed is only reclassified: every path that maps a page sets or carries its bit.
 *   - step 1 takes only the pages that can change through the fault path, and is skipped while none
 *     can (see everyTouchCounts).
 *
 * With NUMA balancing on, a touched page whose entry task_numa_work made PROT_NONE takes its NUMA
 * hinting fault each tick (a walk of the stream's regions, only while PTEs are marked) and in step 1
 * through the fault path.
 */
import { Priority, type EventHandle } from '../engine/engine.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { VM, type Task } from '../mm/mm-types.js';
import { PG } from '../mm/page-flags.js';
import { PTRS_PER_PTE } from '../mm/pgtable.js';
import { SyscallError } from '../syscall-error.js';
import {
  createStreamCursor,
  sampleTouchedPages,
  validateAccessStreamSpec,
  type AccessStreamSpec,
  type StreamCursor,
} from './access-pattern.js';
import { defaultMmuCostParams, mmuCostPerAccess, type MappingSplit, type MmuCost } from './mmu-cost.js';
import { RegionState } from './stream-regions.js';
import type { Kernel } from '../kernel.js';

/** Cycles per millisecond of the cost model's notional 1 GHz clock. */
const CYCLES_PER_MS = 1e6;
/** Frames mapped more often than this are not traced back to their regions when their bits are cleared. */
const YOUNG_TRACE_MAX_MAPPINGS = 64;

/** Perf-like counters of one task, from its access streams. */
export interface PerfCounters {
  /** Accesses performed. */
  accesses: number;
  /** Cycles spent on them (1 cycle = 1 ns), page walks and swap-ins included. */
  cycles: number;
  /** Cycles spent in page walks. */
  walkCycles: number;
  /** The same accesses' cycles had every region been mapped with 4 KiB pages on the local node. */
  baselineCycles: number;
}

interface Stream {
  readonly id: number;
  readonly pid: number;
  spec: AccessStreamSpec;
  readonly cursor: StreamCursor;
  /** What is known of each 2 MiB region, for the current spec (see RegionState). */
  regions: RegionState | undefined;
  /** At the last tick every page of its range was present (none absent or swapped). */
  allPresent: boolean;
  /** The last pricing (see AccessStreams.priced). */
  priced: { spec: AccessStreamSpec; mapping: MappingSplit; remoteDistance: number; cost: MmuCost; baseline: MmuCost } | undefined;
}

function sameSplit(a: MappingSplit, b: MappingSplit): boolean {
  return a.thpLocal === b.thpLocal && a.thpRemote === b.thpRemote && a.smallLocal === b.smallLocal && a.smallRemote === b.smallRemote && a.swapped === b.swapped;
}

/** Tuning of the stream driver. */
export interface StreamDriverOptions {
  /** Simulated time between two stream ticks, ms. */
  readonly tickMs: number;
  /** Pages per stream and tick that go through the fault path. */
  readonly maxFaultPagesPerTick: number;
}

export const defaultStreamDriverOptions: StreamDriverOptions = { tickMs: 1000, maxFaultPagesPerTick: 512 };

/** The access streams of every task. */
export class AccessStreams {
  private readonly streams = new Map<number, Stream>();
  /** The streams of each pid, to hand them the kernel's change reports. */
  private readonly byPid = new Map<number, Stream[]>();
  private readonly perf = new Map<number, PerfCounters>();
  private nextId = 1;
  private tick: EventHandle | undefined;
  /** Ticks run so far: the clock of the marking schedules. */
  private ticks = 0;
  /** (pid, PMD index) pairs reported by the subscribed PMD tables since the last drain. */
  private readonly pmdChanges: number[] = [];
  /** Frames whose accessed bits were cleared since the last drain (PageFrames.youngLog while streams run). */
  private readonly youngCleared: number[] = [];
  options: StreamDriverOptions = defaultStreamDriverOptions;

  constructor(private readonly k: Kernel) {}

  /** Declares a stream of `pid` over a mapped range; returns its id. EFAULT if the range is not mapped. */
  add(task: Task, spec: AccessStreamSpec): number {
    validateAccessStreamSpec(spec);
    this.checkMapped(task, spec);
    const id = this.nextId++;
    const s: Stream = { id, pid: task.pid, spec, cursor: createStreamCursor(), regions: undefined, allPresent: false, priced: undefined };
    this.streams.set(id, s);
    const mine = this.byPid.get(task.pid);
    if (mine) mine.push(s);
    else {
      this.byPid.set(task.pid, [s]);
      const pid = task.pid;
      task.mm.pmd.onChange = (pmdIdx) => this.pmdChanges.push(pid, pmdIdx);
    }
    this.ensureTicking();
    return id;
  }

  /** Replaces a stream's spec (a phase change: the hot set moves, the rate changes). */
  update(task: Task, id: number, spec: AccessStreamSpec): void {
    const s = this.own(task, id);
    validateAccessStreamSpec(spec);
    this.checkMapped(task, spec);
    s.spec = spec;
    s.allPresent = false;
  }

  remove(task: Task, id: number): void {
    this.forget(this.own(task, id), task);
  }

  /** Whether a task has a stream (in the model, whether it runs). */
  hasStream(pid: number): boolean {
    return this.byPid.has(pid);
  }

  /** The streams of a task (for evaluation: which memory is hot). */
  streamsOf(pid: number): AccessStreamSpec[] {
    return (this.byPid.get(pid) ?? []).map((s) => s.spec);
  }

  /** Counters of a task (zeros if it never ran a stream). */
  counters(pid: number): PerfCounters {
    return { ...(this.perf.get(pid) ?? { accesses: 0, cycles: 0, walkCycles: 0, baselineCycles: 0 }) };
  }

  private own(task: Task, id: number): Stream {
    const s = this.streams.get(id);
    if (!s || s.pid !== task.pid) throw new SyscallError('EINVAL', 'access_stream', `pid ${task.pid} has no stream ${id}`);
    return s;
  }

  /** Drops a stream; the last one of a live task also ends the subscription to its PMD table. */
  private forget(s: Stream, task: Task | undefined): void {
    this.streams.delete(s.id);
    const mine = (this.byPid.get(s.pid) ?? []).filter((other) => other !== s);
    if (mine.length > 0) {
      this.byPid.set(s.pid, mine);
      return;
    }
    this.byPid.delete(s.pid);
    if (task) task.mm.pmd.onChange = undefined;
  }

  private checkMapped(task: Task, spec: AccessStreamSpec): void {
    for (let a = spec.start; a < spec.start + spec.length; ) {
      const v = task.mm.findVma(a);
      if (!v) throw new SyscallError('EFAULT', 'access_stream', `0x${a.toString(16)} is not mapped`);
      a = v.end;
    }
  }

  private ensureTicking(): void {
    this.k.frames.youngLog = this.youngCleared;
    if (this.tick !== undefined) return;
    this.tick = this.k.engine.after(this.options.tickMs, Priority.workload, () => this.runTick());
  }

  private runTick(): void {
    this.tick = undefined;
    this.ticks++;
    for (const s of [...this.streams.values()]) {
      if (!this.streams.has(s.id)) continue;
      const task = this.k.task(s.pid);
      if (!task) {
        this.forget(s, undefined);
        continue;
      }
      this.runStream(task, s);
    }
    if (this.streams.size > 0) this.ensureTicking();
    else {
      this.k.frames.youngLog = undefined;
      this.youngCleared.length = 0;
      this.pmdChanges.length = 0;
    }
  }

  private runStream(task: Task, s: Stream): void {
    const k = this.k;
    const tickMs = this.options.tickMs;
    let regions = s.regions;
    if (regions === undefined || regions.node !== task.node || regions.tickSec !== tickMs / 1000 || !regions.sameRange(s.spec)) {
      regions = s.regions = new RegionState(s.spec, task.node, tickMs / 1000);
    } else if (regions.spec !== s.spec) regions.retarget(s.spec, this.ticks);
    const everyTouch = this.everyTouchCounts(task, s);
    const everyWrite = task.mm.cowShared;
    if (!s.allPresent || everyTouch || everyWrite) {
      const touched = sampleTouchedPages(s.spec, tickMs, k.prng, this.options.maxFaultPagesPerTick, s.cursor);
      for (let i = 0; i < touched.pages.length && task.alive; i++) {
        const page = touched.pages[i];
        if (!everyTouch && !(everyWrite && touched.written[i]) && regions.settled(page)) continue;
        const addr = page * PAGE_SIZE;
        const vma = task.mm.findVma(addr);
        if (!vma || !(vma.flags & VM.READ)) continue;
        const write = touched.written[i] && (vma.flags & VM.WRITE) !== 0;
        k.memory.access(task, vma, addr, write, write ? k.newContent() : 0);
      }
      if (!task.alive) return;
    }
    if (k.numaBalancing.nrMarked > 0) {
      this.numaHintFaults(task, regions);
      if (!task.alive) return;
    }
    this.drainChanges();
    regions.update(k, task, this.ticks);
    let split = regions.split();
    // Swapped pages cost a swap-in per distinct page touched, not per access (swapInTouched); their
    // accesses are then priced as the small local pages they come back as.
    let swapInCycles = 0;
    if ((split.mapping.swapped ?? 0) > 0) {
      const budget = Math.floor((tickMs * CYCLES_PER_MS) / defaultMmuCostParams.majorFaultCycles);
      const expectedFaults = regions.swapInTouched(k, task, budget, (addr) => {
        const vma = task.mm.findVma(addr);
        if (vma && vma.flags & VM.READ) k.memory.access(task, vma, addr, false, 0);
      });
      if (!task.alive) return;
      swapInCycles = expectedFaults * defaultMmuCostParams.majorFaultCycles;
      this.drainChanges();
      regions.update(k, task, this.ticks);
      split = regions.split();
    }
    s.allPresent = split.allPresent && task.mm.swapEntries === 0;
    const accesses = (s.spec.ratePerSec * tickMs) / 1000;
    const m = split.mapping;
    const mapping = (m.swapped ?? 0) > 0 ? { ...m, smallLocal: m.smallLocal + (m.swapped ?? 0), swapped: 0 } : m;
    const { cost, baseline } = this.priced(s, mapping, split.remoteDistance);
    const p = this.perf.get(task.pid) ?? { accesses: 0, cycles: 0, walkCycles: 0, baselineCycles: 0 };
    p.accesses += accesses;
    p.cycles += accesses * cost.cyclesPerAccess + swapInCycles;
    p.walkCycles += accesses * cost.walkCyclesPerAccess;
    p.baselineCycles += accesses * baseline.cyclesPerAccess;
    this.perf.set(task.pid, p);
    task.utimeMs += (accesses * cost.cyclesPerAccess) / CYCLES_PER_MS;
  }

  /**
   * Hands the kernel's change reports since the last drain to the streams they concern: PTE tables
   * changed, PMD entries changed in subscribed address spaces, and accessed bits cleared (traced through
   * the reverse map to the tables and PMDs that map the frame).
   */
  private drainChanges(): void {
    const k = this.k;
    const pg = k.pgtables;
    pg.drainChanged((t) => {
      const pid = pg.ownerOf(t);
      if (pid >= 0) this.regionChanged(pid, pg.pmdIndexOf(t));
    });
    const pmd = this.pmdChanges;
    for (let i = 0; i < pmd.length; i += 2) this.regionChanged(pmd[i], pmd[i + 1]);
    pmd.length = 0;
    const young = this.youngCleared;
    const f = k.frames;
    // Reclaim clears the bits of neighbouring frames, mostly mapped once by one table: trace each
    // table once per drain.
    let lastTable = -1;
    for (const pfn of young) {
      const mappings = f.getMapcount(pfn);
      if (mappings === 1) {
        const t = Math.floor(f.link0[pfn] / PTRS_PER_PTE);
        if (t !== lastTable) this.regionCleared(pg.ownerOf(t), pg.pmdIndexOf(t));
        lastTable = t;
      } else if (mappings > 1 && mappings <= YOUNG_TRACE_MAX_MAPPINGS) {
        for (const slot of k.rmap.ptesOf(pfn)) {
          const t = Math.floor(slot / PTRS_PER_PTE);
          this.regionCleared(pg.ownerOf(t), pg.pmdIndexOf(t));
        }
      }
      if (f.has(pfn, PG.head)) {
        const pmds = k.rmap.pmdsOf(pfn);
        if (pmds.length <= YOUNG_TRACE_MAX_MAPPINGS) for (const m of pmds) this.regionCleared(m.pid, m.pmdIndex);
      }
    }
    young.length = 0;
  }

  private regionChanged(pid: number, pmdIdx: number): void {
    const mine = this.byPid.get(pid);
    if (mine) for (const s of mine) s.regions?.changed(pmdIdx);
  }

  private regionCleared(pid: number, pmdIdx: number): void {
    const mine = this.byPid.get(pid);
    if (mine) for (const s of mine) s.regions?.cleared(pmdIdx);
  }

  /**
   * The MMU cost model's price of an access of the stream under this mapping split, and on 4 KiB local
   * pages. A pure function of its inputs, so the last answer is kept per stream and reused while the
   * split is unchanged (the steady state of most streams).
   */
  private priced(s: Stream, mapping: MappingSplit, remoteDistance: number): { cost: MmuCost; baseline: MmuCost } {
    const last = s.priced;
    if (last && last.spec === s.spec && last.remoteDistance === remoteDistance && sameSplit(last.mapping, mapping)) return last;
    const cost = priceStreamAccess(s.spec, mapping, remoteDistance);
    const baseline = priceStreamAccess(s.spec, { thpLocal: 0, thpRemote: 0, smallLocal: 1, smallRemote: 0 }, remoteDistance);
    s.priced = { spec: s.spec, mapping, remoteDistance, cost, baseline };
    return s.priced;
  }

  /**
   * Whether step 1 must take every sampled page through the fault path, present or not. Accessing a
   * present page there only sets its accessed, dirty and content state; step 2 sets the accessed bits,
   * nothing reads a private anonymous page's dirty bit, and its content matters only to KSM. So only
   * absent pages need the fault path — and every page while NUMA balancing makes hinting faults or KSM
   * looks at the range (content), and every written page while the mm shares pages copy-on-write since a
   * fork (a write copies). Otherwise step 1 skips the pages of regions that were complete at the last
   * tick and have not changed since, and is skipped altogether while every page of the range is present.
   */
  private everyTouchCounts(task: Task, s: Stream): boolean {
    const k = this.k;
    if (k.numaBalancing.active) return true;
    if (k.ksm.run === 0) return false;
    if (task.memoryMerge) return true;
    const end = s.spec.start + s.spec.length;
    for (let a = s.spec.start; a < end; ) {
      const vma = task.mm.findVma(a);
      if (!vma) return true;
      if (vma.flags & VM.MERGEABLE) return true;
      a = vma.end;
    }
    return false;
  }

  /**
   * The NUMA hinting faults of a tick: in each region, the huge mapping once, or the pages the tick
   * touched spread over the region (without a random offset, so that the PRNG's draws are the same with
   * NUMA balancing on or off).
   */
  private numaHintFaults(task: Task, regions: RegionState): void {
    const nb = this.k.numaBalancing;
    for (let r = 0; r < regions.count && task.alive; r++) {
      const a = regions.accessesPerTick(r);
      if (a <= 0) continue;
      const first = regions.firstPageOf(r);
      const count = regions.pagesOf(r);
      const touched = Math.round(count * -Math.expm1(-a / count));
      if (touched === 0) continue;
      const e = task.mm.pmd.get(regions.firstPmd + r);
      if (e === undefined) continue;
      if (e < 0) {
        nb.hintFault(task, first * PAGE_SIZE);
        continue;
      }
      const step = count / touched;
      for (let i = 0; i < touched && task.alive; i++) nb.hintFault(task, (first + Math.floor(i * step)) * PAGE_SIZE);
    }
  }
}

/**
 * What the stream driver charges for one access of `spec` under `mapping`: the MMU cost model applied to
 * the stream's shape and working set. Exported so that evaluation prices hypothetical mappings (the
 * oracle) with exactly the function the running kernel uses.
 */
export function priceStreamAccess(spec: AccessStreamSpec, mapping: MappingSplit, remoteDistance: number): MmuCost {
  return mmuCostPerAccess({ mapping, remoteDistance, workingSetBytes: workingSet(spec), pattern: spec.pattern, theta: spec.theta, strideBytes: spec.strideBytes });
}

/** Bytes a stream touches (its hot subset). */
function workingSet(spec: AccessStreamSpec): number {
  return Math.max(PAGE_SIZE, spec.length * (spec.hotFraction ?? 1));
}
