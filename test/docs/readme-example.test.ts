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

const readme = (): string => readFileSync(join(projectRoot, 'README.md'), 'utf8');

/** Runs the README's `<!-- example: name -->` block against the build; returns what it printed. */
function runExample(name: string): string {
  const code = new RegExp(`<!-- example: ${name} -->\\n\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme())?.[1];
  assert.ok(code, `the README has no "${name}" example block`);
  const dist = pathToFileURL(join(projectRoot, 'dist')).href;
  const dir = mkdtempSync(join(tmpdir(), 'uhugepaged-readme-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code.replaceAll("'./dist/", `'${dist}/`));
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the README example of the kernel model runs and prints what it says', () => {
  const out = runExample('kernel-model');
  assert.match(out, /AnonHugePages:\s+65536 kB/);
  assert.match(out, /walkCycles/);
});

test('the README collapse example prints exactly the output the README shows', () => {
  const shown = /<!-- output: collapse -->\n```\n([\s\S]*?)```/.exec(readme())?.[1];
  assert.ok(shown, 'the README shows no output for the collapse example');
  assert.equal(runExample('collapse'), shown);
});

test('the README KSM example prints exactly the output the README shows', () => {
  const shown = /<!-- output: ksm -->\n```\n([\s\S]*?)```/.exec(readme())?.[1];
  assert.ok(shown, 'the README shows no output for the KSM example');
  assert.equal(runExample('ksm'), shown);
});

for (const name of ['move-pages', 'numa-balancing', 'page-reporting']) {
  test(`the README ${name} example prints exactly the output the README shows`, () => {
    const shown = new RegExp(`<!-- output: ${name} -->\\n\`\`\`\\n([\\s\\S]*?)\`\`\``).exec(readme())?.[1];
    assert.ok(shown, `the README shows no output for the ${name} example`);
    assert.equal(runExample(name), shown);
  });
}
