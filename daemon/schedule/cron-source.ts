import type { Observable } from 'rxjs';
import type { CronExpression } from './cron-expression.js';

/** Where the daemon's cron schedules come from: an observable of firing times per expression. */
export interface CronSource {
  /** Emits each firing time (ms since the Unix epoch, on the clock's time line) until unsubscribed. */
  fires(expression: CronExpression): Observable<number>;
}

/** Token of {@link CronSource}. */
export const CronSource = Symbol.for('uhugepaged.CronSource');
