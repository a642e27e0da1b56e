/**
 * The policy's budgets in one place, as token buckets on the daemon's clock (budget.ts):
 *
 *   collapses   `budgets.collapsesPerSec`, split into class reserves by `budgetShare` (a class without
 *               candidates lends its reserve to the others, see `lendReservesOf`);
 *   collapse ms `budgets.cpuMsPerSec`: the time collapses took, charged after each call (the work is
 *               done by then; the bucket may go into debt and then holds the next ones back);
 *   per process each class's `maxCollapsesPerSecPerProcess`;
 *   observing   `budgets.observeCpuMsPerSec`: the daemon's own CPU spent reading /proc, charged after
 *               each cycle, and spent on inspections of candidates before anything else.
 *
 * For `budgets.catchUp.duration` after the daemon starts, the budgets (collapses, collapse ms, per
 * process, observing) run at `factor` times their rates: the backlog of hot memory that went without huge
 * pages before the daemon ran is worked off in seconds rather than minutes — including the first reading
 * of every process on the host, which alone costs a real host several times the steady observation
 * budget — and then the steady budgets hold.
 *
 * A reloaded policy builds the buckets anew (full), which is what an operator raising a budget expects;
 * a reload does not restart the catch-up window.
 */
import type { Policy, PolicyClass } from '../config/policy-schema.js';
import { SharedBudget, TokenBucket } from './budget.js';

/** Milliseconds of the daemon's CPU one region inspection is assumed to cost, before it is measured. */
export const INSPECTION_MS_PRIOR = 0.05;

export class PolicyBudgets {
  private collapses!: SharedBudget;
  private collapseMs!: SharedBudget;
  private observe!: TokenBucket;
  private readonly perProcess = new Map<number, TokenBucket>();
  private policy!: Policy;
  private classNames: string[] = [];
  /** When the catch-up window ends (daemon clock, ms). */
  private readonly catchUpEnds: number;
  /** The multiplier the collapse buckets were built with: the catch-up factor, or 1 once it is over. */
  private factor = 1;
  /** Classes whose reserves are lent to the others. */
  private lenders: ReadonlySet<string> = new Set();

  constructor(policy: Policy, now: number) {
    this.catchUpEnds = now + policy.budgets.catchUp.duration;
    this.reconfigure(policy, now);
  }

  reconfigure(policy: Policy, now: number): void {
    this.policy = policy;
    this.classNames = policy.classes.map((c) => c.name);
    this.factor = now < this.catchUpEnds ? policy.budgets.catchUp.factor : 1;
    this.build(now);
  }

  /** The policy's class names. */
  get classes(): readonly string[] {
    return this.classNames;
  }

  /** Whether the catch-up budgets hold at `now`. */
  catchingUp(now: number): boolean {
    return this.factor > 1 && now < this.catchUpEnds;
  }

  /** The buckets at the current factor. */
  private build(now: number): void {
    const shares = new Map<string, number>();
    for (const c of this.policy.classes) if (c.budgetShare !== undefined) shares.set(c.name, c.budgetShare);
    const b = this.policy.budgets;
    this.collapses = new SharedBudget(b.collapsesPerSec * this.factor, shares, now);
    this.collapseMs = new SharedBudget(b.cpuMsPerSec * this.factor, shares, now);
    this.lendReservesOf(this.lenders);
    this.observe = new TokenBucket(b.observeCpuMsPerSec * this.factor, b.observeCpuMsPerSec * this.factor, now);
    this.perProcess.clear();
  }

  /**
   * The classes that have no candidates now: their reserves (collapses and collapse time) go to the
   * other classes until the next call. A reserve guarantees its class a share while it has work; held
   * for a class with none — absent from the host, or all of its hot memory huge already — it would be
   * budget nobody may spend.
   */
  lendReservesOf(classes: ReadonlySet<string>): void {
    this.lenders = classes;
    this.collapses.lend(classes);
    this.collapseMs.lend(classes);
  }

  /** Ends the catch-up window once its time is over: the steady budgets from then on. */
  private tick(now: number): void {
    if (this.factor > 1 && now >= this.catchUpEnds) {
      this.factor = 1;
      this.build(now);
    }
  }

  /** Whether one more collapse of a process of `cls` fits every budget now. */
  mayCollapse(now: number, cls: PolicyClass, pid: number): boolean {
    this.tick(now);
    return this.collapses.available(now, cls.name) >= 1 && this.collapseMs.available(now, cls.name) > 0 && this.processBucket(cls, pid, now).available(now) >= 1;
  }

  /** Whether no class could collapse anything now (every collapse or collapse-time budget is spent). */
  exhausted(now: number): boolean {
    this.tick(now);
    return this.classNames.every((cls) => this.collapses.available(now, cls) < 1 || this.collapseMs.available(now, cls) <= 0);
  }

  /** Takes one collapse from the class's and the process's budgets (after mayCollapse said yes). */
  takeCollapse(now: number, cls: PolicyClass, pid: number): void {
    this.tick(now);
    this.collapses.take(now, cls.name, 1);
    this.processBucket(cls, pid, now).take(now, 1);
  }

  /** Charges the time a collapse (or migration) took to the class. */
  chargeCollapseMs(now: number, cls: string, ms: number): void {
    this.tick(now);
    this.collapseMs.charge(now, cls, ms);
  }

  /** How many regions the observation budget lets this cycle inspect, at `msPerInspection` each. */
  inspections(now: number, msPerInspection: number): number {
    return Math.max(0, Math.floor(this.observe.available(now) / Math.max(msPerInspection, 1e-6)));
  }

  /** The observation budget left now, ms (negative: in debt). */
  observeAvailable(now: number): number {
    this.tick(now);
    return this.observe.available(now);
  }

  /** The observation budget's rate now, ms per second (the catch-up factor included). */
  observeRate(now: number): number {
    this.tick(now);
    return this.policy.budgets.observeCpuMsPerSec * this.factor;
  }

  /**
   * How long the observation budget needs to pay back its debt at its current rate, ms (0 when it is
   * not in debt): the loop waits at least this long before the next cycle, so that the inspections every
   * cycle may make whatever the budget (the floor that keeps decisions coming) cannot raise the
   * observation CPU above the budget over time.
   */
  observeRepaidInMs(now: number): number {
    const available = this.observeAvailable(now);
    return available >= 0 ? 0 : (-available / this.observeRate(now)) * 1000;
  }

  /** Charges the daemon's CPU spent observing. */
  chargeObserveMs(now: number, ms: number): void {
    this.observe.charge(now, ms);
  }

  /** What is left of each budget now, as shares of one second's worth (for metrics). */
  levels(now: number): { collapses: number; collapseMs: number; observe: number } {
    this.tick(now);
    const b = this.policy.budgets;
    const ratio = (x: number, of: number): number => (of > 0 ? x / of : 0);
    return {
      collapses: ratio(this.collapses.total(now), b.collapsesPerSec * this.factor),
      collapseMs: ratio(this.collapseMs.total(now), b.cpuMsPerSec * this.factor),
      observe: ratio(this.observe.available(now), b.observeCpuMsPerSec * this.factor),
    };
  }

  /** Forgets a process's rate cap. */
  forget(pid: number): void {
    this.perProcess.delete(pid);
  }

  private processBucket(cls: PolicyClass, pid: number, now: number): TokenBucket {
    let b = this.perProcess.get(pid);
    if (b === undefined) {
      const rate = cls.eligibility.maxCollapsesPerSecPerProcess * this.factor;
      this.perProcess.set(pid, (b = new TokenBucket(rate, Math.max(1, rate), now)));
    }
    return b;
  }
}
