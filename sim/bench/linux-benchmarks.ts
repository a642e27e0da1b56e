/**
 * The Linux keys of `uhugepaged bench --linux`: issue 9's goals, measured with the real daemon
 * (`uhugepaged run --kernel linux`, the shipped policy, logs at warn, a process of its own) against real
 * child processes on this host's kernel. The children (linux-hot-child.ts) are Node processes that
 * never madvise their memory, so with THP `enabled=madvise` only the daemon can make it huge.
 *
 *   linuxCatchUp1GiBSec          a child keeps writing every page of 1 GiB; seconds from the daemon's
 *                                spawn until the region is ≥ 95% THP-backed (its smaps entry, polled
 *                                every 100 ms), and the daemon's CPU time until then
 *   linuxRandomRead4GiBSpeedup   a child times random reads over 4 GiB in 0.5 s windows: the median
 *                                before the daemon ran over the median once the daemon made the region
 *                                ≥ 95% THP-backed and was stopped (so that it does not share the CPU)
 *   linuxSteady100ProcsCpuPct    100 children of 32 MiB each; once all are ≥ 95% THP-backed and the
 *   linuxSteady100ProcsRssMiB    policy's catch-up window is over, the daemon's CPU (its process, plus a
 *                                kdamond of its own if DAMON was free) over a 30 s window as % of one
 *                                CPU, and its RSS at the end
 *
 * A key is null, with the reason in `linuxNotes` (and printed), where its subject cannot be measured:
 * not Linux, not root, no MADV_COLLAPSE, too little free memory, the region huge before the daemon ran
 * (THP `enabled=always`), or the goal state not reached within a bound. Each runs once: they take tens
 * of seconds, and the rates are already medians of windows.
 */
import { availableParallelism, loadavg, platform } from 'node:os';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadPolicy } from '../../daemon/config/policy.js';
import { shippedPolicyFile } from '../../daemon/config/policy-store.js';
import { probeMadvCollapse } from '../../daemon/kernel-port/linux/feature-probes.js';
import { parseKeyValueKb } from '../../daemon/kernel-port/procfs-parsers.js';
import { MIN_SAMPLED_BYTES } from '../../daemon/observe/process-table.js';
import { CAUGHT_UP_FRACTION, cpuPercent, readSpeedup } from './linux-bench-figures.js';
import { BenchProcesses, nextWindows, startDaemon, startHotChild, type HotChild } from './linux-bench-processes.js';
import type { Progress } from './kernel-benchmarks.js';

/** The sizes measured: issue 9's by default; smaller ones (hidden `--linux-sizes`) to try the bench out. */
export interface LinuxBenchSizes {
  readonly catchUpMiB: number;
  readonly readMiB: number;
  readonly procs: number;
  readonly procMiB: number;
  readonly windowSec: number;
}

/**
 * The steady-state children hold the least anonymous memory the daemon samples at all
 * (MIN_SAMPLED_BYTES, 32 MiB: below 16 regions it judges huge pages not worth their cost) in their
 * region alone: with 8 MiB regions (~18 MiB of anonymous memory with Node's own) it never looks at
 * them, and "everything collapsed" would never come.
 */
export const LINUX_BENCH_SIZES: LinuxBenchSizes = { catchUpMiB: 1024, readMiB: 4096, procs: 100, procMiB: MIN_SAMPLED_BYTES / (1024 * 1024), windowSec: 30 };

/** `catchUpMiB=256,readMiB=512,procs=10,procMiB=32,windowSec=10` (any subset) over the defaults. */
export function parseLinuxSizes(spec: string): LinuxBenchSizes {
  const sizes: Record<string, number> = { ...LINUX_BENCH_SIZES };
  for (const part of spec.split(',').filter((p) => p.trim() !== '')) {
    const m = /^\s*(\w+)\s*=\s*(\d+)\s*$/.exec(part);
    if (m === null || !(m[1] in LINUX_BENCH_SIZES)) throw new RangeError(`expected NAME=N with NAME one of ${Object.keys(LINUX_BENCH_SIZES).join(', ')}; got "${part}"`);
    const n = Number(m[2]);
    const megabytes = m[1].endsWith('MiB');
    if (n < 1 || (megabytes && (n < 2 || (n & (n - 1)) !== 0))) throw new RangeError(`${m[1]} must be ${megabytes ? 'a power of two ≥ 2' : '≥ 1'}; got ${n}`);
    sizes[m[1]] = n;
  }
  return sizes as unknown as LinuxBenchSizes;
}

