/**
 * Page-fault latencies of a task, as a log-scale histogram: what a tracing tool on Linux would collect
 * (the time from the fault to the return to user space), kept by the model as ground truth for
 * evaluation. A fault's latency is the kernel time it charged the task (the fault path, direct reclaim
 * and compaction, copying) plus the time it waited (swap-in I/O, the memcg throttle).
 *
 * Buckets are BUCKETS_PER_DOUBLING per factor of two from MIN_US upwards, so a percentile read back is
 * within 100 × (2^(1/16) − 1) / 2 ≈ 2.2% of the true value, in constant space per task.
 */

const MIN_US = 0.125;
const BUCKETS_PER_DOUBLING = 16;
/** 0.125 µs × 2^32: beyond any fault (about 9 minutes). */
const DOUBLINGS = 32;
const NR_BUCKETS = BUCKETS_PER_DOUBLING * DOUBLINGS;

export class FaultLatency {
  readonly counts = new Float64Array(NR_BUCKETS);
  total = 0;

  /** Records `count` faults of `ms` each. */
  add(ms: number, count = 1): void {
    const us = ms * 1000;
    const b = us <= MIN_US ? 0 : Math.min(NR_BUCKETS - 1, Math.floor(Math.log2(us / MIN_US) * BUCKETS_PER_DOUBLING));
    this.counts[b] += count;
    this.total += count;
  }

  /** Adds another histogram's counts into this one. */
  merge(other: FaultLatency): void {
    for (let i = 0; i < NR_BUCKETS; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  /** A copy (to take a difference later). */
  copy(): FaultLatency {
    const c = new FaultLatency();
    c.counts.set(this.counts);
    c.total = this.total;
    return c;
  }

  /** The faults recorded since `earlier` (a copy of this histogram taken before). */
  since(earlier: FaultLatency): FaultLatency {
    const d = this.copy();
    for (let i = 0; i < NR_BUCKETS; i++) d.counts[i] -= earlier.counts[i];
    d.total -= earlier.total;
    return d;
  }

  /** The q-quantile (0–1) in µs, at its bucket's geometric middle; null with no fault recorded. */
  quantileUs(q: number): number | null {
    if (this.total <= 0) return null;
    const rank = q * this.total;
    let seen = 0;
    for (let i = 0; i < NR_BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank && this.counts[i] > 0) return MIN_US * 2 ** ((i + 0.5) / BUCKETS_PER_DOUBLING);
    }
    return MIN_US * 2 ** DOUBLINGS;
  }
}
