// The shipped systemd unit: the directives the daemon depends on are there (notify with a watchdog,
// reload by SIGHUP, restart on failure), the hardening does not break it, the capabilities it grants
// are exactly those the start-up checks require, and its ExecStart is a command line `run` accepts
// (parsed only, never run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { runCommand } from '../../cli/run-command.js';
import { ExitCode } from '../../cli/program.js';
import { PREFLIGHT_REFUSED_EXIT } from '../../daemon/lifecycle/preflight.js';
import { neededCapabilities } from '../../daemon/lifecycle/preflight-privileges.js';

const unitFile = fileURLToPath(new URL('../../../config/systemd/uhugepaged.service', import.meta.url));
const packageJson = fileURLToPath(new URL('../../../package.json', import.meta.url));

/** A unit file as section → key → values (a key may be given more than once), as systemd reads it. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a directive: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const unit = parseUnit(readFileSync(unitFile, 'utf8'));
const service = unit.get('Service') ?? new Map<string, string[]>();
const value = (key: string): string | undefined => service.get(key)?.at(-1);

test('the unit is Type=notify with a watchdog, reloads by SIGHUP and restarts on failure', () => {
  assert.equal(value('Type'), 'notify');
  assert.equal(value('NotifyAccess'), 'main');
  assert.match(value('WatchdogSec') ?? '', /^[1-9]\d*s$/);
  assert.match(value('ExecReload') ?? '', /^\S*kill -HUP \$MAINPID$/);
  assert.equal(value('Restart'), 'on-failure');
  const noRestart = (value('RestartPreventExitStatus') ?? '').split(/\s+/);
  assert.ok(noRestart.includes(String(ExitCode.usage)) && noRestart.includes(String(PREFLIGHT_REFUSED_EXIT)), 'a bad policy or a refusal is not restarted in a loop');
  assert.ok(unit.get('Install')?.get('WantedBy')?.includes('multi-user.target'));
});

test('the capabilities granted are exactly those the start-up checks require', () => {
  const needed = neededCapabilities.map((c) => c.name).sort();
  const words = (key: string): string[] => (value(key) ?? '').split(/\s+/).filter(Boolean).sort();
  assert.deepEqual(words('CapabilityBoundingSet'), needed);
  assert.deepEqual(words('AmbientCapabilities'), needed);
  assert.equal(value('NoNewPrivileges'), 'yes');
});

test('hardening: the file system is read-only where the daemon does not write, and nothing that would break it is set', () => {
  for (const [key, want] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['ProtectKernelModules', 'yes']] as const) {
    assert.equal(value(key), want, key);
  }
  assert.ok((value('RestrictAddressFamilies') ?? '').split(/\s+/).includes('AF_UNIX'), 'sd_notify and the journal need AF_UNIX');
  assert.match(value('MemoryMax') ?? '', /^\d+[KMG]$/);
  // Each of these would break the daemon (see the comments in the unit).
  assert.notEqual(value('ProtectKernelTunables'), 'yes', '/sys would be read-only: no THP knobs, no DAMON');
  assert.notEqual(value('ProtectProc'), 'invisible', 'other users’ processes would be hidden');
  assert.notEqual(value('ProcSubset'), 'pid', '/proc/vmstat, buddyinfo and kpageflags would be hidden');
  assert.notEqual(value('MemoryDenyWriteExecute'), 'yes', 'Node’s JIT needs writable code pages');
  assert.notEqual(value('PrivateUsers'), 'yes', 'capabilities would hold in a user namespace of its own only');
  assert.equal(service.has('SystemCallFilter'), false, 'a filter may leave out process_madvise or move_pages');
});

test('the unit ships with the package', () => {
  const files = (JSON.parse(readFileSync(packageJson, 'utf8')) as { files: string[] }).files;
  assert.ok(files.includes('config') || files.includes('config/systemd'), `package files: ${files.join(', ')}`);
});

test("ExecStart is a command line the CLI's `run` accepts", async (t) => {
  const [program, subcommand, ...args] = (value('ExecStart') ?? '').split(/\s+/);
  assert.match(program, /^\/\S+\/uhugepaged$/, 'an absolute path to the program');
  assert.equal(subcommand, 'run');
  const command = runCommand();
  const kernels = command.options.find((o) => o.long === '--kernel')?.argChoices ?? [];
  if (!kernels.includes('linux')) {
    t.skip(`run's --kernel accepts ${kernels.join(', ')} only: the unit's --kernel linux cannot be checked until the Linux port adds it`);
    return;
  }
  let parsed: Record<string, unknown> | undefined;
  const errors: string[] = [];
  command.action((opts: Record<string, unknown>) => {
    parsed = opts;
  });
  command.configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => undefined });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (e) {
    assert.fail(e instanceof CommanderError ? `run rejects the unit's ExecStart: ${e.message}` : String(e));
  }
  assert.deepEqual(errors, []);
  assert.equal(parsed?.kernel, 'linux');
  assert.equal(parsed?.config, '/etc/uhugepaged/uhugepaged.yaml');
});

test('systemd-analyze verify knows every directive of the unit', (t) => {
  const r = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    t.skip(`systemd-analyze cannot run here: ${r.error.message}`);
    return;
  }
  // The program is not installed where the unit expects it on a build machine; everything else counts.
  const problems = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/is not executable|No such file or directory/.test(l));
  assert.deepEqual(problems, []);
});
