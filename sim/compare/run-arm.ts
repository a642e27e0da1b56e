/**
 * One arm on one scenario: the run (the kernel alone, or with the daemon), what it measured, and the
 * mapping of those measurements to the figures of report.json (`armMetrics`).
 *
 * A run records the scenario's RunMetrics (sim/scenario/metrics.ts) plus what compare needs on top:
 * khugepaged's own success counter (pages_collapsed), THP bloat at every sample (the model's ground truth,
 * kernel-model/evaluation.ts `thpBloat`) and, with the daemon, the daemon's totals. The relative figures
 * need the hidden no-THP run of the same scenario and seed, so they are computed afterwards, from two
 * runs (`armMetrics(run, reference)`). Where the model measures a figure only in part, the mapping says
 * how it is derived; where it does not measure it at all, the figure is null (see report-md.ts, "Notes").
 */
import { thpBloat } from '../../kernel-model/evaluation.js';
import type { DaemonTotals } from '../../daemon/engine/collapse-daemon.js';
import { runWithDaemon } from '../daemon/daemon-run.js';
import { MetricsRecorder, type RunMetrics } from '../scenario/metrics.js';
import { ScenarioRun } from '../scenario/runner.js';
import type { Scenario } from '../scenario/schema.js';
import { applyArm, type ArmSpec } from './arms.js';
import type { ArmMetrics, ArmSample, CollapseCounts, ReferenceFigures } from './report-schema.js';

const PAGES_COLLAPSED = '/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed';

/** The errnos every collapse count lists, even at 0 (the contract's keys). */
export const COLLAPSE_ERRNOS = ['EAGAIN', 'ENOMEM', 'EBUSY', 'EINVAL'] as const;

/** How long and with which seed an arm runs (the same for every arm of a scenario). */
export interface ArmRunOptions {
  readonly durationMs: number;
  readonly seed: number;
}

/** Progress of one run: scenario time reached and the total, ms. */
export type ArmProgress = (elapsedMs: number, totalMs: number) => void;

/** What one arm's run measured (plain data: it comes back from worker threads). */
export interface ArmRun {
  readonly arm: ArmSpec;
  readonly durationMs: number;
  readonly seed: number;
  readonly metrics: RunMetrics;
  /** THPs khugepaged made during the scenario (pages_collapsed delta). */
  readonly khugepagedCollapsed: number;
  /** THP bloat of the workload processes: mean over the samples, and at the end, bytes. */
  readonly bloatMeanBytes: number;
  readonly bloatEndBytes: number;
  /** The daemon's totals (uhugepaged arms). */
  readonly daemon?: DaemonTotals;
}

/** An arm whose figures are computed, not measured on a run of its own: the oracle. */
export interface OracleRun {
  readonly arm: ArmSpec;
  readonly durationMs: number;
  readonly seed: number;
  readonly precomputed: { readonly metrics: ArmMetrics; readonly series: ArmSample[] };
}

/** Measures THP bloat and khugepaged's collapses alongside the MetricsRecorder. */
class ArmSampler {
  private bloatSum = 0;
  private samples = 0;
  private bloatLast = 0;
  private readonly collapsedAtStart: number;

  constructor(private readonly run: ScenarioRun) {
    this.collapsedAtStart = pagesCollapsed(run);
  }

  sample(): void {
    const { sim, scenario } = this.run;
    let bloat = 0;
    for (const p of this.run.processes) if (p.pid !== undefined && !p.exited) bloat += thpBloat(sim, p.pid, scenario.hotThresholdPerSec);
    this.bloatSum += bloat;
    this.bloatLast = bloat;
    this.samples++;
  }

  finish(): { khugepagedCollapsed: number; bloatMeanBytes: number; bloatEndBytes: number } {
    return { khugepagedCollapsed: pagesCollapsed(this.run) - this.collapsedAtStart, bloatMeanBytes: this.samples > 0 ? this.bloatSum / this.samples : 0, bloatEndBytes: this.bloatLast };
  }
}

function pagesCollapsed(run: ScenarioRun): number {
  return Number(run.sim.readFile(PAGES_COLLAPSED).trim());
}

/** Runs `arm` on `scenario` (kernel and uhugepaged arms; the oracle runs in its own module). */
export async function runArm(scenario: Scenario, arm: ArmSpec, opts: ArmRunOptions, onProgress?: ArmProgress): Promise<ArmRun> {
  const armed = applyArm(scenario, arm);
  const base = { arm, durationMs: opts.durationMs, seed: opts.seed };
  if (arm.kind === 'kernel') {
    const run = new ScenarioRun(armed, opts);
    const recorder = new MetricsRecorder(run);
    const sampler = new ArmSampler(run);
    while (!run.done) {
      run.advanceTo(run.elapsedMs + armed.sampleEveryMs);
      recorder.sample();
      sampler.sample();
      onProgress?.(run.elapsedMs, run.durationMs);
    }
    return { ...base, metrics: recorder.finish(), ...sampler.finish() };
  }
  if (arm.kind === 'uhugepaged') {
    let sampler: ArmSampler | undefined;
    const result = await runWithDaemon(
      armed,
      {
        ...opts,
        daemon: { policyFile: arm.policyFile, logLevel: 'error' },
        begun: (run) => (sampler = new ArmSampler(run)),
        sampled: () => sampler!.sample(),
      },
      onProgress,
    );
    const { cpuMs: _cpu, policyFile: _file, dryRun: _dry, ...totals } = result.daemon;
    return { ...base, metrics: result.metrics, ...sampler!.finish(), daemon: totals };
  }
  throw new Error(`arm ${arm.name}: runArm runs kernel and uhugepaged arms; the oracle runs in sim/compare/oracle.ts`);
}

