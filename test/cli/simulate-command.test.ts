// `uhugepaged simulate`, run as the installed binary: the summary on stdout (the same on every run),
// progress and speed on stderr, the JSON file; exit code 2 for an invalid scenario or a malformed option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';
import type { SimulationResult } from '../../sim/scenario/simulate.js';

const bin = join(projectRoot, 'bin', 'uhugepaged.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'simulate', ...args], { encoding: 'utf8', cwd: projectRoot });

const SMALL = `name: small
duration: 1h
machine:
  nodes:
    - memory: 512MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: madvise
workloads:
  - name: db
    mappings:
      - name: heap
        size: 64MiB
        madvise: [MADV_HUGEPAGE]
    streams:
      - name: lookups
        mapping: heap
        rate: 1M
        pattern: zipf
  - name: web
    count: 3
    mappings:
      - name: heap
        size: 16MiB
`;

/** Runs `fn` with files written in a fresh temporary directory. */
function withFiles(files: Record<string, string>, fn: (path: (name: string) => string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-simulate-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    fn((name) => join(dir, name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('simulate: prints the summary table on stdout, progress and speed on stderr, and writes the JSON', () => {
  withFiles({ 'small.yaml': SMALL }, (p) => {
    const r = run('--scenario', p('small.yaml'), '--duration', '30s', '--json', p('out.json'));
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'scenario small: 30s simulated, seed 1, kernel mechanisms only (no daemon)');
    assert.match(r.stdout, /^workload +RSS +hot +THP of hot +at end +remote THP +MMU overhead +speed vs 4K +fault stall$/m);
    assert.match(r.stdout, /^db +64 MiB +64 MiB +100\.0% +100\.0% /m);
    assert.match(r.stdout, /^web \(×3\) +48 MiB /m);
    assert.match(r.stdout, /^THP faults 32 \(fallback 0\);/m);
    assert.match(r.stdout, /^free memory at end: node 0 /m);
    assert.match(r.stderr, /^simulate small: 0\.5 min of 0\.5 min simulated \(100%\), \d+ s elapsed$/m);
    assert.match(r.stderr, /^simulated 30 s in \d+\.\d s of wall time \(\d+x real time\)$/m);
    // Nothing of the progress on stdout.
    assert.doesNotMatch(r.stdout, /elapsed|wall time/);

    const json = JSON.parse(readFileSync(p('out.json'), 'utf8')) as SimulationResult;
    assert.equal(json.scenario, 'small');
    assert.equal(json.seed, 1);
    assert.equal(json.durationMs, 30_000);
    assert.deepEqual(
      json.metrics.processes.map((x) => x.comm),
      ['db', 'web-0', 'web-1', 'web-2'],
    );
    assert.deepEqual(
      json.metrics.workloads.map((w) => [w.workload, w.processes]),
      [
        ['db', 1],
        ['web', 3],
      ],
    );
    assert.equal(json.metrics.machine.vmstat.thp_fault_alloc, 32);
    assert.deepEqual(
      json.metrics.series.map((x) => x.tMs),
      [10_000, 20_000, 30_000],
    );
  });
});

test('simulate: stdout is the same on every run (determinism end to end); --seed is reported', () => {
  withFiles({ 'small.yaml': SMALL }, (p) => {
    const a = run('--scenario', p('small.yaml'), '--duration', '20s');
    const b = run('--scenario', p('small.yaml'), '--duration', '20s');
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.ok(a.stdout.length > 0);
    assert.equal(a.stdout, b.stdout);
    const seeded = run('--scenario', p('small.yaml'), '--duration', '20s', '--seed', '7', '--json', p('seeded.json'));
    assert.equal(seeded.status, 0, seeded.stderr);
    assert.match(seeded.stdout, /^scenario small: 20s simulated, seed 7, /);
    assert.equal((JSON.parse(readFileSync(p('seeded.json'), 'utf8')) as SimulationResult).seed, 7);
  });
});

test('simulate: an invalid scenario exits 2 with FILE:LINE:COL: PATH: MESSAGE on stderr and no summary', () => {
  const bad = SMALL.replace('size: 64MiB', 'size: 64Mb');
  withFiles({ 'bad.yaml': bad }, (p) => {
    const r = run('--scenario', p('bad.yaml'), '--duration', '30s', '--json', p('out.json'));
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^${p('bad.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:12:15: workloads\\[0\\]\\.mappings\\[0\\]\\.size: expected a size`, 'm'));
    assert.throws(() => readFileSync(p('out.json')), /ENOENT/);
  });
});

test('simulate: a missing scenario file exits 2', () => {
  withFiles({}, (p) => {
    const r = run('--scenario', p('missing.yaml'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing\.yaml: \(root\): cannot read the file/);
  });
});

test('simulate: a malformed --duration or --seed is bad usage (exit 2)', () => {
  for (const args of [
    ['--duration', '5x'],
    ['--duration', '0s'],
    ['--seed', '-1'],
  ]) {
    const r = run('--scenario', 'config/scenarios/default.yaml', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, new RegExp(`'${args[1]}' is invalid`));
    assert.equal(r.stdout, '');
  }
});

test('simulate: --help shows an example', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: uhugepaged simulate \[options\]/);
  assert.match(r.stdout, /Example:\n {2}\$ uhugepaged simulate --scenario /);
});
