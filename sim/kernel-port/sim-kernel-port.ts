/**
 * The daemon's kernel port over the simulated kernel, on virtual time.
 *
 * The daemon is a process of the simulated machine (comm `uhugepaged`, root): its reads and syscalls are
 * made as that process, so permissions, pidfd tables and the CPU it spends are the model's. Time is a
 * `KernelTimeScheduler`: an rxjs virtual-time scheduler that moves the machine (the kernel, or a
 * scenario run around it) to each scheduled action's time before running the action, so every timer of
 * the daemon fires on a machine that has lived exactly until then. A process_madvise returns when the
 * simulated work it cost the daemon (the CPU time charged to the caller) has passed.
 */
import { defer, map, timer, VirtualAction, VirtualTimeScheduler, type Observable } from 'rxjs';
import { SyscallError, type SimKernel } from '../../kernel-model/index.js';
import { KernelPortError, type AccessRegion, type KernelPort, type MadviseResult, type PortIovec, type SamplingAttrs } from '../../daemon/kernel-port/kernel-port.js';
import type { Clock } from '../../daemon/schedule/clock.js';

/**
 * Virtual time for the daemon, tied to the simulated machine. Time 0 is when the port was made; the
 * daemon's now() is milliseconds since then. `runUntil(t)` runs every action due up to t in time order,
 * each after `moveTo(its time)`, and leaves the machine at t.
 */
export class KernelTimeScheduler extends VirtualTimeScheduler {
  constructor(private readonly moveTo: (ms: number) => void) {
    super(VirtualAction, Infinity);
  }

  runUntil(untilMs: number): void {
    for (;;) {
      const action = this.actions[0];
      if (action === undefined || action.delay > untilMs) break;
      this.actions.shift();
      this.moveTo(action.delay);
      this.frame = action.delay;
      const error: unknown = action.execute(action.state, action.delay);
      if (error) {
        // As rxjs's own flush: the other actions are dropped and the error surfaces.
        for (let a = this.actions.shift(); a; a = this.actions.shift()) a.unsubscribe();
        throw error instanceof Error ? error : new Error('a scheduled action failed', { cause: error });
      }
    }
    this.moveTo(untilMs);
    this.frame = Math.max(this.frame, untilMs);
  }

  /** Not used: time advances only through runUntil, so that the machine moves with it. */
  override flush(): void {
    throw new Error('KernelTimeScheduler advances with runUntil(ms), which moves the machine too');
  }
}

export interface SimKernelPortOptions {
  /**
   * Moves the machine to a kernel time (ms since boot). Default: the kernel alone (`sim.advance`); a
   * scenario run passes its own, so that its workloads' events happen on the way.
   */
  readonly moveKernelTo?: (kernelMs: number) => void;
}

/** Runs a model call, turning a SyscallError into the port's KernelPortError. */
function call<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SyscallError) throw new KernelPortError(e.errno, name, e.message);
    throw e;
  }
}

export class SimKernelPort implements KernelPort {
  readonly kind = 'sim' as const;
  readonly clock: Clock;
  readonly scheduler: KernelTimeScheduler;
  /** The daemon's own pid in the simulated machine. */
  readonly pid: number;
  get selfPid(): number {
    return this.pid;
  }
  private readonly epochKernelMs: number;

  constructor(
    readonly sim: SimKernel,
    opts: SimKernelPortOptions = {},
  ) {
    this.pid = sim.spawn({ comm: 'uhugepaged', uid: 0 });
    this.epochKernelMs = sim.now();
    const moveKernelTo = opts.moveKernelTo ?? ((ms: number): void => sim.advance(ms - sim.now()));
    this.scheduler = new KernelTimeScheduler((ms) => {
      const target = this.epochKernelMs + ms;
      if (target > sim.now()) moveKernelTo(target);
    });
    const scheduler = this.scheduler;
    this.clock = { now: () => scheduler.now(), scheduler };
  }

  selfCpuMs(): number {
    const t = this.sim.cpuTime(this.pid);
    return t.utimeMs + t.stimeMs;
  }

  readFile(path: string): string {
    return call('read', () => this.sim.readFile(path, { caller: this.pid }));
  }

  writeFile(path: string, text: string): void {
    call('write', () => this.sim.writeFile(path, text, { caller: this.pid }));
  }

  readBinary(path: string, offset: number, length: number): Uint8Array {
    return call('pread', () => this.sim.readBinary(path, offset, length, { caller: this.pid }));
  }

  listPids(): number[] {
    return this.sim.listPids();
  }

  pidfdOpen(pid: number): number {
    return call('pidfd_open', () => this.sim.pidfdOpen(this.pid, pid));
  }

  close(fd: number): void {
    call('close', () => this.sim.close(this.pid, fd));
  }

  processMadvise(pidfd: number, iov: readonly PortIovec[], advice: string): Observable<MadviseResult> {
    return defer(() => {
      const before = this.sim.cpuTime(this.pid).stimeMs;
      const bytes = call('process_madvise', () => this.sim.processMadvise(this.pid, pidfd, iov, advice));
      const latencyMs = this.sim.cpuTime(this.pid).stimeMs - before;
      return timer(latencyMs, this.scheduler).pipe(map(() => ({ bytes, latencyMs })));
    });
  }

  movePages(pid: number, pages: readonly number[], nodes: readonly number[]): Observable<number[]> {
    return defer(() => {
      const before = this.sim.cpuTime(this.pid).stimeMs;
      const status = call('move_pages', () => this.sim.movePages(pid, pages, nodes, { caller: this.pid }));
      return timer(this.sim.cpuTime(this.pid).stimeMs - before, this.scheduler).pipe(map(() => status));
    });
  }

  startSampling(pid: number, attrs: Partial<SamplingAttrs> = {}): void {
    call('damon_start', () => this.sim.damonStart(pid, attrs));
  }

  stopSampling(pid: number): void {
    try {
      this.sim.damonStop(pid);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
  }

  accessRegions(pid: number): AccessRegion[] {
    return call('damon_regions', () => this.sim.damonRegions(pid)).map((r) => ({ start: r.start, end: r.end, nrAccesses: r.nrAccesses, age: r.age }));
  }
}
