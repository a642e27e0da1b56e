/**
 * What a decision log says, folded in one pass (records arrive streamed, so nothing but counters and
 * per-region maps is kept): outcomes by class, errno and call size; repeated EAGAIN on one region;
 * regions collapsed again soon after a collapse (churn: the huge page was split, e.g. by a fork);
 * per-cycle saturation of the budgets, guard trips, kill-switch time and pacing; the classes and comms
 * seen; policy changes and rejections. The findings (findings.ts) are read from these counters.
 *
 * Record shapes are those of daemon/telemetry/decision-log.ts and the engine's 'started' record; a
 * record of another kind is ignored, a field of the wrong type reads as absent.
 */
import type { LogRecord } from './log-reader.js';

/** A region collapsed again within this time of its last collapse counts as churn, ms. */
export const CHURN_WINDOW_MS = 10 * 60_000;
/** Sample log places kept per condition. */
export const SAMPLES = 3;
const REGION_BYTES = 2 * 1024 * 1024;

/** Calls and regions of one class (or call size) by outcome; failures by errno. */
export interface OutcomeCounts {
  calls: number;
  okCalls: number;
  partialCalls: number;
  failedCalls: number;
  /** Regions asked for, and regions the calls reported done. */
  regions: number;
  regionsDone: number;
  /** Failed calls by errno. */
  readonly errnos: Record<string, number>;
  /** Sum of call latencies, ms. */
  latencyMs: number;
}

/** One cycle condition: how many cycles showed it, candidates skipped for it, and where. */
export interface CycleCondition {
  cycles: number;
  skips: number;
  readonly samples: string[];
}

/** Call-size buckets (regions per call), for the outcome table by region size. */
export const CALL_SIZES = ['1', '2-7', '8-63', '64+'] as const;

const newOutcomes = (): OutcomeCounts => ({ calls: 0, okCalls: 0, partialCalls: 0, failedCalls: 0, regions: 0, regionsDone: 0, errnos: {}, latencyMs: 0 });
const newCondition = (): CycleCondition => ({ cycles: 0, skips: 0, samples: [] });
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function callSize(regions: number): (typeof CALL_SIZES)[number] {
  if (regions <= 1) return '1';
  if (regions < 8) return '2-7';
  if (regions < 64) return '8-63';
  return '64+';
}

/** Where a record is, for evidence: `cycle 35 (t=30.0s)`. */
export function place(cycle: number | undefined, t: number | undefined): string {
  const at = t === undefined ? '' : `t=${(t / 1000).toFixed(1)}s`;
  if (cycle === undefined) return at;
  return at === '' ? `cycle ${cycle}` : `cycle ${cycle} (${at})`;
}

function addSample(samples: string[], s: string): void {
  if (samples.length < SAMPLES) samples.push(s);
}

/** The counters of a log (see the file comment); feed records with {@link LogStats.add}. */
export class LogStats {
  records = 0;
  firstT: number | undefined;
  lastT: number | undefined;
  /** Policy files named by 'started' records. */
  readonly policyFiles: string[] = [];
  readonly byClass = new Map<string, OutcomeCounts>();
  readonly bySize = new Map<string, OutcomeCounts>();
  readonly all: OutcomeCounts = newOutcomes();
  /** class → comm → calls. */
  readonly commsByClass = new Map<string, Map<string, number>>();
  /** Classes named in skip counts. */
  readonly classesSkipped = new Set<string>();
  /** EAGAIN failures per `pid:region`. */
  readonly eagainByRegion = new Map<string, number>();
  readonly eagainSamples: string[] = [];
  /** Successful collapse calls (by their first region), and those whose region was collapsed again within the churn window. */
  regionsCollapsed = 0;
  churned = 0;
  readonly churnSamples: string[] = [];
  private readonly lastCollapse = new Map<string, number>();
  // Cycles.
  cycles = 0;
  cyclesWithFailures = 0;
  plannedSum = 0;
  candidatesSum = 0;
  /** Cycles where the collapse budget stopped the walk while nothing failed, and the candidates then waiting. */
  readonly budgetSaturated = newCondition();
  readonly budgetWaiting: number[] = [];
  readonly observeSaturated = newCondition();
  /** reason → condition, for guards (guard:*, node:*, cgroup-*). */
  readonly guardTrips = new Map<string, CycleCondition>();
  /** reason → class → skips, every reason. */
  readonly skips = new Map<string, Map<string, number>>();
  killSwitchCycles = 0;
  killSwitchMs = 0;
  readonly killSwitchSamples: string[] = [];
  /** nextIntervalMs → cycles. */
  readonly intervals = new Map<number, number>();
  /** Cycles with no candidate at all. */
  idleCycles = 0;
  readonly policyChanges: { place: string; changes: unknown }[] = [];
  readonly policyRejections: { place: string; file: string; problems: string[] }[] = [];

