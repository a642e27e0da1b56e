/**
 * The kill switch: when on, the daemon takes no action at all (no collapse, no migration) while it goes
 * on observing and logging. It is on when the policy says `killSwitch: true`, or when an operator sent
 * SIGUSR2 (a second SIGUSR2 turns that off again; the policy field stays in force either way). Every
 * change is logged and shown in the `uhugepaged_kill_switch` metric; the act step reads `active`.
 */
import { inject, injectable } from 'inversify';
import { BehaviorSubject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import type { ManagedService } from '../lifecycle/managed-service.js';
import { DaemonMetrics } from '../telemetry/daemon-metrics.js';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import { PolicyStore } from './policy-store.js';

/** The signal that toggles the switch. */
export const KILL_SWITCH_SIGNAL = 'SIGUSR2';

@injectable()
export class KillSwitch implements ManagedService {
  readonly name = 'kill-switch';
  private signalled = false;
  private readonly state = new BehaviorSubject(false);
  private subscription: Subscription | undefined;
  private readonly log: Logger;
  private readonly onSignal = (): void => {
    this.signalled = !this.signalled;
    this.update(this.signalled ? `${KILL_SWITCH_SIGNAL} received` : `${KILL_SWITCH_SIGNAL} received again`);
  };

  constructor(
    @inject(PolicyStore) private readonly policies: PolicyStore,
    @inject(DaemonMetrics) private readonly metrics: DaemonMetrics,
    @inject(LoggerFactory) loggers: LoggerFactory,
  ) {
    this.log = loggers.forClass('config', 'KillSwitch');
    this.update('start');
  }

  /** Whether every action is stopped now. */
  get active(): boolean {
    return this.state.value;
  }

  /** The switch's state, and each change. */
  get active$(): Observable<boolean> {
    return this.state.pipe(distinctUntilChanged());
  }

  onStart(): void {
    process.on(KILL_SWITCH_SIGNAL, this.onSignal);
    this.subscription = this.policies.changes$.subscribe(() => this.update('policy'));
  }

  onStop(): void {
    process.off(KILL_SWITCH_SIGNAL, this.onSignal);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private update(cause: string): void {
    const active = this.signalled || this.policies.current.killSwitch;
    this.metrics.killSwitch.set(active ? 1 : 0);
    if (active === this.state.value) return;
    this.state.next(active);
    this.log.warn(active ? 'kill switch on: no action until it is off; observation goes on' : 'kill switch off: actions resume', { cause, signalled: this.signalled, policy: this.policies.current.killSwitch });
  }
}
