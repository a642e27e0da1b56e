/**
 * A long-lived part of the daemon that starts and stops with it (an observer stream, the actuator, the
 * metrics endpoint). Bound many times to the {@link ManagedService} token; the {@link Application}
 * starts them in binding order and stops them in reverse.
 */
export interface ManagedService {
  /** Name used in lifecycle logs. */
  readonly name: string;
  onStart?(): void | Promise<void>;
  onStop?(): void | Promise<void>;
}

/** Multi-binding token of {@link ManagedService}. */
export const ManagedService = Symbol.for('uhugepaged.ManagedService');
