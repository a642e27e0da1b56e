/**
 * The processes the daemon watches, cheapest signals first:
 *
 *   every cycle     the pid list (/proc), and for each new pid its identity (status, cgroup) and class;
 *                   for classified processes not yet sampled, their anonymous RSS (status RssAnon), and
 *                   sampling is started once it reaches `MIN_SAMPLED_BYTES`; for sampled ones, the
 *                   sampling regions, folded into the process's hot map;
 *   now and then    smaps_rollup (a page-table walk: it costs what the process maps) of processes that
 *                   have candidates, at most every `ROLLUP_REFRESH_MS`, for the huge pages they hold,
 *                   and with it the node the process runs on (/proc/PID/stat);
 *   full rescan     identities again (an exec changes the comm), and smaps_rollup of every process.
 *
 * A process that exits between the pid list and a read is simply forgotten: every read may fail with
 * ESRCH or ENOENT, and none of those failures is an error of the daemon.
 */
import type { ClassMatcher, ClassOutcome, ProcessIdentity } from '../decide/classes.js';
import { readIdentity } from '../decide/classes.js';
import { KernelPortError, type KernelPort, type SamplingAttrs } from '../kernel-port/kernel-port.js';
import { parseSmapsRollup, parseStatus } from '../kernel-port/procfs-parsers.js';
import { HotMap } from './hot-map.js';

/**
 * The access sampling the daemon asks for: a check of each region every 20 ms, counted over 2 s
 * aggregations (S = 100, so a page touched once a second is seen about twice per aggregation), VMAs
 * re-read every 60 s (DAMON's own default), and at most one region per 2 MiB of the process's anonymous
 * memory, between 10 and 200: sampling finer than the unit a collapse works on buys nothing. At 200
 * regions that is 10 000 checks a second, a few ms of CPU (DAMON costs a few hundred ns per check): a
 * deliberate trade of resolution for cost against DAMON's defaults (5 ms, 100 ms, 1000 regions).
 */
export const SAMPLING_ATTRS: SamplingAttrs = {
  sampleIntervalMs: 20,
  aggrIntervalMs: 2000,
  updateIntervalMs: 60_000,
  minNrRegions: 10,
  maxNrRegions: 200,
};

/** The sampling attributes for a process of `anonBytes`: regions scaled to its size (see SAMPLING_ATTRS). */
export function samplingAttrsFor(anonBytes: number): SamplingAttrs {
  const regions = Math.floor(anonBytes / (2 * 1024 * 1024));
  return { ...SAMPLING_ATTRS, maxNrRegions: Math.max(SAMPLING_ATTRS.minNrRegions, Math.min(SAMPLING_ATTRS.maxNrRegions, regions)) };
}

/** Sampling is restarted with more regions once a process has grown this many times over. */
export const SAMPLING_REGROW_FACTOR = 4;

/** Anonymous memory a process needs before it is sampled: below 16 regions, huge pages buy little. */
export const MIN_SAMPLED_BYTES = 32 * 1024 * 1024;

/** smaps_rollup of a process is read again at most this often (ms). */
export const ROLLUP_REFRESH_MS = 120_000;

const KiB = 1024;

/** One watched process. */
export interface TrackedProcess {
  readonly pid: number;
  identity: ProcessIdentity;
  outcome: ClassOutcome;
  readonly hot: HotMap;
  sampling: boolean;
  /** From the last smaps_rollup read (or status, before any): bytes. */
  anonBytes: number;
  hugeBytes: number;
  /** Daemon time of the last smaps_rollup read (−∞ before the first). */
  rollupAt: number;
  /** Daemon time the hot map last took a sampling read (−∞ before the first). */
  sampledAt: number;
  /** The node it runs on, as of the last smaps_rollup read. */
  homeNode: number;
  /** The anonymous size sampling was started for (its region count follows from it). */
  sampledForBytes: number;
}

/** Whether an error is a process that went away (the pid is gone, or its files are). */
export function isGone(e: unknown): e is KernelPortError {
  return e instanceof KernelPortError && (e.errno === 'ESRCH' || e.errno === 'ENOENT' || e.errno === 'EINVAL');
}