  /** Folds one record in. */
  add(rec: LogRecord): void {
    this.records++;
    const t = num(rec.t);
    if (t !== undefined) {
      this.firstT = this.firstT === undefined ? t : Math.min(this.firstT, t);
      this.lastT = this.lastT === undefined ? t : Math.max(this.lastT, t);
    }
    switch (rec.message) {
      case 'decision':
        this.decision(rec, t);
        break;
      case 'cycle':
        this.cycle(rec, t);
        break;
      case 'started': {
        const policy = str(rec.policy);
        if (policy !== undefined && !this.policyFiles.includes(policy)) this.policyFiles.push(policy);
        break;
      }
      case 'policy changed':
        this.policyChanges.push({ place: place(undefined, t), changes: rec.changes });
        break;
      case 'policy rejected, the previous one stays':
        this.policyRejections.push({ place: place(undefined, t), file: str(rec.file) ?? '?', problems: Array.isArray(rec.problems) ? rec.problems.map(String) : [] });
        break;
      default:
        break;
    }
  }

  /** Simulated (or daemon) time the log covers, ms. */
  get spanMs(): number {
    return this.firstT === undefined || this.lastT === undefined ? 0 : this.lastT - this.firstT;
  }

  private decision(rec: LogRecord, t: number | undefined): void {
    const action = str(rec.action);
    if (action === 'dry-run') return;
    const cls = str(rec.class) ?? '?';
    const regions = num(rec.regions) ?? 1;
    const outcome = str(rec.outcome) ?? 'ok';
    const errno = str(rec.errno);
    const bytes = num(rec.bytes) ?? (outcome === 'ok' ? regions * REGION_BYTES : 0);
    const done = Math.min(regions, Math.floor(bytes / REGION_BYTES));
    const latency = num(rec.latencyMs) ?? 0;
    let classCounts = this.byClass.get(cls);
    if (classCounts === undefined) this.byClass.set(cls, (classCounts = newOutcomes()));
    let sizeCounts = this.bySize.get(callSize(regions));
    if (sizeCounts === undefined) this.bySize.set(callSize(regions), (sizeCounts = newOutcomes()));
    for (const c of [this.all, classCounts, sizeCounts]) {
      c.calls++;
      c.regions += regions;
      c.regionsDone += done;
      c.latencyMs += latency;
      if (outcome === 'failed') {
        c.failedCalls++;
        const e = errno ?? 'EIO';
        c.errnos[e] = (c.errnos[e] ?? 0) + 1;
      } else if (outcome === 'partial') c.partialCalls++;
      else c.okCalls++;
    }
    const comm = str(rec.comm);
    if (comm !== undefined) {
      let comms = this.commsByClass.get(cls);
      if (comms === undefined) this.commsByClass.set(cls, (comms = new Map<string, number>()));
      comms.set(comm, (comms.get(comm) ?? 0) + 1);
    }
    const pid = num(rec.pid);
    const start = typeof rec.region === 'string' ? Number.parseInt(rec.region, 16) : num(rec.region);
    if (pid === undefined || start === undefined || Number.isNaN(start)) return;
    const at = place(num(rec.cycle), t);
    if (outcome === 'failed' && errno === 'EAGAIN') {
      const key = `${pid}:0x${start.toString(16)}`;
      const n = (this.eagainByRegion.get(key) ?? 0) + 1;
      this.eagainByRegion.set(key, n);
      if (n === 2) addSample(this.eagainSamples, `${at}: pid ${pid} region 0x${start.toString(16)} EAGAIN again`);
    }
    // A call's regions need not be contiguous (iovec batches): only its first region is known, so
    // churn is counted on first regions of successful collapse calls.
    if (action !== 'collapse' || outcome === 'failed' || t === undefined) return;
    const key = `${pid}:${start}`;
    const last = this.lastCollapse.get(key);
    this.regionsCollapsed++;
    if (last !== undefined && t - last <= CHURN_WINDOW_MS) {
      this.churned++;
      addSample(this.churnSamples, `${at}: pid ${pid} region 0x${start.toString(16)} collapsed again ${((t - last) / 1000).toFixed(1)}s after the last time`);
    }
    this.lastCollapse.set(key, t);
  }

