/**
 * The {@link ServiceManagerLink} through libsystemd's sd_notify(3), loaded with koffi. Going through the
 * library rather than writing the datagram ourselves keeps every detail of the protocol (abstract
 * socket names, vsock addresses, credentials) systemd's own.
 *
 * Without NOTIFY_SOCKET (a terminal, the simulated kernel, a manager that is not systemd) the link is
 * not connected and nothing is loaded. With it set but the library missing, the daemon warns and runs
 * unsupervised: under Type=notify systemd then gives up on it at TimeoutStartSec, which the warning
 * explains.
 */
import { inject, injectable } from 'inversify';
import koffi from 'koffi';
import type { Logger } from 'winston';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import type { ServiceManagerLink } from './service-manager-link.js';

/** The library's soname: the ABI systemd has kept since 209. */
const LIBSYSTEMD = 'libsystemd.so.0';

/**
 * The watchdog timeout for process `pid` from the environment systemd sets: WATCHDOG_USEC, when
 * WATCHDOG_PID is unset or names `pid` (a child that inherited the variables must not ping for its
 * parent). Undefined when there is no valid watchdog for us.
 */
export function watchdogUsecFor(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return undefined;
  return usec;
}

@injectable()
export class LibsystemdLink implements ServiceManagerLink {
  readonly connected: boolean;
  readonly watchdogUsec: number | undefined;
  private readonly log: Logger;
  private readonly sdNotify: ((unsetEnvironment: number, state: string) => number) | undefined;
  private warnedSend = false;

  constructor(@inject(LoggerFactory) loggers: LoggerFactory) {
    this.log = loggers.forClass('lifecycle', 'LibsystemdLink');
    this.sdNotify = process.env.NOTIFY_SOCKET ? this.load() : undefined;
    this.connected = this.sdNotify !== undefined;
    this.watchdogUsec = this.connected ? watchdogUsecFor(process.env, process.pid) : undefined;
  }

  notify(state: string): boolean {
    if (!this.sdNotify) return false;
    const r = this.sdNotify(0, state);
    if (r < 0 && !this.warnedSend) {
      // Logged once: a manager that went away would otherwise fill the log every watchdog period.
      this.warnedSend = true;
      this.log.warn('sd_notify failed', { errno: -r, notifySocket: process.env.NOTIFY_SOCKET });
    }
    return r > 0;
  }

  private load(): ((unsetEnvironment: number, state: string) => number) | undefined {
    try {
      const fn = koffi.load(LIBSYSTEMD).func('int sd_notify(int unset_environment, const char *state)');
      return (unsetEnvironment, state) => fn(unsetEnvironment, state) as number;
    } catch (e) {
      this.log.warn(`NOTIFY_SOCKET is set but ${LIBSYSTEMD} cannot be loaded: the daemon cannot tell systemd it is ready, so a Type=notify unit fails at TimeoutStartSec`, {
        error: e instanceof Error ? e.message : String(e),
        fix: 'install the systemd client library (package libsystemd0 on Debian and Ubuntu, systemd-libs on Fedora and RHEL), or use Type=simple without WatchdogSec=',
      });
      return undefined;
    }
  }
}
