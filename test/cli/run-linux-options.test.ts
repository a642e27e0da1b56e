// `run --kernel linux` refuses the options of the simulated kernel, saying why, with exit code 2, before
// it touches anything of the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';

for (const [args, named] of [
  [['--scenario', 'config/scenarios/default.yaml'], '--scenario'],
  [['--seed', '3', '--no-baseline'], '--seed, --no-baseline'],
] as const) {
  test(`run --kernel linux ${args.join(' ')}: refused as sim-only`, () => {
    const run = spawnSync(process.execPath, [join(projectRoot, 'bin/uhugepaged.js'), 'run', '--kernel', 'linux', ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`^error: ${named} (is|are) for the simulated kernel only`));
    assert.equal(run.stdout, '');
  });
}
