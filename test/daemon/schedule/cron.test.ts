// Cron schedules: the next firing time found with node-cron's matcher agrees with node-cron's own
// scheduler, invalid expressions are refused with node-cron's reasons, and on a virtual clock an
// expression fires at exactly its instants and stops when unsubscribed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Container } from 'inversify';
import { createTask } from 'node-cron';
import { take, toArray, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { ClockCronSource } from '../../../daemon/schedule/clock-cron-source.js';
import { CronExpression, CronExpressionError } from '../../../daemon/schedule/cron-expression.js';
import { CronSource } from '../../../daemon/schedule/cron-source.js';
import { Clock } from '../../../daemon/schedule/clock.js';
import { scheduleModule } from '../../../daemon/schedule/schedule-module.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

test('next firing times of common and awkward expressions (UTC)', () => {
  const cases: [string, string, string][] = [
    ['*/5 * * * *', '2026-12-02T10:03:17Z', '2026-12-02T10:05:00.000Z'],
    ['*/5 * * * *', '2026-12-02T10:05:00Z', '2026-12-02T10:10:00.000Z'],
    ['0 * * * *', '2026-12-02T23:59:59Z', '2026-12-03T00:00:00.000Z'],
    ['*/10 * * * * *', '2026-12-02T10:00:05Z', '2026-12-02T10:00:10.000Z'],
    ['30 4 1 * *', '2026-12-02T00:00:00Z', '2027-01-01T04:30:00.000Z'],
    ['0 0 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 12 * * 1', '2026-12-02T13:00:00Z', '2026-12-07T12:00:00.000Z'],
    // node-cron requires a restricted day of month AND day of week (Vixie cron takes either): a Friday the 15th.
    ['0 0 15 * 5', '2026-12-02T00:00:00Z', '2027-01-15T00:00:00.000Z'],
  ];
  for (const [expr, after, expected] of cases) assert.equal(iso(new CronExpression(expr).next(at(after))), expected, `${expr} after ${after}`);
});

test("the matcher-based next agrees with node-cron's own scheduler", () => {
  for (const expr of ['* * * * *', '*/7 * * * *', '15 3 * * *', '0 9-17 * * 1-5', '*/13 * * * * *', '0 0 1 1 *']) {
    const task = createTask(expr, () => undefined, { timezone: 'UTC' });
    try {
      // node-cron computes from "now"; so does this, from the same second.
      const now = Date.now();
      const [theirs] = task.getNextRuns(1);
      if (Math.floor(Date.now() / 1000) !== Math.floor(now / 1000)) continue; // a second boundary passed: skip rather than race
      assert.equal(new CronExpression(expr).next(now), theirs.getTime(), expr);
    } finally {
      void task.destroy();
    }
  }
});

test('invalid expressions are refused with node-cron’s reasons', () => {
  for (const expr of ['61 * * * *', '* * *', 'every day', '* * 32 * *']) {
    assert.throws(() => new CronExpression(expr), (e: unknown) => e instanceof CronExpressionError && e.expression === expr && e.reasons.length > 0, expr);
  }
});

test('on a virtual clock an expression fires at exactly its instants, and unsubscribing stops it', () => {
  const scheduler = new VirtualTimeScheduler();
  const epoch = at('2026-12-02T10:03:00Z');
  const clock: Clock = { now: () => epoch + scheduler.now(), scheduler };
  const fired: number[] = [];
  new ClockCronSource(clock)
    .fires(new CronExpression('*/5 * * * *'))
    .pipe(take(3), toArray())
    .subscribe((times) => fired.push(...times));
  scheduler.flush();
  assert.deepEqual(fired.map(iso), ['2026-12-02T10:05:00.000Z', '2026-12-02T10:10:00.000Z', '2026-12-02T10:15:00.000Z']);
  // An open-ended subscription leaves nothing scheduled once unsubscribed.
  const s2 = new VirtualTimeScheduler();
  const clock2: Clock = { now: () => epoch + s2.now(), scheduler: s2 };
  let count = 0;
  const sub: Subscription = new ClockCronSource(clock2).fires(new CronExpression('* * * * *')).subscribe(() => count++);
  s2.maxFrames = 10 * 60_000;
  s2.flush();
  assert.equal(count, 10);
  sub.unsubscribe();
  s2.maxFrames = Infinity;
  s2.flush();
  assert.equal(count, 10);
});

test('simulation rebinds the cron source to the clock: resolved through the container it fires on virtual time', () => {
  const scheduler = new VirtualTimeScheduler();
  const epoch = at('2026-12-02T00:00:00Z');
  const container = new Container();
  container.load(scheduleModule);
  container.rebind<Clock>(Clock).toConstantValue({ now: () => epoch + scheduler.now(), scheduler });
  container.rebind<CronSource>(CronSource).to(ClockCronSource).inSingletonScope();
  const fired: number[] = [];
  container.get<CronSource>(CronSource).fires(new CronExpression('0 */6 * * *')).pipe(take(2)).subscribe((t) => fired.push(t));
  scheduler.flush();
  assert.deepEqual(fired.map(iso), ['2026-12-02T06:00:00.000Z', '2026-12-02T12:00:00.000Z']);
});
