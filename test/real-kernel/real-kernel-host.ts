/**
 * What the real-kernel tests share: whether this machine can judge at all, building a C program with
 * `cc` into a temporary directory, the workload agent as a child process speaking its line protocol,
 * and the one cross-process lock that every test changing a global knob (THP or KSM sysfs files) holds
 * while it runs. node's test runner runs test files in parallel processes, and two files flipping the
 * same knob under each other would each see the other's setting; the lock is an flock(2), taken by a
 * workload agent on the test's behalf (node has no flock) and released when that agent exits, so a
 * test killed midway cannot leave it held.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../support/paths.js';
import type { AgentReply } from '../support/agent-protocol.js';

/** "6.18.44-fc" → [6, 18]. */
export function kernelVersion(rel: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export const atLeast = (v: [number, number], w: [number, number]): boolean => v[0] > w[0] || (v[0] === w[0] && v[1] >= w[1]);

/** Why this machine cannot run a real-kernel test that needs root for `why`, or undefined when it can. */
export function cannotJudge(why: string): string | undefined {
  if (platform() !== 'linux') return `not Linux (${platform()})`;
  if (process.getuid?.() !== 0) return `not root: ${why}`;
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return 'no C compiler `cc` on PATH';
  const v = kernelVersion(release());
  if (!v || !atLeast(v, [6, 1])) return `kernel ${release()} is older than 6.1 (no MADV_COLLAPSE)`;
  return undefined;
}

/** A C program built into a temporary directory; `remove` deletes the directory. */
export interface Built {
  exe: string;
  remove(): void;
}

/**
 * Compiles a C file of the project (path from the project root) with `cc -O2 -Wall`. The directory is
 * made world-readable so that agents started under another uid can run the program too.
 */
export function compileC(source: string): Built {
  const dir = mkdtempSync(join(tmpdir(), 'uhugepaged-real-kernel-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const name = source.replace(/^.*\//, '').replace(/\.c$/, '');
  const exe = join(dir, name);
  const built = spawnSync('cc', ['-O2', '-Wall', '-o', exe, join(projectRoot, source)], { encoding: 'utf8' });
  if (built.status !== 0) {
    remove();
    throw new Error(`cc failed to build ${source}:\n${built.stderr}`);
  }
  chmodSync(dir, 0o755);
  return { exe, remove };
}

/** The agent's source, from the project root. */
export const AGENT_SOURCE = 'test/real-kernel/agent/workload-agent.c';

const REPLY_TIMEOUT_MS = 60_000;

/** A workload agent running on this machine's kernel. */
export class RealAgent {
  private readonly waiting: ((line: string | undefined) => void)[] = [];
  private readonly early: string[] = [];
  private ended = false;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
      else this.early.push(line);
    });
    lines.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(undefined);
    });
  }

  /** Starts an agent (as `uid` when given) and reads its ready line. */
  static async start(exe: string, opts: { uid?: number } = {}): Promise<{ agent: RealAgent; ready: AgentReply }> {
    const ids = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid };
    const agent = new RealAgent(spawn(exe, [], { stdio: 'pipe', ...ids }));
    const ready = await agent.next('(start)');
    return { agent, ready };
  }

  private next(what: string): Promise<AgentReply> {
    return new Promise<AgentReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the agent gave no reply to "${what}" in ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
      const take = (line: string | undefined) => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error(`the agent ended before replying to "${what}"`));
        else resolve(JSON.parse(line) as AgentReply);
      };
      const ready = this.early.shift();
      if (ready !== undefined) take(ready);
      else if (this.ended) take(undefined);
      else this.waiting.push(take);
    });
  }

  /** Sends one command line and waits for its reply. */
  send(line: string): Promise<AgentReply> {
    this.proc.stdin.write(`${line}\n`);
    return this.next(line.length > 80 ? `${line.slice(0, 77)}...` : line);
  }

  /** Ends the agent (end of input; killed if it lingers), which also kills what it forked. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The lock file every knob-changing real-kernel test takes. Its name is the one the former KSM probe
 * took, so that a run from an older checkout on the same machine still waits for this one and the
 * other way round.
 */
export const KNOB_LOCK_PATH = '/tmp/uhugepaged-ksm-probe.lock';

/** Runs `fn` holding the knob lock (waiting for it first); the agent `exe` takes it. */
export async function withKnobLock<T>(exe: string, fn: () => Promise<T>): Promise<T> {
  const { agent } = await RealAgent.start(exe);
  try {
    const got = await agent.send(`lock ${KNOB_LOCK_PATH}`);
    if (got.ret !== 0) throw new Error(`cannot take the knob lock ${KNOB_LOCK_PATH}: ${got.errno ?? got.usage}`);
    return await fn();
  } finally {
    await agent.close();
  }
}

/** The bracketed word of a choice file's text, else the text up to its newline. */
export function knobValue(text: string): string {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? text.trim();
}

export const readKnob = (path: string): string => knobValue(readFileSync(path, 'utf8'));

/**
 * Sets sysfs knobs for the duration of `fn` and puts back what was there afterwards, also when `fn`
 * throws and when the test process is interrupted (SIGINT, SIGTERM, SIGHUP) meanwhile. `restoreOrder`
 * gives the writes that put things back, computed from the saved values (KSM needs `run` 2 first).
 */
export async function withKnobs<T>(
  saved: readonly string[],
  restoreOrder: (values: ReadonlyMap<string, string>) => [string, string][],
  fn: () => Promise<T>,
): Promise<T> {
  const values = new Map(saved.map((path) => [path, readKnob(path)] as const));
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    for (const [path, value] of restoreOrder(values)) {
      try {
        writeFileSync(path, value);
      } catch (e) {
        console.error(`could not restore ${path} to ${value}: ${String(e)}`);
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);
  try {
    return await fn();
  } finally {
    restore();
    for (const s of signals) process.removeListener(s, onSignal);
  }
}
