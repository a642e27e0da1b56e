/**
 * Findings from a decision log's counters (log-stats.ts), each with its evidence and, where the log
 * supports one, a concrete policy change (a path and a new value, as written in a policy file).
 * Policy-dependent findings (a class that never matched, a budget's value) need the policy in force;
 * without it they are left out and a note says so.
 *
 * Thresholds are deliberately coarse: a finding needs a pattern that holds over many cycles, never one
 * bad cycle. Proposed raises are ×2 (×4 when the saturation is near total), so that a tuned policy is
 * checked against a new log before it is raised again.
 */
import type { Policy } from '../config/policy-schema.js';
import type { LogRecord } from './log-reader.js';
import { CALL_SIZES, LogStats, type OutcomeCounts } from './log-stats.js';

export type Severity = 'critical' | 'warning' | 'info';
export const severityOrder: readonly Severity[] = ['critical', 'warning', 'info'];

/** A change to the policy: the value at `path` becomes `to` (written as in a policy file). */
export interface ProposedChange {
  readonly path: readonly (string | number)[];
  /** The path as text: `budgets.collapsesPerSec`, `classes[1].match.comm`. */
  readonly pathText: string;
  readonly from: unknown;
  readonly to: string | number | readonly string[];
}

export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly statement: string;
  /** Figures behind the statement. */
  readonly evidence: readonly string[];
  /** Places in the log (cycle and t) that show it. */
  readonly samples: readonly string[];
  readonly change?: ProposedChange;
}

/** Outcome rates, for the report's tables. */
export interface OutcomeSummary {
  readonly calls: number;
  readonly okCalls: number;
  readonly partialCalls: number;
  readonly failedCalls: number;
  readonly successRate: number;
  readonly regions: number;
  readonly regionsDone: number;
  readonly regionsPerCall: number;
  readonly errnos: Readonly<Record<string, { readonly calls: number; readonly rate: number }>>;
}

