/**
 * The decision log, for tuning: one record per action, skipped candidates counted per cycle by reason
 * and class (each one logged only at debug level), one summary per cycle, and policy changes as a list
 * of what changed. Every record carries `t`, the daemon's clock time (virtual in simulation), beside
 * winston's wall-clock timestamp, so logs of simulated runs read in simulated time. Records go through
 * the `decide:DecisionLog` logger: JSON lines with `--log-file`, which `uhugepaged tune` reads.
 *
 * Cost: a skip costs a counter increment unless debug is on; a decision one log call.
 */
import { inject, injectable } from 'inversify';
import type { Logger } from 'winston';
import { Clock } from '../schedule/clock.js';
import { LoggerFactory } from './logger-factory.js';

/** One action the daemon took (or, with --dry-run, would have taken). */
export interface DecisionRecord {
  readonly cycle: number;
  readonly pid: number;
  readonly comm: string;
  readonly class: string;
  /** Start address of the first 2 MiB region acted on, and how many regions. */
  readonly region: number;
  readonly regions: number;
  /** The candidate's score and the weighted part of each scorer in it. */
  readonly score: number;
  readonly components: Readonly<Record<string, number>>;
  readonly action: 'collapse' | 'migrate' | 'dry-run';
  readonly outcome: 'ok' | 'partial' | 'failed';
  readonly errno?: string;
  readonly latencyMs: number;
  /** Bytes the call reported done. */
  readonly bytes: number;
}

/** One difference between two policies. */
export interface PolicyChange {
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

@injectable()
export class DecisionLog {
  private readonly log: Logger;
  /** reason → class → count, for the cycle under way. */
  private skips = new Map<string, Map<string, number>>();
  /** Whether debug lines are written (read at each cycle's end). */
  private debug: boolean;

  constructor(
    @inject(LoggerFactory) loggers: LoggerFactory,
    @inject(Clock) private readonly clock: Clock,
  ) {
    this.log = loggers.forClass('decide', 'DecisionLog');
    this.debug = this.log.isDebugEnabled();
  }

  /** An action and its outcome. */
  decision(rec: DecisionRecord): void {
    const level = rec.outcome === 'failed' ? 'warn' : 'info';
    this.log.log(level, 'decision', { t: this.clock.now(), ...rec, region: `0x${rec.region.toString(16)}` });
  }

  /** A candidate not acted on in this cycle, and why (`detail` appears only in the debug line). */
  skipped(reason: string, cls: string, detail?: Readonly<Record<string, unknown>>): void {
    let byClass = this.skips.get(reason);
    if (byClass === undefined) this.skips.set(reason, (byClass = new Map<string, number>()));
    byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
    if (this.debug) this.log.debug('skipped', { t: this.clock.now(), reason, class: cls, ...detail });
  }

  /** `n` candidates of a class not acted on for the same reason (counted only; no debug line). */
  skippedCount(reason: string, cls: string, n: number): void {
    let byClass = this.skips.get(reason);
    if (byClass === undefined) this.skips.set(reason, (byClass = new Map<string, number>()));
    byClass.set(cls, (byClass.get(cls) ?? 0) + n);
  }

  /** Whether debug lines are written (then callers give each skip its detail). */
  get debugEnabled(): boolean {
    return this.debug;
  }

  /** Ends a cycle: its summary, with the skips counted since the last one. */
  cycle(cycle: number, summary: Readonly<Record<string, unknown>>): void {
    // Asked once per cycle, not once per skip: winston's level check is not free.
    this.debug = this.log.isDebugEnabled();
    const skipped: Record<string, Record<string, number>> = {};
    for (const [reason, byClass] of this.skips) skipped[reason] = Object.fromEntries(byClass);
    this.skips = new Map();
    this.log.info('cycle', { t: this.clock.now(), cycle, ...summary, skipped });
  }

  /** A new policy took effect: what changed (nothing logged when nothing did). */
  policyChanged(file: string, before: unknown, after: unknown): PolicyChange[] {
    const changes = diffValues(before, after);
    if (changes.length > 0) this.log.info('policy changed', { t: this.clock.now(), file, changes });
    return changes;
  }

  /** A policy file was rejected; the old policy stays. */
  policyRejected(file: string, problems: readonly string[]): void {
    this.log.error('policy rejected, the previous one stays', { t: this.clock.now(), file, problems });
  }
}

/** The differences between two JSON-like values, as paths (`classes[0].weight`) with old and new values. */
export function diffValues(a: unknown, b: unknown, path = ''): PolicyChange[] {
  if (Object.is(a, b)) return [];
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  const bothObjects = isPlainObject(a) && isPlainObject(b);
  if (bothArrays) {
    const out: PolicyChange[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diffValues(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (bothObjects) {
    const out: PolicyChange[] = [];
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) out.push(...diffValues(a[key], b[key], path === '' ? key : `${path}.${key}`));
    return out;
  }
  return [{ path: path === '' ? '(root)' : path, from: a, to: b }];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
