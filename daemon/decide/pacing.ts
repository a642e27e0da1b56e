/**
 * How often the daemon acts (policy `pacing`): latency backoff. A collapse slower than `slowCollapse`
 * doubles the interval between decide cycles, one faster than half of it halves the interval, within
 * [minInterval, maxInterval]; in between the interval stays. Collapse latency is what the target process
 * feels (its mmap lock is held and its pages are copied), so a system where collapses got slow — memory
 * bandwidth contention, compaction, a busy target — is given time, and one where they are cheap is
 * worked through faster.
 *
 * Idle backoff: a cycle that found nothing to do doubles an idle factor on top (up to maxInterval in
 * all), and the first cycle with work resets it — as khugepaged sleeps between scans, a daemon with
 * every hot region already huge need not look four times a second. Pure state: the caller reports
 * latencies and idleness and reads `intervalMs`.
 */
import type { Policy } from '../config/policy-schema.js';

export type PacingPolicy = Policy['pacing'];

export class Pacer {
  private current: number;
  private idleFactor = 1;

  constructor(private policy: PacingPolicy) {
    this.current = policy.interval;
  }

  /** Milliseconds until the next decide cycle. */
  get intervalMs(): number {
    return Math.min(this.policy.maxInterval, this.current * this.idleFactor);
  }

  /** A cycle had nothing to act on: look less often. */
  recordIdle(): void {
    if (this.current * this.idleFactor < this.policy.maxInterval) this.idleFactor *= 2;
  }

  /** A cycle acted: the idle backoff ends. */
  recordBusy(): void {
    this.idleFactor = 1;
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
