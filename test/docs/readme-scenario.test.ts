// The README's scenario example must validate and print, through the real command, exactly the summary
// the README shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';

const readme = (): string => readFileSync(join(projectRoot, 'README.md'), 'utf8');
const bin = join(projectRoot, 'bin', 'uhugepaged.js');

function block(marker: string, lang: string): string {
  const text = new RegExp(`<!-- ${marker} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme())?.[1];
  assert.ok(text, `the README has no "${marker}" block`);
  return text;
}

test('the README scenario passes check and simulate prints exactly the summary shown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uhugepaged-readme-'));
  try {
    const file = join(dir, 'example.yaml');
    writeFileSync(file, block('scenario: example', 'yaml'));
    const check = spawnSync(process.execPath, [bin, 'check', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const run = spawnSync(process.execPath, [bin, 'simulate', '--scenario', file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, block('summary: example', ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
