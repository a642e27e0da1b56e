/**
 * The discrete-event core. It holds only the simulated clock and the event heap; everything that
 * happens over time (kernel threads, workloads) is an event. `runUntil(t)` runs every due event with
 * time ≤ t in (time, priority, sequence) order, then sets `now` to t. A failing event is not swallowed:
 * the exception leaves `runUntil` and the run is over. A step limit guards against a runaway thread that
 * keeps rescheduling itself at the same instant.
 *
 *   schedule(t, prio, fn) ──► heap ──► runUntil(T): while top.time ≤ T: now = top.time; top.run()
 */
import { EventQueue, type QueuedEvent } from './event-queue.js';

/** Named priorities: at equal times, lower runs first. Statistics sample after state updates. */
export const Priority = {
  /** Workload accesses and process actions. */
  workload: 0,
  /** Reclaim daemons: kswapd, kcompactd. */
  reclaim: 10,
  /** Background scanners: khugepaged, ksmd, NUMA balancing, page reporting. */
  scanner: 20,
  /** Monitoring (DAMON aggregation), PSI averaging. */
  monitor: 30,
  /** Statistics sampling: always after the tick's state updates. */
  stats: 40,
} as const;

/** A handle to a scheduled event, to cancel it. */
export type EventHandle = QueuedEvent;

/** The event engine. */
export class Engine {
  private current = 0;
  private readonly queue = new EventQueue();
  private steps = 0;

  /**
   * @param maxStepsPerRun the most events one `runUntil` may run before it declares the run runaway.
   */
  constructor(private readonly maxStepsPerRun = 500_000_000) {}

  /** Simulated time in milliseconds. */
  get now(): number {
    return this.current;
  }

  /** Total events run since the engine was made. */
  get stepsRun(): number {
    return this.steps;
  }

  /** Schedules `run` at absolute time `time` (not earlier than now). */
  schedule(time: number, priority: number, run: () => void): EventHandle {
    if (!(time >= this.current)) throw new RangeError(`cannot schedule at ${time} ms: now is ${this.current} ms`);
    return this.queue.push(time, priority, run);
  }

  /** Schedules `run` `delayMs` from now. */
  after(delayMs: number, priority: number, run: () => void): EventHandle {
    return this.schedule(this.current + Math.max(0, delayMs), priority, run);
  }

  cancel(handle: EventHandle): void {
    handle.cancelled = true;
  }

  /** Time of the next due event, or undefined. */
  peek(): number | undefined {
    return this.queue.peek()?.time;
  }

  /** Runs the next event if it is due at or before `limit`; returns false when there is none. */
  step(limit = Number.POSITIVE_INFINITY): boolean {
    const next = this.queue.peek();
    if (next === undefined || next.time > limit) return false;
    this.queue.pop();
    this.current = next.time;
    this.steps++;
    next.run();
    return true;
  }

  /** Runs every event due at or before `until`, then sets now = until. */
  runUntil(until: number): void {
    if (!(until >= this.current)) throw new RangeError(`cannot run back to ${until} ms: now is ${this.current} ms`);
    let budget = this.maxStepsPerRun;
    while (this.step(until)) {
      if (--budget === 0) throw new Error(`runaway simulation: ${this.maxStepsPerRun} events before ${until} ms`);
    }
    this.current = until;
  }
}

/**
 * A kernel thread that wakes periodically (kswapd, kcompactd, khugepaged, ksmd, ...). Its body returns
 * the delay until the next wake-up, or null to sleep until `wake()` is called. `wake()` runs it at the
 * current instant unless it is already due sooner.
 */
export class KernelThread {
  private handle: EventHandle | undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  /** Simulated CPU time (ms) the thread has used, charged by its body through `charge`. */
  cpuMs = 0;

  constructor(
    readonly name: string,
    private readonly engine: Engine,
    private readonly priority: number,
    private readonly body: () => number | null,
  ) {}

  /** Adds CPU time to this thread's account. */
  charge(ms: number): void {
    this.cpuMs += ms;
  }

  /** Starts or restarts the thread `delayMs` from now (earlier wake-ups win). */
  wake(delayMs = 0): void {
    const at = this.engine.now + Math.max(0, delayMs);
    if (this.handle !== undefined && this.dueAt <= at) return;
    if (this.handle !== undefined) this.engine.cancel(this.handle);
    this.dueAt = at;
    this.handle = this.engine.schedule(at, this.priority, () => this.runOnce());
  }

  /** Stops the thread until the next `wake`. */
  sleep(): void {
    if (this.handle !== undefined) this.engine.cancel(this.handle);
    this.handle = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  private runOnce(): void {
    this.handle = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
    const next = this.body();
    if (next !== null && this.handle === undefined) this.wake(next);
  }
}