/** The figures of the no-THP reference run. */
export function referenceFigures(ref: ArmRun): ReferenceFigures {
  const m = ref.metrics.machine;
  return {
    name: 'no-thp',
    mmuOverheadPct: m.mmuOverheadPct,
    speedVs4k: m.speedVs4k,
    speedVs4kByWorkload: Object.fromEntries(ref.metrics.workloads.map((w) => [w.workload, w.speedVs4k])),
    swapOutPages: m.vmstat.pswpout,
  };
}

/** Collapse counts with the contract's keys present. */
function collapseCounts(ok: number, failed: Readonly<Record<string, number>>): CollapseCounts {
  const out: CollapseCounts = { ok };
  for (const e of COLLAPSE_ERRNOS) out[e] = 0;
  for (const [e, n] of Object.entries(failed).sort(([a], [b]) => a.localeCompare(b))) out[e] = (out[e] ?? 0) + n;
  return out;
}

function addCounts(a: CollapseCounts, b: CollapseCounts): CollapseCounts {
  const out: CollapseCounts = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** Relative figure `x / base` (1 when there is no base to compare with). */
const rel = (x: number, base: number): number => (base > 0 ? x / base : 1);

/**
 * The report figures of `run`, relative to the no-THP reference `ref` (same scenario, seed, duration).
 * Derivations:
 * - collapses: khugepaged's successes are its pages_collapsed; its failures, its allocation failures
 *   (thp_collapse_alloc_failed, ENOMEM as MADV_COLLAPSE would report them) less the daemon's own ENOMEMs
 *   (the counter also counts MADV_COLLAPSE's); khugepaged's other aborts (too many none/swap/shared
 *   PTEs) are scans that found no candidate, not attempts. The daemon's are its outcomes per region.
 * - collapseCpuMs: the daemon's MADV_COLLAPSE calls (it is their caller, and pays); scanCpuMs:
 *   khugepaged's CPU (its collapses included: the model charges one thread time) and the daemon's
 *   observation. THP work inside faults is part of the faulting processes' time and not separable.
 * - thpSwapOutPages: swap-outs beyond the no-THP run's (pswpout − the reference's, at least 0): the model
 *   does not tag a swap-out with the allocation that caused it.
 * - throughputRel: speed of the accesses (modelled cycles at 4 KiB local pages over cycles taken) over
 *   the reference's; the access rates are the same in both runs, so this is the ratio of throughputs.
 */
export function armMetrics(run: ArmRun, ref: ArmRun): ArmMetrics {
  const m = run.metrics.machine;
  const v = m.vmstat;
  const refFig = referenceFigures(ref);
  const d = run.daemon;
  const daemonEnomem = d?.failed.ENOMEM ?? 0;
  const byKhugepaged = collapseCounts(run.khugepagedCollapsed, { ENOMEM: Math.max(0, v.thp_collapse_alloc_failed - daemonEnomem) });
  const byDaemon = collapseCounts(d?.collapsed ?? 0, d?.failed ?? {});
  const cpuMs = { khugepaged: m.kernelThreadCpuMs.khugepaged, daemonObserve: d?.observeCpuMs ?? 0, daemonAct: d?.actCpuMs ?? 0, kcompactd: m.kernelThreadCpuMs.kcompactd };
  return {
    hotThpCoverage: m.hotThpCoverage,
    mmuOverheadPct: m.mmuOverheadPct,
    mmuOverheadReductionPct: refFig.mmuOverheadPct > 0 ? (100 * (refFig.mmuOverheadPct - m.mmuOverheadPct)) / refFig.mmuOverheadPct : 0,
    throughputRel: rel(m.speedVs4k, refFig.speedVs4k),
    collapseCpuMs: cpuMs.daemonAct,
    scanCpuMs: cpuMs.khugepaged + cpuMs.daemonObserve,
    compactStallMs: run.metrics.processes.reduce((s, p) => s + p.compactStallMs, 0),
    thpSwapOutPages: Math.max(0, v.pswpout - refFig.swapOutPages),
    remoteThpFraction: m.remoteThpShare,
    faultLatencyP99Us: m.faultLatencyUs.p99,
    collapses: addCounts(byKhugepaged, byDaemon),
    hotThpCoverageEnd: endCoverage(run.metrics),
    throughputRelByWorkload: Object.fromEntries(run.metrics.workloads.map((w) => [w.workload, rel(w.speedVs4k, refFig.speedVs4kByWorkload[w.workload] ?? 0)])),
    remoteThpFractionByWorkload: Object.fromEntries(run.metrics.workloads.map((w) => [w.workload, w.remoteThpShare])),
    faultLatencyP50Us: m.faultLatencyUs.p50,
    cpuMs,
    swapOutPages: v.pswpout,
    thpBloatBytes: run.bloatMeanBytes,
    thpBloatBytesEnd: run.bloatEndBytes,
    collapsesBy: { khugepaged: byKhugepaged, daemon: byDaemon },
    thpFaultAlloc: v.thp_fault_alloc,
    thpFaultFallback: v.thp_fault_fallback,
    oomKills: v.oom_kill,
  };
}

/** Hot-memory THP coverage at the last sample. */
function endCoverage(metrics: RunMetrics): number {
  const last = metrics.series.at(-1);
  return last && last.hotBytes > 0 ? last.hotThpBytes / last.hotBytes : 0;
}

/** The arm's time series: coverage and MMU overhead at each sample. */
export function armSeries(run: ArmRun): ArmSample[] {
  return run.metrics.series.map((s) => ({ tMs: s.tMs, hotThpCoverage: s.hotBytes > 0 ? s.hotThpBytes / s.hotBytes : 0, mmuOverheadPct: s.mmuOverheadPct }));
}
