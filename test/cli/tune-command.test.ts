// `uhugepaged tune` on logs of simulated runs with a planted misconfiguration: a collapse budget far too
// small (tune proposes a higher one, with the saturation as evidence, and --write writes a policy that
// `check` accepts), and a class whose comm pattern matches nothing (tune names it and lists the comms
// seen). Also: a log that cannot be read (exit 2, the file named) and lines that are not JSON (counted).
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../daemon/config/policy.js';
import { shippedPolicyFile } from '../../daemon/config/policy-store.js';
import type { Findings } from '../../daemon/tune/findings.js';
import { runWithDaemon } from '../../sim/daemon/daemon-run.js';
import { loadScenario } from '../../sim/scenario/load.js';
import { packageFile } from '../../sim/package-files.js';
import { projectRoot } from '../support/paths.js';

const bin = join(projectRoot, 'bin', 'uhugepaged.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
const MIN = 60_000;

let dir = '';
const file = (name: string): string => join(dir, name);

/** Plays 3 simulated minutes of the default scenario under `policyText`, logging to `log`. */
async function logRun(policyName: string, policyText: string, log: string): Promise<void> {
  writeFileSync(file(policyName), policyText);
  const scenario = loadScenario(packageFile('config/scenarios/default.yaml'));
  await runWithDaemon(scenario, { durationMs: 3 * MIN, daemon: { policyFile: file(policyName), logFile: file(log), logLevel: 'info' } });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uhp-tune-cli-'));
  const shipped = readFileSync(shippedPolicyFile, 'utf8');
  assert.match(shipped, /collapsesPerSec: 16\/s/);
  await logRun('small-budget.yaml', shipped.replace('collapsesPerSec: 16/s', 'collapsesPerSec: 1/s'), 'small-budget.jsonl');
  assert.match(shipped, / {2}# Everything else, at a low weight/);
  await logRun('typo.yaml', shipped.replace('  # Everything else, at a low weight', '  - name: pg\n    match:\n      comm: [postgress]\n\n  # Everything else, at a low weight'), 'typo.jsonl');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('tune: a budget far too small is found, a higher collapsesPerSec proposed, and --write writes a policy check accepts', () => {
  const r = run('tune', file('small-budget.jsonl'), '--write', file('tuned.yaml'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^uhugepaged tune: 1 file\(s\), \d+ lines, \d+ records, \d+ cycles over 180\.0 s of daemon time\n/);
  assert.match(r.stdout, new RegExp(`policy checked against: ${file('small-budget.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stdout, /\[critical\] budget-saturated: the collapse budget is the bottleneck: raise budgets\.collapsesPerSec/);
  assert.match(r.stdout, /- 9\d\.\d% of \d+ cycles stopped on the budget while nothing failed/);
  assert.match(r.stdout, /change: budgets\.collapsesPerSec: "1\/s" → "4\/s"/);
  assert.match(r.stderr, /tune: wrote .*tuned\.yaml with 1 change\(s\)/);
  const check = run('check', file('tuned.yaml'));
  assert.equal(check.stdout, `${file('tuned.yaml')}: ok\n`);
  assert.equal(loadPolicy(file('tuned.yaml')).budgets.collapsesPerSec, 4);
  const tuned = readFileSync(file('tuned.yaml'), 'utf8');
  assert.match(tuned, /^# uhugepaged — the shipped default policy\./);
  assert.match(tuned, /collapsesPerSec: 4\/s/);
  // The input policy is untouched.
  assert.match(readFileSync(file('small-budget.yaml'), 'utf8'), /collapsesPerSec: 1\/s/);
});

test('tune --json: a class that never matched is named, with the comms seen, from the policy the log names', () => {
  const r = run('tune', file('typo.jsonl'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const f = JSON.parse(r.stdout) as Findings & { read: { malformed: number } };
  assert.equal(f.policyFile, file('typo.yaml'));
  const c = f.findings.find((x) => x.id === 'class-never-matched:pg');
  assert.ok(c, f.findings.map((x) => x.id).join(', '));
  assert.equal(c.statement, 'classes[3] "pg" matched no process with hot memory');
  assert.ok(c.evidence.some((e) => /comms seen in decisions — .*mysqld \(\d+\)/.test(e)), c.evidence.join('\n'));
  assert.ok(c.evidence.includes('check its comm patterns against the comms seen'));
  assert.ok(Object.keys(f.commsByClass).includes('databases'));
  assert.equal(f.findings.some((x) => x.id === 'class-never-matched:databases'), false);
  assert.equal(f.read.malformed, 0);
});

test('tune: lines that are not JSON are counted; a missing log or --write without a policy is exit 2', () => {
  copyFileSync(file('typo.jsonl'), file('mixed.jsonl'));
  appendFileSync(file('mixed.jsonl'), 'garbage\n{"truncated":\n');
  const r = run('tune', file('mixed.jsonl'), '--config', shippedPolicyFile);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`\\n2 lines were not JSON records and were skipped \\(first: ${file('mixed.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+, `));
  const missing = run('tune', file('nope.jsonl'));
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, `${file('nope.jsonl')}: cannot read the log: no such file (ENOENT)\n`);
  writeFileSync(file('anon.jsonl'), '{"message":"cycle","t":0,"cycle":1,"skipped":{}}\n');
  const noPolicy = run('tune', file('anon.jsonl'), '--write', file('x.yaml'));
  assert.equal(noPolicy.status, 2);
  assert.match(noPolicy.stderr, /--write needs a policy: give --config FILE/);
});
