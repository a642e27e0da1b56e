// A real child process for the Linux port's tests (test/real-kernel/probes/touch-child.c): compiled with
// `cc` into a temporary directory, started, and asked where its hot and cold regions are.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

/** The child's regions, as it printed them. */
export interface TouchChild {
  readonly pid: number;
  readonly hot: number;
  readonly hotBytes: number;
  readonly cold: number;
  readonly coldBytes: number;
  readonly process: ChildProcess;
  /** The executable's name: the child's comm. */
  readonly comm: string;
  /** Kills it and waits for it to be gone; removes the temporary directory. */
  stop(): Promise<void>;
}

/** Why the real-kernel tests of the Linux port cannot run here, or undefined. */
export function cannotRunLinuxPortTests(): string | undefined {
  if (platform() !== 'linux') return `not Linux (${platform()})`;
  if (process.getuid?.() !== 0) return 'not root: the tests write other processes\' clear_refs and call process_madvise on them';
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return 'no C compiler `cc` on PATH';
  return undefined;
}

/** Compiles and starts the child with a hot and a cold region of the given sizes (MiB); `comm` names its executable. */
export async function startTouchChild(hotMiB: number, coldMiB: number, comm = 'uhp-touch'): Promise<TouchChild> {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-touch-'));
  const exe = join(dir, comm);
  const built = spawnSync('cc', ['-O1', '-Wall', '-o', exe, join(projectRoot, 'test/real-kernel/probes/touch-child.c')], { encoding: 'utf8' });
  if (built.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc failed to build the child:\n${built.stderr}`);
  }
  const child = spawn(exe, [String(hotMiB), String(coldMiB)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before it printed its regions`)));
    });
    const r = JSON.parse(line) as { hot: number; hotBytes: number; cold: number; coldBytes: number };
    return { pid: child.pid ?? -1, ...r, process: child, comm, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