/** What the Linux benchmarks report. */
export interface LinuxBenchResults {
  linuxCatchUp1GiBSec: number | null;
  /** The daemon's CPU time from its spawn until the region was caught up, ms. */
  linuxCatchUp1GiBDaemonCpuMs: number | null;
  linuxRandomRead4GiBSpeedup: number | null;
  linuxRandomRead4GiBNsBefore: number | null;
  linuxRandomRead4GiBNsAfter: number | null;
  linuxSteady100ProcsCpuPct: number | null;
  linuxSteady100ProcsRssMiB: number | null;
  /** The daemon's peak RSS (VmHWM) over its run, catch-up included, MiB. */
  linuxSteady100ProcsPeakRssMiB: number | null;
  /** The sizes measured (the keys are named for the defaults). */
  linuxSizes: LinuxBenchSizes;
  /** The daemon's policy file: the shipped one unless a trial gave another. */
  linuxPolicy: string;
  /** The host's 1-minute load average when the benchmarks started and ended: they mean little on a busy host. */
  linuxLoadAvg: { start: number; end: number } | null;
  /** Why each null key is null. */
  linuxNotes: Record<string, string>;
}

/** Results with every key null for one reason (the benchmarks were not run, or cannot run here). */
export function linuxBenchUnmeasured(reason: string, sizes: LinuxBenchSizes = LINUX_BENCH_SIZES): LinuxBenchResults {
  const keys = ['linuxCatchUp1GiBSec', 'linuxRandomRead4GiBSpeedup', 'linuxSteady100ProcsCpuPct', 'linuxSteady100ProcsRssMiB'];
  return {
    linuxCatchUp1GiBSec: null, linuxCatchUp1GiBDaemonCpuMs: null,
    linuxRandomRead4GiBSpeedup: null, linuxRandomRead4GiBNsBefore: null, linuxRandomRead4GiBNsAfter: null,
    linuxSteady100ProcsCpuPct: null, linuxSteady100ProcsRssMiB: null, linuxSteady100ProcsPeakRssMiB: null,
    linuxSizes: sizes,
    linuxPolicy: 'shipped',
    linuxLoadAvg: null,
    linuxNotes: Object.fromEntries(keys.map((k) => [k, reason])),
  };
}

/** Why none of the Linux benchmarks can run on this host, or undefined. */
export function linuxBenchUnavailable(): string | undefined {
  if (platform() !== 'linux') return `not Linux (${platform()})`;
  if (process.getuid?.() !== 0) return 'not root: the daemon calls process_madvise on other processes and writes their clear_refs';
  const collapse = probeMadvCollapse();
  if (collapse !== 'ok') return `MADV_COLLAPSE is refused on this kernel (${collapse})`;
  return undefined;
}

/** Why `mib` MiB more cannot be had without pushing the host into reclaim, or undefined. */
function tooLittleMemory(mib: number): string | undefined {
  const availableMiB = (parseKeyValueKb(readFileSync('/proc/meminfo', 'utf8')).get('MemAvailable') ?? 0) / 1024;
  // A tenth of the host's memory beyond what is needed stays free: the shipped policy's minFreeMemory
  // guard (5%) would otherwise stop the daemon, and nothing else on the host is pushed out.
  const totalMiB = (parseKeyValueKb(readFileSync('/proc/meminfo', 'utf8')).get('MemTotal') ?? 0) / 1024;
  const needed = mib + totalMiB / 10;
  return availableMiB < needed ? `needs ${Math.round(mib)} MiB and a tenth of memory spare (${Math.round(needed)} MiB), only ${Math.round(availableMiB)} MiB available` : undefined;
}

/** Polls `done` every `everyMs` until it holds or `limitMs` passed; whether it held. */
async function pollUntil(done: () => boolean, everyMs: number, limitMs: number): Promise<boolean> {
  const until = performance.now() + limitMs;
  for (;;) {
    if (done()) return true;
    if (performance.now() > until) return false;
    await sleep(everyMs);
  }
}

const pct = (f: number): string => `${(100 * f).toFixed(1)}%`;
const pad = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
/** Node's own memory in each child, beyond its region, MiB (a margin: about 45 MiB here). */
const CHILD_OVERHEAD_MIB = 64;
const CATCH_UP_LIMIT_MS = 60_000;
const READ_LIMIT_MS = 240_000;
const STEADY_LIMIT_MS = 90_000;
const READ_WINDOW_MS = 500;
const READ_WINDOWS = 5;
/** Children started at once: a hundred Node start-ups at a time would stall a small host for seconds. */
const SPAWN_BATCH = 10;

