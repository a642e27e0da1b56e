/**
 * The policy's scorers as the planner's ranker: built from `policy.scorers`, rebuilt on reload (a new
 * list starts fresh, including HawkEye's moving averages), each cycle begun with the cycle's processes.
 */
import type { Policy } from '../config/policy-schema.js';
import type { Candidate, MachineView, ProcessView } from './candidate.js';
import type { PolicyRanker } from './planner.js';
import { beginScorersCycle, createScorers, forgetScorersProcess, scoreCandidate, type CandidateScore, type Scorer } from './scorers/scorer.js';

export class ScorerRanker implements PolicyRanker {
  private scorers: Scorer[];

  constructor(policy: Policy) {
    this.scorers = createScorers(policy.scorers);
  }

  reconfigure(policy: Policy): void {
    this.scorers = createScorers(policy.scorers);
  }

  beginCycle(processes: readonly ProcessView[], now: number): void {
    beginScorersCycle(this.scorers, processes, now);
  }

  score(c: Candidate, now: number, machine: MachineView): CandidateScore {
    return scoreCandidate(c, this.scorers, { machine, now });
  }

  forget(pid: number): void {
    forgetScorersProcess(this.scorers, pid);
  }
}