export class ProcessTable {
  private readonly tracked = new Map<number, TrackedProcess>();
  /** Pids seen that are of no class (or could not be read): not looked at again until a rescan. */
  private readonly ignored = new Set<number>();

  constructor(
    private readonly port: KernelPort,
    private readonly nodeOf: (pid: number) => number,
  ) {}

  /** The processes of a class that are not excluded. */
  *eligible(): IterableIterator<TrackedProcess> {
    for (const p of this.tracked.values()) if (p.outcome !== undefined && !p.outcome.excluded) yield p;
  }

  /** Whether any process is under access sampling (or about to be: eligible ones are sampled as they are seen). */
  anySampled(): boolean {
    for (const p of this.eligible()) if (p.sampling) return true;
    return false;
  }

  /** Every tracked process (classified or excluded). */
  all(): IterableIterator<TrackedProcess> {
    return this.tracked.values();
  }

  get(pid: number): TrackedProcess | undefined {
    return this.tracked.get(pid);
  }

  /**
   * Takes in new processes and drops exited ones; returns the pids dropped (whose other state the
   * caller must forget too).
   */
  refresh(matcher: ClassMatcher): number[] {
    const live = new Set(this.port.listPids());
    const gone: number[] = [];
    for (const pid of this.tracked.keys()) if (!live.has(pid)) gone.push(pid);
    for (const pid of this.ignored) if (!live.has(pid)) this.ignored.delete(pid);
    for (const pid of gone) this.drop(pid);
    for (const pid of live) {
      if (this.tracked.has(pid) || this.ignored.has(pid) || pid === this.port.selfPid) continue;
      this.admit(pid, matcher);
    }
    return gone;
  }

  /** A new policy: every process is classified again (identities are kept). */
  reclassify(matcher: ClassMatcher): void {
    this.ignored.clear();
    for (const p of this.tracked.values()) {
      p.outcome = matcher.classify(p.identity);
      if (p.outcome === undefined || p.outcome.excluded) this.stopSampling(p);
    }
  }

  /**
   * A full rescan: identities are read again (an exec changes the comm) and smaps_rollup is due. Huge
   * marks stay: the rollup read drops them whenever the process holds fewer huge bytes than they claim.
   * Returns the pids that went away.
   */
  rescan(matcher: ClassMatcher): number[] {
    const gone: number[] = [];
    this.ignored.clear();
    for (const p of this.tracked.values()) {
      try {
        p.identity = readIdentity(this.port, p.pid);
      } catch (e) {
        if (!isGone(e)) throw e;
        gone.push(p.pid);
        continue;
      }
      p.outcome = matcher.classify(p.identity);
      if (p.outcome === undefined || p.outcome.excluded) this.stopSampling(p);
      p.rollupAt = Number.NEGATIVE_INFINITY;
    }
    for (const pid of gone) this.drop(pid);
    return gone;
  }

  /**
   * Starts sampling the eligible processes that grew big enough and folds the sampled regions of the
   * others into their hot maps — once per aggregation interval, so that no aggregation counts twice.
   * The readings due are taken stalest first while `mayRead` allows (the observation budget: on a real
   * host without DAMON a reading is a walk of the process's page tables, 80 ms for one with a thousand
   * mappings); the rest stay due for a later cycle. Returns the pids found gone, whether any hot map
   * changed, whether a hot map got its first regions (a process the ranking has never seen), and
   * how many of the readings left for a later cycle would have been such a first one.
   */
  sample(now: number, mayRead: () => boolean = () => true): { gone: number[]; updated: boolean; firstReading: boolean; firstDeferred: number } {
    const gone: number[] = [];
    const due: TrackedProcess[] = [];
    for (const p of this.eligible()) {
      try {
        if (!p.sampling) this.maybeStartSampling(p);
        if (p.sampling && now - p.sampledAt >= SAMPLING_ATTRS.aggrIntervalMs) due.push(p);
      } catch (e) {
        if (!isGone(e)) throw e;
        gone.push(p.pid);
      }
    }
    if (due.length > 1) due.sort((a, b) => a.sampledAt - b.sampledAt);
    let updated = false;
    let firstReading = false;
    let read = 0;
    for (const p of due) {
      if (!mayRead()) break;
      read++;
      try {
        const empty = p.hot.size === 0;
        p.hot.update(this.port.accessRegions(p.pid), SAMPLING_ATTRS, now);
        firstReading ||= empty && p.hot.size > 0;
        p.sampledAt = now;
        updated = true;
      } catch (e) {
        if (!isGone(e)) throw e;
        gone.push(p.pid);
      }
    }
    for (const pid of gone) this.drop(pid);
    return { gone, updated, firstReading, firstDeferred: due.slice(read).filter((p) => p.hot.size === 0).length };
  }

