/**
 * `uhugepaged run --kernel linux` end to end, as a separate process, against a real child
 * (test/real-kernel/probes/touch-child.c: a hot region it keeps writing, a cold one it wrote once, never
 * madvised). The policy given takes only the child (its comm), sets no kernel setting, paces the
 * daemon at 0.5–1 s so that a short run sees a few aggregations, and gives observation 100 ms of CPU a
 * second: the default 10 ms/s is overdrawn for several seconds by the first cycle, which reads the
 * status and cgroup of every process of the host (about 50–80 ms here), and a run of a few seconds would
 * then inspect nothing.
 *
 *   --once --dry-run      one decision: the cycles before the first access samples only observe, the
 *                         first with candidates decides (dry) and ends the run; the child's memory is as
 *                         it was (smaps before and after, all but the accessed-bit counts the sampling
 *                         itself clears), nothing collapsed
 *   --dry-run --duration  it decides to collapse the hot region and does not: the child stays in small pages
 *   --duration            it collapses the hot region, which THP enabled=madvise would leave in small
 *                         pages: how much got huge is printed
 *
 * Skips off Linux, without root or `cc`, and when THP is not `madvise` or `always` on this kernel.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelPortError } from '../../daemon/kernel-port/kernel-port.js';
import { parseSmaps, type SmapsRecord } from '../../daemon/kernel-port/procfs-parsers.js';
import type { LinuxRunResult } from '../../daemon/lifecycle/linux-run.js';
import { hostFilePort } from '../support/host-port.js';
import { projectRoot } from '../support/paths.js';
import { cannotRunLinuxPortTests, startTouchChild, type TouchChild } from '../support/touch-child.js';

const HOT_MIB = 64;

function cannotJudge(): string | undefined {
  const why = cannotRunLinuxPortTests();
  if (why !== undefined) return why;
  let enabled: string;
  try {
    enabled = hostFilePort().readFile('/sys/kernel/mm/transparent_hugepage/enabled');
  } catch (e) {
    if (e instanceof KernelPortError) return 'no transparent huge pages on this kernel';
    throw e;
  }
  return /\[never\]/.test(enabled) ? 'THP enabled=never: MADV_COLLAPSE still works, but this host is not the case the test is about' : undefined;
}

interface Run {
  result: LinuxRunResult;
  stdout: string;
  log: string;
}

/** The command line of a run with a policy that takes only `comm`, its state and log in a temporary directory. */
function daemonArgs(t: TestContext, comm: string, args: string[], exclude?: string): { argv: string[]; json: string; logFile: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    ['version: 1', 'classes:', '  - name: probe', '    match:', `      comm: [${comm}]`, '    eligibility:', '      minAccessRate: 1/s', ...(exclude ? [`      exclude: { comm: [${exclude}] }`] : []), 'budgets:', '  observeCpuMsPerSec: 100', 'pacing:', '  interval: 500ms', '  minInterval: 500ms', '  maxInterval: 1s', ''].join('\n'),
  );
  const json = join(dir, 'result.json');
  const logFile = join(dir, 'log.jsonl');
  const stateDir = join(dir, 'state');
  const argv = [join(projectRoot, 'bin/uhugepaged.js'), 'run', '--kernel', 'linux', '--config', policy, '--state-dir', stateDir, '--json', json, '--log-file', logFile, ...args];
  return { argv, json, logFile, stateDir };
}

/** Runs the CLI to its end (see daemonArgs). */
function runDaemon(t: TestContext, comm: string, args: string[], exclude?: string): Run {
  const { argv, json, logFile } = daemonArgs(t, comm, args, exclude);
  const run = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `the daemon failed (${run.status}, ${run.signal}):\n${run.stderr}\n${run.stdout}`);
  return { result: JSON.parse(readFileSync(json, 'utf8')) as LinuxRunResult, stdout: run.stdout, log: readFileSync(logFile, 'utf8') };
}

/** The child's two VMAs in smaps. */
function childVmas(child: TouchChild): SmapsRecord[] {
  return parseSmaps(hostFilePort().readFile(`/proc/${child.pid}/smaps`)).filter((v) => v.start === child.hot || v.start === child.cold);
}

/** A VMA as far as the daemon could change it: everything but Referenced (the sampling clears accessed bits). */
function shape(v: SmapsRecord): Record<string, unknown> {
  const fields = Object.fromEntries([...v.fields].filter(([k]) => k !== 'Referenced'));
  return { start: v.start, end: v.end, perms: v.perms, vmFlags: v.vmFlags.join(' '), ...fields };
}

