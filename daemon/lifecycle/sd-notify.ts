/**
 * Tells systemd how the daemon is doing (Type=notify): READY=1 once the first observe-decide-act cycle
 * has run — not merely once the process is up, so that `systemctl start` returns on a daemon that
 * works — STATUS= lines (progress at most every 30 s, reloads, a hang), STOPPING=1 at stop, and the
 * watchdog.
 *
 * The watchdog pings (WATCHDOG=1, every half of WATCHDOG_USEC) go out only while the loop is alive, as
 * the loop's heartbeat shows: a cycle running for longer than the watchdog timeout is taken as hung,
 * and so is a loop that has not started its next cycle within the pacer's interval plus that timeout.
 * The pings then stop and systemd restarts the service (Restart=on-failure), where a timer that pinged
 * regardless would keep a hung daemon up for ever. A blocked event loop stops them by itself.
 *
 *   heartbeat ──start/end──► state ──┐
 *   interval(timeout/2) ─────────────┴─► alive? ──► WATCHDOG=1   (else: STATUS=… hung, once)
 *
 * Without a service manager (no NOTIFY_SOCKET: a terminal, the simulated kernel) it does nothing.
 */
import { inject, injectable } from 'inversify';
import { EMPTY, interval, merge, skip, Subject, takeUntil, tap, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import { PolicyStore } from '../config/policy-store.js';
import { Clock } from '../schedule/clock.js';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import { LoopHeartbeat, type LoopBeat } from './loop-heartbeat.js';
import type { ManagedService } from './managed-service.js';
import { ServiceManagerLink } from './service-manager-link.js';

/** What the watchdog knows of the loop: whether a cycle is running, since when, and what comes next. */
export interface LoopState {
  readonly inCycle: boolean;
  /** Start of the running cycle, or end of the last one, clock ms. */
  readonly since: number;
  /** After a cycle: the pacer's delay before the next, ms. */
  readonly nextIntervalMs: number;
}

/** Whether the loop counts as alive at `now`, given the watchdog timeout (see the file comment). */
export function loopAlive(state: LoopState, now: number, timeoutMs: number): boolean {
  const limit = state.inCycle ? timeoutMs : state.nextIntervalMs + timeoutMs;
  return now - state.since < limit;
}

/** How often the STATUS line follows the loop's progress, ms: often enough for `systemctl status`, no more. */
const STATUS_EVERY_MS = 30_000;

@injectable()
export class SdNotify implements ManagedService {
  readonly name = 'sd-notify';
  private readonly log: Logger;
  private readonly stop$ = new Subject<void>();
  private subscription: Subscription | undefined;
  private state: LoopState = { inCycle: false, since: 0, nextIntervalMs: 0 };
  private ready = false;
  private statusAt = Number.NEGATIVE_INFINITY;
  /** The watchdog is being withheld (said once per hang). */
  private withholding = false;

  constructor(
    @inject(ServiceManagerLink) private readonly link: ServiceManagerLink,
    @inject(LoopHeartbeat) private readonly heartbeat: LoopHeartbeat,
    @inject(PolicyStore) private readonly store: PolicyStore,
    @inject(Clock) private readonly clock: Clock,
    @inject(LoggerFactory) loggers: LoggerFactory,
  ) {
    this.log = loggers.forClass('lifecycle', 'SdNotify');
  }

  onStart(): void {
    if (!this.link.connected) return;
    // Until the first beat the loop has the watchdog timeout to start its first cycle.
    this.state = { inCycle: false, since: this.clock.now(), nextIntervalMs: 0 };
    this.link.notify('STATUS=starting: waiting for the first cycle');
    const timeoutUsec = this.link.watchdogUsec;
    const beats$ = this.heartbeat.beats$.pipe(tap((beat) => this.onBeat(beat)));
    const reloads$ = this.store.changes$.pipe(
      skip(1),
      tap(() => this.link.notify(`STATUS=policy reloaded from ${this.store.file}`)),
    );
    const watchdog$ =
      timeoutUsec === undefined
        ? EMPTY
        : interval(Math.max(1, Math.floor(timeoutUsec / 2000)), this.clock.scheduler).pipe(tap(() => this.watchdog(timeoutUsec / 1000)));
    this.subscription = merge(beats$, reloads$, watchdog$).pipe(takeUntil(this.stop$)).subscribe();
    this.log.info('notifying the service manager', { watchdogMs: timeoutUsec === undefined ? undefined : timeoutUsec / 1000 });
  }

  onStop(): void {
    this.stop$.next();
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.link.connected) this.link.notify('STOPPING=1\nSTATUS=stopping');
  }

  private onBeat(beat: LoopBeat): void {
    if (beat.kind === 'start') {
      this.state = { inCycle: true, since: beat.at, nextIntervalMs: 0 };
      return;
    }
    this.state = { inCycle: false, since: beat.at, nextIntervalMs: beat.nextIntervalMs };
    if (this.withholding) {
      this.withholding = false;
      this.log.info('the loop is alive again: watchdog pings resume', { cycle: beat.cycle });
      this.statusAt = beat.at;
      this.link.notify(`STATUS=running again: cycle ${beat.cycle} ended`);
    }
    if (!this.ready) {
      this.ready = true;
      this.statusAt = beat.at;
      this.link.notify(`READY=1\nSTATUS=running: first cycle done, watching ${beat.processes} processes`);
    } else if (beat.at - this.statusAt >= STATUS_EVERY_MS) {
      this.statusAt = beat.at;
      this.link.notify(`STATUS=running: cycle ${beat.cycle}, watching ${beat.processes} processes, ${beat.collapsed} regions collapsed`);
    }
  }

  private watchdog(timeoutMs: number): void {
    const now = this.clock.now();
    if (loopAlive(this.state, now, timeoutMs)) {
      this.link.notify('WATCHDOG=1');
      return;
    }
    if (this.withholding) return;
    this.withholding = true;
    const what = this.state.inCycle ? 'a cycle has been running' : 'no cycle has started';
    const seconds = Math.round((now - this.state.since) / 1000);
    this.log.error(`${what} for ${seconds} s: withholding the watchdog ping so that the service manager restarts a hung daemon`, { timeoutMs });
    this.link.notify(`STATUS=hung: ${what} for ${seconds} s`);
  }
}
