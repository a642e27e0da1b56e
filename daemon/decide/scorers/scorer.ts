/**
 * Ranking candidates: a policy lists scorers (policy `scorers`), each mapping a candidate to [0, 1], and a
 * candidate's score is
 *
 *   score = class weight × Σ over scorers (scorer weight × scorer value)
 *
 * The decision log prints each term: `components[name]` = scorer weight × scorer value (the class weight
 * left out), so Σ components = score / class weight exactly. A name configured twice adds both terms
 * under that name.
 *
 * Scorers are pure functions of the candidate and the context, except where a scorer keeps per-process
 * state across cycles (HawkEye's moving average) or per-cycle state (normalisation over the cycle's
 * processes). Those implement the optional hooks: the decide loop calls `beginCycle` once per cycle with
 * every process it considers, before scoring, and `forget` when a process exits.
 */
import type { Candidate, MachineView, ProcessView } from '../candidate.js';
import type { Policy, scorerNames } from '../../config/policy-schema.js';
import { BenefitCostScorer } from './benefit-cost.js';
import { DamosScorer } from './damos.js';
import { HawkEyeScorer } from './hawkeye.js';
import { IngensFairnessScorer } from './ingens-fairness.js';
import { unitClamp } from './unit-interval.js';

/** A scorer's name, as the policy writes it. */
export type ScorerName = (typeof scorerNames)[number];
/** One entry of the policy's `scorers` list. */
export type ScorerConfig = Policy['scorers'][number];

/** What a score may depend on besides the candidate. */
export interface ScoreContext {
  readonly machine: MachineView;
  /** The daemon's clock (ms). */
  readonly now: number;
}

/** One way to rank candidates. */
export interface Scorer {
  readonly name: ScorerName;
  /** The policy's weight of this scorer (≥ 0). */
  readonly weight: number;
  /** The candidate's value in [0, 1]; each scorer documents what 0 and 1 mean. */
  score(c: Candidate, ctx: ScoreContext): number;
  /** Called once per cycle, before any score, with every process the cycle considers. */
  beginCycle?(processes: readonly ProcessView[], now: number): void;
  /** Drops what the scorer keeps about a process (it exited). */
  forget?(pid: number): void;
}

/** A candidate's score and its weighted parts. */
export interface CandidateScore {
  /** class weight × Σ components. */
  readonly score: number;
  /** Per scorer name: scorer weight × scorer value (without the class weight). */
  readonly components: Readonly<Record<string, number>>;
}

/** The policy's scorers, in its order (one per entry). */
export function createScorers(configs: readonly ScorerConfig[]): Scorer[] {
  return configs.map((cfg): Scorer => {
    switch (cfg.name) {
      case 'benefit-cost':
        return new BenefitCostScorer(cfg.weight);
      case 'hawkeye':
        return new HawkEyeScorer(cfg.weight, cfg.smoothing);
      case 'ingens-fairness':
        return new IngensFairnessScorer(cfg.weight);
      case 'damos':
        return new DamosScorer(cfg.weight, { size: cfg.sizeWeight, frequency: cfg.frequencyWeight, age: cfg.ageWeight });
    }
  });
}

/** Starts a cycle for every scorer that keeps per-cycle or per-process state. */
export function beginScorersCycle(scorers: readonly Scorer[], processes: readonly ProcessView[], now: number): void {
  for (const s of scorers) s.beginCycle?.(processes, now);
}

/** Forgets an exited process in every scorer that keeps state per process. */
export function forgetScorersProcess(scorers: readonly Scorer[], pid: number): void {
  for (const s of scorers) s.forget?.(pid);
}

/** The candidate's score: class weight × Σ scorer weight × scorer value (each value clamped to [0, 1]). */
export function scoreCandidate(c: Candidate, scorers: readonly Scorer[], ctx: ScoreContext): CandidateScore {
  const components: Record<string, number> = {};
  for (const s of scorers) components[s.name] = (components[s.name] ?? 0) + s.weight * unitClamp(s.score(c, ctx));
  let sum = 0;
  for (const part of Object.values(components)) sum += part;
  return { score: c.process.cls.weight * sum, components };
}
