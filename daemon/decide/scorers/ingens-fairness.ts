/**
 * ingens-fairness: Ingens's fairness (Kwon et al., OSDI'16; peers.md): huge pages go first to the process
 * that needs them most for the share it already holds,
 *
 *   fairness(p) = class weight × need / (huge pages held + 1)
 *   need        = hot bytes not yet huge (hotBytes − hotHugeBytes), in 2 MiB regions
 *   held        = hugeBytes in 2 MiB pages (the + 1 keeps a process holding none finite and ranked by need)
 *
 * normalised by the highest fairness among the processes of the cycle (`beginCycle` sees them all):
 * 0: a process with no unmet need; 1: the process whose turn it is. Every region of a process gets its
 * process's value. The class weight sits inside the formula as in Ingens, so it decides whose turn it is
 * across classes; the combination multiplies the whole score by it again. A process the cycle did not
 * announce is compared with the cycle's maximum. State: that maximum only.
 */
import { REGION_BYTES, type Candidate, type ProcessView } from '../candidate.js';
import type { Scorer } from './scorer.js';
import { unitClamp } from './unit-interval.js';

/** Ingens's fairness of a process (≥ 0), before normalisation. */
export function ingensFairness(p: ProcessView): number {
  const need = Math.max(0, p.hotBytes - p.hotHugeBytes) / REGION_BYTES;
  const held = Math.max(0, p.hugeBytes) / REGION_BYTES;
  const f = (p.cls.weight * need) / (held + 1);
  return f > 0 ? f : 0;
}

export class IngensFairnessScorer implements Scorer {
  readonly name = 'ingens-fairness';
  private cycleMax = 0;

  constructor(readonly weight: number) {}

  beginCycle(processes: readonly ProcessView[], _now: number): void {
    this.cycleMax = processes.reduce((max, p) => Math.max(max, ingensFairness(p)), 0);
  }

  score(c: Candidate): number {
    const f = ingensFairness(c.process);
    if (!(f > 0)) return 0;
    return unitClamp(f >= this.cycleMax ? 1 : f / this.cycleMax);
  }
}
