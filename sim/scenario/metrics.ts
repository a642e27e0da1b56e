/**
 * What a scenario run measured: per process, per workload and for the machine, plus a time series.
 *
 * Definitions (the same as the `compare` contract in docs/cli.md):
 * - hot memory: anonymous pages whose modelled access rate is at least the scenario's hotThreshold
 *   (accesses per second per 4 KiB page); ground truth from the model's access streams.
 * - THP coverage of hot memory: hot bytes mapped by PMD-mapped THPs over hot bytes, time-averaged over
 *   the samples (Σ covered / Σ hot) and at the end.
 * - MMU overhead: modelled page-walk cycles over all modelled cycles of the accesses.
 * - speed vs 4 KiB: the cycles the same accesses would have taken on 4 KiB local pages over the cycles
 *   they took (> 1 when THPs help, < 1 when remote memory or swap hurt).
 * - fault stall: time the process was stalled in direct reclaim, direct compaction, swap-in, the memcg
 *   throttle, NUMA hinting and migration (collapse stalls are counted apart).
 * Everything except the wall-clock speed is a deterministic function of the scenario and the seed.
 */
import { FaultLatency, type SimKernel, type StallTimes } from '../../kernel-model/index.js';
import { hotMemory } from '../../kernel-model/evaluation.js';
import { parseKeyValueKb, parseSmapsRollup, parseStatus, parseVmstat } from '../../daemon/kernel-port/procfs-parsers.js';
import type { ScenarioRun } from './runner.js';

/** vmstat counters a summary reports, as deltas over the scenario (after ageing). */
export const reportedVmstat = [
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_collapse_alloc',
  'thp_collapse_alloc_failed',
  'thp_split_pmd',
  'thp_split_page',
  'compact_stall',
  'compact_success',
  'compact_fail',
  'pgmajfault',
  'pswpin',
  'pswpout',
  'pgsteal_kswapd',
  'pgsteal_direct',
  'numa_pages_migrated',
  'oom_kill',
] as const;
export type ReportedVmstat = (typeof reportedVmstat)[number];

/** Figures of a process, and of a workload's processes together. */
export interface MemoryFigures {
  /** Resident memory at the end (VmRSS), or when it exited. */
  rssBytes: number;
  /** AnonHugePages of smaps_rollup at the end. */
  anonHugeBytes: number;
  /** Hot memory at the end. */
  hotBytes: number;
  /** THP-mapped share of hot memory, time-averaged and at the end. */
  hotThpCoverage: number;
  hotThpCoverageEnd: number;
  /** Share of its hot THP-mapped memory on another node than its home node (time-averaged). */
  remoteThpShare: number;
  mmuOverheadPct: number;
  speedVs4k: number;
  faultStallMs: number;
}

/** One process's figures. */
export interface ProcessMetrics extends MemoryFigures {
  workload: string;
  index: number;
  pid: number;
  comm: string;
  node: number;
  accessesPerSec: number;
  collapseStallMs: number;
  /** Time it stalled in direct compaction (part of faultStallMs), ms. */
  compactStallMs: number;
  cpuMs: number;
  ended: 'running' | 'stopped' | 'oom-killed' | 'not started';
}

/** A workload's processes together. */
export interface WorkloadMetrics extends MemoryFigures {
  workload: string;
  processes: number;
  oomKilled: number;
}

/** Machine-wide figures. */
export interface MachineMetrics {
  vmstat: Record<ReportedVmstat, number>;
  /** CPU time of the kernel's threads during the scenario, ms. */
  kernelThreadCpuMs: { khugepaged: number; ksmd: number; kswapd: number; kcompactd: number };
  ksm: { pagesShared: number; pagesSharing: number };
  swapUsedBytes: number;
  memFreeBytes: number[];
  hotThpCoverage: number;
  remoteThpShare: number;
  mmuOverheadPct: number;
  speedVs4k: number;
  /** Median and 99th percentile of the workload processes' page-fault latencies, µs (null: no fault). */
  faultLatencyUs: { p50: number | null; p99: number | null };
}

/** One point of the time series. */
export interface Sample {
  tMs: number;
  hotBytes: number;
  hotThpBytes: number;
  /** Over the interval since the previous sample. */
  mmuOverheadPct: number;
  anonHugeBytes: number;
  swapUsedBytes: number;
}

/** Everything a run measured. */
export interface RunMetrics {
  processes: ProcessMetrics[];
  workloads: WorkloadMetrics[];
  machine: MachineMetrics;
  series: Sample[];
}

interface Acc {
  hot: number;
  covered: number;
  remote: number;
  lastHot: number;
  lastCovered: number;
  final?: { rss: number; anonHuge: number; stalls: StallTimes; cpuMs: number; perf: { accesses: number; cycles: number; walkCycles: number; baselineCycles: number }; faults: FaultLatency };
}

const STALLS_OF_FAULTS: (keyof StallTimes)[] = ['directReclaim', 'directCompaction', 'swapIn', 'memcgThrottle', 'numaHint', 'migration'];

