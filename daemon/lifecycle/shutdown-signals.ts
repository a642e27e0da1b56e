import { inject, injectable } from 'inversify';
import type { Logger } from 'winston';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import { Application } from './application.js';

/** The signals that ask the daemon to stop gracefully. */
export const shutdownSignalNames = ['SIGINT', 'SIGTERM'] as const;

/**
 * Turns SIGINT/SIGTERM into a graceful {@link Application.stop}. A second signal while stopping means
 * the operator has lost patience: the process exits at once with 128 + the signal number.
 */
@injectable()
export class ShutdownSignals {
  private readonly log: Logger;

  constructor(
    @inject(Application) private readonly app: Application,
    @inject(LoggerFactory) loggers: LoggerFactory,
  ) {
    this.log = loggers.forClass('lifecycle', 'ShutdownSignals');
  }

  /**
   * Installs the handlers; returns a function that removes them. `exit` is called with the exit code
   * once a graceful stop has finished (0) or when a second signal forces the exit.
   */
  install(exit: (code: number) => void): () => void {
    const handlers = shutdownSignalNames.map((signal) => {
      const handler = (): void => {
        if (this.app.stopping) {
          this.log.warn('second signal: exiting without waiting', { signal });
          exit(128 + (signal === 'SIGINT' ? 2 : 15));
          return;
        }
        this.app.stop(signal).then(
          () => exit(0),
          (error: unknown) => {
            this.log.error('shutdown failed', { error: String(error) });
            exit(1);
          },
        );
      };
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    return () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
  }
}
