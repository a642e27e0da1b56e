/** The readable report of `uhugepaged tune`: what the log covers, outcome tables, then the findings by severity. */
import type { LogReadStats } from './log-reader.js';
import type { Findings, OutcomeSummary } from './findings.js';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function outcomeLine(name: string, o: OutcomeSummary): string {
  const errnos = Object.entries(o.errnos).map(([e, v]) => `${e} ${v.calls} (${pct(v.rate)})`).join(', ');
  return `  ${name.padEnd(20)} ${String(o.calls).padStart(7)} calls  ${pct(o.successRate).padStart(6)} ok  ${o.regionsPerCall.toFixed(1).padStart(6)} regions/call  failed: ${errnos || 'none'}`;
}

/** The report, lines ending in a newline. */
export function formatTuneReport(f: Findings, read: LogReadStats): string {
  const out: string[] = [];
  out.push(`uhugepaged tune: ${read.files.length} file(s), ${read.lines} lines, ${f.records} records, ${f.cycles} cycles over ${(f.spanMs / 1000).toFixed(1)} s of daemon time`);
  if (read.malformed > 0) out.push(`${read.malformed} lines were not JSON records and were skipped (first: ${read.malformedSamples.join(', ')})`);
  out.push(`policy checked against: ${f.policyFile ?? 'none'}`);
  out.push('');
  out.push('Collapse calls by class:');
  for (const [cls, o] of Object.entries(f.outcomes.byClass)) out.push(outcomeLine(cls, o));
  out.push(outcomeLine('(all)', f.outcomes.all));
  out.push('By regions per call:');
  for (const [size, o] of Object.entries(f.outcomes.byCallSize)) out.push(outcomeLine(size, o));
  const reasons = Object.entries(f.skipped).map(([r, m]) => `${r} ${Object.values(m).reduce((s, n) => s + n, 0)}`);
  out.push(`Skipped candidates (summed over cycles): ${reasons.join(', ') || 'none'}`);
  out.push('');
  if (f.findings.length === 0) out.push('No findings: nothing in the log calls for a change.');
  for (const x of f.findings) {
    out.push(`[${x.severity}] ${x.id}: ${x.statement}`);
    for (const e of x.evidence) out.push(`    - ${e}`);
    if (x.samples.length > 0) out.push(`    e.g. ${x.samples.join('; ')}`);
    if (x.change) out.push(`    change: ${x.change.pathText}: ${JSON.stringify(x.change.from)} → ${JSON.stringify(x.change.to)}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
