import { inject, injectable, multiInject, optional } from 'inversify';
import { firstValueFrom, from, timeout, catchError, of, defer, map } from 'rxjs';
import type { Logger } from 'winston';
import { DaemonOptions } from '../config/daemon-options.js';
import { Clock } from '../schedule/clock.js';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import type { Application } from './application.js';
import { ManagedService } from './managed-service.js';

type Outcome = 'ok' | 'failed' | 'timed out';

/**
 * The daemon's {@link Application}: services start in binding order and stop in reverse. Each stop is
 * given the remaining share of `shutdownTimeoutMs`, measured on the injected clock.
 */
@injectable()
export class ApplicationImpl implements Application {
  private readonly log: Logger;
  private readonly started: ManagedService[] = [];
  private stopPromise: Promise<void> | undefined;

  constructor(
    @multiInject(ManagedService) @optional() private readonly services: ManagedService[] | undefined,
    @inject(LoggerFactory) loggers: LoggerFactory,
    @inject(Clock) private readonly clock: Clock,
    @inject(DaemonOptions) private readonly options: DaemonOptions,
  ) {
    this.log = loggers.forClass('lifecycle', 'Application');
  }

  get stopping(): boolean {
    return this.stopPromise !== undefined;
  }

  async start(): Promise<void> {
    for (const service of this.services ?? []) {
      if (this.stopping) return;
      const outcome = await this.runHook(service, 'onStart', Number.POSITIVE_INFINITY);
      if (outcome === 'ok') this.started.push(service);
    }
    this.log.info('started', { services: this.started.map((s) => s.name) });
  }

  stop(reason: string): Promise<void> {
    this.stopPromise ??= this.stopAll(reason);
    return this.stopPromise;
  }

  private async stopAll(reason: string): Promise<void> {
    this.log.info('stopping', { reason });
    const deadline = this.clock.now() + this.options.shutdownTimeoutMs;
    for (const service of [...this.started].reverse()) {
      await this.runHook(service, 'onStop', Math.max(0, deadline - this.clock.now()));
    }
    this.started.length = 0;
    this.log.info('stopped', { reason });
  }

  /** Runs one hook; a throw or a timeout is logged and reported, never propagated. */
  private runHook(service: ManagedService, hook: 'onStart' | 'onStop', limitMs: number): Promise<Outcome> {
    const run$ = defer(() => from(Promise.resolve(service[hook]?.call(service)))).pipe(
      map((): Outcome => 'ok'),
      Number.isFinite(limitMs) ? timeout({ first: limitMs, scheduler: this.clock.scheduler }) : (s) => s,
      catchError((error: unknown) => {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        this.log.error(`${hook} ${timedOut ? 'timed out' : 'failed'}`, {
          service: service.name,
          error: error instanceof Error ? error.message : String(error),
        });
        return of<Outcome>(timedOut ? 'timed out' : 'failed');
      }),
    );
    return firstValueFrom(run$, { defaultValue: 'ok' });
  }
}