  /**
   * Reads smaps_rollup of a process if the last read is older than ROLLUP_REFRESH_MS: its anonymous
   * and huge bytes. Huge marks claiming more than the process holds are stale and are dropped. Returns
   * false when the process is gone (it is then forgotten).
   */
  refreshRollup(p: TrackedProcess, now: number, force = false): boolean {
    if (!force && now - p.rollupAt < ROLLUP_REFRESH_MS) return true;
    try {
      const rollup = parseSmapsRollup(this.port.readFile(`/proc/${p.pid}/smaps_rollup`)).fields;
      p.anonBytes = (rollup.get('Anonymous') ?? 0) * KiB;
      p.hugeBytes = (rollup.get('AnonHugePages') ?? 0) * KiB;
      p.rollupAt = now;
      p.homeNode = this.nodeOf(p.pid);
      if (p.hot.hugeBytes > p.hugeBytes) p.hot.clearHuge();
      if (p.sampling && p.anonBytes >= SAMPLING_REGROW_FACTOR * p.sampledForBytes && samplingAttrsFor(p.sampledForBytes).maxNrRegions < SAMPLING_ATTRS.maxNrRegions) {
        // It grew: sample it again with regions for its new size (the hot map carries over).
        this.stopSampling(p);
        this.startSampling(p);
      }
      return true;
    } catch (e) {
      if (!isGone(e)) throw e;
      this.drop(p.pid);
      return false;
    }
  }

  /** Forgets a process: stops its sampling. */
  drop(pid: number): void {
    const p = this.tracked.get(pid);
    if (p === undefined) return;
    this.stopSampling(p);
    this.tracked.delete(pid);
  }

  /** Stops every sampling the daemon started (at shutdown). */
  stopAll(): void {
    for (const p of this.tracked.values()) this.stopSampling(p);
  }

  get size(): number {
    return this.tracked.size;
  }

  private admit(pid: number, matcher: ClassMatcher): void {
    let identity: ProcessIdentity;
    try {
      identity = readIdentity(this.port, pid);
    } catch (e) {
      if (!isGone(e) && !(e instanceof KernelPortError && e.errno === 'EACCES')) throw e;
      this.ignored.add(pid);
      return;
    }
    const outcome = matcher.classify(identity);
    if (outcome === undefined) {
      this.ignored.add(pid);
      return;
    }
    this.tracked.set(pid, { pid, identity, outcome, hot: new HotMap(), sampling: false, anonBytes: 0, hugeBytes: 0, rollupAt: Number.NEGATIVE_INFINITY, sampledAt: Number.NEGATIVE_INFINITY, homeNode: 0, sampledForBytes: 0 });
  }

  private maybeStartSampling(p: TrackedProcess): void {
    const status = parseStatus(this.port.readFile(`/proc/${p.pid}/status`));
    p.anonBytes = (status.kb.get('RssAnon') ?? status.kb.get('VmRSS') ?? 0) * KiB;
    if (p.anonBytes < MIN_SAMPLED_BYTES) return;
    this.startSampling(p);
  }

  private startSampling(p: TrackedProcess): void {
    try {
      this.port.startSampling(p.pid, samplingAttrsFor(p.anonBytes));
    } catch (e) {
      // EBUSY: sampled already (by an earlier run of the daemon, say); its regions serve as well.
      if (!(e instanceof KernelPortError && e.errno === 'EBUSY')) throw e;
    }
    p.sampling = true;
    p.sampledForBytes = p.anonBytes;
  }

  private stopSampling(p: TrackedProcess): void {
    if (!p.sampling) return;
    this.port.stopSampling(p.pid);
    p.sampling = false;
  }
}
