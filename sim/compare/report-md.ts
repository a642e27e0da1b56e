/**
 * report.md of `uhugepaged compare`: per scenario, a table with the arms side by side (one row per
 * figure), throughput per workload, the two plots, the goals met and missed, and the generated
 * explanation; then the notes that
 * say how each figure is measured and why some are not. A pure function of the report.
 */
import { formatBytes, formatDuration } from '../../daemon/config/units.js';
import { explainScenario } from './explain.js';
import { ORACLE_SHARE_GOAL, type GoalVerdict } from './goals.js';
import type { ArmMetrics, CompareReport, ScenarioReport } from './report-schema.js';

/** A latency in µs, or ms from 10 ms up, to three significant figures. */
function us(x: number): string {
  return x >= 10_000 ? `${Number((x / 1000).toPrecision(3))} ms` : `${Number(x.toPrecision(3))} µs`;
}

/** File names of a scenario's plots, relative to the report's directory. */
export interface ScenarioPlots {
  readonly coverage: string;
  readonly overhead: string;
}

/** A file-name-safe form of a scenario name. */
export function plotBase(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The plot files of a scenario. */
export function plotFiles(s: ScenarioReport): ScenarioPlots {
  const b = plotBase(s.name);
  return { coverage: `${b}-coverage.svg`, overhead: `${b}-mmu-overhead.svg` };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const ms = (x: number): string => `${Math.round(x)} ms`;
const cell = (s: string): string => s.replace(/\|/g, '\\|');

type Row = readonly [label: string, value: (m: ArmMetrics) => string];

const ROWS: readonly Row[] = [
  ['hot memory THP coverage (avg)', (m) => pct(m.hotThpCoverage)],
  ['hot memory THP coverage (end)', (m) => pct(m.hotThpCoverageEnd)],
  ['MMU overhead', (m) => `${m.mmuOverheadPct.toFixed(2)}%`],
  ['MMU overhead reduction vs no THP', (m) => `${m.mmuOverheadReductionPct.toFixed(1)}%`],
  ['throughput vs no THP', (m) => `${m.throughputRel.toFixed(3)}x`],
  ['CPU collapsing', (m) => ms(m.collapseCpuMs)],
  ['CPU scanning', (m) => ms(m.scanCpuMs)],
  ['  of which khugepaged', (m) => ms(m.cpuMs.khugepaged)],
  ['  of which uhugepaged observing', (m) => ms(m.cpuMs.daemonObserve)],
  ['compaction stall', (m) => ms(m.compactStallMs)],
  ['swap-outs beyond the no-THP run', (m) => String(m.thpSwapOutPages)],
  ['swap-outs (all)', (m) => String(m.swapOutPages)],
  ['remote share of hot THP memory', (m) => pct(m.remoteThpFraction)],
  ['fault latency p50 / p99', (m) => (m.faultLatencyP50Us === null || m.faultLatencyP99Us === null ? 'n/a' : `${us(m.faultLatencyP50Us)} / ${us(m.faultLatencyP99Us)}`)],
  ['THP bloat (avg)', (m) => formatBytes(Math.round(m.thpBloatBytes / 4096) * 4096)],
  ['THP bloat (end)', (m) => formatBytes(m.thpBloatBytesEnd)],
  ['THP faults (fallback)', (m) => `${m.thpFaultAlloc} (${m.thpFaultFallback})`],
  ['collapses ok', (m) => `${m.collapses.ok} (khugepaged ${m.collapsesBy.khugepaged.ok}, uhugepaged ${m.collapsesBy.daemon.ok})`],
  ['collapses failed', (m) => failedText(m.collapses)],
  ['OOM kills', (m) => String(m.oomKills)],
];

function failedText(c: Readonly<Record<string, number>>): string {
  const parts = Object.entries(c).filter(([k, n]) => k !== 'ok' && n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.map(cell).join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

function scenarioSection(s: ScenarioReport): string[] {
  const out: string[] = [];
  const plots = plotFiles(s);
  out.push(`## ${s.name}`, '');
  out.push(`${formatDuration(s.durationMs)} simulated, seed ${s.seed}. No-THP reference: MMU overhead ${s.reference.mmuOverheadPct.toFixed(2)}%, speed vs 4 KiB local pages ${s.reference.speedVs4k.toFixed(3)}x, ${s.reference.swapOutPages} pages swapped out.`, '');
  out.push(...table(['', ...s.arms.map((a) => a.name)], ROWS.map(([label, f]) => [label, ...s.arms.map((a) => f(a.metrics))])), '');
  const workloads = Object.keys(s.reference.speedVs4kByWorkload);
  if (workloads.length > 0) {
    out.push('Throughput vs no THP per workload:', '');
    out.push(...table(['workload', ...s.arms.map((a) => a.name)], workloads.map((w) => [w, ...s.arms.map((a) => perWorkload(a.metrics.throughputRelByWorkload[w]))])), '');
  }
  const policies = s.arms.filter((a) => a.policyFile !== undefined);
  if (policies.length > 0) out.push(`Policies: ${policies.map((a) => `${a.name} = \`${a.policyFile}\``).join('; ')}.`, '');
  out.push(`![hot memory THP coverage over time](${plots.coverage})`, '');
  out.push(`![MMU overhead over time](${plots.overhead})`, '');
  if (s.goals && s.goals.length > 0) {
    out.push('**Goals.**', '');
    for (const g of s.goals) out.push(`- ${g.arm}, ${GOAL_NAMES[g.goal]}: ${g.met ? 'met' : 'missed'} — ${g.detail}.`);
    out.push('');
  }
  out.push('**Largest differences.**', '');
  for (const line of explainScenario(s)) out.push(`- ${line}`);
  out.push('');
  return out;
}

/** The goals in words (sim/compare/goals.ts). */
const GOAL_NAMES: Readonly<Record<GoalVerdict['goal'], string>> = {
  'oracle-share': `≥ ${100 * ORACLE_SHARE_GOAL}% of the oracle's MMU-overhead reduction`,
  'kernel-default': 'never worse than kernel-default, better where it leaves hot memory without THPs',
  'cpu-per-reduction': 'less collapse + scan CPU per point of reduction than kernel-aggressive',
  'no-swap-storm': 'no THP-caused swap storm',
  'local-thp': 'no remote huge pages for workloads that fit their node',
};

/** How the figures are measured, and which ones the model does not give yet. */
export const REPORT_NOTES: readonly string[] = [
  'Every arm of a scenario runs the same scenario, seed and duration; each arm\'s THP knobs replace the scenario\'s own (its other knobs are kept). `kernel-default` is this host\'s defaults (enabled=madvise, defrag=madvise, khugepaged at its defaults); `kernel-aggressive` adds pages_to_scan ×16, scan_sleep_millisecs 1000 and defrag=always; `thp-always` sets enabled=always; `uhugepaged` arms run the daemon under their policy on the host\'s defaults. The `oracle` arm is an upper bound computed from the no-THP run (docs/oracle.md): no arm can beat its MMU-overhead reduction unless it swaps or loses processes to the OOM killer.',
  'Relative figures (MMU overhead reduction, throughput, swap-outs beyond) are against a hidden run of the same scenario and seed with enabled=never. Throughput is the modelled speed of the accesses (cycles on 4 KiB local pages over cycles taken) over the no-THP run\'s: the access rates are the same in both, so it is the ratio of throughputs.',
  'Hot memory, its THP coverage, the MMU cost and THP bloat (THP-backed bytes of the workload processes with no hot page) are the model\'s ground truth; the other figures come from /proc and /sys counters and the processes\' stall times, as on Linux.',
  'CPU collapsing is the daemon\'s MADV_COLLAPSE calls (it is their caller and pays for them). CPU scanning is khugepaged\'s CPU and the daemon\'s observation; khugepaged\'s own collapses are inside its figure because the model charges its scans and collapses to one thread time, and THP work inside page faults is part of the faulting processes\' time and not separable.',
  'Swap-outs caused by THP allocation are counted as the swap-outs beyond the no-THP run (pswpout minus the reference\'s, at least 0): the model does not tag a swap-out with the allocation that caused it.',
  'Collapses: khugepaged\'s successes are pages_collapsed; its failures are its huge-page allocation failures (thp_collapse_alloc_failed less the daemon\'s ENOMEMs), shown as ENOMEM as MADV_COLLAPSE would report them; the daemon\'s are its per-region outcomes by errno.',
  'Fault latency p50/p99 is over the page faults of the workload processes: each fault\'s kernel time (the fault path, direct reclaim and compaction, zeroing or copying) plus its waits for swap-in and the memcg throttle, from the model\'s per-task histograms (within about 2%). The fault path faults a bounded sample of the pages a stream touches each second, so the percentiles are those of that sample and of every swap-in; n/a for the oracle, which makes no faults. Compaction stall is the direct-compaction stall time of the workload processes.',
];

/** The whole report.md. */
export function renderReportMd(report: CompareReport): string {
  const out: string[] = ['# uhugepaged compare', ''];
  const arms = report.scenarios[0]?.arms.map((a) => a.name) ?? [];
  out.push(`Scenarios: ${report.scenarios.map((s) => s.name).join(', ')}. Arms: ${arms.join(', ')}.`, '');
  for (const s of report.scenarios) out.push(...scenarioSection(s));
  out.push('## Notes', '');
  for (const n of REPORT_NOTES) out.push(`- ${n}`);
  return `${out.join('\n')}\n`;
}

/** A workload's throughput cell; n/a where the arm has no per-workload figure (the oracle's bound is machine-wide). */
function perWorkload(x: number | undefined): string {
  return x === undefined ? 'n/a' : `${x.toFixed(3)}x`;
}
