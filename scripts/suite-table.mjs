// Prints the README's table of the standard suite from a compare report, with the date and the machine
// it was generated on. Usage (after `uhugepaged compare ... --out DIR`):
//   node scripts/suite-table.mjs DIR/report.json [MORE/report.json...]
// One row per arm; the uhugepaged arm in bold with its share of the oracle's reduction; under the table,
// every goal the uhugepaged arms missed, with the margin (the report's own words).
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/suite-table.mjs REPORT.json...');
  process.exit(2);
}
const scenarios = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).scenarios);

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const duration = (ms) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 60_000)} min`);
const group = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

const rows = [];
const missed = [];
for (const s of scenarios) {
  const oracle = s.arms.find((a) => a.kind === 'oracle');
  s.arms.forEach((a, i) => {
    const m = a.metrics;
    const u = a.kind === 'uhugepaged';
    const b = (x) => (u ? `**${x}**` : x);
    let reduction = `${m.mmuOverheadReductionPct.toFixed(1)}%`;
    if (u && oracle && oracle.metrics.mmuOverheadReductionPct > 0) reduction += ` (${Math.round((100 * m.mmuOverheadReductionPct) / oracle.metrics.mmuOverheadReductionPct)}% of the oracle's)`;
    const remote = s.machine && s.machine.nodes > 1 && m.remoteThpFraction > 0.0005 ? ` (${pct(m.remoteThpFraction)} remote)` : '';
    rows.push([
      i === 0 ? `${s.name} (${duration(s.durationMs)})` : '',
      b(a.name),
      b(`${pct(m.hotThpCoverage)}${remote}`),
      b(reduction),
      b(`${m.throughputRel.toFixed(3)}x`),
      a.kind === 'oracle' ? '—' : group(m.thpSwapOutPages),
    ]);
  });
  for (const g of s.goals ?? []) if (!g.met) missed.push(`${s.name}, ${g.arm} (${g.goal}): ${g.detail}.`);
}

const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
console.log(`Generated on ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores of ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; seed 1, shipped policy.`);
console.log('');
console.log('| scenario | arm | hot THP coverage | MMU overhead reduction | throughput vs no THP | swapped out beyond no THP |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log('');
if (missed.length === 0) console.log('Every goal was met.');
else {
  console.log('Goals missed:');
  console.log('');
  for (const m of missed) console.log(`- ${m}`);
}
