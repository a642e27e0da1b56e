// `uhugepaged check FILE...`, run as the installed binary: "FILE: ok" or one line per problem, exit code
// 0 when every file is valid and 2 when any is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';
import { WorkloadOverrideSchema } from '../../sim/scenario/schema.js';

const bin = join(projectRoot, 'bin', 'uhugepaged.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });

const GOOD = `duration: 90s
machine:
  nodes:
    - memory: 1GiB
workloads:
  - name: db
    mappings:
      - name: heap
        size: 256MiB
`;

/** Runs `fn` with files written in a fresh temporary directory. */
function withFiles(files: Record<string, string>, fn: (path: (name: string) => string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-check-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    fn((name) => join(dir, name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('check: a valid file prints "FILE: ok" and exits 0', () => {
  withFiles({ 'good.yaml': GOOD, 'good.json': JSON.stringify({ duration: '1m', machine: { nodes: [{ memory: '1GiB' }] } }) }, (p) => {
    const r = run('check', p('good.yaml'), p('good.json'));
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `${p('good.yaml')}: ok\n${p('good.json')}: ok\n`);
    assert.equal(r.status, 0);
  });
});

test('check: an invalid file prints each problem as FILE:LINE:COL: PATH: MESSAGE and exits 2', () => {
  const bad = GOOD.replace('duration: 90s', 'duration: 90').replace('size: 256MiB', 'size: 12Gb').replace('    mappings:', '    mapings:');
  withFiles({ 'good.yaml': GOOD, 'bad.yaml': bad }, (p) => {
    const r = run('check', p('good.yaml'), p('bad.yaml'));
    assert.equal(r.status, 2);
    assert.deepEqual(r.stdout.split('\n'), [
      `${p('good.yaml')}: ok`,
      `${p('bad.yaml')}:1:11: duration: expected a duration such as 500ms, 90s, 10m, 2h or 1d, got 90`,
      `${p('bad.yaml')}:7:5: workloads[0].mapings: unknown key "mapings" (did you mean "mappings"?); allowed keys: ${Object.keys(WorkloadOverrideSchema.shape).join(', ')}`,
      '',
    ]);
  });
});

test('check: a semantic problem, a missing file and a policy with a mistake', () => {
  withFiles({ 'node.yaml': GOOD.replace('  - name: db', '  - name: db\n    node: 1'), 'policy.yaml': 'rules:\n  - match: db\n' }, (p) => {
    const r = run('check', p('node.yaml'), p('missing.yaml'), p('policy.yaml'));
    assert.equal(r.status, 2);
    assert.deepEqual(r.stdout.split('\n'), [
      `${p('node.yaml')}:7:11: workloads[0].node: node 1 does not exist: the machine has 1 node (0)`,
      `${p('missing.yaml')}: (root): cannot read the file: no such file (ENOENT)`,
      `${p('policy.yaml')}:1:1: version: missing required key "version": expected 1`,
      `${p('policy.yaml')}:1:1: classes: missing required key "classes": expected a list`,
      `${p('policy.yaml')}:1:1: rules: unknown key "rules"; allowed keys: $schema, version, killSwitch, classes, budgets, guards, pacing, scorers, schedules, kernelSettings`,
      '',
    ]);
  });
});

test('check: the shipped policy and scenarios are valid', () => {
  const r = run('check', 'config/uhugepaged.yaml', 'config/scenarios/default.yaml');
  assert.equal(r.stdout, 'config/uhugepaged.yaml: ok\nconfig/scenarios/default.yaml: ok\n');
  assert.equal(r.status, 0);
});

test('check: --help shows an example; no file is bad usage (exit 2)', () => {
  const help = run('check', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: uhugepaged check \[options\] <file\.\.\.>/);
  assert.match(help.stdout, /Example:\n {2}\$ uhugepaged check /);
  const none = run('check');
  assert.equal(none.status, 2);
  assert.match(none.stderr, /missing required argument 'file'/);
});
