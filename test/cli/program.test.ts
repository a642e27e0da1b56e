import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';
import { registeredCommands } from '../../cli/commands.js';

const bin = join(projectRoot, 'bin', 'uhugepaged.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('--version prints the package version and exits 0', () => {
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const r = run('--version');
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('--help lists exactly the registered subcommands and exits 0', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: uhugepaged/);
  const listed = /Commands:\n([\s\S]*?)(\n\n|$)/.exec(r.stdout)?.[1] ?? '';
  // A command's line starts two spaces in; wrapped description lines are indented further.
  const names = listed.split('\n').flatMap((l) => /^ {2}(\S+)/.exec(l)?.[1] ?? []).filter((n) => n !== 'help');
  assert.deepEqual(names.sort(), registeredCommands().map((c) => c.name()).sort());
});

test('an unknown subcommand is bad usage: exit 2 with a message', () => {
  const r = run('no-such-command');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /too many arguments|unknown command/);
});
