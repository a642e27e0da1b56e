/**
 * The processes of the Linux benchmarks: children holding hot memory (linux-hot-child.ts) and the daemon
 * itself, run as `uhugepaged run --kernel linux` in a process of its own so that its CPU time and RSS
 * are read cleanly from /proc/PID/stat and status, apart from the benchmark's.
 *
 * Every process started here is recorded in a {@link BenchProcesses}, whose `killAll` is called on every
 * way out of the benchmark — its end, an exception, SIGINT/SIGTERM — because the children hold GiBs of
 * memory. As a second line, children exit when their stdin (a pipe from the benchmark) closes, and the
 * daemon is given a `--duration`, so that neither outlives a benchmark killed with SIGKILL for long.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageFile } from '../package-files.js';
import { regionHugeFraction, statCpuMs, statusRssMiB } from './linux-bench-figures.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./linux-hot-child.js', import.meta.url));
/** Output kept from a process for an error message. */
const TAIL_CHARS = 4000;

/** The processes started by one benchmark run, killed together. */
export class BenchProcesses {
  private readonly live = new Set<ChildProcess>();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killAll();
    // The default action of the signal, now that nothing is left behind.
    process.kill(process.pid, signal);
  };

  /** @param policyFile the daemon's policy: the shipped one, except in a trial of the benchmark itself. */
  constructor(readonly policyFile: string) {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Starts `argv[0]` with the rest as arguments, recorded until it exits. */
  spawn(argv: readonly string[]): ChildProcess {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.live.add(p);
    p.once('exit', () => this.live.delete(p));
    return p;
  }

  /** SIGKILLs every process still running. Synchronous, so that a signal handler can call it. */
  killAll(): void {
    for (const p of this.live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }

  /** Kills what is left and stops listening for signals. */
  dispose(): void {
    this.killAll();
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/** Keeps the last TAIL_CHARS characters of a stream. */
function tail(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.on('data', (c: Buffer) => {
    text = (text + c.toString()).slice(-TAIL_CHARS);
  });
  return () => text;
}

/** A running hot child (linux-hot-child.ts). */
export interface HotChild {
  readonly pid: number;
  readonly addr: number;
  readonly bytes: number;
  /** ns per read of each timed window printed so far, in order. */
  readonly windows: number[];
  /** The share of its region that THPs back now (0 when the child is gone). */
  hugeFraction(): number;
  stop(): Promise<void>;
}

/** Starts a child holding `mib` MiB; resolves once every page was written once. */
export async function startHotChild(procs: BenchProcesses, mib: number, readMs: number, pauseMs: number): Promise<HotChild> {
  const p = procs.spawn([process.execPath, CHILD_SCRIPT, String(mib), String(readMs), String(pauseMs)]);
  const stderr = tail(p.stderr!);
  const exited = once(p, 'exit');
  const stop = async (): Promise<void> => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await exited;
  };
  const windows: number[] = [];
  const ready = new Promise<{ addr: number; bytes: number }>((resolve, reject) => {
    let buffered = '';
    p.stdout!.on('data', (c: Buffer) => {
      buffered += c.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as { addr?: number; bytes?: number; nsPerRead?: number };
        buffered = buffered.slice(nl + 1);
        if (line.nsPerRead !== undefined) windows.push(line.nsPerRead);
        else if (line.addr !== undefined && line.bytes !== undefined) resolve({ addr: line.addr, bytes: line.bytes });
      }
    });
    p.once('exit', (code, signal) => reject(new Error(`the hot child exited (${code ?? signal}) before it was ready: ${stderr()}`)));
  });
  try {
    const { addr, bytes } = await ready;
    const pid = p.pid!;
    const hugeFraction = (): number => {
      try {
        return regionHugeFraction(readFileSync(`/proc/${pid}/smaps`, 'utf8'), addr, bytes) ?? 0;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return 0;
        throw e;
      }
    };
    return { pid, addr, bytes, windows, hugeFraction, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Waits until `child` printed `count` more timed windows than it had (after `skip` more, discarded). */
export async function nextWindows(child: HotChild, count: number, skip: number, timeoutMs: number): Promise<number[]> {
  const from = child.windows.length + skip;
  for (let waited = 0; child.windows.length < from + count; waited += 50) {
    if (waited > timeoutMs) throw new Error(`the hot child printed ${child.windows.length - from + skip} windows in ${timeoutMs} ms, not ${count + skip}`);
    await sleep(50);
  }
  return child.windows.slice(from, from + count);
}

/** The daemon, `uhugepaged run --kernel linux` under the shipped policy, as a process of its own. */
export interface DaemonProcess {
  readonly pid: number;
  /** performance.now() when it was spawned. */
  readonly startedAt: number;
  /** Its CPU time so far, plus that of a kdamond it started (its state file names it), ms. */
  cpuMs(): number;
  rss(): { rssMiB: number; peakMiB: number };
  running(): boolean;
  /** Stops it gracefully (SIGINT: its kernel settings restored, its kdamond removed); throws if it failed. */
  stop(): Promise<void>;
}

/** Starts the daemon, bounded by `maxDurationMs` in case the benchmark dies without stopping it. */
export function startDaemon(procs: BenchProcesses, maxDurationMs: number): DaemonProcess {
  // A state directory of its own, so that the kdamond it records (if DAMON is free) is known to be its.
  const stateDir = mkdtempSync(join(tmpdir(), 'uhp-bench-state-'));
  const argv = [process.execPath, packageFile('bin/uhugepaged.js'), 'run', '--kernel', 'linux', '--config', procs.policyFile, '--log-level', 'warn', '--duration', `${Math.ceil(maxDurationMs / 1000)}s`, '--state-dir', stateDir];
  const startedAt = performance.now();
  const p = procs.spawn(argv);
  const output = tail(p.stderr!);
  p.stdout!.resume();
  const exited = once(p, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const pid = p.pid!;
  const running = (): boolean => p.exitCode === null && p.signalCode === null;
  const kdamondCpuMs = (): number => {
    const file = join(stateDir, 'damon.json');
    if (!existsSync(file)) return 0;
    const { kdamondPid } = JSON.parse(readFileSync(file, 'utf8')) as { kdamondPid: number };
    return kdamondPid > 0 && existsSync(`/proc/${kdamondPid}/stat`) ? statCpuMs(readFileSync(`/proc/${kdamondPid}/stat`, 'utf8')) : 0;
  };
  const alive = (): void => {
    if (!running()) throw new Error(`the daemon exited (${p.exitCode ?? p.signalCode}): ${output()}`);
  };
  return {
    pid,
    startedAt,
    running,
    cpuMs: () => {
      alive();
      return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8')) + kdamondCpuMs();
    },
    rss: () => {
      alive();
      return statusRssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
    },
    stop: async () => {
      try {
        const killer = running() ? setTimeout(() => p.kill('SIGKILL'), 20_000) : undefined;
        if (running()) p.kill('SIGINT');
        const [code, signal] = await exited;
        clearTimeout(killer);
        if (code !== 0) throw new Error(`the daemon stopped badly (exit ${code ?? signal}, ${((performance.now() - startedAt) / 1000).toFixed(1)} s after its start): ${output()}`);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}
