/**
 * What a failed collapse teaches, per errno (policy `pacing.retry`), so that the daemon neither hammers
 * what cannot work now nor gives up on what can work later:
 *
 *   EAGAIN         the region was busy (pages locked, under migration, pinned, isolated): that region is
 *                  left alone for `retry.EAGAIN`;
 *   ENOMEM         no huge page could be allocated on the node: nothing is collapsed onto that node for
 *                  `retry.ENOMEM` (khugepaged's alloc_sleep_millisecs, for the same reason);
 *   EBUSY          the cgroup could not be charged: the cgroup is skipped for `retry.EBUSY`, and after that
 *                  until it is seen with headroom again;
 *   EINVAL         the region cannot be collapsed as it is mapped now (not anonymous, not suitably
 *                  aligned, THP disabled for it...): remembered with a fingerprint of its mapping and
 *                  residency, and left alone until that changes (a first write can make it collapsible);
 *   ESRCH          the process is gone: everything about it is forgotten;
 *   EPERM, EACCES  no permission: the process is left alone, and the failure is reported once.
 *
 * Pure state keyed by the caller's identifiers, with times given by the caller (the daemon's clock).
 */
import type { Policy } from '../config/policy-schema.js';

export type RetryPolicy = Policy['pacing']['retry'];

/** Where a collapse was tried: the process, the 2 MiB region, the node its huge page would come from, its cgroup. */
export interface CollapseTarget {
  readonly pid: number;
  /** Start address of the 2 MiB region. */
  readonly region: number;
  readonly node: number;
  readonly cgroup: string;
  /**
   * A summary of the region's mapping and residency (e.g. its VMA's flags and range, present and none
   * page counts): an EINVAL is remembered while it stays the same.
   */
  readonly fingerprint: string;
}

/** What the caller should do after a failure. */
export interface FailureVerdict {
  /** Log the failure as a problem an operator should see (only the first EPERM/EACCES of a process). */
  readonly report: boolean;
  /** The process is gone: drop every state the daemon holds about it. */
  readonly forgetProcess: boolean;
}

/** Why a target is skipped, if it is. */
export type SkipReason = 'region-busy' | 'node-no-memory' | 'cgroup-full' | 'region-invalid' | 'process-denied';

const regionKey = (pid: number, region: number): string => `${pid}:${region}`;

export class FailureMemory {
  private readonly busyRegions = new Map<string, number>();
  private readonly invalidRegions = new Map<string, string>();
  private readonly nodesUntil = new Map<number, number>();
  private readonly cgroups = new Map<string, { until: number; sawHeadroom: boolean }>();
  private readonly denied = new Set<number>();

  constructor(private retry: RetryPolicy) {}

  /** A reloaded policy: new durations apply to failures from now on. */
  reconfigure(retry: RetryPolicy): void {
    this.retry = retry;
  }

  /** Records a failed collapse of `target` at time `now` (ms). */
  record(now: number, target: CollapseTarget, errno: string): FailureVerdict {
    const quiet: FailureVerdict = { report: false, forgetProcess: false };
    switch (errno) {
      case 'EAGAIN':
        this.busyRegions.set(regionKey(target.pid, target.region), now + this.retry.EAGAIN);
        return quiet;
      case 'ENOMEM':
        this.nodesUntil.set(target.node, now + this.retry.ENOMEM);
        return quiet;
      case 'EBUSY':
        this.cgroups.set(target.cgroup, { until: now + this.retry.EBUSY, sawHeadroom: false });
        return quiet;
      case 'EINVAL':
        this.invalidRegions.set(regionKey(target.pid, target.region), target.fingerprint);
        return quiet;
      case 'ESRCH':
        this.forget(target.pid);
        return { report: false, forgetProcess: true };
      case 'EPERM':
      case 'EACCES': {
        const first = !this.denied.has(target.pid);
        this.denied.add(target.pid);
        return { report: first, forgetProcess: false };
      }
      default:
        // Anything else (EFAULT, EIO...) is unexpected: reported every time, nothing remembered.
        return { report: true, forgetProcess: false };
    }
  }

  /** A cgroup was seen with headroom (under its limit by the policy's margin): an EBUSY on it can expire. */
  sawHeadroom(cgroup: string): void {
    const c = this.cgroups.get(cgroup);
    if (c) c.sawHeadroom = true;
  }

  /** Why `target` must be skipped at `now`, or undefined when it may be tried. */
  skip(now: number, target: CollapseTarget): SkipReason | undefined {
    if (this.denied.has(target.pid)) return 'process-denied';
    const key = regionKey(target.pid, target.region);
    const busy = this.busyRegions.get(key);
    if (busy !== undefined) {
      if (now < busy) return 'region-busy';
      this.busyRegions.delete(key);
    }
    const invalid = this.invalidRegions.get(key);
    if (invalid !== undefined) {
      if (invalid === target.fingerprint) return 'region-invalid';
      this.invalidRegions.delete(key);
    }
    const node = this.nodesUntil.get(target.node);
    if (node !== undefined) {
      if (now < node) return 'node-no-memory';
      this.nodesUntil.delete(target.node);
    }
    const c = this.cgroups.get(target.cgroup);
    if (c) {
      if (now < c.until || !c.sawHeadroom) return 'cgroup-full';
      this.cgroups.delete(target.cgroup);
    }
    return undefined;
  }

  /** Drops everything about a process (it exited). */
  forget(pid: number): void {
    const prefix = `${pid}:`;
    for (const key of [...this.busyRegions.keys()]) if (key.startsWith(prefix)) this.busyRegions.delete(key);
    for (const key of [...this.invalidRegions.keys()]) if (key.startsWith(prefix)) this.invalidRegions.delete(key);
    this.denied.delete(pid);
  }

  /** Entries held, for the daemon's own memory figures. */
  get size(): number {
    return this.busyRegions.size + this.invalidRegions.size + this.nodesUntil.size + this.cgroups.size + this.denied.size;
  }
}
