/**
 * The policy in force, and its hot reload. The daemon reads `current` at the start of each decision
 * (or follows `changes$`), so a new policy takes effect at once and whole: a reload that finds the file
 * valid swaps it in one assignment and logs what changed; one that finds problems logs them, and the
 * old policy stays. An invalid file at start-up is an error (the daemon refuses to start on it).
 */
import { fileURLToPath } from 'node:url';
import { inject, injectable } from 'inversify';
import { BehaviorSubject, type Observable } from 'rxjs';
import { DecisionLog } from '../telemetry/decision-log.js';
import { ConfigFileError, formatProblem } from './config-file.js';
import { DaemonOptions } from './daemon-options.js';
import { loadPolicy } from './policy.js';
import type { Policy } from './policy-schema.js';

/** The shipped default policy (code runs from dist/daemon/config/). */
export const shippedPolicyFile = fileURLToPath(new URL('../../../config/uhugepaged.yaml', import.meta.url));

@injectable()
export class PolicyStore {
  readonly file: string;
  private readonly subject: BehaviorSubject<Policy>;

  constructor(
    @inject(DaemonOptions) options: DaemonOptions,
    @inject(DecisionLog) private readonly log: DecisionLog,
  ) {
    this.file = options.policyFile ?? shippedPolicyFile;
    this.subject = new BehaviorSubject(loadPolicy(this.file));
  }

  /** The policy in force. */
  get current(): Policy {
    return this.subject.value;
  }

  /** The policy in force, then every policy that replaces it. */
  get changes$(): Observable<Policy> {
    return this.subject.asObservable();
  }

  /** Reads the file again: a valid policy replaces the current one, an invalid one is rejected. Returns whether it was taken. */
  reload(): boolean {
    let next: Policy;
    try {
      next = loadPolicy(this.file);
    } catch (e) {
      if (!(e instanceof ConfigFileError)) throw e;
      this.log.policyRejected(this.file, e.problems.map(formatProblem));
      return false;
    }
    const changes = this.log.policyChanged(this.file, this.subject.value, next);
    if (changes.length > 0) this.subject.next(next);
    return true;
  }
}