export interface Findings {
  readonly spanMs: number;
  readonly records: number;
  readonly cycles: number;
  /** The policy file the findings were checked against, if any. */
  readonly policyFile?: string;
  readonly outcomes: {
    readonly all: OutcomeSummary;
    readonly byClass: Readonly<Record<string, OutcomeSummary>>;
    readonly byCallSize: Readonly<Record<string, OutcomeSummary>>;
  };
  /** Comms seen in decisions, by class. */
  readonly commsByClass: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Skipped candidates (summed over cycles) by reason and class. */
  readonly skipped: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Ordered by severity. */
  readonly findings: readonly Finding[];
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
const rate = (perSec: number): string => `${Number(perSec.toPrecision(3))}/s`;
const secs = (ms: number): string => (ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

function summarise(c: OutcomeCounts): OutcomeSummary {
  const errnos: Record<string, { calls: number; rate: number }> = {};
  for (const [e, n] of Object.entries(c.errnos)) errnos[e] = { calls: n, rate: c.calls > 0 ? n / c.calls : 0 };
  return {
    calls: c.calls, okCalls: c.okCalls, partialCalls: c.partialCalls, failedCalls: c.failedCalls,
    successRate: c.calls > 0 ? (c.okCalls + c.partialCalls) / c.calls : 0,
    regions: c.regions, regionsDone: c.regionsDone, regionsPerCall: c.calls > 0 ? c.regions / c.calls : 0, errnos,
  };
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Edit distance (Levenshtein), for a comm pattern that is nearly a comm seen. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Findings of a list of records (the whole analysis in one call; the CLI streams into LogStats instead). */
export function analyseLogs(records: Iterable<LogRecord>, policy?: Policy, policyFile?: string): Findings {
  const stats = new LogStats();
  for (const r of records) stats.add(r);
  return findingsOf(stats, policy, policyFile);
}

/** Findings from folded counters, checked against `policy` when given. */
export function findingsOf(stats: LogStats, policy?: Policy, policyFile?: string): Findings {
  const out: Finding[] = [];
  const spanS = Math.max(stats.spanMs / 1000, 1e-9);
  budgetFindings(stats, policy, spanS, out);
  classFindings(stats, policy, out);
  eligibilityFindings(stats, policy, out);
  failureFindings(stats, policy, out);
  guardFindings(stats, out);
  pacingFindings(stats, policy, out);
  policyRecordFindings(stats, out);
  if (policy === undefined) {
    out.push({ id: 'no-policy', severity: 'info', statement: 'no policy to check against: findings that need its values (classes never matched, budget values) are left out', evidence: ['give --config FILE, or keep the policy file named in the log\'s "started" record where it was'], samples: [] });
  }
  out.sort((a, b) => severityOrder.indexOf(a.severity) - severityOrder.indexOf(b.severity));
  const byClass: Record<string, OutcomeSummary> = {};
  for (const [cls, c] of [...stats.byClass].sort()) byClass[cls] = summarise(c);
  const byCallSize: Record<string, OutcomeSummary> = {};
  for (const size of CALL_SIZES) {
    const c = stats.bySize.get(size);
    if (c !== undefined) byCallSize[size] = summarise(c);
  }
  const skipped: Record<string, Record<string, number>> = {};
  for (const [reason, m] of stats.skips) skipped[reason] = Object.fromEntries(m);
  const commsByClass: Record<string, Record<string, number>> = {};
  for (const [cls, m] of stats.commsByClass) commsByClass[cls] = Object.fromEntries([...m].sort((a, b) => b[1] - a[1]));
  return {
    spanMs: stats.spanMs, records: stats.records, cycles: stats.cycles, ...(policyFile !== undefined ? { policyFile } : {}),
    outcomes: { all: summarise(stats.all), byClass, byCallSize }, commsByClass, skipped, findings: out,
  };
}

function budgetFindings(stats: LogStats, policy: Policy | undefined, spanS: number, out: Finding[]): void {
  const sat = stats.budgetSaturated;
  const share = stats.cycles > 0 ? sat.cycles / stats.cycles : 0;
  const failRate = stats.all.calls > 0 ? stats.all.failedCalls / stats.all.calls : 0;
  if (stats.cycles >= 10 && share >= 0.5) {
    const plannedPerSec = stats.plannedSum / spanS;
    const cpuPerSec = stats.all.latencyMs / spanS;
    const evidence = [
      `${pct(share)} of ${stats.cycles} cycles stopped on the budget while nothing failed`,
      `candidates left waiting in those cycles: median ${median(stats.budgetWaiting)}, max ${Math.max(...stats.budgetWaiting)}`,
      `planned ${rate(plannedPerSec)} over ${secs(stats.spanMs)}; collapse work ${cpuPerSec.toFixed(1)} ms/s; ${pct(failRate)} of calls failed`,
    ];
    const factor = share >= 0.8 ? 4 : 2;
    let change: ProposedChange | undefined;
    if (failRate > 0.2) evidence.push('no raise proposed: fix the failures first, a raise would only make more of them');
    else if (policy !== undefined) {
      const b = policy.budgets;
      evidence.push(`policy: collapsesPerSec ${rate(b.collapsesPerSec)}, cpuMsPerSec ${b.cpuMsPerSec}`);
      if (plannedPerSec >= 0.5 * b.collapsesPerSec) {
        change = { path: ['budgets', 'collapsesPerSec'], pathText: 'budgets.collapsesPerSec', from: rate(b.collapsesPerSec), to: rate(Math.min(b.collapsesPerSec * factor, 4096)) };
      } else if (cpuPerSec >= 0.5 * b.cpuMsPerSec) {
        change = { path: ['budgets', 'cpuMsPerSec'], pathText: 'budgets.cpuMsPerSec', from: b.cpuMsPerSec, to: Math.min(b.cpuMsPerSec * factor, 1000) };
      } else {
        // Neither global budget is near its rate: a process's own cap is what stops the walk.
        const byClass = stats.skips.get('budget') ?? new Map<string, number>();
        const top = [...byClass].sort((a, b2) => b2[1] - a[1])[0];
        const i = top === undefined ? -1 : policy.classes.findIndex((c) => c.name === top[0]);
        if (i >= 0) {
          const cur = policy.classes[i].eligibility.maxCollapsesPerSecPerProcess;
          evidence.push(`neither global budget is near its rate; class ${policy.classes[i].name} has the most budget skips (${top[1]}): its per-process cap ${rate(cur)} binds`);
          change = { path: ['classes', i, 'eligibility', 'maxCollapsesPerSecPerProcess'], pathText: `classes[${i}].eligibility.maxCollapsesPerSecPerProcess`, from: rate(cur), to: rate(cur * 2) };
        }
      }
    }
    out.push({ id: 'budget-saturated', severity: share >= 0.8 ? 'critical' : 'warning', statement: change ? `the collapse budget is the bottleneck: raise ${change.pathText}` : 'the collapse budget is the bottleneck', evidence, samples: sat.samples, ...(change ? { change } : {}) });
  }
  const obs = stats.observeSaturated;
  const obsShare = stats.cycles > 0 ? obs.cycles / stats.cycles : 0;
  if (stats.cycles >= 10 && obsShare >= 0.3) {
    const cur = policy?.budgets.observeCpuMsPerSec;
    const change: ProposedChange | undefined = cur === undefined ? undefined : { path: ['budgets', 'observeCpuMsPerSec'], pathText: 'budgets.observeCpuMsPerSec', from: cur, to: Math.min(1000, Math.max(1, cur * 2)) };
    out.push({
      id: 'observe-budget-saturated', severity: obsShare >= 0.8 ? 'critical' : 'warning',
      statement: 'the observation budget stops the walk before the collapse budget does: candidates are not even inspected',
      evidence: [`${pct(obsShare)} of ${stats.cycles} cycles skipped candidates for observe-budget (${obs.skips} skips in all)`], samples: obs.samples, ...(change ? { change } : {}),
    });
  }
}

function commsSeenText(stats: LogStats): string {
  const parts: string[] = [];
  for (const [cls, m] of stats.commsByClass) parts.push(`${cls}: ${[...m].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([c, n]) => `${c} (${n})`).join(', ')}`);
  return parts.length > 0 ? `comms seen in decisions — ${parts.join('; ')}` : 'no decision in the log names a comm';
}

function classFindings(stats: LogStats, policy: Policy | undefined, out: Finding[]): void {
  if (policy === undefined || stats.cycles === 0) return;
  const seen = new Set([...stats.byClass.keys(), ...stats.classesSkipped]);
  const allComms = new Map<string, string>();
  for (const [cls, m] of stats.commsByClass) for (const c of m.keys()) allComms.set(c, cls);
  policy.classes.forEach((c, i) => {
    if (seen.has(c.name)) return;
    const evidence = [
      `no decision and no skipped candidate of class ${c.name} in ${secs(stats.spanMs)} of logs (${stats.cycles} cycles)`,
      `match: ${JSON.stringify(c.match)}`,
      `classes seen: ${[...seen].sort().join(', ') || 'none'}`,
      commsSeenText(stats),
    ];
    let change: ProposedChange | undefined;
    const patterns = c.match.comm;
    if (patterns !== undefined) {
      // A pattern one or two letters from a comm seen in another class is a typo.
      const fixed = patterns.map((p) => {
        if (/[*?]/.test(p)) return p;
        const near = [...allComms.keys()].filter((comm) => comm !== p && editDistance(p, comm) <= 2 && allComms.get(comm) !== c.name).sort((a, b) => editDistance(p, a) - editDistance(p, b))[0];
        return near ?? p;
      });
      if (fixed.some((p, j) => p !== patterns[j])) {
        evidence.push(`${fixed.filter((p, j) => p !== patterns[j]).map((p) => `${p} (class ${allComms.get(p)})`).join(', ')} is within two letters of a pattern: a typo?`);
        change = { path: ['classes', i, 'match', 'comm'], pathText: `classes[${i}].match.comm`, from: patterns, to: fixed };
      } else evidence.push('check its comm patterns against the comms seen');
    }
    out.push({ id: `class-never-matched:${c.name}`, severity: 'warning', statement: `classes[${i}] ${JSON.stringify(c.name)} matched no process with hot memory`, evidence, samples: [], ...(change ? { change } : {}) });
  });
}

const ELIGIBILITY = { 'too-many-none-pages': 'maxNonePages', 'swapped-pages': 'maxSwapPages', 'shared-pages': 'maxSharedPages' } as const;

function eligibilityFindings(stats: LogStats, policy: Policy | undefined, out: Finding[]): void {
  for (const [reason, field] of Object.entries(ELIGIBILITY)) {
    for (const [cls, n] of stats.skips.get(reason) ?? []) {
      const done = stats.byClass.get(cls)?.regions ?? 0;
      const share = n / (n + done);
      if (n < 20 || share < 0.5) continue;
      const i = policy?.classes.findIndex((c) => c.name === cls) ?? -1;
      const evidence = [`${n} candidate skips of class ${cls} for ${reason} (counted each cycle a region is looked at again) against ${done} regions acted on: ${pct(share)}`];
      let change: ProposedChange | undefined;
      if (policy !== undefined && i >= 0) {
        const cur = policy.classes[i].eligibility[field];
        evidence.push(`policy: classes[${i}].eligibility.${field} is ${cur}`);
        // Only absent pages are relaxed: they cost zeroed memory (bloat), bounded here to 1/8 of a region
        // at first; swapped pages cost swap-ins and shared ones end a sharing, a choice for the operator.
        if (field === 'maxNonePages' && cur < 511) change = { path: ['classes', i, 'eligibility', field], pathText: `classes[${i}].eligibility.${field}`, from: cur, to: Math.min(511, Math.max(64, cur * 2)) };
      }
      out.push({ id: `eligibility:${cls}:${reason}`, severity: 'warning', statement: `most candidates of class ${cls} are ineligible for ${reason}${change ? `: relax ${change.pathText}` : ''}`, evidence, samples: [], ...(change ? { change } : {}) });
    }
  }
}

function failureFindings(stats: LogStats, policy: Policy | undefined, out: Finding[]): void {
  const all = stats.all;
  for (const [errno, n] of Object.entries(all.errnos)) {
    const share = n / all.calls;
    if (share < 0.1 || n < 5) continue;
    const byClass = [...stats.byClass].filter(([, c]) => (c.errnos[errno] ?? 0) > 0).map(([cls, c]) => `${cls} ${c.errnos[errno]}/${c.calls}`);
    out.push({ id: `failures:${errno}`, severity: share >= 0.3 ? 'critical' : 'warning', statement: `${pct(share)} of collapse calls failed with ${errno}`, evidence: [`${n} of ${all.calls} calls; by class: ${byClass.join(', ')}`], samples: [] });
  }
  const repeated = [...stats.eagainByRegion.values()].filter((n) => n >= 2);
  if (repeated.length > 0) {
    const regions = stats.eagainByRegion.size;
    const wasted = repeated.reduce((s, n) => s + n - 1, 0);
    const cur = policy?.pacing.retry.EAGAIN;
    const change: ProposedChange | undefined = cur !== undefined && repeated.length / regions >= 0.25 ? { path: ['pacing', 'retry', 'EAGAIN'], pathText: 'pacing.retry.EAGAIN', from: `${cur / 1000}s`, to: `${Math.round((cur * 4) / 1000)}s` } : undefined;
    out.push({
      id: 'repeated-eagain', severity: repeated.length / regions >= 0.25 ? 'warning' : 'info',
      statement: `${repeated.length} regions failed with EAGAIN more than once: wasted calls on regions that stay busy`,
      evidence: [`${wasted} repeated EAGAIN calls on ${repeated.length} of ${regions} regions that ever gave EAGAIN`], samples: stats.eagainSamples, ...(change ? { change } : {}),
    });
  }
  if (stats.churned > 0) {
    const share = stats.churned / Math.max(1, stats.regionsCollapsed);
    out.push({
      id: 'churn', severity: share >= 0.05 ? 'warning' : 'info',
      statement: `${stats.churned} regions were collapsed again within 10 min of their last collapse: their huge pages were split (a fork, mprotect, partial munmap)`,
      evidence: [`${stats.churned} of ${stats.regionsCollapsed} successful collapse calls (${pct(share)}) were on a first region collapsed before: work that did not last`], samples: stats.churnSamples,
    });
  }
}

function guardFindings(stats: LogStats, out: Finding[]): void {
  for (const [reason, g] of [...stats.guardTrips].sort()) {
    const share = g.cycles / Math.max(1, stats.cycles);
    out.push({
      id: `guard:${reason}`, severity: share >= 0.5 ? 'warning' : 'info',
      statement: `the ${reason} guard held candidates back in ${pct(share)} of cycles`,
      evidence: [`${g.cycles} of ${stats.cycles} cycles, ${g.skips} candidate skips; guards protect the machine: look at memory pressure and free memory before loosening one`], samples: g.samples,
    });
  }
  if (stats.killSwitchCycles > 0) {
    out.push({ id: 'kill-switch', severity: 'info', statement: `the kill switch was on for about ${secs(stats.killSwitchMs)} (${stats.killSwitchCycles} cycles)`, evidence: [`${pct(stats.killSwitchMs / Math.max(1, stats.spanMs))} of the ${secs(stats.spanMs)} logged`], samples: stats.killSwitchSamples });
  }
}

function pacingFindings(stats: LogStats, policy: Policy | undefined, out: Finding[]): void {
  if (stats.cycles < 10 || stats.intervals.size === 0) return;
  const max = policy?.pacing.maxInterval ?? Math.max(...stats.intervals.keys());
  const atMax = stats.intervals.get(max) ?? 0;
  const share = atMax / stats.cycles;
  if (share < 0.5) return;
  const idle = stats.idleCycles / stats.cycles;
  const perRegionMs = stats.all.regions > 0 ? stats.all.latencyMs / stats.all.regions : 0;
  const evidence = [`${pct(share)} of ${stats.cycles} cycles ended with the interval at ${secs(max)}; ${pct(idle)} of cycles had no candidate; mean collapse latency ${perRegionMs.toFixed(1)} ms per region`];
  if (idle >= 0.5) {
    out.push({ id: 'pacing-idle', severity: 'info', statement: 'the daemon is mostly idle: nothing to collapse, and it backs off to its longest interval', evidence, samples: [] });
    return;
  }
  let change: ProposedChange | undefined;
  if (policy !== undefined && perRegionMs > policy.pacing.slowCollapse) {
    evidence.push(`policy: pacing.slowCollapse is ${policy.pacing.slowCollapse} ms; collapses here are slower than that, so every one doubles the interval`);
    change = { path: ['pacing', 'slowCollapse'], pathText: 'pacing.slowCollapse', from: `${policy.pacing.slowCollapse}ms`, to: `${Math.ceil(perRegionMs * 1.5)}ms` };
  }
  out.push({ id: 'pacing-slow', severity: 'warning', statement: 'the daemon runs at its longest interval with candidates waiting', evidence, samples: [], ...(change ? { change } : {}) });
}

function policyRecordFindings(stats: LogStats, out: Finding[]): void {
  for (const r of stats.policyRejections) {
    out.push({ id: 'policy-rejected', severity: 'warning', statement: `a policy file was rejected at ${r.place}: the previous policy stayed`, evidence: [`${r.file}: ${r.problems.join('; ')}`], samples: [r.place] });
  }
  if (stats.policyChanges.length > 0) {
    out.push({ id: 'policy-changed', severity: 'info', statement: `the policy changed ${stats.policyChanges.length} times during the log: figures mix policies`, evidence: stats.policyChanges.slice(0, 3).map((c) => `${c.place}: ${JSON.stringify(c.changes)}`), samples: stats.policyChanges.slice(0, 3).map((c) => c.place) });
  }
}
