/**
 * The kernel port of a real Linux host: the files are the host's procfs, sysfs and cgroupfs; pidfd_open
 * and close are called right here (they return at once); process_madvise and move_pages, which can take
 * long, run on the syscall thread (syscall-thread.ts) in the order asked, and come back as Observables
 * that emit once and complete. Time is the wall clock.
 *
 * Access sampling is DAMON where the daemon can have a kdamond of its own, the accessed bits through
 * clear_refs otherwise (sampler-choice.ts); the choice is made and logged by `open`, which also cleans up
 * a kdamond left by a run that crashed. `dispose` stops the sampling it started and ends the syscall
 * thread: whoever runs the daemon calls it on every way out.
 */
import { lastValueFrom, map, type Observable } from 'rxjs';
import type { Logger } from 'winston';
import type { Clock } from '../../schedule/clock.js';
import { WallClock } from '../../schedule/wall-clock.js';
import { KernelPortError, type AccessRegion, type KernelPort, type MadviseResult, type PortIovec, type SamplingAttrs } from '../kernel-port.js';
import { DAMON_DEFAULT_ATTRS, type AccessSampler } from './access-sampler.js';
import { HostFileAccess, type FileAccess } from './file-access.js';
import { chooseAccessSampler } from './sampler-choice.js';
import { SyscallThread } from './syscall-thread.js';
import { close, pidfdOpen } from './syscalls.js';

/** Where the daemon keeps what it must find again after a crash (the kdamond it started). */
export const DEFAULT_STATE_DIR = '/run/uhugepaged';

export interface LinuxKernelPortOptions {
  /** Directory of the daemon's state file (default /run/uhugepaged). */
  readonly stateDir?: string;
  /** The clock (default the wall clock). */
  readonly clock?: Clock;
  /** Where the sampler choice and background failures are logged (default: nowhere). */
  readonly log?: Logger;
}

export class LinuxKernelPort implements KernelPort {
  readonly kind = 'linux';
  readonly selfPid = process.pid;
  readonly clock: Clock;
  private readonly thread = new SyscallThread();
  private readonly files: FileAccess;
  private readonly stateDir: string;
  private readonly log: Logger | undefined;
  private sampler: AccessSampler | undefined;
  private reason = '';
  private disposed = false;

  constructor(opts: LinuxKernelPortOptions = {}) {
    this.clock = opts.clock ?? new WallClock();
    this.stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
    this.log = opts.log;
    this.files = new HostFileAccess('', async (path, text) => {
      await lastValueFrom(this.thread.call<number>({ op: 'write', path, text }));
    });
  }

  /** Chooses the access sampler (cleaning up after a crashed run) and logs the choice; once. */
  open(): AccessSampler {
    if (this.disposed) throw new KernelPortError('EBADF', 'open', 'the kernel port is closed');
    if (this.sampler) return this.sampler;
    const choice = chooseAccessSampler(this.files, {
      stateFile: `${this.stateDir}/damon.json`,
      now: () => this.clock.now(),
      onError: (e) => this.log?.warn('reading DAMON results failed', { error: e instanceof Error ? e.message : String(e) }),
    });
    if (choice.cleanedUp) this.log?.info('cleaned up after an earlier run', { what: choice.cleanedUp });
    this.log?.info('access sampling', { mechanism: choice.sampler.mechanism, why: choice.reason });
    this.sampler = choice.sampler;
    this.reason = choice.reason;
    return choice.sampler;
  }

  /** Why the access sampler in use was chosen ('' before `open`). */
  get samplingReason(): string {
    return this.reason;
  }

  /** Stops all sampling it started and ends the syscall thread. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const sampler = this.sampler;
    this.sampler = undefined;
    try {
      await sampler?.close();
    } finally {
      await this.thread.terminate();
    }
  }

  /** Whether the syscall thread has been started (it is, on the first slow call). */
  get threadStarted(): boolean {
    return this.thread.started;
  }

  selfCpuMs(): number {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }

  readFile(path: string): string {
    return this.files.readFile(path);
  }

  writeFile(path: string, text: string): void {
    this.files.writeFile(path, text);
  }

  readBinary(path: string, offset: number, length: number): Uint8Array {
    return this.files.readBinary(path, offset, length);
  }

  listPids(): number[] {
    return this.files
      .readDir('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  }

  pidfdOpen(pid: number): number {
    return pidfdOpen(pid);
  }

  close(fd: number): void {
    close(fd);
  }

  processMadvise(pidfd: number, iov: readonly PortIovec[], advice: string): Observable<MadviseResult> {
    return this.thread.call<number>({ op: 'process_madvise', pidfd, iov, advice }).pipe(map((r) => ({ bytes: r.value, latencyMs: r.ms })));
  }

  movePages(pid: number, pages: readonly number[], nodes: readonly number[]): Observable<number[]> {
    return this.thread.call<number[]>({ op: 'move_pages', pid, pages, nodes }).pipe(map((r) => r.value));
  }

  startSampling(pid: number, attrs: Partial<SamplingAttrs> = {}): void {
    this.open().start(pid, { ...DAMON_DEFAULT_ATTRS, ...attrs });
  }

  stopSampling(pid: number): void {
    this.sampler?.stop(pid);
  }

  accessRegions(pid: number): AccessRegion[] {
    if (this.sampler === undefined) throw new KernelPortError('EINVAL', 'sampling_regions', `pid ${pid} is not sampled`);
    return this.sampler.regions(pid);
  }
}
