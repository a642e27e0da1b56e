import { inject, injectable } from 'inversify';
import { defer, map, Observable, repeat, timer } from 'rxjs';
import { Clock } from './clock.js';
import type { CronExpression } from './cron-expression.js';
import type { CronSource } from './cron-source.js';

/**
 * Simulation (and any injected clock): the next firing time from the matcher, waited for on the clock's
 * scheduler, so that virtual time fires the same instants node-cron would.
 */
@injectable()
export class ClockCronSource implements CronSource {
  constructor(@inject(Clock) private readonly clock: Clock) {}

  fires(expression: CronExpression): Observable<number> {
    return defer(() => {
      const now = this.clock.now();
      const at = expression.next(now);
      if (at === undefined) return new Observable<number>(() => undefined);
      return timer(at - now, this.clock.scheduler).pipe(map(() => at));
    }).pipe(repeat());
  }
}