/** A reason the region cannot measure the daemon: it was already huge. */
function alreadyHuge(child: HotChild): string | undefined {
  const f = child.hugeFraction();
  return f > 1 - CAUGHT_UP_FRACTION ? `the region was ${pct(f)} THP-backed before the daemon started (THP enabled=always?): there is nothing for it to do` : undefined;
}

async function benchCatchUp(procs: BenchProcesses, sizes: LinuxBenchSizes, progress: Progress): Promise<{ sec: number; cpuMs: number } | string> {
  progress(`linux: a child writing every page of ${sizes.catchUpMiB} MiB; the daemon until ≥ ${pct(CAUGHT_UP_FRACTION)} of it is THP-backed`);
  const child = await startHotChild(procs, sizes.catchUpMiB, 0, 0);
  try {
    const huge = alreadyHuge(child);
    if (huge !== undefined) return huge;
    const daemon = startDaemon(procs, CATCH_UP_LIMIT_MS + 30_000);
    try {
      const reached = await pollUntil(() => child.hugeFraction() >= CAUGHT_UP_FRACTION, 100, CATCH_UP_LIMIT_MS);
      const sec = (performance.now() - daemon.startedAt) / 1000;
      const cpuMs = daemon.cpuMs();
      if (!reached) return `not ${pct(CAUGHT_UP_FRACTION)} THP-backed within ${CATCH_UP_LIMIT_MS / 1000} s of the daemon's start (${pct(child.hugeFraction())} was)`;
      return { sec, cpuMs };
    } finally {
      await daemon.stop();
    }
  } finally {
    await child.stop();
  }
}

async function benchRandomRead(procs: BenchProcesses, sizes: LinuxBenchSizes, progress: Progress): Promise<ReturnType<typeof readSpeedup> | string> {
  progress(`linux: a child timing random reads over ${sizes.readMiB} MiB, before the daemon and once it made the region THP-backed`);
  const child = await startHotChild(procs, sizes.readMiB, READ_WINDOW_MS, 0);
  try {
    const limit = READ_WINDOWS * READ_WINDOW_MS * 4 + 30_000;
    // The first window is skipped: it runs while the JIT compiles the loop.
    const before = await nextWindows(child, READ_WINDOWS, 1, limit);
    const huge = alreadyHuge(child);
    if (huge !== undefined) return huge;
    const daemon = startDaemon(procs, READ_LIMIT_MS + 30_000);
    let reached: boolean;
    try {
      reached = await pollUntil(() => child.hugeFraction() >= CAUGHT_UP_FRACTION, 250, READ_LIMIT_MS);
    } finally {
      await daemon.stop();
    }
    if (!reached) return `not ${pct(CAUGHT_UP_FRACTION)} THP-backed within ${READ_LIMIT_MS / 1000} s of the daemon's start (${pct(child.hugeFraction())} was)`;
    // The window in progress when the daemon stopped is skipped: part of it ran in small pages.
    const after = await nextWindows(child, READ_WINDOWS, 1, limit);
    progress(`linux: ${pct(child.hugeFraction())} THP-backed for the windows after`);
    return readSpeedup(before, after);
  } finally {
    await child.stop();
  }
}

