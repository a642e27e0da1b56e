/**
 * Pressure stall information for memory (Linux kernel/sched/psi.c, reduced to the model's one thread per
 * task). `some` accumulates time in which at least one task stalled on memory (reclaim, compaction,
 * swap-in, throttling); `full` the time in which all runnable tasks stalled at once. The model knows
 * stall durations, not their overlap, so a stall of one task counts fully towards `some` and, divided by
 * the number of live tasks, towards `full` (one task alone stalling is a full stall). A kernel thread's
 * stall (kcompactd) counts towards `some` only: the user tasks keep running meanwhile. Totals are capped
 * to the elapsed time of each 2 s averaging period, and avg10/avg60/avg300 are the kernel's exponentially
 * decaying averages of the stall percentage, updated every 2 s.
 */
import { KernelThread, Priority } from '../engine/engine.js';
import type { Task } from './mm-types.js';
import type { Kernel } from '../kernel.js';

const PSI_PERIOD_MS = 2000;
const WINDOWS_S = [10, 60, 300] as const;

/** Memory pressure accounting. */
export class Psi {
  /** Totals in microseconds, as /proc/pressure/memory prints them. */
  someTotalUs = 0;
  fullTotalUs = 0;
  readonly someAvg = [0, 0, 0];
  readonly fullAvg = [0, 0, 0];
  private periodSomeMs = 0;
  private periodFullMs = 0;
  private readonly thread: KernelThread;

  constructor(private readonly k: Kernel) {
    this.thread = new KernelThread('psi', k.engine, Priority.monitor, () => this.updateAverages());
    this.thread.wake(PSI_PERIOD_MS);
  }

  /** Records that `task` (or a kernel thread, when undefined) stalled on memory for `ms`. */
  memstall(task: Task | undefined, ms: number): void {
    if (!(ms > 0)) return;
    this.periodSomeMs += ms;
    if (task === undefined) return;
    let live = 0;
    for (const t of this.k.tasks.values()) if (t.alive) live++;
    this.periodFullMs += ms / Math.max(1, live);
  }

  private updateAverages(): number {
    const some = Math.min(this.periodSomeMs, PSI_PERIOD_MS);
    const full = Math.min(this.periodFullMs, PSI_PERIOD_MS);
    this.someTotalUs += Math.round(some * 1000);
    this.fullTotalUs += Math.round(full * 1000);
    WINDOWS_S.forEach((w, i) => {
      const decay = Math.exp(-PSI_PERIOD_MS / 1000 / w);
      this.someAvg[i] = this.someAvg[i] * decay + (100 * some * (1 - decay)) / PSI_PERIOD_MS;
      this.fullAvg[i] = this.fullAvg[i] * decay + (100 * full * (1 - decay)) / PSI_PERIOD_MS;
    });
    this.periodSomeMs = 0;
    this.periodFullMs = 0;
    return PSI_PERIOD_MS;
  }
}
