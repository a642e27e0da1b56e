/**
 * The hot map of one process: a smoothed access rate per 2 MiB-aligned region, from access sampling.
 *
 * Sampling (DAMON on Linux) reports variable-sized regions, each with `nrAccesses` — how many of the
 * aggregation's S = aggr/sample checks found the sampled page accessed — and an `age` in aggregations.
 * A check looks at one page over one sampling interval w, so for a page accessed as a Poisson stream of
 * rate λ it succeeds with p = 1 − e^(−λw); the rate behind a region's count is therefore
 *
 *     λ̂ = −ln(1 − n/S) / w          (n = S is clamped to S − ½: a saturated region is "at least" that hot)
 *
 * which, unlike n/S, stays proportional to λ for hot pages. Each 2 MiB region (a "slot", the unit a
 * collapse works on) takes the overlap-weighted λ̂ of the sampling regions covering it and smooths it
 * with an exponential moving average over time constant τ (α = 1 − e^(−Δt/τ)), so that a single noisy
 * aggregation neither makes nor breaks a candidate. A slot not wholly covered by sampled memory (a VMA
 * edge, an unmapped hole) is dropped: it cannot be collapsed as one region anyway.
 *
 * Besides the rate, a slot remembers whether the daemon has seen it mapped by a huge page (after
 * inspecting it or collapsing it), so that it is not a candidate again until that knowledge is cleared
 * (a full rescan, or the process's AnonHugePages falling below what the marks claim).
 */
import type { AccessRegion, SamplingAttrs } from '../kernel-port/kernel-port.js';
import { REGION_BYTES } from '../decide/candidate.js';

/** What the map holds about one 2 MiB region. */
export interface SlotState {
  /** The region's start address. */
  readonly region: number;
  /** Smoothed accesses per second per 4 KiB page. */
  rate: number;
  /** How long sampling has seen it at about this frequency (the covering region's age), ms. */
  ageMs: number;
  /** Seen mapped by a huge page. */
  huge: boolean;
  /** Daemon time of the last update. */
  seenAt: number;
  /** Not to be inspected again before this daemon time (set by the planner after a rejection). */
  retryAt: number;
  /** Inspections in a row that found the region ineligible for its class (the planner's recheck backoff). */
  ineligible: number;
}

/** Time constant of the rate smoothing, ms. */
export const RATE_SMOOTHING_MS = 5_000;

/** The per-page access rate (per second) behind `nrAccesses` checks out of an aggregation's. */
export function accessRateOf(nrAccesses: number, attrs: Pick<SamplingAttrs, 'sampleIntervalMs' | 'aggrIntervalMs'>): number {
  const checks = Math.max(1, Math.round(attrs.aggrIntervalMs / attrs.sampleIntervalMs));
  const p = Math.min(Math.max(nrAccesses, 0) / checks, 1 - 0.5 / checks);
  return -Math.log1p(-p) / (attrs.sampleIntervalMs / 1000);
}

export class HotMap {
  private readonly slots = new Map<number, SlotState>();
  private alphaGap = -1;
  private alpha = 0;

  /**
   * Folds one sampling read (the regions in address order and disjoint, as DAMON keeps them) in at
   * time `now`: one sweep over the regions, accumulating the slot under the cursor.
   */
  update(regions: readonly AccessRegion[], attrs: Pick<SamplingAttrs, 'sampleIntervalMs' | 'aggrIntervalMs'>, now: number): void {
    let slot = -1;
    let rateBytes = 0;
    let bytes = 0;
    let age = 0;
    let ageBytes = 0;
    for (const r of regions) {
      const rate = accessRateOf(r.nrAccesses, attrs);
      const ageMs = r.age * attrs.aggrIntervalMs;
      for (let from = r.start; from < r.end; ) {
        const at = Math.floor(from / REGION_BYTES);
        const to = Math.min(r.end, (at + 1) * REGION_BYTES);
        if (at !== slot) {
          if (bytes === REGION_BYTES) this.observe(slot, rateBytes / bytes, age, now);
          slot = at;
          rateBytes = bytes = ageBytes = 0;
        }
        rateBytes += rate * (to - from);
        bytes += to - from;
        // The slot's age is that of the region covering most of it.
        if (to - from > ageBytes) {
          age = ageMs;
          ageBytes = to - from;
        }
        from = to;
      }
    }
    if (bytes === REGION_BYTES) this.observe(slot, rateBytes / bytes, age, now);
    // Slots this read did not cover wholly are gone (unmapped, or no longer one region of a VMA).
    for (const [key, st] of this.slots) if (st.seenAt !== now) this.slots.delete(key);
  }

  private observe(slot: number, rate: number, ageMs: number, now: number): void {
    const s = this.slots.get(slot);
    if (s === undefined) {
      this.slots.set(slot, { region: slot * REGION_BYTES, rate, ageMs, huge: false, seenAt: now, retryAt: 0, ineligible: 0 });
      return;
    }
    // Slots are mostly updated together, so the weight for the last gap is computed once per gap.
    const gap = Math.max(0, now - s.seenAt);
    if (gap !== this.alphaGap) {
      this.alphaGap = gap;
      this.alpha = 1 - Math.exp(-gap / RATE_SMOOTHING_MS);
    }
    s.rate += this.alpha * (rate - s.rate);
    s.ageMs = ageMs;
    s.seenAt = now;
  }

  /** The slot at a region's start address, if sampling covers it. */
  get(region: number): SlotState | undefined {
    return this.slots.get(Math.floor(region / REGION_BYTES));
  }

  /** Every covered slot, in no particular order. */
  values(): IterableIterator<SlotState> {
    return this.slots.values();
  }

  /** Records that a region is (or is not) mapped by a huge page. */
  markHuge(region: number, huge: boolean): void {
    const s = this.slots.get(Math.floor(region / REGION_BYTES));
    if (s) s.huge = huge;
  }

  /** Forgets every huge mark (they may be stale: splits happen behind the daemon's back). */
  clearHuge(): void {
    for (const s of this.slots.values()) s.huge = false;
  }

  /** Bytes marked huge. */
  get hugeBytes(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.huge) n += REGION_BYTES;
    return n;
  }

  /** Slots held (for the daemon's own memory figures). */
  get size(): number {
    return this.slots.size;
  }
}