async function benchSteady(procs: BenchProcesses, sizes: LinuxBenchSizes, progress: Progress): Promise<{ cpuPct: number; rssMiB: number; peakMiB: number } | string> {
  progress(`linux: ${sizes.procs} children of ${sizes.procMiB} MiB each; the daemon's CPU and RSS over ${sizes.windowSec} s once all are THP-backed`);
  const children: HotChild[] = [];
  try {
    for (let i = 0; i < sizes.procs; i += SPAWN_BATCH) {
      const n = Math.min(SPAWN_BATCH, sizes.procs - i);
      // Each child writes its region every 500 ms: hot (2 accesses a second per page, over the shipped
      // policy's 1/s for runtimes) at a few % of a CPU for all of them together.
      children.push(...(await Promise.all(Array.from({ length: n }, () => startHotChild(procs, sizes.procMiB, 0, 500)))));
    }
    const huge = children.map(alreadyHuge).find((r) => r !== undefined);
    if (huge !== undefined) return huge;
    const catchUpMs = loadPolicy(procs.policyFile).budgets.catchUp.duration;
    const daemon = startDaemon(procs, STEADY_LIMIT_MS + catchUpMs + sizes.windowSec * 1000 + 30_000);
    try {
      const caughtUp = (): number => children.filter((c) => c.hugeFraction() >= CAUGHT_UP_FRACTION).length;
      const reached = await pollUntil(() => caughtUp() === children.length, 1000, STEADY_LIMIT_MS);
      if (!reached) return `${caughtUp()} of ${children.length} children ≥ ${pct(CAUGHT_UP_FRACTION)} THP-backed within ${STEADY_LIMIT_MS / 1000} s of the daemon's start`;
      progress(`linux: all ${children.length} caught up ${((performance.now() - daemon.startedAt) / 1000).toFixed(1)} s after the daemon's start; measuring after its ${catchUpMs / 1000} s catch-up window`);
      await sleep(Math.max(0, daemon.startedAt + catchUpMs - performance.now()));
      const cpu0 = daemon.cpuMs();
      const t0 = performance.now();
      await sleep(sizes.windowSec * 1000);
      const cpuMs = daemon.cpuMs() - cpu0;
      const wallMs = performance.now() - t0;
      const { rssMiB, peakMiB } = daemon.rss();
      return { cpuPct: cpuPercent(cpuMs, wallMs), rssMiB, peakMiB };
    } finally {
      await daemon.stop();
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

/** Runs a benchmark; a failure becomes the reason its keys are null. */
async function attempt<T>(memoryMiB: number, run: () => Promise<T | string>): Promise<T | string> {
  const short = tooLittleMemory(memoryMiB);
  if (short !== undefined) return short;
  try {
    return await run();
  } catch (e) {
    return `failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Runs the Linux benchmarks on this host (root, Linux); every child and daemon is gone when it resolves. */
export async function runLinuxBenchmarks(sizes: LinuxBenchSizes, progress: Progress, policyFile = shippedPolicyFile): Promise<LinuxBenchResults> {
  const unavailable = linuxBenchUnavailable();
  if (unavailable !== undefined) return linuxBenchUnmeasured(unavailable, sizes);
  const r = linuxBenchUnmeasured('', sizes);
  r.linuxNotes = {};
  if (policyFile !== shippedPolicyFile) {
    r.linuxPolicy = policyFile;
    progress(`linux: the daemon runs policy ${policyFile}, not the shipped one: a trial of the benchmark, not issue 9's figures`);
  }
  const load = (): number => pad(loadavg()[0], 2);
  const loadAtStart = load();
  progress(`linux: load average ${loadAtStart} on ${availableParallelism()} CPUs at the start`);
  const procs = new BenchProcesses(policyFile);
  try {
    const catchUp = await attempt(sizes.catchUpMiB + CHILD_OVERHEAD_MIB, () => benchCatchUp(procs, sizes, progress));
    if (typeof catchUp === 'string') r.linuxNotes.linuxCatchUp1GiBSec = catchUp;
    else [r.linuxCatchUp1GiBSec, r.linuxCatchUp1GiBDaemonCpuMs] = [pad(catchUp.sec, 2), Math.round(catchUp.cpuMs)];
    const read = await attempt(sizes.readMiB + CHILD_OVERHEAD_MIB, () => benchRandomRead(procs, sizes, progress));
    if (typeof read === 'string') r.linuxNotes.linuxRandomRead4GiBSpeedup = read;
    else [r.linuxRandomRead4GiBSpeedup, r.linuxRandomRead4GiBNsBefore, r.linuxRandomRead4GiBNsAfter] = [pad(read.ratio, 2), pad(read.beforeNs, 1), pad(read.afterNs, 1)];
    const steady = await attempt(sizes.procs * (sizes.procMiB + CHILD_OVERHEAD_MIB), () => benchSteady(procs, sizes, progress));
    if (typeof steady === 'string') r.linuxNotes.linuxSteady100ProcsCpuPct = r.linuxNotes.linuxSteady100ProcsRssMiB = steady;
    else [r.linuxSteady100ProcsCpuPct, r.linuxSteady100ProcsRssMiB, r.linuxSteady100ProcsPeakRssMiB] = [pad(steady.cpuPct, 2), Math.round(steady.rssMiB), Math.round(steady.peakMiB)];
  } finally {
    procs.dispose();
  }
  r.linuxLoadAvg = { start: loadAtStart, end: load() };
  return r;
}
