/**
 * How often the daemon acts (policy `pacing`): latency backoff. A collapse slower than `slowCollapse`
 * doubles the interval between decide cycles, one faster than half of it halves the interval, within
 * [minInterval, maxInterval]; in between the interval stays. Collapse latency is what the target process
 * feels (its mmap lock is held and its pages are copied), so a system where collapses got slow — memory
 * bandwidth contention, compaction, a busy target — is given time, and one where they are cheap is
 * worked through faster. Pure state: the caller reports latencies and reads `intervalMs`.
 */
import type { Policy } from '../config/policy-schema.js';

export type PacingPolicy = Policy['pacing'];

export class Pacer {
  private current: number;

  constructor(private policy: PacingPolicy) {
    this.current = policy.interval;
  }

  /** Milliseconds until the next decide cycle. */
  get intervalMs(): number {
    return this.current;
  }

  /** A collapse took `latencyMs`: back off when it was slow, speed up when it was fast. */
  recordLatency(latencyMs: number): void {
    const p = this.policy;
    if (latencyMs > p.slowCollapse) this.current = Math.min(p.maxInterval, this.current * 2);
    else if (latencyMs < p.slowCollapse / 2) this.current = Math.max(p.minInterval, this.current / 2);
  }

  /** A reloaded policy: the interval keeps its place, clamped to the new bounds. */
  reconfigure(policy: PacingPolicy): void {
    this.policy = policy;
    this.current = Math.min(policy.maxInterval, Math.max(policy.minInterval, this.current));
  }
}