  private cycle(rec: LogRecord, t: number | undefined): void {
    this.cycles++;
    const cycle = num(rec.cycle);
    const at = place(cycle, t);
    const failed = num(rec.failed) ?? 0;
    const candidates = num(rec.candidates) ?? 0;
    if (failed > 0) this.cyclesWithFailures++;
    this.plannedSum += num(rec.planned) ?? 0;
    this.candidatesSum += candidates;
    if (candidates === 0) this.idleCycles++;
    const next = num(rec.nextIntervalMs);
    if (next !== undefined) this.intervals.set(next, (this.intervals.get(next) ?? 0) + 1);
    if (rec.killSwitch === true) {
      this.killSwitchCycles++;
      this.killSwitchMs += next ?? 0;
      addSample(this.killSwitchSamples, at);
    }
    const skipped = typeof rec.skipped === 'object' && rec.skipped !== null ? (rec.skipped as Record<string, unknown>) : {};
    for (const [reason, byClassRaw] of Object.entries(skipped)) {
      if (typeof byClassRaw !== 'object' || byClassRaw === null) continue;
      let total = 0;
      let byClass = this.skips.get(reason);
      if (byClass === undefined) this.skips.set(reason, (byClass = new Map<string, number>()));
      for (const [cls, n] of Object.entries(byClassRaw as Record<string, unknown>)) {
        const count = num(n) ?? 0;
        total += count;
        byClass.set(cls, (byClass.get(cls) ?? 0) + count);
        this.classesSkipped.add(cls);
      }
      if (total === 0) continue;
      const detail = `${at}: ${total} skipped for ${reason}, ${candidates} candidates, ${num(rec.planned) ?? 0} planned`;
      if (reason === 'budget' && failed === 0) {
        this.budgetSaturated.cycles++;
        this.budgetSaturated.skips += total;
        this.budgetWaiting.push(total);
        addSample(this.budgetSaturated.samples, detail);
      } else if (reason === 'observe-budget') {
        this.observeSaturated.cycles++;
        this.observeSaturated.skips += total;
        addSample(this.observeSaturated.samples, detail);
      } else if (isGuardReason(reason)) {
        let g = this.guardTrips.get(reason);
        if (g === undefined) this.guardTrips.set(reason, (g = newCondition()));
        g.cycles++;
        g.skips += total;
        addSample(g.samples, detail);
      }
    }
  }
}

/** Skip reasons that are guards: machine-wide (guard:*), per node (node:*) or per cgroup. */
export function isGuardReason(reason: string): boolean {
  return reason.startsWith('guard:') || reason.startsWith('node:') || reason === 'node-no-memory' || reason === 'cgroup-near-limit' || reason === 'cgroup-full';
}
