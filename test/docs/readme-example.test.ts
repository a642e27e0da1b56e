// The README's kernel-model example must run as printed: extract it, run it against the build, and
// check what it prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../support/paths.js';

test('the README example of the kernel model runs and prints what it says', () => {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const code = /<!-- example: kernel-model -->\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'the README has no kernel-model example block');
  const entry = pathToFileURL(join(projectRoot, 'dist', 'kernel-model', 'index.js')).href;
  const dir = mkdtempSync(join(tmpdir(), 'uhugepaged-readme-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code.replace("'./dist/kernel-model/index.js'", `'${entry}'`));
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /AnonHugePages:\s+65536 kB/);
    assert.match(run.stdout, /walkCycles/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
