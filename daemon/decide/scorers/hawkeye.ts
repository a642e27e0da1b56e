/**
 * hawkeye: HawkEye's order (Panwar et al., ASPLOS'19; peers.md): the process with the highest MMU overhead
 * is served first, and within a process the regions with the widest access coverage.
 *
 * HawkEye reads the overhead from hardware counters (page-walk cycles, 0–100% of a CPU) and smooths it
 * (w = 0.8w + 0.2v). Counters are not on every machine, so the daemon estimates the overhead from sampling,
 * in CPUs spent on page walks that 2 MiB pages would save (benefit-model.ts):
 *
 *   overhead(p) = p.smallPageAccessesPerSec × mmuNsSavedPerAccess(p.hotBytes) / 1e9
 *   ema(p)      = overhead(p) at the first cycle that sees p, then (1 − s) × ema(p) + s × overhead(p)
 *
 * with s the policy's `smoothing` (default 0.3), updated once per cycle in `beginCycle`. HawkEye bins the
 * regions of a process by access coverage (how many of the 512 pages were touched in a sampling window);
 * the daemon has a smoothed per-page rate, so it takes the chance that a page accessed at that rate (as a
 * Poisson stream) is touched within COVERAGE_WINDOW_S, over the present pages, in COVERAGE_BUCKETS buckets:
 *
 *   value = ema(p) / max over the cycle's processes of ema × ⌈COVERAGE_BUCKETS × coverage⌉ / COVERAGE_BUCKETS
 *
 * 0: a process with no overhead, or a region nobody touches; 1: a fully covered region of the process with
 * the highest overhead this cycle. A process the cycle did not announce is scored from its current
 * overhead, unsmoothed. State: the average per pid (until `forget`) and the cycle's maximum.
 */
import { PAGES_PER_REGION, type Candidate, type ProcessView } from '../candidate.js';
import { mmuNsSavedPerAccess } from './benefit-model.js';
import type { Scorer } from './scorer.js';
import { unitClamp } from './unit-interval.js';

/** The weight of the newest measurement when the policy gives none (the policy schema's default). */
export const HAWKEYE_DEFAULT_SMOOTHING = 0.3;
/**
 * The window over which coverage is counted (s): 100 ms spreads the buckets over the per-page rates hot
 * regions show (1/s, the default eligibility minimum, is bucket 1 of 10; 30/s fills the region).
 */
export const COVERAGE_WINDOW_S = 0.1;
/** Coverage buckets (HawkEye bins regions by coverage; 10 buckets of 10% each). */
export const COVERAGE_BUCKETS = 10;

/** The process's estimated MMU overhead: CPUs spent on page walks 2 MiB pages would save (≥ 0). */
export function mmuOverheadCpus(p: ProcessView): number {
  const v = (p.smallPageAccessesPerSec * mmuNsSavedPerAccess(p.hotBytes)) / 1e9;
  return v > 0 ? v : 0;
}

/** The region's access-coverage bucket, as a fraction in [0, 1]. */
export function coverageBucket(c: Candidate): number {
  const present = c.facts ? unitClamp(c.facts.present / PAGES_PER_REGION) : 1;
  const touched = c.accessRate > 0 ? 1 - Math.exp(-c.accessRate * COVERAGE_WINDOW_S) : 0;
  return Math.ceil(COVERAGE_BUCKETS * present * touched) / COVERAGE_BUCKETS;
}

export class HawkEyeScorer implements Scorer {
  readonly name = 'hawkeye';
  private readonly smoothing: number;
  private readonly ema = new Map<number, number>();
  private cycleMax = 0;

  constructor(
    readonly weight: number,
    smoothing: number | undefined,
  ) {
    this.smoothing = smoothing ?? HAWKEYE_DEFAULT_SMOOTHING;
  }

  beginCycle(processes: readonly ProcessView[], _now: number): void {
    const s = this.smoothing;
    let max = 0;
    for (const p of processes) {
      const v = mmuOverheadCpus(p);
      const prev = this.ema.get(p.pid);
      const next = prev === undefined ? v : (1 - s) * prev + s * v;
      this.ema.set(p.pid, next);
      if (next > max) max = next;
    }
    this.cycleMax = max;
  }

  forget(pid: number): void {
    this.ema.delete(pid);
  }

  /** The smoothed overhead of a process (CPUs), if a cycle has seen it. */
  smoothedOverhead(pid: number): number | undefined {
    return this.ema.get(pid);
  }

  score(c: Candidate): number {
    const overhead = this.ema.get(c.process.pid) ?? mmuOverheadCpus(c.process);
    if (!(overhead > 0)) return 0;
    const share = overhead >= this.cycleMax ? 1 : overhead / this.cycleMax;
    return unitClamp(share * coverageBucket(c));
  }
}
