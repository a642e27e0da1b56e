import { inject, injectable } from 'inversify';
import { ReplaySubject, type Observable } from 'rxjs';
import { Clock } from '../schedule/clock.js';
import type { CycleEnd, LoopBeat, LoopHeartbeat } from './loop-heartbeat.js';

/**
 * The {@link LoopHeartbeat}: beats stamped with the daemon's clock. The latest is replayed because the
 * loop's first cycle may run, and end, while the loop starts, before any watcher has subscribed.
 */
@injectable()
export class LoopHeartbeatImpl implements LoopHeartbeat {
  private readonly beats = new ReplaySubject<LoopBeat>(1);

  constructor(@inject(Clock) private readonly clock: Clock) {}

  get beats$(): Observable<LoopBeat> {
    return this.beats.asObservable();
  }

  cycleStarted(): void {
    this.beats.next({ kind: 'start', at: this.clock.now() });
  }

  cycleEnded(end: CycleEnd): void {
    this.beats.next({ kind: 'end', ...end, at: this.clock.now() });
  }
}