/** Samples a run as it goes; `finish` computes the figures. */
export class MetricsRecorder {
  private readonly acc = new Map<number, Acc>();
  private readonly series: Sample[] = [];
  private readonly startVmstat: Map<string, number>;
  private readonly startThreads: ReturnType<SimKernel['kernelThreadCpu']>;
  private lastCycles = 0;
  private lastWalk = 0;

  constructor(private readonly run: ScenarioRun) {
    run.beforeExit = (pid) => this.captureFinal(pid, true);
    this.startVmstat = parseVmstat(run.sim.readFile('/proc/vmstat'));
    this.startThreads = run.sim.kernelThreadCpu();
  }

  /** Takes a sample at the run's current time. */
  sample(): void {
    const { sim, scenario } = this.run;
    let hot = 0;
    let covered = 0;
    let cycles = 0;
    let walk = 0;
    for (const p of this.run.processes) {
      if (p.pid === undefined) continue;
      const a = this.accOf(p.pid);
      const perf = sim.perfCounters(p.pid);
      cycles += perf.cycles;
      walk += perf.walkCycles;
      if (p.exited) continue;
      const h = hotMemory(sim, p.pid, scenario.hotThresholdPerSec);
      a.hot += h.hotBytes;
      a.covered += h.hotThpBytes;
      a.remote += h.hotThpRemoteBytes;
      a.lastHot = h.hotBytes;
      a.lastCovered = h.hotThpBytes;
      hot += h.hotBytes;
      covered += h.hotThpBytes;
    }
    const meminfo = parseKeyValueKb(sim.readFile('/proc/meminfo'));
    const dCycles = cycles - this.lastCycles;
    const dWalk = walk - this.lastWalk;
    this.lastCycles = cycles;
    this.lastWalk = walk;
    this.series.push({
      tMs: this.run.elapsedMs,
      hotBytes: hot,
      hotThpBytes: covered,
      mmuOverheadPct: dCycles > 0 ? (100 * dWalk) / dCycles : 0,
      anonHugeBytes: kb(meminfo, 'AnonHugePages'),
      swapUsedBytes: swapUsed(meminfo),
    });
  }

  /**
   * Records a process's final state; the runner calls it just before the process exits so that its
   * figures survive the exit. A process the OOM killer ended (`alive` false) has no files left to read.
   */
  captureFinal(pid: number, alive: boolean): void {
    const sim = this.run.sim;
    const a = this.accOf(pid);
    a.final = {
      rss: alive ? kb(parseStatus(sim.readFile(`/proc/${pid}/status`)).kb, 'VmRSS') : 0,
      anonHuge: alive ? kb(parseSmapsRollup(sim.readFile(`/proc/${pid}/smaps_rollup`)).fields, 'AnonHugePages') : 0,
      stalls: sim.stallTime(pid),
      cpuMs: cpuOf(sim, pid),
      perf: sim.perfCounters(pid),
      faults: sim.faultLatency(pid),
    };
  }

