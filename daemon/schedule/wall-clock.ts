import { injectable } from 'inversify';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Clock } from './clock.js';

/** The {@link Clock} of service mode: real time, real timers. */
@injectable()
export class WallClock implements Clock {
  readonly scheduler: SchedulerLike = asyncScheduler;

  now(): number {
    return Date.now();
  }
}
