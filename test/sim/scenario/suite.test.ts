// The standard scenarios shipped in config/scenarios/: each file validates, runs a short while on the
// simulated kernel without throwing, and its summary has a row for each of its process workloads.
// fleet-host (512 GiB, ~1000 processes) is the slow one: it gets its own test, with a shorter run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../support/paths.js';
import { loadScenario } from '../../../sim/scenario/load.js';
import { formatSummary, simulate } from '../../../sim/scenario/simulate.js';

const dir = join(projectRoot, 'config', 'scenarios');
const files = readdirSync(dir)
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .sort();
const FLEET = 'fleet-host.yaml';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function runs(file: string, durationMs: number): void {
  const s = loadScenario(join(dir, file));
  assert.equal(s.name, file.replace(/\.(ya?ml|json)$/, ''));
  const r = simulate(s, { durationMs });
  assert.equal(r.durationMs, durationMs);
  assert.equal(r.metrics.series.at(-1)?.tMs, durationMs);
  const text = formatSummary(r);
  const lines = text.split('\n');
  assert.match(lines[0], new RegExp(`^scenario ${escape(s.name)}: `));
  const processWorkloads = s.workloads.filter((w) => !w.churn).map((w) => w.name);
  assert.deepEqual(
    r.metrics.workloads.map((w) => w.workload),
    processWorkloads,
  );
  for (const name of processWorkloads) assert.ok(lines.some((l) => new RegExp(`^${escape(name)}( \\(×\\d+\\))? `).test(l)), `a summary row for ${name}:\n${text}`);
  for (const w of s.workloads.filter((x) => x.churn)) assert.ok(!lines.some((l) => l.startsWith(`${w.name} `)), `no row for the churn ${w.name}`);
  for (const p of r.metrics.processes) assert.ok(Number.isFinite(p.hotThpCoverage) && Number.isFinite(p.speedVs4k) && Number.isFinite(p.mmuOverheadPct), `finite figures for ${p.comm}`);
}

test('suite: config/scenarios holds the standard scenarios', () => {
  for (const name of ['default', 'fragmented', 'numa-spanning', 'kvm-ksm-host', 'containers', 'phase-shift', 'priority-mix', 'balloon-guest', 'fleet-host']) assert.ok(files.includes(`${name}.yaml`), `${name}.yaml`);
});

for (const file of files.filter((f) => f !== FLEET)) {
  test(`suite: ${file} validates and runs 20 s`, () => runs(file, 20_000));
}

test(`suite: ${FLEET} validates and runs 10 s`, { timeout: 15 * 60_000 }, () => runs(FLEET, 10_000));
