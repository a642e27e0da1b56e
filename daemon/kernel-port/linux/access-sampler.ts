/**
 * Access sampling on a real kernel, behind one interface with two implementations: DAMON through its
 * sysfs interface (damon-sysfs-sampler.ts) where the daemon can have a kdamond of its own, and the
 * accessed bits through /proc/PID/clear_refs and smaps `Referenced` (referenced-sampler.ts) where it
 * cannot. sampler-choice.ts picks one at start and says why.
 *
 * The semantics are the port's (kernel-port.ts): `start` fails with EBUSY for a process already sampled,
 * `stop` of one not sampled is no error, `regions` of one not sampled fails with EINVAL, and of one that
 * exited with ESRCH or ENOENT. Regions are those of the last complete aggregation interval, with
 * `nrAccesses` out of `aggrIntervalMs / sampleIntervalMs` checks, as DAMON counts them.
 */
import type { AccessRegion, SamplingAttrs } from '../kernel-port.js';

export interface AccessSampler {
  /** Which mechanism this is, for the logs. */
  readonly mechanism: 'damon' | 'clear-refs';
  start(pid: number, attrs: SamplingAttrs): void;
  stop(pid: number): void;
  regions(pid: number): AccessRegion[];
  /** Stops every sampling it started and removes what it set up in the kernel. */
  close(): Promise<void>;
}

/** DAMON's own defaults (mm/damon/core.c), for a caller that gives no attributes. */
export const DAMON_DEFAULT_ATTRS: SamplingAttrs = {
  sampleIntervalMs: 5,
  aggrIntervalMs: 100,
  updateIntervalMs: 1000,
  minNrRegions: 10,
  maxNrRegions: 1000,
};

/**
 * DAMON's age rule (kdamond_merge_regions): a region whose access count moved by more than a tenth of
 * the checks an aggregation makes (at least 1) starts again at age 0; otherwise it grows a year older.
 */
export function nextAge(previous: { nrAccesses: number; age: number } | undefined, nrAccesses: number, attrs: SamplingAttrs): number {
  if (previous === undefined) return 0;
  const threshold = Math.max(1, attrs.aggrIntervalMs / attrs.sampleIntervalMs / 10);
  return Math.abs(nrAccesses - previous.nrAccesses) > threshold ? 0 : previous.age + 1;
}
