/**
 * The policy's budgets in one place, as token buckets on the daemon's clock (budget.ts):
 *
 *   collapses   `budgets.collapsesPerSec`, split into class reserves by `budgetShare`;
 *   collapse ms `budgets.cpuMsPerSec`: the time collapses took, charged after each call (the work is
 *               done by then; the bucket may go into debt and then holds the next ones back);
 *   per process each class's `maxCollapsesPerSecPerProcess`;
 *   observing   `budgets.observeCpuMsPerSec`: the daemon's own CPU spent reading /proc, charged after
 *               each cycle, and spent on inspections of candidates before anything else.
 *
 * A reloaded policy builds the buckets anew (full), which is what an operator raising a budget expects.
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

  constructor(policy: Policy, now: number) {
    this.reconfigure(policy, now);
  }

  reconfigure(policy: Policy, now: number): void {
    this.policy = policy;
    this.classNames = policy.classes.map((c) => c.name);
    const shares = new Map<string, number>();
    for (const c of policy.classes) if (c.budgetShare !== undefined) shares.set(c.name, c.budgetShare);
    const b = policy.budgets;
    this.collapses = new SharedBudget(b.collapsesPerSec, shares, now);
    this.collapseMs = new SharedBudget(b.cpuMsPerSec, shares, now);
    this.observe = new TokenBucket(b.observeCpuMsPerSec, b.observeCpuMsPerSec, now);
    this.perProcess.clear();
  }

  /** Whether one more collapse of a process of `cls` fits every budget now. */
  mayCollapse(now: number, cls: PolicyClass, pid: number): boolean {
    return this.collapses.available(now, cls.name) >= 1 && this.collapseMs.available(now, cls.name) > 0 && this.processBucket(cls, pid, now).available(now) >= 1;
  }

  /** Whether no class could collapse anything now (every collapse or collapse-time budget is spent). */
  exhausted(now: number): boolean {
    return this.classNames.every((cls) => this.collapses.available(now, cls) < 1 || this.collapseMs.available(now, cls) <= 0);
  }

  /** Takes one collapse from the class's and the process's budgets (after mayCollapse said yes). */
  takeCollapse(now: number, cls: PolicyClass, pid: number): void {
    this.collapses.take(now, cls.name, 1);
    this.processBucket(cls, pid, now).take(now, 1);
  }

  /** Charges the time a collapse (or migration) took to the class. */
  chargeCollapseMs(now: number, cls: string, ms: number): void {
    this.collapseMs.charge(now, cls, ms);
  }

  /** How many regions the observation budget lets this cycle inspect, at `msPerInspection` each. */
  inspections(now: number, msPerInspection: number): number {
    return Math.max(0, Math.floor(this.observe.available(now) / Math.max(msPerInspection, 1e-6)));
  }

  /** Charges the daemon's CPU spent observing. */
  chargeObserveMs(now: number, ms: number): void {
    this.observe.charge(now, ms);
  }

  /** What is left of each budget now, as shares of one second's worth (for metrics). */
  levels(now: number): { collapses: number; collapseMs: number; observe: number } {
    const b = this.policy.budgets;
    const ratio = (x: number, of: number): number => (of > 0 ? x / of : 0);
    return {
      collapses: ratio(this.collapses.total(now), b.collapsesPerSec),
      collapseMs: ratio(this.collapseMs.total(now), b.cpuMsPerSec),
      observe: ratio(this.observe.available(now), b.observeCpuMsPerSec),
    };
  }

  /** Forgets a process's rate cap. */
  forget(pid: number): void {
    this.perProcess.delete(pid);
  }

  private processBucket(cls: PolicyClass, pid: number, now: number): TokenBucket {
    let b = this.perProcess.get(pid);
    if (b === undefined) {
      const rate = cls.eligibility.maxCollapsesPerSecPerProcess;
      this.perProcess.set(pid, (b = new TokenBucket(rate, Math.max(1, rate), now)));
    }
    return b;
  }
}
