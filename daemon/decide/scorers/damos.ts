/**
 * damos: DAMOS's quota prioritisation (Linux mm/damon): when a scheme's quota bites, regions are ranked by
 * a weighted mean of subscores, as damon_hot_score (mm/damon/ops-common.c) computes them:
 *
 *   hotness = (sizeWeight × size + frequencyWeight × frequency + ageWeight × age) / Σ weights   (0 if Σ = 0)
 *
 *   frequency  DAMON: nr_accesses / the most a region can show, 0–100. The daemon's rate per page has no
 *              maximum, so it saturates: rate / (rate + DAMOS_FREQUENCY_HALF_RATE).
 *   age        DAMON: log2 of the age in seconds (0–32 bits), negated when the region was not accessed
 *              ("higher age means it's colder"), mapped from [−32, 32] onto [0, 100]. Here: the same, on a
 *              continuous log2(1 + age s) over log2(1 + DAMOS_AGE_SATURATION_MS s) instead of 32 bits
 *              (a region's age in the daemon is minutes, not decades): ½ + ½ × that for an accessed region,
 *              ½ − ½ × that for an idle one.
 *   size       DAMON's regions vary in size; the daemon's are all 2 MiB, so size is the share of the
 *              region that is populated (present pages / 512, the memory the collapse keeps rather than
 *              fills with zeroes); an uninspected region counts as full. DAMOS has `weight_sz` (sz_permil)
 *              but damon_hot_score does not use it; hence the policy's default sizeWeight 0.
 *
 * Weights default as the policy schema says: size 0, frequency 1, age 1. 0: an idle, old, empty region
 * (or no weight at all); 1: a full region accessed without limit for an hour or more (frequency reaches 1
 * only in the limit). Stateless.
 */
import { PAGES_PER_REGION, type Candidate } from '../candidate.js';
import type { Scorer } from './scorer.js';
import { saturate, unitClamp } from './unit-interval.js';

/** Per-page access rate (accesses/s) whose frequency subscore is ½: hot regions show 1–100/s per page. */
export const DAMOS_FREQUENCY_HALF_RATE = 10;
/** Age (ms) at which the age subscore saturates: a region steady for an hour is as settled as it gets. */
export const DAMOS_AGE_SATURATION_MS = 3_600_000;

/** The policy's weights of the three subscores. */
export interface DamosWeights {
  readonly size?: number;
  readonly frequency?: number;
  readonly age?: number;
}

/** Frequency subscore in [0, 1). */
export function damosFrequency(c: Candidate): number {
  return saturate(c.accessRate, DAMOS_FREQUENCY_HALF_RATE);
}

/** Age subscore in [0, 1]: above ½ and growing with age for an accessed region, below ½ and falling for an idle one. */
export function damosAge(c: Candidate): number {
  const ageS = c.ageMs > 0 ? c.ageMs / 1000 : 0;
  const log = unitClamp(Math.log2(1 + ageS) / Math.log2(1 + DAMOS_AGE_SATURATION_MS / 1000));
  return c.accessRate > 0 ? 0.5 + 0.5 * log : 0.5 - 0.5 * log;
}

/** Size subscore in [0, 1]: the populated share of the region (1 before inspection). */
export function damosSize(c: Candidate): number {
  return c.facts ? unitClamp(c.facts.present / PAGES_PER_REGION) : 1;
}

export class DamosScorer implements Scorer {
  readonly name = 'damos';
  private readonly size: number;
  private readonly frequency: number;
  private readonly age: number;

  constructor(
    readonly weight: number,
    weights: DamosWeights = {},
  ) {
    this.size = weights.size ?? 0;
    this.frequency = weights.frequency ?? 1;
    this.age = weights.age ?? 1;
  }

  score(c: Candidate): number {
    const total = this.size + this.frequency + this.age;
    if (!(total > 0)) return 0;
    const weighted = this.size * damosSize(c) + this.frequency * damosFrequency(c) + this.age * damosAge(c);
    return unitClamp(weighted / total);
  }
}