test('run --kernel linux --once --dry-run: one decision once samples arrived, and the child\'s memory is as it was', async (t) => {
  const why = cannotJudge();
  if (why) return t.skip(why);
  const child = await startTouchChild(HOT_MIB, 16);
  t.after(() => child.stop());
  const before = childVmas(child).map(shape);
  assert.equal(before.length, 2);
  const { result, stdout, log } = runDaemon(t, child.comm, ['--once', '--dry-run']);
  const after = childVmas(child).map(shape);
  assert.deepEqual(after, before);
  assert.equal(result.stoppedBy, 'once');
  // Samples arrive an aggregation (2 s) after sampling starts; --once waits at most three.
  assert.ok(result.daemon.cycles >= 2 && result.daemon.cycles <= 8, `${result.daemon.cycles} cycles`);
  assert.ok(result.daemon.dryRunDecisions >= HOT_MIB / 2, `${result.daemon.dryRunDecisions} dry-run decisions: the hot region is decided on`);
  assert.equal(result.daemon.collapsed, 0);
  assert.deepEqual(result.daemon.failed, {});
  assert.match(stdout, /dry run: no actions/);
  assert.doesNotMatch(log, /"action":"(collapse|migrate)"/, 'no action is logged');
});

test('run --kernel linux --dry-run --duration: it decides to collapse the hot region, and leaves it in small pages', async (t) => {
  const why = cannotJudge();
  if (why) return t.skip(why);
  const child = await startTouchChild(HOT_MIB, 16);
  t.after(() => child.stop());
  const { result } = runDaemon(t, child.comm, ['--dry-run', '--duration', '12s']);
  t.diagnostic(`dry run: ${result.daemon.cycles} cycles, ${result.daemon.dryRunDecisions} dry-run decisions; sampling ${result.sampling.mechanism}`);
  assert.equal(result.stoppedBy, 'duration');
  assert.ok(result.daemon.dryRunDecisions > 0, 'the hot region was found and chosen');
  assert.equal(result.daemon.collapsed, 0);
  for (const v of childVmas(child)) assert.equal(v.fields.get('AnonHugePages'), 0);
});

test('run --kernel linux --duration: the child\'s hot, never-madvised 64 MiB gets huge pages; the cold one does not, nor an excluded process', async (t) => {
  const why = cannotJudge();
  if (why) return t.skip(why);
  const child = await startTouchChild(HOT_MIB, 16);
  t.after(() => child.stop());
  // Just as hot, matched by the class's comm pattern, and excluded by it.
  const excluded = await startTouchChild(HOT_MIB, 0, 'uhp-excluded');
  t.after(() => excluded.stop());
  for (const v of childVmas(child)) assert.equal(v.fields.get('AnonHugePages'), 0, 'small pages to begin with');
  const { result, stdout } = runDaemon(t, 'uhp-*', ['--duration', '12s'], 'uhp-excluded');
  const [hot, cold] = [child.hot, child.cold].map((a) => childVmas(child).find((v) => v.start === a));
  const hugeKb = hot?.fields.get('AnonHugePages') ?? 0;
  t.diagnostic(`${hugeKb} kB of ${HOT_MIB * 1024} kB hot memory THP-backed after the run; the daemon collapsed ${result.daemon.collapsed} regions, failed ${JSON.stringify(result.daemon.failed)}`);
  t.diagnostic(stdout.trim());
  assert.equal(result.stoppedBy, 'duration');
  assert.ok(result.daemon.collapsed > 0);
  assert.ok(hugeKb >= 2048 * result.daemon.collapsed * 0.9, `AnonHugePages ${hugeKb} kB for ${result.daemon.collapsed} collapsed regions`);
  assert.equal(cold?.fields.get('AnonHugePages'), 0, 'the cold region is left alone');
  assert.equal(childVmas(excluded).length, 1);
  for (const v of childVmas(excluded)) assert.equal(v.fields.get('AnonHugePages'), 0, 'the excluded process is left alone');
});

test('run --kernel linux until SIGINT: a graceful stop, the summary, and the process exits (no thread or timer left behind)', async (t) => {
  const why = cannotJudge();
  if (why) return t.skip(why);
  const child = await startTouchChild(HOT_MIB, 0);
  t.after(() => child.stop());
  const { argv, json, logFile } = daemonArgs(t, child.comm, []);
  const daemon = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  daemon.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = once(daemon, 'exit') as Promise<[number | null, string | null]>;
  // Wait until it has started (and so chosen its sampler), then until its first sampling has begun.
  for (let i = 0; i < 200 && !(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('"cycle":3')); i++) await sleep(100);
  daemon.kill('SIGINT');
  const [code, signal] = await exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
  const result = JSON.parse(readFileSync(json, 'utf8')) as LinuxRunResult;
  assert.equal(result.stoppedBy, 'signal');
  assert.ok(result.daemon.cycles >= 3);
  assert.match(stdout, /until a signal/);
  assert.match(readFileSync(logFile, 'utf8'), /"stopped"/);
});
