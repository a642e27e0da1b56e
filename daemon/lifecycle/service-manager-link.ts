/**
 * The daemon's line to a service manager that supervises it (systemd's notify protocol, sd_notify(3)):
 * readiness, status text, stopping, watchdog pings.
 */
export interface ServiceManagerLink {
  /** True when a service manager listens (NOTIFY_SOCKET is set) and the link can reach it. */
  readonly connected: boolean;
  /** The watchdog timeout the manager enforces on this process, µs; undefined when there is none for us. */
  readonly watchdogUsec: number | undefined;
  /** Sends newline-separated `KEY=value` assignments; false when they could not be sent. */
  notify(state: string): boolean;
}

/** Token of {@link ServiceManagerLink}. */
export const ServiceManagerLink = Symbol.for('uhugepaged.ServiceManagerLink');
