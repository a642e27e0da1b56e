// The kernel model and the daemon's logic must not read the wall clock, arm real timers or draw
// unseeded randomness; only daemon/schedule/ may. These tests lint probe code as if it stood in those
// folders and check that the lint configuration says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { projectRoot } from '../support/paths.js';

const eslint = new ESLint({ cwd: projectRoot });

/** Lints `code` as the content of an existing file of the project and returns the rule ids hit. */
async function ruleIds(relativePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(projectRoot, relativePath) });
  assert.ok(result, 'eslint returned no result');
  return result.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

const probes = [
  'export const r = Math.random();',
  'export const t = Date.now();',
  'export const d = new Date();',
  'setTimeout(() => undefined, 10);',
  'setInterval(() => undefined, 10);',
  'export const p = performance.now();',
];

for (const file of ['kernel-model/index.ts', 'daemon/container.ts']) {
  for (const probe of probes) {
    test(`${file} may not use: ${probe}`, async () => {
      const ids = await ruleIds(file, probe);
      assert.ok(
        ids.some((id) => id === 'no-restricted-globals' || id === 'no-restricted-properties'),
        `expected a restriction, got [${ids.join(', ')}]`,
      );
    });
  }
}

test('the kernel model may not touch the process object either', async () => {
  const ids = await ruleIds('kernel-model/index.ts', 'export const e = process.env;');
  assert.ok(ids.includes('no-restricted-globals'), `got [${ids.join(', ')}]`);
});

test('the clock module is the one place allowed to read the wall clock', async () => {
  const ids = await ruleIds('daemon/schedule/wall-clock.ts', 'export const t = Date.now();');
  assert.deepEqual(ids.filter((id) => id.startsWith('no-restricted')), []);
});
