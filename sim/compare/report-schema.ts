import type { GoalVerdict } from './goals.js';

/**
 * What `uhugepaged compare` writes to report.json (the contract in docs/cli.md): per scenario, per arm,
 * the figures below. Every arm of one scenario runs the same scenario, seed and duration.
 */

/** Which kind of arm: the kernel's own mechanisms, the daemon under a policy, or the upper bound. */
export type ArmKind = 'kernel' | 'uhugepaged' | 'oracle';

/** Collapses by outcome: `ok`, and one key per errno (`EAGAIN`, `ENOMEM`, `EBUSY`, `EINVAL`, ...). */
export type CollapseCounts = { ok: number } & Record<string, number>;

/** The figures of one arm (definitions in docs/cli.md, "uhugepaged compare"). */
export interface ArmMetrics {
  /** Time-averaged share (0–1) of hot memory mapped by THPs. */
  hotThpCoverage: number;
  /** Time-averaged share of modelled cycles spent in page walks, %. */
  mmuOverheadPct: number;
  /** 100 × (overhead with no THPs − this arm's) / overhead with no THPs, same scenario and seed. */
  mmuOverheadReductionPct: number;
  /** Throughput over the no-THP run. */
  throughputRel: number;
  /** CPU spent collapsing (khugepaged's collapses, the daemon's calls, faults' THP work), ms. */
  collapseCpuMs: number;
  /** CPU spent scanning for candidates (khugepaged's scans, the daemon's observation), ms. */
  scanCpuMs: number;
  /** Time processes stalled in direct compaction, ms. */
  compactStallMs: number;
  /** Pages swapped out while allocating THPs (the swap storms of the seeds). */
  thpSwapOutPages: number;
  /** Share of hot THP-mapped memory on another node than its process's. */
  remoteThpFraction: number;
  /**
   * 99th percentile of the workload processes' page-fault latencies, µs (kernel time plus swap-in and
   * memcg-throttle waits per fault, from the model's per-task histograms); null where no fault was
   * measured (the oracle, which makes none).
   */
  faultLatencyP99Us: number | null;
  collapses: CollapseCounts;

  // ---- beyond the contract's minimum ------------------------------------------------------------
  /** Share (0–1) of hot memory mapped by THPs at the end of the run. */
  hotThpCoverageEnd: number;
  /** Throughput over the no-THP run, per workload (group of processes) of the scenario. */
  throughputRelByWorkload: Record<string, number>;
  /** Share of each workload's hot THP-mapped memory on another node than its process's (time-averaged). */
  remoteThpFractionByWorkload: Record<string, number>;
  /** Median page-fault latency, µs; null as faultLatencyP99Us. */
  faultLatencyP50Us: number | null;
  /** The CPU time behind collapseCpuMs and scanCpuMs, ms. */
  cpuMs: { khugepaged: number; daemonObserve: number; daemonAct: number; kcompactd: number };
  /** Pages swapped out over the run (pswpout), THP-caused or not. */
  swapOutPages: number;
  /** THP-backed bytes with no hot page (bloat), time-averaged over the samples and at the end. */
  thpBloatBytes: number;
  thpBloatBytesEnd: number;
  /** Collapses by who made them: khugepaged (from its counters) and the daemon (its own outcomes). */
  collapsesBy: { khugepaged: CollapseCounts; daemon: CollapseCounts };
  /** THP faults and their fallbacks (vmstat deltas). */
  thpFaultAlloc: number;
  thpFaultFallback: number;
  /** Processes the OOM killer ended. */
  oomKills: number;
}

/** One point of an arm's time series (at each sample of the scenario). */
export interface ArmSample {
  /** Scenario time, ms. */
  tMs: number;
  /** Share (0–1) of hot memory mapped by THPs at that moment. */
  hotThpCoverage: number;
  /** Share of modelled cycles spent in page walks since the previous sample, %. */
  mmuOverheadPct: number;
}

/** What the hidden no-THP reference run (enabled=never) measured: the base of the relative figures. */
export interface ReferenceFigures {
  name: 'no-thp';
  mmuOverheadPct: number;
  /** Speed of the accesses vs 4 KiB local pages, machine-wide and per workload. */
  speedVs4k: number;
  speedVs4kByWorkload: Record<string, number>;
  swapOutPages: number;
}

/** One arm's result on one scenario. */
export interface ArmReport {
  name: string;
  kind: ArmKind;
  metrics: ArmMetrics;
  /** The policy file of a uhugepaged arm. */
  policyFile?: string;
  series: ArmSample[];
}

/** What the goals need to know of the scenario's machine. */
export interface MachineFigures {
  memoryBytes: number;
  nodes: number;
  /** Workloads whose processes' mappings together fit the memory of their one home node. */
  workloadsFittingNode: string[];
}

/** One scenario under every arm. */
export interface ScenarioReport {
  name: string;
  durationMs: number;
  seed: number;
  arms: ArmReport[];
  reference: ReferenceFigures;
  machine?: MachineFigures;
  /** The goals, judged for each uhugepaged arm (sim/compare/goals.ts). */
  goals?: GoalVerdict[];
}

/** The whole report.json. */
export interface CompareReport {
  scenarios: ScenarioReport[];
}
