import { injectable } from 'inversify';
import { createTask } from 'node-cron';
import { Observable } from 'rxjs';
import type { CronExpression } from './cron-expression.js';
import type { CronSource } from './cron-source.js';

/** Service mode: node-cron's scheduler on real time; unsubscribing stops and destroys the task. */
@injectable()
export class NodeCronSource implements CronSource {
  fires(expression: CronExpression): Observable<number> {
    return new Observable<number>((subscriber) => {
      const task = createTask(expression.expression, (ctx) => subscriber.next(ctx.date.getTime()), { timezone: expression.timezone, noOverlap: true });
      void task.start();
      return () => void task.destroy();
    });
  }
}
