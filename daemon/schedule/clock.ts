import type { SchedulerLike } from 'rxjs';

/**
 * The daemon's one source of time. Daemon logic never reads the wall clock or arms a timer itself: it
 * asks the Clock, and schedules rxjs work on `scheduler`. In service mode the Clock is the wall clock;
 * in simulation it is the simulated kernel's virtual time, so the same code makes the same decisions
 * many times faster than real time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (service) or since the simulation began (sim). */
  now(): number;
  /** The scheduler every time-based rxjs operator of the daemon must be given. */
  readonly scheduler: SchedulerLike;
}

/** Token of {@link Clock}. */
export const Clock = Symbol.for('uhugepaged.Clock');
