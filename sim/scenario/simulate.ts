/**
 * `uhugepaged simulate`: a scenario on the simulated kernel with no daemon — the kernel's own
 * mechanisms only — and the summary of what they achieved. The summary is a pure function of the
 * scenario and the seed (wall-clock figures are reported apart by the caller).
 */
import { MetricsRecorder, type RunMetrics, type WorkloadMetrics } from './metrics.js';
import { ScenarioRun, type RunOptions } from './runner.js';
import type { Scenario } from './schema.js';
import { formatBytes, formatDuration } from '../../daemon/config/units.js';

/** The result of a simulation. */
export interface SimulationResult {
  scenario: string;
  seed: number;
  durationMs: number;
  /** Simulated time spent ageing the machine before the scenario's time 0. */
  bootMs: number;
  metrics: RunMetrics;
}

/** Progress: scenario time reached and the total. */
export type SimProgress = (elapsedMs: number, totalMs: number) => void;

/** Runs the scenario to its end, sampling every `sampleEveryMs`. */
export function simulate(scenario: Scenario, opts: RunOptions = {}, onProgress?: SimProgress): SimulationResult {
  const run = new ScenarioRun(scenario, opts);
  const recorder = new MetricsRecorder(run);
  while (!run.done) {
    run.advanceTo(run.elapsedMs + scenario.sampleEveryMs);
    recorder.sample();
    onProgress?.(run.elapsedMs, run.durationMs);
  }
  return { scenario: scenario.name, seed: run.seed, durationMs: run.durationMs, bootMs: run.bootMs, metrics: recorder.finish() };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Renders rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function workloadRow(w: WorkloadMetrics): string[] {
  return [
    w.processes > 1 ? `${w.workload} (×${w.processes})` : w.workload,
    formatBytes(w.rssBytes),
    formatBytes(w.hotBytes),
    pct(w.hotThpCoverage),
    pct(w.hotThpCoverageEnd),
    pct(w.remoteThpShare),
    `${w.mmuOverheadPct.toFixed(1)}%`,
    `${w.speedVs4k.toFixed(2)}x`,
    `${Math.round(w.faultStallMs)} ms`,
    w.oomKilled > 0 ? `${w.oomKilled} OOM-killed` : '',
  ];
}

/** The summary table and machine figures as printed by `uhugepaged simulate`. */
export function formatSummary(r: SimulationResult, who = 'kernel mechanisms only (no daemon)'): string {
  const m = r.metrics.machine;
  const v = m.vmstat;
  const t = m.kernelThreadCpuMs;
  const out: string[] = [];
  out.push(`scenario ${r.scenario}: ${formatDuration(r.durationMs)} simulated, seed ${r.seed}, ${who}`);
  out.push('');
  out.push(
    table(
      ['workload', 'RSS', 'hot', 'THP of hot', 'at end', 'remote THP', 'MMU overhead', 'speed vs 4K', 'fault stall', ''],
      r.metrics.workloads.map(workloadRow),
    ),
  );
  out.push('');
  out.push(`hot memory THP coverage ${pct(m.hotThpCoverage)} (time-averaged), ${pct(m.remoteThpShare)} of it remote; MMU overhead ${m.mmuOverheadPct.toFixed(1)}%; speed vs 4 KiB pages ${m.speedVs4k.toFixed(2)}x`);
  out.push(`THP faults ${v.thp_fault_alloc} (fallback ${v.thp_fault_fallback}); collapses (khugepaged and MADV_COLLAPSE) ${v.thp_collapse_alloc} (failed ${v.thp_collapse_alloc_failed}); splits ${v.thp_split_pmd} PMD, ${v.thp_split_page} page`);
  out.push(`compaction stalls ${v.compact_stall} (success ${v.compact_success}, fail ${v.compact_fail}); swap out ${v.pswpout} pages, in ${v.pswpin}; reclaim ${v.pgsteal_kswapd} by kswapd, ${v.pgsteal_direct} direct; OOM kills ${v.oom_kill}`);
  out.push(`kernel threads CPU: khugepaged ${Math.round(t.khugepaged)} ms, ksmd ${Math.round(t.ksmd)} ms, kswapd ${Math.round(t.kswapd)} ms, kcompactd ${Math.round(t.kcompactd)} ms`);
  if (m.ksm.pagesShared > 0) out.push(`KSM: ${m.ksm.pagesShared} pages shared, ${m.ksm.pagesSharing} sharing`);
  out.push(`free memory at end: ${m.memFreeBytes.map((b, n) => `node ${n} ${formatBytes(b)}`).join(', ')}; swap used ${formatBytes(m.swapUsedBytes)}`);
  return out.join('\n');
}
