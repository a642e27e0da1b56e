/**
 * Access streams in the running kernel: each declared stream turns, once per tick of simulated time,
 * into what the hardware and the kernel would see of it.
 *
 *   per stream, per tick (default 1 s):
 *     1. faults   — a bounded sample of the pages it touched (sampleTouchedPages) is accessed through
 *                   the fault path, so unpopulated or swapped pages fault in and written pages change;
 *     2. young    — for every 2 MiB region with access mass m, the expected number of distinct pages
 *                   touched, n = pages × (1 − e^(−rate·m·tick/pages)), get their accessed bits set (the
 *                   THP head for a huge mapping): what reclaim's LRU and khugepaged's young check read;
 *     3. cost     — the access mass is split by how each region is mapped (THP or 4 KiB, local or
 *                   remote node, swapped) and the MMU cost model prices the tick's accesses; the task is
 *                   charged the cycles as user time and its perf-like counters grow.
 *
 * The per-region mapping split is refreshed every tick from the page tables (a few PTEs sampled per
 * small-page region), so the cost follows collapses, splits, migrations and swap-outs as they happen.
 *
 * With NUMA balancing on, a touched page whose entry task_numa_work made PROT_NONE takes its NUMA
 * hinting fault in step 2 (and in step 1 through the fault path) before its accessed bit is set.
 */
import { Priority, type EventHandle } from '../engine/engine.js';
import { HPAGE_PMD_NR, PAGE_SIZE } from '../mm/constants.js';
import { VM, type Task } from '../mm/mm-types.js';
import { PG } from '../mm/page-flags.js';
import { PTRS_PER_PTE, ptePfn } from '../mm/pgtable.js';
import { SyscallError } from '../syscall-error.js';
import {
  createStreamCursor,
  regionMasses,
  sampleTouchedPages,
  validateAccessStreamSpec,
  type AccessStreamSpec,
  type StreamCursor,
} from './access-pattern.js';
import { mmuCostPerAccess, type MappingSplit, type MmuCost } from './mmu-cost.js';
import type { Kernel } from '../kernel.js';

/** Cycles per millisecond of the cost model's notional 1 GHz clock. */
const CYCLES_PER_MS = 1e6;
/** Pages marked, as a multiple of a region's pages, after which the region counts as all young. */
const MARK_SATURATION = 2;
/** PTEs sampled per small-page region to classify it. */
const PTE_SAMPLES = 8;

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
  /** What the last ticks derived per 2 MiB region, for the current spec (see RegionCache). */
  regions: RegionCache | undefined;
  /** At the last tick every page of its range was present (none absent or swapped). */
  allPresent: boolean;
  /** The last pricing (see AccessStreams.priced). */
  priced: { spec: AccessStreamSpec; mapping: MappingSplit; remoteDistance: number; cost: MmuCost; baseline: MmuCost } | undefined;
}

function sameSplit(a: MappingSplit, b: MappingSplit): boolean {
  return a.thpLocal === b.thpLocal && a.thpRemote === b.thpRemote && a.smallLocal === b.smallLocal && a.smallRemote === b.smallRemote && a.swapped === b.swapped;
}

/**
 * Per region of a stream, what was derived from its PTE table at the table's version, and how much of
 * it has been marked young. Reading 8 PTEs and up to 512 frames per region per tick is memory-bound; this
 * is what keeps long simulations fast.
 *   - The mapping split (local, remote, swapped shares) and whether every entry is a present page other
 *     than the zero page hold while the table is unchanged: exact.
 *   - Marking: while the table is unchanged and no accessed bit anywhere was cleared (PageFrames.
 *     youngClears), marked pages stay young. A region whose tick touches every page is marked once; one
 *     whose ticks touch a random part of it is marked until twice its pages have been marked in all —
 *     by then ~86% of its pages carry the bit, and every page with a non-negligible rate does — and
 *     then left alone until a table change or a clear. The second is an approximation: it saves marking
 *     the rarely touched pages of cold regions every second, which nothing reads before a reclaim pass
 *     (whose clearing restarts the marking anyway).
 */
