// The daemon in service mode as a child process, with a notify socket of the test's own standing in for
// systemd (PID 1 here is not systemd) and its stderr a file named by JOURNAL_STREAM as the journal's
// would be: the real libsystemd sends READY=1 after the first cycle, WATCHDOG=1 at its cadence,
// STATUS on a SIGHUP reload, STOPPING=1 on SIGTERM; the log lines carry syslog priorities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { NotifySocket } from '../../support/notify-socket.js';

const child = fileURLToPath(new URL('../../support/service-child.js', import.meta.url));
const policyText = (rate: string): string => `version: 1\nclasses:\n  - name: all\n    match: {}\nbudgets:\n  collapsesPerSec: ${rate}\n`;
const WATCHDOG_USEC = 200_000;

function libsystemdMissing(): string | undefined {
  try {
    koffi.load('libsystemd.so.0');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

test('service mode: READY, watchdog cadence, SIGHUP reload, STOPPING, journal lines', { timeout: 60_000 }, async (t) => {
  const missing = libsystemdMissing();
  if (missing !== undefined) {
    t.skip(`libsystemd.so.0 cannot be loaded here, so sd_notify cannot be exercised: ${missing}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'uhp-service-'));
  const socket = new NotifySocket(join(dir, 'notify.sock'));
  writeFileSync(join(dir, 'v1.yaml'), policyText('16/s'));
  writeFileSync(join(dir, 'v2.yaml'), policyText('32/s'));
  const policy = join(dir, 'policy.yaml');
  symlinkSync(join(dir, 'v1.yaml'), policy);
  const stderrFd = openSync(join(dir, 'stderr.log'), 'w');
  const { dev, ino } = fstatSync(stderrFd, { bigint: true });
  const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: String(WATCHDOG_USEC), JOURNAL_STREAM: `${dev}:${ino}` };
  delete env.WATCHDOG_PID;
  const proc = spawn(process.execPath, [child, policy], { env, stdio: ['ignore', 'ignore', stderrFd] });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  try {
    const has = (prefix: string) => (d: readonly string[]) => d.some((m) => m.startsWith(prefix));
    assert.ok(await socket.waitFor(has('READY=1'), 30_000), `no READY=1; got ${JSON.stringify(socket.datagrams)}`);
    const readyAt = socket.datagrams.findIndex((m) => m.startsWith('READY=1'));
    assert.match(socket.datagrams[readyAt], /\nSTATUS=running: first cycle done/);

    // The watchdog's cadence: a ping every WATCHDOG_USEC/2 (100 ms). Counted over a measured window with
    // wide bounds, so that a loaded machine does not fail it: at least a quarter of the ideal, at most
    // the ideal plus a few.
    const before = socket.datagrams.filter((m) => m === 'WATCHDOG=1').length;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1500));
    socket.drain();
    const elapsed = performance.now() - t0;
    const pings = socket.datagrams.filter((m) => m === 'WATCHDOG=1').length - before;
    const ideal = elapsed / (WATCHDOG_USEC / 2000);
    assert.ok(pings >= ideal / 4 && pings <= ideal + 3, `${pings} pings in ${elapsed.toFixed(0)} ms (ideal ${ideal.toFixed(1)})`);

    // A symlink swap (how configuration tools deploy) changes nothing the file watcher sees: only
    // SIGHUP reloads it, which is what ExecReload= sends.
    symlinkSync(join(dir, 'v2.yaml'), `${policy}.new`);
    renameSync(`${policy}.new`, policy);
    const reloaded = has('STATUS=policy reloaded');
    assert.equal(await socket.waitFor(reloaded, 600), false, 'the watcher did not see the swap');
    proc.kill('SIGHUP');
    assert.ok(await socket.waitFor(reloaded, 10_000), 'SIGHUP reloaded the policy');

    proc.kill('SIGTERM');
    assert.equal(await exited, 0, 'a graceful stop');
    socket.drain();
    assert.equal(socket.datagrams.at(-1), 'STOPPING=1\nSTATUS=stopping');
    assert.equal(socket.datagrams.slice(socket.datagrams.findIndex((m) => m.startsWith('STOPPING=1'))).filter((m) => m === 'WATCHDOG=1').length, 0, 'no ping after STOPPING=1');

    const lines = readFileSync(join(dir, 'stderr.log'), 'utf8').trimEnd().split('\n');
    assert.ok(lines.length > 3, `only ${lines.length} log lines`);
    for (const line of lines) assert.match(line, /^<[3-7]>\S/, `a journal line: ${line}`);
    assert.ok(lines.some((l) => l.startsWith('<6>[decide:DecisionLog] policy changed {')), 'the reload is logged at info (6), with its fields on the line');
    assert.ok(!lines.some((l) => /\d{4}-\d\d-\d\dT\d\d:/.test(l.slice(0, 40))), 'no timestamp: the journal stamps lines');
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    closeSync(stderrFd);
    socket.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
