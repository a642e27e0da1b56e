/**
 * kdamond: DAMON's monitoring thread for virtual address spaces, one per monitored process. Each
 * aggregation interval it runs one DamonMonitor aggregation against the kernel's answer to "was this
 * page accessed" (from the process's access streams), re-reads the process's VMAs as targets, and
 * charges the work the way DAMON costs it: a few hundred nanoseconds of kdamond CPU per check, and a
 * small cost to the monitored process for each accessed-bit clear (its TLB entry is flushed).
 */
import { KernelThread, Priority } from '../engine/engine.js';
import { PAGE_SIZE } from '../mm/constants.js';
import type { Task } from '../mm/mm-types.js';
import { SyscallError } from '../syscall-error.js';
import { pageAccessRate } from './access-pattern.js';
import {
  DAMON_KDAMOND_NS_PER_CHECK,
  DAMON_TARGET_NS_PER_CHECK,
  DamonMonitor,
  defaultDamonAttrs,
  type AccessOracle,
  type DamonAttrs,
  type DamonRegion,
} from './damon.js';
import type { Kernel } from '../kernel.js';

const NS_PER_MS = 1e6;

interface Monitored {
  readonly monitor: DamonMonitor;
  readonly thread: KernelThread;
  chargedChecks: number;
}

/** The kdamonds of the machine. */
export class Kdamonds {
  private readonly byPid = new Map<number, Monitored>();

  constructor(private readonly k: Kernel) {}

  /** Starts monitoring `task` (EBUSY if it is already monitored). */
  start(task: Task, attrs: Partial<DamonAttrs> = {}): void {
    if (this.byPid.has(task.pid)) throw new SyscallError('EBUSY', 'damon_start', `pid ${task.pid} is already monitored`);
    const monitor = new DamonMonitor(this.ranges(task), attrs);
    const aggrMs = attrs.aggrIntervalMs ?? defaultDamonAttrs.aggrIntervalMs;
    const entry: Monitored = {
      monitor,
      chargedChecks: 0,
      thread: new KernelThread(`kdamond.${task.pid}`, this.k.engine, Priority.monitor, () => this.aggregate(task.pid, aggrMs)),
    };
    this.byPid.set(task.pid, entry);
    entry.thread.wake(aggrMs);
  }

  /** Stops monitoring; ENOENT-like EINVAL if the task is not monitored. */
  stop(pid: number): void {
    const m = this.byPid.get(pid);
    if (!m) throw new SyscallError('EINVAL', 'damon_stop', `pid ${pid} is not monitored`);
    m.thread.sleep();
    this.byPid.delete(pid);
  }

  /** The current regions of a monitored task. */
  regions(pid: number): DamonRegion[] {
    const m = this.byPid.get(pid);
    if (!m) throw new SyscallError('EINVAL', 'damon_regions', `pid ${pid} is not monitored`);
    return m.monitor.regions();
  }

  /** CPU time of a task's kdamond, ms. */
  cpuMs(pid: number): number {
    return this.byPid.get(pid)?.thread.cpuMs ?? 0;
  }

  private ranges(task: Task): { start: number; end: number }[] {
    return task.mm.vmas.map((v) => ({ start: v.start, end: v.end }));
  }

  private aggregate(pid: number, aggrMs: number): number | null {
    const m = this.byPid.get(pid);
    const task = this.k.task(pid);
    if (!m) return null;
    if (!task) {
      this.byPid.delete(pid);
      return null;
    }
    // The VMAs are read when the regions update uses them (the last ranges set before it win anyway).
    if (m.monitor.updateDue) m.monitor.setTargets(this.ranges(task));
    m.monitor.aggregate(this.k.prng, this.oracle(task));
    const checks = m.monitor.checksPerformed - m.chargedChecks;
    m.chargedChecks = m.monitor.checksPerformed;
    m.thread.charge((checks * DAMON_KDAMOND_NS_PER_CHECK) / NS_PER_MS);
    task.chargeSys((checks * DAMON_TARGET_NS_PER_CHECK) / NS_PER_MS);
    return aggrMs;
  }

  /** Probability that the page at `addr` is accessed in a window: 1 − e^(−λ·window), λ from the streams. */
  private oracle(task: Task): AccessOracle {
    const streams = this.k.streams.streamsOf(task.pid);
    return {
      probabilityAccessed: (addr, windowMs) => {
        let rate = 0;
        const page = Math.floor(addr / PAGE_SIZE);
        for (const s of streams) if (addr >= s.start && addr < s.start + s.length) rate += pageAccessRate(s, page);
        return 1 - Math.exp((-rate * windowMs) / 1000);
      },
    };
  }
}
