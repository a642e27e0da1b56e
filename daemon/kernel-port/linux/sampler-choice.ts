/**
 * Which access sampler the Linux port uses, chosen once at start and logged with the reason.
 *
 * DAMON (damon-sysfs-sampler.ts) when the daemon can have a kdamond of its own: its sysfs interface is
 * there and, once what an earlier run of the daemon left is cleaned up, no kdamond directory remains.
 * That last condition is strict on purpose: a write of nr_kdamonds removes and rebuilds every kdamond
 * directory (so it would wipe the configuration of a stopped kdamond someone else set up) and is
 * refused with EBUSY while any kdamond runs — as on hosts whose platform starts a `paddr` kdamond at
 * boot. Such a kdamond is never stopped or changed.
 *
 * Otherwise the accessed bits through clear_refs and smaps (referenced-sampler.ts), coarser (per VMA)
 * but available on every kernel with procfs.
 */
import { KernelPortError } from '../kernel-port.js';
import type { AccessSampler } from './access-sampler.js';
import { cleanUpRecorded, contextDir, kdamondDir, KDAMONDS, nrKdamonds } from './damon-ownership.js';
import { DamonSysfsSampler } from './damon-sysfs-sampler.js';
import type { FileAccess } from './file-access.js';
import { ReferencedSampler } from './referenced-sampler.js';

export interface SamplerChoice {
  readonly sampler: AccessSampler;
  /** Why this one, in words, for the start-up log. */
  readonly reason: string;
  /** What was cleaned up after an earlier run, if anything. */
  readonly cleanedUp?: string | undefined;
}

export interface SamplerChoiceOptions {
  /** The file recording the daemon's kdamond (damon-ownership.ts). */
  readonly stateFile: string;
  /** The port's clock (ms). */
  readonly now: () => number;
  /** Where a failed background reading of DAMON's results is reported. */
  readonly onError: (e: unknown) => void;
}

/** What a kdamond is, in a few words: index, state, operations. */
function describeKdamond(files: FileAccess, index: number): string {
  const read = (path: string): string => (files.exists(path) ? files.readFile(path).trim() : '?');
  return `kdamond ${index} (${read(`${kdamondDir(index)}/state`)}, ${read(`${contextDir(index)}/operations`)} operations)`;
}

const FALLBACK = 'sampling the accessed bits per VMA through /proc/PID/clear_refs and smaps Referenced instead (idle page tracking is not implemented)';

/** Picks the sampler; never throws for what the kernel refuses (that only decides the fallback). */
export function chooseAccessSampler(files: FileAccess, opts: SamplerChoiceOptions): SamplerChoice {
  const fallback = (why: string, cleanedUp?: string): SamplerChoice => ({ sampler: new ReferencedSampler(files, opts.now), reason: `${why}; ${FALLBACK}`, cleanedUp });
  if (!files.exists(`${KDAMONDS}/nr_kdamonds`)) return fallback('DAMON\'s sysfs interface is absent (a kernel without CONFIG_DAMON_SYSFS)');
  let cleanedUp: string | undefined;
  try {
    cleanedUp = cleanUpRecorded(files, opts.stateFile);
    const n = nrKdamonds(files);
    if (n > 0) {
      const which = Array.from({ length: n }, (_, i) => describeKdamond(files, i)).join(', ');
      return fallback(`DAMON is present but holds kdamonds uhugepaged did not start — ${which}: adding one rewrites every kdamond directory and is refused (EBUSY) while any runs, and uhugepaged leaves others' kdamonds alone`, cleanedUp);
    }
    const sampler = DamonSysfsSampler.setUp(files, opts.stateFile, opts.onError);
    return { sampler, reason: 'DAMON\'s sysfs interface: a kdamond of uhugepaged\'s own with vaddr operations, one target per sampled process', cleanedUp };
  } catch (e) {
    if (!(e instanceof KernelPortError)) throw e;
    return fallback(`DAMON refused: ${e.message}`, cleanedUp);
  }
}
