// The daemon on the simulated kernel, end to end (`uhugepaged run --kernel sim`): it improves on the
// kernel alone, puts the important workload first, keeps the NUMA-spanning scenario free of swap storms
// and of remote huge pages for the workload that fits its node, never touches what its policy excludes,
// makes no kernel call in a dry run, survives processes that exit under it, and stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimKernel } from '../../../kernel-model/index.js';
import { shippedPolicyFile } from '../../../daemon/config/policy-store.js';
import { runWithDaemon, type DaemonRunOptions, type DaemonRunResult } from '../../../sim/daemon/daemon-run.js';
import { loadScenario, parseScenario } from '../../../sim/scenario/load.js';
import { packageFile } from '../../../sim/package-files.js';
import type { Scenario } from '../../../sim/scenario/schema.js';

const MIN = 60_000;
const REGION = 2 * 1024 * 1024;

interface LogLine {
  message: string;
  t: number;
  comm?: string;
  pid?: number;
  action?: string;
  outcome?: string;
  regions?: number;
  errno?: string;
}

/** Runs with the daemon logging JSON lines to a temporary file; returns the result and the lines. */
async function runLogged(scenario: Scenario, opts: DaemonRunOptions): Promise<{ result: DaemonRunResult; lines: LogLine[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-run-'));
  try {
    const logFile = join(dir, 'log.jsonl');
    const result = await runWithDaemon(scenario, { ...opts, daemon: { logLevel: 'info', logFile, ...opts.daemon } });
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    return { result, lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const collapsesOk = (lines: readonly LogLine[]): LogLine[] => lines.filter((l) => l.message === 'decision' && l.action === 'collapse' && l.outcome === 'ok');
const workload = (r: DaemonRunResult, name: string) => {
  const w = r.metrics.workloads.find((x) => x.workload === name);
  assert.ok(w, `no workload ${name}`);
  return w;
};

/** Counts the simulated kernel's calls the daemon's actions go through, while `run` runs. */
async function countingActions<T>(run: () => Promise<T>): Promise<{ value: T; calls: Record<string, number> }> {
  const calls: Record<string, number> = { processMadvise: 0, movePages: 0, pidfdOpen: 0 };
  const proto = SimKernel.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const saved = Object.fromEntries(Object.keys(calls).map((name) => [name, proto[name]]));
  for (const name of Object.keys(calls)) {
    proto[name] = function (this: unknown, ...args: unknown[]) {
      calls[name]++;
      return saved[name].apply(this, args);
    };
  }
  try {
    return { value: await run(), calls };
  } finally {
    Object.assign(proto, saved);
  }
}

test('default scenario: the daemon raises the THP coverage of hot memory well above the kernel alone', async () => {
  const scenario = loadScenario(packageFile('config/scenarios/default.yaml'));
  const r = await runWithDaemon(scenario, { durationMs: 4 * MIN, baseline: true, daemon: { logLevel: 'error' } });
  const withDaemon = r.metrics.machine.hotThpCoverage;
  const alone = r.baseline!.metrics.machine.hotThpCoverage;
  assert.ok(r.daemon.collapsed > 500, `only ${r.daemon.collapsed} collapses`);
  assert.ok(withDaemon > alone + 0.2, `coverage ${withDaemon} with the daemon, ${alone} without`);
  assert.ok(r.metrics.machine.mmuOverheadPct < r.baseline!.metrics.machine.mmuOverheadPct);
  assert.equal(r.metrics.machine.vmstat.pswpout, 0);
});

test('priority-mix: the latency-critical frontend has its hot memory collapsed before the batch jobs', async () => {
  const scenario = loadScenario(packageFile('config/scenarios/priority-mix.yaml'));
  const policyFile = packageFile('config/policies/priority-mix.yaml');
  const { result, lines } = await runLogged(scenario, { durationMs: 4 * MIN, daemon: { policyFile } });
  const ok = collapsesOk(lines);
  // Counted in regions: one logged call may collapse hundreds (the catch-up budgets at start).
  const firstBatch = ok.findIndex((l) => l.comm !== 'frontend');
  const frontendFirst = ok.slice(0, firstBatch < 0 ? ok.length : firstBatch).reduce((n, l) => n + (l.regions ?? 1), 0);
  assert.ok(frontendFirst >= 100, `the first batch-job collapse came after ${frontendFirst} frontend regions`);
  /** When a process's collapsed regions first reach 90% of its workload's hot regions. */
  const reach90 = (comm: string, hotBytes: number): number => {
    let done = 0;
    for (const l of ok) {
      if (l.comm !== comm) continue;
      done += l.regions ?? 1;
      if (done >= (0.9 * hotBytes) / REGION) return l.t;
    }
    return Number.POSITIVE_INFINITY;
  };
  const frontend = reach90('frontend', workload(result, 'frontend').hotBytes);
  const trainer = reach90('trainer', workload(result, 'trainer').hotBytes);
  const analytics = reach90('analytics-0', workload(result, 'analytics').hotBytes / 3);
  assert.ok(Number.isFinite(frontend), 'the frontend never reached 90% of its hot memory');
  assert.ok(frontend < trainer && frontend < analytics, `90% reached at ${frontend} ms (frontend), ${trainer} (trainer), ${analytics} (analytics-0)`);
});

test('numa-spanning: no swap storm and no remote huge pages for the workload that fits its node', async () => {
  const scenario = loadScenario(packageFile('config/scenarios/numa-spanning.yaml'));
  const r = await runWithDaemon(scenario, { durationMs: 10 * MIN, baseline: true, daemon: { logLevel: 'error' } });
  const swappedWith = r.metrics.machine.vmstat.pswpout;
  const swappedAlone = r.baseline!.metrics.machine.vmstat.pswpout;
  assert.ok(swappedAlone > 100_000, `the kernel alone no longer swaps (${swappedAlone} pages): the scenario lost its point`);
  assert.ok(swappedWith < swappedAlone / 50, `${swappedWith} pages swapped out with the daemon, ${swappedAlone} without`);
  const fitter = workload(r, 'fitter');
  assert.ok(workload({ ...r, metrics: r.baseline!.metrics }, 'fitter').remoteThpShare > 0.5, 'the kernel alone no longer gives fitter remote huge pages');
  assert.equal(fitter.remoteThpShare, 0, `fitter's hot huge pages are ${fitter.remoteThpShare} remote`);
  // The daemon held defrag at never while it ran, and put the host's setting back.
  assert.ok(/\[madvise\]/.test(r.afterStop.knobs['/sys/kernel/mm/transparent_hugepage/defrag']), r.afterStop.knobs['/sys/kernel/mm/transparent_hugepage/defrag']);
});

test('an excluded process is never touched, whatever its memory looks like', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-policy-'));
  try {
    const policy = join(dir, 'policy.yaml');
    // The "postgres" workload of the default scenario runs the database preset, whose comm is mysqld.
    writeFileSync(policy, 'version: 1\nclasses:\n  - name: all\n    match: {}\n    eligibility:\n      exclude:\n        comm: [mysqld]\n');
    const scenario = loadScenario(packageFile('config/scenarios/default.yaml'));
    const { result, lines } = await runLogged(scenario, { durationMs: 3 * MIN, daemon: { policyFile: policy } });
    const decisions = lines.filter((l) => l.message === 'decision');
    assert.ok(decisions.length > 100, `only ${decisions.length} decisions`);
    assert.deepEqual(decisions.filter((l) => l.comm === 'mysqld'), []);
    assert.ok(workload(result, 'postgres').hotThpCoverage < 0.05);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--dry-run decides and logs, and makes no process_madvise, move_pages or pidfd_open call', async () => {
  const scenario = loadScenario(packageFile('config/scenarios/default.yaml'));
  const { value, calls } = await countingActions(() => runLogged(scenario, { durationMs: 2 * MIN, daemon: { dryRun: true } }));
  assert.deepEqual(calls, { processMadvise: 0, movePages: 0, pidfdOpen: 0 });
  const dry = value.lines.filter((l) => l.message === 'decision' && l.action === 'dry-run');
  assert.ok(dry.length > 50, `only ${dry.length} dry-run decisions`);
  assert.equal(value.result.daemon.collapsed, 0);
  assert.equal(value.result.daemon.dryRunDecisions, dry.length);
});

test('--once runs one cycle and ends the run there', async () => {
  const scenario = loadScenario(packageFile('config/scenarios/default.yaml'));
  const r = await runWithDaemon(scenario, { daemon: { once: true, logLevel: 'error' } });
  assert.equal(r.daemon.cycles, 1);
  assert.equal(r.stoppedEarly, true);
  assert.ok(r.durationMs < MIN);
});

test('processes that exit under the daemon are forgotten; it keeps running and never reports them as errors', async () => {
  const scenario = parseScenario(
    [
      'name: churn',
      'duration: 4m',
      'machine:',
      '  nodes: [{ memory: 4GiB }]',
      'workloads:',
      '  - name: short',
      '    preset: jvm',
      '    count: 6',
      '    stagger: 20s',
      '    lifetime: 40s',
      '    mappings: [{ name: heap, size: 256MiB }]',
    ].join('\n'),
    'churn.yaml',
  );
  const { result, lines } = await runLogged(scenario, {});
  assert.equal(result.stoppedEarly, false);
  assert.ok(result.daemon.collapsed > 0, 'nothing was collapsed');
  const errors = lines.filter((l) => (l as { level?: string }).level === 'error');
  assert.deepEqual(errors, []);
  const failedOther = lines.filter((l) => l.message === 'decision' && l.outcome === 'failed' && !['ESRCH', 'ENOMEM', 'EAGAIN'].includes(l.errno ?? ''));
  assert.deepEqual(failedOther, []);
});

test('an interrupted run stops gracefully: figures so far, sampling stopped, the knobs it held restored', async () => {
  const scenario = loadScenario(packageFile('config/scenarios/default.yaml'));
  let steps = 0;
  const r = await runWithDaemon(scenario, { interrupted: () => ++steps > 12, daemon: { logLevel: 'error', policyFile: shippedPolicyFile } });
  assert.equal(r.stoppedEarly, true);
  assert.ok(r.durationMs > 0 && r.durationMs < scenario.durationMs);
  assert.ok(r.daemon.cycles > 0);
  assert.equal(r.afterStop.knobs['/sys/kernel/mm/transparent_hugepage/defrag'].includes('[madvise]'), true);
  assert.equal(r.afterStop.sampledProcesses, 0);
});
