// The import rules of .dependency-cruiser.cjs must reject what they say they reject. They are run on a
// miniature tree (test/fixtures/boundary) that breaks each rule once, so a rule that silently stops
// matching (a renamed folder, a regex typo) fails this test instead of letting the real tree rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';

interface Violation { rule: { name: string }; from: string; to: string }

function cruise(cwd: string, ...dirs: string[]): Violation[] {
  const bin = join(projectRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const config = join(projectRoot, '.dependency-cruiser.cjs');
  const run = spawnSync(process.execPath, [bin, '--config', config, '--output-type', 'json', ...dirs], {
    cwd,
    encoding: 'utf8',
    // The report of the real tree is over a MiB, spawnSync's default buffer (past it the child is killed).
    maxBuffer: 64 << 20,
  });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

test('each boundary rule rejects the fixture import that breaks it, and nothing else', () => {
  const found = cruise(join(projectRoot, 'test', 'fixtures', 'boundary'), '.')
    .map((v) => `${v.rule.name} ${v.from}`)
    .sort();
  const expected = [
    'daemon-not-evaluation daemon/uses-evaluation.ts',
    'kernel-model-is-pure kernel-model/uses-daemon.ts',
    'kernel-model-no-framework kernel-model/uses-rxjs.ts',
    'kernel-model-no-outside-world kernel-model/uses-fs.ts',
    'kernel-model-no-outside-world kernel-model/uses-timers.ts',
    'sources-not-to-tests daemon/uses-test.ts',
  ];
  // A cycle is reported from at least one of its members.
  const cycles = found.filter((f) => f.startsWith('no-circular '));
  assert.ok(cycles.length >= 1, 'the import cycle in the fixture was not reported');
  assert.ok(cycles.every((c) => /daemon\/cycle-[ab]\.ts$/.test(c)), `unexpected cycle report: ${cycles.join(', ')}`);
  assert.deepEqual(found.filter((f) => !f.startsWith('no-circular ')), expected);
});

test('the real tree has no boundary violation', () => {
  const found = cruise(projectRoot, '.');
  assert.deepEqual(found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
});
