/**
 * pidfds of the processes the daemon acts on, opened once and kept: process_madvise needs one per
 * call, and a pidfd (unlike a pid) can never come to name another process after the first one exits —
 * a call through a stale one fails with ESRCH instead of advising a stranger. Closed when the process
 * is forgotten and at shutdown.
 */
import type { KernelPort } from '../kernel-port/kernel-port.js';

export class PidfdCache {
  private readonly fds = new Map<number, number>();

  constructor(private readonly port: KernelPort) {}

  /** The pidfd of `pid`, opened on first use (pidfd_open's errors, ESRCH first, propagate). */
  get(pid: number): number {
    let fd = this.fds.get(pid);
    if (fd === undefined) this.fds.set(pid, (fd = this.port.pidfdOpen(pid)));
    return fd;
  }

  /** Closes the pidfd of a process the daemon forgets. */
  forget(pid: number): void {
    const fd = this.fds.get(pid);
    if (fd === undefined) return;
    this.fds.delete(pid);
    this.port.close(fd);
  }

  /** Closes every pidfd. */
  closeAll(): void {
    for (const pid of [...this.fds.keys()]) this.forget(pid);
  }

  get size(): number {
    return this.fds.size;
  }
}