  /** The figures of the run so far. */
  finish(): RunMetrics {
    const { sim } = this.run;
    for (const p of this.run.processes) if (p.pid !== undefined && this.accOf(p.pid).final === undefined) this.captureFinal(p.pid, !p.exited);
    const durationSec = Math.max(1, this.run.elapsedMs) / 1000;
    const processes: ProcessMetrics[] = this.run.processes.map((p) => {
      const base = { workload: p.workload.name, index: p.index, pid: p.pid ?? 0, comm: p.comm, node: p.node };
      const a = p.pid === undefined ? undefined : this.acc.get(p.pid);
      const f = a?.final;
      if (p.pid === undefined || a === undefined || f === undefined) {
        return { ...base, rssBytes: 0, anonHugeBytes: 0, hotBytes: 0, hotThpCoverage: 0, hotThpCoverageEnd: 0, remoteThpShare: 0, mmuOverheadPct: 0, speedVs4k: 1, accessesPerSec: 0, faultStallMs: 0, collapseStallMs: 0, compactStallMs: 0, cpuMs: 0, ended: 'not started' as const };
      }
      return {
        ...base,
        rssBytes: f.rss,
        anonHugeBytes: f.anonHuge,
        hotBytes: a.lastHot,
        hotThpCoverage: ratio(a.covered, a.hot),
        hotThpCoverageEnd: ratio(a.lastCovered, a.lastHot),
        remoteThpShare: ratio(a.remote, a.covered),
        mmuOverheadPct: 100 * ratio(f.perf.walkCycles, f.perf.cycles),
        speedVs4k: f.perf.cycles > 0 ? f.perf.baselineCycles / f.perf.cycles : 1,
        accessesPerSec: f.perf.accesses / durationSec,
        faultStallMs: STALLS_OF_FAULTS.reduce((s, c) => s + f.stalls[c], 0),
        collapseStallMs: f.stalls.collapse,
        compactStallMs: f.stalls.directCompaction,
        cpuMs: f.cpuMs,
        ended: p.endReason ?? 'running',
      };
    });
    const workloads = this.run.scenario.workloads
      .filter((w) => !w.churn)
      .map((w) => this.workloadOf(w.name, processes));
    const vmNow = parseVmstat(sim.readFile('/proc/vmstat'));
    const vmstat = {} as Record<ReportedVmstat, number>;
    for (const name of reportedVmstat) vmstat[name] = (vmNow.get(name) ?? 0) - (this.startVmstat.get(name) ?? 0);
    const threads = sim.kernelThreadCpu();
    const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
    const meminfo = parseKeyValueKb(sim.readFile('/proc/meminfo'));
    const ksmRead = (f: string): number => Number(sim.readFile(`/sys/kernel/mm/ksm/${f}`).trim());
    let perfCycles = 0;
    let perfWalk = 0;
    let perfBase = 0;
    for (const a of this.acc.values()) {
      if (!a.final) continue;
      perfCycles += a.final.perf.cycles;
      perfWalk += a.final.perf.walkCycles;
      perfBase += a.final.perf.baselineCycles;
    }
    const faults = new FaultLatency();
    for (const a of this.acc.values()) if (a.final) faults.merge(a.final.faults);
    const allHot = [...this.acc.values()].reduce((s, a) => s + a.hot, 0);
    const allCovered = [...this.acc.values()].reduce((s, a) => s + a.covered, 0);
    const allRemote = [...this.acc.values()].reduce((s, a) => s + a.remote, 0);
    const machine: MachineMetrics = {
      vmstat,
      kernelThreadCpuMs: {
        khugepaged: threads.khugepaged - this.startThreads.khugepaged,
        ksmd: threads.ksmd - this.startThreads.ksmd,
        kswapd: sum(threads.kswapd) - sum(this.startThreads.kswapd),
        kcompactd: sum(threads.kcompactd) - sum(this.startThreads.kcompactd),
      },
      ksm: { pagesShared: ksmRead('pages_shared'), pagesSharing: ksmRead('pages_sharing') },
      swapUsedBytes: swapUsed(meminfo),
      memFreeBytes: this.run.scenario.machine.nodes.map((_, n) => kb(parseKeyValueKb(sim.readFile(`/sys/devices/system/node/node${n}/meminfo`)), 'MemFree')),
      hotThpCoverage: ratio(allCovered, allHot),
      remoteThpShare: ratio(allRemote, allCovered),
      mmuOverheadPct: 100 * ratio(perfWalk, perfCycles),
      speedVs4k: perfCycles > 0 ? perfBase / perfCycles : 1,
      faultLatencyUs: { p50: faults.quantileUs(0.5), p99: faults.quantileUs(0.99) },
    };
    return { processes, workloads, machine, series: this.series };
  }

  private workloadOf(name: string, all: ProcessMetrics[]): WorkloadMetrics {
    const ps = all.filter((p) => p.workload === name && p.ended !== 'not started');
    const accs = ps.map((p) => this.acc.get(p.pid)).filter((a): a is Acc => a !== undefined);
    const perf = accs.reduce((s, a) => ({ c: s.c + (a.final?.perf.cycles ?? 0), w: s.w + (a.final?.perf.walkCycles ?? 0), b: s.b + (a.final?.perf.baselineCycles ?? 0) }), { c: 0, w: 0, b: 0 });
    return {
      workload: name,
      processes: ps.length,
      rssBytes: ps.reduce((s, p) => s + p.rssBytes, 0),
      anonHugeBytes: ps.reduce((s, p) => s + p.anonHugeBytes, 0),
      hotBytes: ps.reduce((s, p) => s + p.hotBytes, 0),
      hotThpCoverage: ratio(
        accs.reduce((s, a) => s + a.covered, 0),
        accs.reduce((s, a) => s + a.hot, 0),
      ),
      hotThpCoverageEnd: ratio(
        accs.reduce((s, a) => s + a.lastCovered, 0),
        accs.reduce((s, a) => s + a.lastHot, 0),
      ),
      remoteThpShare: ratio(
        accs.reduce((s, a) => s + a.remote, 0),
        accs.reduce((s, a) => s + a.covered, 0),
      ),
      mmuOverheadPct: 100 * ratio(perf.w, perf.c),
      speedVs4k: perf.c > 0 ? perf.b / perf.c : 1,
      faultStallMs: ps.reduce((s, p) => s + p.faultStallMs, 0),
      oomKilled: ps.filter((p) => p.ended === 'oom-killed').length,
    };
  }

  private accOf(pid: number): Acc {
    let a = this.acc.get(pid);
    if (!a) {
      a = { hot: 0, covered: 0, remote: 0, lastHot: 0, lastCovered: 0 };
      this.acc.set(pid, a);
    }
    return a;
  }
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

/** Bytes of a parsed `Name: N kB` field (0 when absent). */
function kb(fields: ReadonlyMap<string, number>, name: string): number {
  return (fields.get(name) ?? 0) * 1024;
}

function swapUsed(meminfo: ReadonlyMap<string, number>): number {
  return kb(meminfo, 'SwapTotal') - kb(meminfo, 'SwapFree');
}

function cpuOf(sim: SimKernel, pid: number): number {
  const c = sim.cpuTime(pid);
  return c.utimeMs + c.stimeMs;
}