interface RegionCache {
  readonly spec: AccessStreamSpec;
  readonly node: number;
  readonly table: Int32Array;
  readonly version: Uint32Array;
  readonly local: Float64Array;
  readonly remote: Float64Array;
  readonly swapped: Float64Array;
  /** Every entry of the table present and not the zero page (nothing a fault would change but content). */
  readonly complete: Uint8Array;
  readonly distance: Float64Array;
  /** Pages marked young since `markEpoch` (the youngClears count then); reset when the table changes. */
  readonly marks: Float64Array;
  readonly markEpoch: Float64Array;
}

function newRegionCache(spec: AccessStreamSpec, node: number, regions: number): RegionCache {
  return {
    spec,
    node,
    table: new Int32Array(regions).fill(-1),
    version: new Uint32Array(regions),
    local: new Float64Array(regions),
    remote: new Float64Array(regions),
    swapped: new Float64Array(regions),
    complete: new Uint8Array(regions),
    distance: new Float64Array(regions),
    marks: new Float64Array(regions),
    markEpoch: new Float64Array(regions).fill(-1),
  };
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
  private readonly perf = new Map<number, PerfCounters>();
  private nextId = 1;
  private tick: EventHandle | undefined;
  options: StreamDriverOptions = defaultStreamDriverOptions;

  constructor(private readonly k: Kernel) {}

  /** Declares a stream of `pid` over a mapped range; returns its id. EFAULT if the range is not mapped. */
  add(task: Task, spec: AccessStreamSpec): number {
    validateAccessStreamSpec(spec);
    this.checkMapped(task, spec);
    const id = this.nextId++;
    this.streams.set(id, { id, pid: task.pid, spec, cursor: createStreamCursor(), regions: undefined, allPresent: false, priced: undefined });
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
    this.own(task, id);
    this.streams.delete(id);
  }

  /** Whether a task has a stream (in the model, whether it runs). */
  hasStream(pid: number): boolean {
    for (const s of this.streams.values()) if (s.pid === pid) return true;
    return false;
  }

  /** The streams of a task (for evaluation: which memory is hot). */
  streamsOf(pid: number): AccessStreamSpec[] {
    return [...this.streams.values()].filter((s) => s.pid === pid).map((s) => s.spec);
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

  private checkMapped(task: Task, spec: AccessStreamSpec): void {
    for (let a = spec.start; a < spec.start + spec.length; ) {
      const v = task.mm.findVma(a);
      if (!v) throw new SyscallError('EFAULT', 'access_stream', `0x${a.toString(16)} is not mapped`);
      a = v.end;
    }
  }

  private ensureTicking(): void {
    if (this.tick !== undefined) return;
    this.tick = this.k.engine.after(this.options.tickMs, Priority.workload, () => this.runTick());
  }

  private runTick(): void {
    this.tick = undefined;
    for (const s of [...this.streams.values()]) {
      const task = this.k.task(s.pid);
      if (!task) {
        this.streams.delete(s.id);
        continue;
      }
      this.runStream(task, s);
    }
    if (this.streams.size > 0) this.ensureTicking();
  }

  private runStream(task: Task, s: Stream): void {
    const k = this.k;
    const tickMs = this.options.tickMs;
    if (this.mayFault(task, s)) {
      const touched = sampleTouchedPages(s.spec, tickMs, k.prng, this.options.maxFaultPagesPerTick, s.cursor);
      for (let i = 0; i < touched.pages.length && task.alive; i++) {
        const addr = touched.pages[i] * PAGE_SIZE;
        const vma = task.mm.findVma(addr);
        if (!vma || !(vma.flags & VM.READ)) continue;
        const write = touched.written[i] && (vma.flags & VM.WRITE) !== 0;
        k.memory.access(task, vma, addr, write, write ? k.newContent() : 0);
      }
      if (!task.alive) return;
    }
    const split = this.markAndSplit(task, s, tickMs);
    s.allPresent = split.allPresent && task.mm.swapEntries === 0;
    const accesses = (s.spec.ratePerSec * tickMs) / 1000;
    const { cost, baseline } = this.priced(s, split.mapping, split.remoteDistance);
    const p = this.perf.get(task.pid) ?? { accesses: 0, cycles: 0, walkCycles: 0, baselineCycles: 0 };
    p.accesses += accesses;
    p.cycles += accesses * cost.cyclesPerAccess;
    p.walkCycles += accesses * cost.walkCyclesPerAccess;
    p.baselineCycles += accesses * baseline.cyclesPerAccess;
    this.perf.set(task.pid, p);
    task.utimeMs += (accesses * cost.cyclesPerAccess) / CYCLES_PER_MS;
  }

  /**
   * The MMU cost model's price of an access of the stream under this mapping split, and on 4 KiB local
   * pages. A pure function of its inputs, so the last answer is kept per stream and reused while the
   * split is unchanged (the steady state of most streams).
   */
  private priced(s: Stream, mapping: MappingSplit, remoteDistance: number): { cost: MmuCost; baseline: MmuCost } {
    const last = s.priced;
    if (last && last.spec === s.spec && last.remoteDistance === remoteDistance && sameSplit(last.mapping, mapping)) return last;
    const base = { remoteDistance, workingSetBytes: workingSet(s.spec), pattern: s.spec.pattern, theta: s.spec.theta, strideBytes: s.spec.strideBytes };
    const cost = mmuCostPerAccess({ ...base, mapping });
    const baseline = mmuCostPerAccess({ ...base, mapping: { thpLocal: 0, thpRemote: 0, smallLocal: 1, smallRemote: 0 } });
    s.priced = { spec: s.spec, mapping, remoteDistance, cost, baseline };
    return s.priced;
  }

  /**
   * Whether step 1 can change anything. Accessing a present page through the fault path only sets its
   * accessed, dirty and content state; step 2 sets the accessed bits, nothing reads a private anonymous
   * page's dirty bit, and its content matters only to KSM. So a stream needs no fault-path accesses
   * while every page of its range was present at the last tick, its mm shares nothing copy-on-write
   * since a fork, NUMA balancing makes no hinting faults, and KSM is not looking at the range.
   */
  private mayFault(task: Task, s: Stream): boolean {
    const k = this.k;
    if (!s.allPresent || task.mm.cowShared || k.numaBalancing.active) return true;
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

  /** Steps 2 and 3 of the tick: set accessed bits region by region and split the mass by mapping. */
  private markAndSplit(task: Task, s: Stream, tickMs: number): { mapping: MappingSplit; remoteDistance: number; allPresent: boolean } {
    const k = this.k;
    const f = k.frames;
    const spec = s.spec;
    const masses = regionMasses(spec);
    if (s.regions?.spec !== spec || s.regions.node !== task.node) s.regions = newRegionCache(spec, task.node, masses.length);
    const cache = s.regions;
    const m = { thpLocal: 0, thpRemote: 0, smallLocal: 0, smallRemote: 0, swapped: 0 };
    let remoteMass = 0;
    let remoteDistanceSum = 0;
    let allPresent = true;
    const firstPage = spec.start / PAGE_SIZE;
    const endPage = firstPage + spec.length / PAGE_SIZE;
    for (let page = firstPage, r = 0; page < endPage; r++) {
      const pmdIdx = Math.floor(page / HPAGE_PMD_NR);
      const regionEnd = Math.min(endPage, (pmdIdx + 1) * HPAGE_PMD_NR);
      const count = regionEnd - page;
      const mass = masses[r];
      const from = page;
      page = regionEnd;
      if (mass <= 0) continue;
      const expectedAccesses = (spec.ratePerSec * mass * tickMs) / 1000;
      const touched = Math.round(count * (1 - Math.exp(-expectedAccesses / count)));
      if (touched > 0 && k.numaBalancing.nrMarked > 0) this.numaHintFaults(task, from, count, touched);
      const e = task.mm.pmd.get(pmdIdx);
      if (e === undefined) {
        m.smallLocal += mass;
        allPresent = false;
        continue;
      }
      if (e < 0) {
        const head = -e - 1;
        if (head === k.huge.hugeZeroPfn) allPresent = false;
        else if (touched > 0) f.set(head, PG.young);
        const node = k.nodeOfPfn(head);
        if (node === task.node) m.thpLocal += mass;
        else {
          m.thpRemote += mass;
          remoteMass += mass;
          remoteDistanceSum += mass * k.distances[task.node][node];
        }
        continue;
      }
      const version = k.pgtables.versionOf(e);
      const unchanged = cache.table[r] === e && cache.version[r] === version;
      if (touched > 0) {
        if (!unchanged || cache.markEpoch[r] !== f.youngClears) {
          cache.marks[r] = 0;
          cache.markEpoch[r] = f.youngClears;
        }
        if (cache.marks[r] < MARK_SATURATION * count) {
          this.markPtes(e, from % PTRS_PER_PTE, count, touched);
          cache.marks[r] += touched === count ? MARK_SATURATION * count : touched;
        }
      }
      if (!unchanged) {
        const c = this.classify(task, e, from % PTRS_PER_PTE, count);
        cache.table[r] = e;
        cache.version[r] = version;
        cache.local[r] = c.local;
        cache.remote[r] = c.remote;
        cache.swapped[r] = c.swapped;
        cache.distance[r] = c.remoteDistance;
        cache.complete[r] = this.complete(e) ? 1 : 0;
      }
      if (cache.complete[r] === 0) allPresent = false;
      const remote = cache.remote[r];
      m.smallLocal += mass * cache.local[r];
      m.smallRemote += mass * remote;
      m.swapped += mass * cache.swapped[r];
      remoteMass += mass * remote;
      remoteDistanceSum += mass * remote * cache.distance[r];
    }
    const total = m.thpLocal + m.thpRemote + m.smallLocal + m.smallRemote + m.swapped || 1;
    const mapping = { thpLocal: m.thpLocal / total, thpRemote: m.thpRemote / total, smallLocal: m.smallLocal / total, smallRemote: m.smallRemote / total, swapped: m.swapped / total };
    return { mapping, remoteDistance: remoteMass > 0 ? remoteDistanceSum / remoteMass : 20, allPresent };
  }

  /**
   * The NUMA hinting faults of a region's touched pages: the huge mapping once, or `touched` pages
   * spread over the region as markPtes spreads them (without its random offset, so that the PRNG's
   * draws are the same with NUMA balancing on or off).
   */
  private numaHintFaults(task: Task, firstPage: number, count: number, touched: number): void {
    const nb = this.k.numaBalancing;
    const e = task.mm.pmd.get(Math.floor(firstPage / HPAGE_PMD_NR));
    if (e === undefined) return;
    if (e < 0) {
      nb.hintFault(task, firstPage * PAGE_SIZE);
      return;
    }
    const step = count / touched;
    for (let i = 0; i < touched && task.alive; i++) nb.hintFault(task, (firstPage + Math.floor(i * step)) * PAGE_SIZE);
  }

  /** Sets the accessed bit of `touched` present pages spread over a table's range. */
  private markPtes(t: number, first: number, count: number, touched: number): void {
    if (touched <= 0) return;
    const k = this.k;
    const step = count / touched;
    const offset = k.prng.next() * step;
    for (let i = 0; i < touched; i++) {
      const pte = k.pgtables.entries[t * PTRS_PER_PTE + first + Math.floor(offset + i * step)];
      if (pte > 0) k.frames.flags[ptePfn(pte)] |= PG.young;
    }
  }

  /** Whether every entry of PTE table `t` maps a present page other than the zero page. */
  private complete(t: number): boolean {
    const k = this.k;
    if (k.pgtables.usedEntries(t) < PTRS_PER_PTE) return false;
    const entries = k.pgtables.entries;
    const zero = k.zeroPfn;
    for (let i = t * PTRS_PER_PTE, end = i + PTRS_PER_PTE; i < end; i++) {
      const pte = entries[i];
      if (pte <= 0 || ptePfn(pte) === zero) return false;
    }
    return true;
  }

  /** Fractions of a small-page region that are present locally, remotely, or swapped (sampled). */
  private classify(task: Task, t: number, first: number, count: number): { local: number; remote: number; swapped: number; remoteDistance: number } {
    const k = this.k;
    let local = 0;
    let remote = 0;
    let swapped = 0;
    let distance = 0;
    const samples = Math.min(PTE_SAMPLES, count);
    for (let i = 0; i < samples; i++) {
      const pte = k.pgtables.entries[t * PTRS_PER_PTE + first + Math.floor(((i + 0.5) * count) / samples)];
      if (pte < 0) swapped++;
      else if (pte === 0) local++;
      else {
        const node = k.nodeOfPfn(ptePfn(pte));
        if (node === task.node) local++;
        else {
          remote++;
          distance += k.distances[task.node][node];
        }
      }
    }
    return { local: local / samples, remote: remote / samples, swapped: swapped / samples, remoteDistance: remote > 0 ? distance / remote : 20 };
  }
}

/** Bytes a stream touches (its hot subset). */
function workingSet(spec: AccessStreamSpec): number {
  return Math.max(PAGE_SIZE, spec.length * (spec.hotFraction ?? 1));
}
