/**
 * The kernel port: everything the daemon asks of a kernel, in Linux's own terms — file paths and text
 * in procfs/sysfs/cgroupfs formats (the same parsers read both kernels), syscalls with errno names —
 * so that one daemon runs on the simulated kernel (sim/kernel-port/) and on a real Linux host (the
 * Linux port). Nothing simulation-only may appear here: what the daemon cannot learn from a real kernel
 * it cannot learn at all.
 *
 * Reads and small writes are synchronous (a procfs read is microseconds). The calls that can block for
 * long on Linux — process_madvise(MADV_COLLAPSE) copies up to 2 MiB per region, page migration moves
 * pages — return Observables that emit once and complete when the call returns, on the port's clock:
 * the Linux port runs them in a worker thread, the simulated port after the simulated time they took.
 * A failed call is a KernelPortError carrying the errno name.
 */
import type { Observable } from 'rxjs';
import type { Clock } from '../schedule/clock.js';

/** A failed kernel call: the errno name (`'ESRCH'`, `'EAGAIN'`...) and the call, as strace shows them. */
export class KernelPortError extends Error {
  constructor(
    readonly errno: string,
    readonly call: string,
    readonly detail?: string,
  ) {
    super(`${call}: ${errno}${detail ? ` (${detail})` : ''}`);
    this.name = 'KernelPortError';
  }
}

/** One iovec of process_madvise: `len` bytes from `base` in the target's address space. */
export interface PortIovec {
  readonly base: number;
  readonly len: number;
}

/** What process_madvise returned, and how long it took (ms on the port's clock). */
export interface MadviseResult {
  /** Bytes advised: the iovecs are done in order, so this says how far the call got. */
  readonly bytes: number;
  readonly latencyMs: number;
}

/** One region of access sampling (DAMON's monitoring results). */
export interface AccessRegion {
  readonly start: number;
  readonly end: number;
  /** Samples of the last aggregation interval that found the region accessed. */
  readonly nrAccesses: number;
  /** Aggregation intervals its access frequency has stayed about the same. */
  readonly age: number;
}

/** Access sampling attributes (DAMON's monitoring attributes), ms. */
export interface SamplingAttrs {
  readonly sampleIntervalMs: number;
  readonly aggrIntervalMs: number;
  readonly updateIntervalMs: number;
  readonly minNrRegions: number;
  readonly maxNrRegions: number;
}

export interface KernelPort {
  /** Which kernel this is, for logs and start-up checks. */
  readonly kind: 'sim' | 'linux';
  /** The daemon's own pid: never sampled or collapsed, whatever a policy matches. */
  readonly selfPid: number;
  /** The clock and scheduler the daemon runs on with this kernel. */
  readonly clock: Clock;
  /** CPU time the daemon's own process has used so far (user + system), ms: what observing costs it. */
  selfCpuMs(): number;
  /** Reads a procfs, sysfs or cgroupfs file; ENOENT, ESRCH, EACCES... as KernelPortError. */
  readFile(path: string): string;
  /** Writes a sysfs, procfs or cgroupfs file. */
  writeFile(path: string, text: string): void;
  /** Reads `length` bytes at `offset` of a binary file (/proc/PID/pagemap, /proc/kpageflags). */
  readBinary(path: string, offset: number, length: number): Uint8Array;
  /** The pids of the live processes (the numeric entries of /proc). */
  listPids(): number[];
  /** pidfd_open(2) of a process, in the daemon's descriptor table. */
  pidfdOpen(pid: number): number;
  /** close(2) of a descriptor the port gave. */
  close(fd: number): void;
  /** process_madvise(2) through a pidfd (advice by name, e.g. 'MADV_COLLAPSE'). */
  processMadvise(pidfd: number, iov: readonly PortIovec[], advice: string): Observable<MadviseResult>;
  /** move_pages(2): moves each page to its node; emits the per-page status (node, or −errno number). */
  movePages(pid: number, pages: readonly number[], nodes: readonly number[]): Observable<number[]>;
  /** Starts access sampling of a process (DAMON on Linux); EBUSY if it is already sampled. */
  startSampling(pid: number, attrs?: Partial<SamplingAttrs>): void;
  /** Stops it (no error if it was not sampled). */
  stopSampling(pid: number): void;
  /** The current sampled regions of a process. */
  accessRegions(pid: number): AccessRegion[];
}

/** Token of {@link KernelPort}. */
export const KernelPort = Symbol.for('uhugepaged.KernelPort');
