/**
 * Cron schedules (full rescans, summaries) that fire at the same times on wall-clock and virtual time.
 *
 * node-cron 4 runs tasks on real timers only and has no virtual-clock hook. Rather than a second cron
 * parser, both modes use node-cron's own: its validator (`validateDetailed`, for precise errors) and its
 * matcher (`ScheduledTask.match`, public, pure: does this instant match?). Service mode runs the
 * expression on node-cron's scheduler (`NodeCronSource`); simulation computes each next firing time with
 * the matcher and waits for it on the daemon's clock scheduler (`ClockCronSource`), so an expression fires
 * at the same instants in both. Why not the alternatives: fake timers would replace the global Date and
 * setTimeout under everything else in the process, and a separate cron-expression package could read an
 * expression differently from the node-cron that runs it in service.
 *
 * Finding the next match with a matcher alone: node-cron expands the second, minute and hour fields to
 * value lists, and whether a day matches (day of month, month and day of week, all required as node-cron
 * reads them, where Vixie cron takes a restricted day of month or day of week) does not depend on the
 * time of day. So
 * each calendar day from the start needs one `match` call at its first candidate time; on a matching day
 * the first candidate after the start is the answer. Days are scanned up to 8 years ahead; an expression
 * with no match in that time (a 29 February that must also be a Monday) is reported as never firing. Exact in UTC, the default and the simulation's zone; in a zone
 * with daylight saving time, a day is taken to have 24 hours, so on the day of a change a matching time
 * the change shifts may be missed (never a wrong one: every answer is checked with the matcher).
 */
import { createTask, validateDetailed, type ScheduledTask } from 'node-cron';

const DAY_MS = 86_400_000;
/** How far ahead a next firing time is looked for. */
const HORIZON_DAYS = 8 * 366;

/** A cron expression that node-cron rejects. */
export class CronExpressionError extends Error {
  constructor(
    readonly expression: string,
    readonly reasons: readonly string[],
  ) {
    super(`invalid cron expression ${JSON.stringify(expression)}: ${reasons.join('; ')}`);
    this.name = 'CronExpressionError';
  }
}

/** A validated cron expression (5 fields, or 6 with seconds first) in a time zone (default UTC). */
export class CronExpression {
  private readonly seconds: readonly number[];
  private readonly minutes: readonly number[];
  private readonly hours: readonly number[];
  private readonly matcher: ScheduledTask;
  /** The time of day in the expression's zone (made once: a formatter is costly to build). */
  private readonly clockFormat: Intl.DateTimeFormat;

  constructor(
    readonly expression: string,
    readonly timezone = 'UTC',
  ) {
    const v = validateDetailed(expression);
    if (!v.valid || !v.fields) throw new CronExpressionError(expression, v.errors.map((e) => (e.field === 'expression' ? e.message : `${e.field}: ${e.message}`)));
    this.seconds = [...v.fields.second].sort((a, b) => a - b);
    this.minutes = [...v.fields.minute].sort((a, b) => a - b);
    this.hours = [...v.fields.hour].sort((a, b) => a - b);
    // A task that is never started: only its matcher is used. It is removed from node-cron's registry at once.
    this.matcher = createTask(expression, () => undefined, { timezone });
    this.clockFormat = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    void this.matcher.destroy();
  }

  /** Whether the instant (ms since the Unix epoch) matches, to the second. */
  matches(ms: number): boolean {
    return this.matcher.match(new Date(Math.floor(ms / 1000) * 1000));
  }

  /** The first matching instant strictly after `afterMs` (ms since the Unix epoch), or undefined within the horizon. */
  next(afterMs: number): number | undefined {
    const after = Math.floor(afterMs / 1000) * 1000;
    const firstDay = this.dayStart(after);
    for (let d = 0; d < HORIZON_DAYS; d++) {
      const day = this.dayStart(firstDay + d * DAY_MS + DAY_MS / 2);
      if (!this.matches(day + this.offsetMs(this.hours[0], this.minutes[0], this.seconds[0]))) continue;
      for (const h of this.hours) {
        for (const m of this.minutes) {
          for (const s of this.seconds) {
            const t = day + this.offsetMs(h, m, s);
            if (t > after && this.matches(t)) return t;
          }
        }
      }
    }
    return undefined;
  }

  /** Milliseconds from local midnight to the time of day h:m:s. */
  private offsetMs(h: number, m: number, s: number): number {
    return ((h * 60 + m) * 60 + s) * 1000;
  }

  /** Local midnight (in the expression's time zone) of the day holding `ms`. */
  private dayStart(ms: number): number {
    const parts = this.clockFormat.formatToParts(new Date(ms));
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
    return Math.floor(ms / 1000) * 1000 - ((get('hour') * 60 + get('minute')) * 60 + get('second')) * 1000;
  }
}
