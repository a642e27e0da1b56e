/**
 * benefit-cost: what the collapse saves over the next minute against what it costs now, from the daemon's
 * own model (benefit-model.ts):
 *
 *   payback = benefitNsPerSec × PAYBACK_HORIZON_S / collapseCostNs      value = payback / (1 + payback)
 *
 * 0: the collapse saves nothing (region already huge, idle, or a hot set within the TLB's reach);
 * ½: it pays for itself exactly within the horizon; → 1: it pays back many times over. The squashing keeps
 * the order of paybacks. Stateless.
 */
import type { Candidate } from '../candidate.js';
import { benefitNsPerSec, collapseCostNs } from './benefit-model.js';
import type { ScoreContext, Scorer } from './scorer.js';
import { saturate } from './unit-interval.js';

/**
 * The time over which the saving is counted (s): a region hot now is assumed hot for about a minute, the
 * scale of khugepaged's retry sleep (alloc_sleep_millisecs, 60 s) and of workload phases in the scenarios.
 */
export const PAYBACK_HORIZON_S = 60;

/** Payback of the collapse over PAYBACK_HORIZON_S (≥ 0): ns saved per ns spent. */
export function paybackRatio(c: Candidate, ctx: ScoreContext): number {
  return (benefitNsPerSec(c) * PAYBACK_HORIZON_S) / collapseCostNs(c, ctx.machine);
}

export class BenefitCostScorer implements Scorer {
  readonly name = 'benefit-cost';

  constructor(readonly weight: number) {}

  score(c: Candidate, ctx: ScoreContext): number {
    return saturate(paybackRatio(c, ctx), 1);
  }
}
