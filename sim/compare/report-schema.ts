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
  /** 99th percentile of page-fault latency, µs. */
  faultLatencyP99Us: number;
  collapses: CollapseCounts;
}

export interface ArmReport {
  name: string;
  kind: ArmKind;
  metrics: ArmMetrics;
}

export interface ScenarioReport {
  name: string;
  durationMs: number;
  arms: ArmReport[];
}

export interface CompareReport {
  scenarios: ScenarioReport[];
}
