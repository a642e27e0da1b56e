/**
 * The arithmetic of the Linux benchmarks (linux-benchmarks.ts), apart from the processes it reads, so
 * that it is tested on its own: how much of a region is THP-backed from smaps, CPU time from stat,
 * the random-read speed-up from the child's timed windows.
 */
import { parseSmaps, parseStat, parseStatus } from '../../daemon/kernel-port/procfs-parsers.js';

/**
 * Clock ticks per second of /proc/PID/stat's times: USER_HZ, which Linux fixes at 100 for user space
 * on every architecture Node runs on (sysconf(_SC_CLK_TCK)), whatever the kernel's own HZ.
 */
export const USER_HZ = 100;

/** A region at least this THP-backed counts as caught up (issue 9: "≥ 95% THP-backed"). */
export const CAUGHT_UP_FRACTION = 0.95;

/**
 * The share (0–1) of the `bytes` at `addr` mapped by THPs: AnonHugePages of the VMA that starts at
 * `addr`, over `bytes`. Undefined when no VMA starts there (the child is gone, or the region is not
 * one VMA of its own, which the child's guard pages rule out).
 */
export function regionHugeFraction(smapsText: string, addr: number, bytes: number): number | undefined {
  const vma = parseSmaps(smapsText).find((v) => v.start === addr);
  if (vma === undefined) return undefined;
  return ((vma.fields.get('AnonHugePages') ?? 0) * 1024) / bytes;
}

/** User plus system CPU time of a process from its /proc/PID/stat, ms. */
export function statCpuMs(statText: string): number {
  const s = parseStat(statText);
  return ((s.utime + s.stime) * 1000) / USER_HZ;
}

/** VmRSS and VmHWM of a process from its /proc/PID/status, MiB. */
export function statusRssMiB(statusText: string): { rssMiB: number; peakMiB: number } {
  const kb = parseStatus(statusText).kb;
  return { rssMiB: (kb.get('VmRSS') ?? 0) / 1024, peakMiB: (kb.get('VmHWM') ?? 0) / 1024 };
}

/** The median (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** CPU time over wall time, as a percentage of one CPU. */
export function cpuPercent(cpuMs: number, wallMs: number): number {
  if (wallMs <= 0) throw new RangeError(`wall time must be positive, got ${wallMs}`);
  return (100 * cpuMs) / wallMs;
}

/** The random-read figures: the median ns per read of the windows before and after, and their ratio. */
export interface ReadSpeedup {
  readonly beforeNs: number;
  readonly afterNs: number;
  /** beforeNs / afterNs: above 1 when reads got faster. */
  readonly ratio: number;
}

/** The speed-up from the child's windows before the daemon ran and after its region was THP-backed. */
export function readSpeedup(beforeNs: readonly number[], afterNs: readonly number[]): ReadSpeedup {
  const before = median(beforeNs);
  const after = median(afterNs);
  if (!(after > 0)) throw new RangeError(`ns per read after must be positive, got ${after}`);
  return { beforeNs: before, afterNs: after, ratio: before / after };
}
