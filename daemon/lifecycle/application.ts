/**
 * Starts and stops every {@link ManagedService} of the daemon. One failing service is logged and does
 * not keep the others from starting or stopping; `stop` is idempotent and bounded in time.
 */
export interface Application {
  /** Starts every service; resolves once each has started or failed (failures are logged). */
  start(): Promise<void>;
  /** Stops every started service in reverse order; later calls return the first call's promise. */
  stop(reason: string): Promise<void>;
  /** True once `stop` has been called. */
  readonly stopping: boolean;
}

/** Token of {@link Application}. */
export const Application = Symbol.for('uhugepaged.Application');
