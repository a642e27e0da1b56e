/**
 * Acting on a plan: for each process, in the order of its best planned region, the regions that must
 * first move to their process's node are migrated (move_pages), then all of its regions are collapsed
 * with process_madvise(MADV_COLLAPSE) through its pidfd, as few calls as Linux's limits allow
 * (iovec-batches.ts). Processes are worked on `concurrency` at a time, each one's calls in order.
 *
 * A call returns the bytes done, iovecs in order, and fails only when its first region fails; so after
 * a short count the rest is advised again from the region where it stopped, and that call's error is
 * that region's errno. Every region thus ends with its own outcome at the cost of one extra call per
 * failure. Each call is one decision record: its regions, their mean score and components, latency.
 *
 * With `dryRun`, nothing is called — not even pidfd_open — and each planned region is logged as a
 * 'dry-run' decision.
 */
import { concat, defer, EMPTY, from, map, mergeMap, of, catchError, type Observable } from 'rxjs';
import type { PlannedCollapse } from '../decide/planner.js';
import { PAGES_PER_REGION } from '../decide/candidate.js';
import { KernelPortError, type KernelPort } from '../kernel-port/kernel-port.js';
import type { Clock } from '../schedule/clock.js';
import type { DaemonMetrics } from '../telemetry/daemon-metrics.js';
import type { DecisionLog } from '../telemetry/decision-log.js';
import { batchProgress, iovecBatches, REGION_BYTES, type IovecBatch } from './iovec-batches.js';
import type { PidfdCache } from './pidfd-cache.js';

const PAGE_BYTES = 4096;

/** What became of one planned region. */
export interface RegionOutcome {
  readonly plan: PlannedCollapse;
  readonly action: 'collapse' | 'migrate' | 'dry-run';
  readonly outcome: 'ok' | 'failed';
  readonly errno?: string;
  /** Latency of the call that decided it (ms, daemon clock), shared by the regions of that call. */
  readonly latencyMs: number;
  /** Regions in that call. */
  readonly callRegions: number;
  /** The first outcome of its call (a call's latency is counted once, with it). */
  readonly firstOfCall: boolean;
}

export interface ActOptions {
  readonly cycle: number;
  readonly dryRun: boolean;
  readonly concurrency: number;
}

export class Actuator {
  constructor(
    private readonly port: KernelPort,
    private readonly clock: Clock,
    private readonly pidfds: PidfdCache,
    private readonly log: DecisionLog,
    private readonly metrics: DaemonMetrics,
  ) {}

  /** Carries out the plan; emits one outcome per region (and per migration), completes when done. */
  act(plan: readonly PlannedCollapse[], opts: ActOptions): Observable<RegionOutcome> {
    const groups = new Map<number, PlannedCollapse[]>();
    for (const p of plan) {
      const g = groups.get(p.target.pid);
      if (g === undefined) groups.set(p.target.pid, [p]);
      else g.push(p);
    }
    return from(groups.values()).pipe(mergeMap((g) => (opts.dryRun ? this.dryRun(g, opts.cycle) : this.actOnProcess(g, opts.cycle)), Math.max(1, opts.concurrency)));
  }

  private dryRun(group: readonly PlannedCollapse[], cycle: number): Observable<RegionOutcome> {
    return defer(() => {
      for (const p of group) this.record(cycle, [p], 'dry-run', 'ok', undefined, 0, 0);
      return from(group.map((plan): RegionOutcome => ({ plan, action: 'dry-run', outcome: 'ok', latencyMs: 0, callRegions: 1, firstOfCall: true })));
    });
  }

  private actOnProcess(group: readonly PlannedCollapse[], cycle: number): Observable<RegionOutcome> {
    const pid = group[0].target.pid;
    // What may be collapsed: the regions without a migration, and those whose migration succeeded.
    const ready = new Set(group.filter((p) => p.migrateTo === undefined));
    const migrations = group
      .filter((p) => p.migrateTo !== undefined)
      .map((p) =>
        this.migrate(p, cycle).pipe(
          map((o) => {
            if (o.outcome === 'ok' && p.collapse) ready.add(p);
            return o;
          }),
        ),
      );
    return concat(
      ...migrations,
      defer(() => {
        // The planner's order (best first), migrated regions in their place, so that a short count
        // leaves the weakest undone.
        const toCollapse = group.filter((p) => ready.has(p));
        if (toCollapse.length === 0) return EMPTY;
        let fd: number;
        try {
          fd = this.pidfds.get(pid);
        } catch (e) {
          if (!(e instanceof KernelPortError)) throw e;
          return from(toCollapse.map((plan) => this.failed(cycle, [plan], 'collapse', e.errno, 0)));
        }
        return this.collapse(fd, toCollapse, cycle);
      }),
    );
  }

  /** Collapses `plans` (one process) from the first: one call, then again from where it stopped. */
  private collapse(fd: number, plans: readonly PlannedCollapse[], cycle: number): Observable<RegionOutcome> {
    if (plans.length === 0) return EMPTY;
    const batches = iovecBatches(plans.map((p) => p.target.region));
    const batch: IovecBatch = batches[0];
    const inBatch = plans.slice(0, batch.iov.length);
    const rest = plans.slice(batch.iov.length);
    const start = this.clock.now();
    return this.port.processMadvise(fd, batch.iov, 'MADV_COLLAPSE').pipe(
      mergeMap((res) => {
        const { done } = batchProgress(batch, res.bytes);
        // No progress without an error is not something Linux does; treat the region as busy rather than loop.
        if (done === 0) return concat(of(this.failed(cycle, [inBatch[0]], 'collapse', 'EAGAIN', res.latencyMs)), this.collapse(fd, [...inBatch.slice(1), ...rest], cycle));
        const ok = inBatch.slice(0, done);
        if (ok.length > 0) this.record(cycle, ok, 'collapse', 'ok', undefined, res.latencyMs, res.bytes);
        const outcomes = ok.map((plan, i): RegionOutcome => ({ plan, action: 'collapse', outcome: 'ok', latencyMs: res.latencyMs, callRegions: ok.length, firstOfCall: i === 0 }));
        return concat(from(outcomes), this.collapse(fd, [...inBatch.slice(done), ...rest], cycle));
      }),
      catchError((e: unknown) => {
        if (!(e instanceof KernelPortError)) throw e;
        const latencyMs = this.clock.now() - start;
        // The process is gone: every remaining region fails the same way, in one record.
        if (e.errno === 'ESRCH') return from([...inBatch, ...rest].map((plan, i, all) => (i === 0 ? this.failed(cycle, all, 'collapse', e.errno, latencyMs) : { plan, action: 'collapse' as const, outcome: 'failed' as const, errno: e.errno, latencyMs, callRegions: all.length, firstOfCall: false })));
        return concat(of(this.failed(cycle, [inBatch[0]], 'collapse', e.errno, latencyMs)), this.collapse(fd, [...inBatch.slice(1), ...rest], cycle));
      }),
    );
  }

  /** Moves a region's pages to its process's node before the collapse. */
  private migrate(plan: PlannedCollapse, cycle: number): Observable<RegionOutcome> {
    const node = plan.migrateTo!;
    const pages = Array.from({ length: PAGES_PER_REGION }, (_, i) => plan.target.region + i * PAGE_BYTES);
    // Timed from the call, not from when the plan was laid out: migrations of a process run one after another.
    let start = 0;
    return defer(() => {
      start = this.clock.now();
      return this.port.movePages(plan.target.pid, pages, pages.map(() => node));
    }).pipe(
      map((status): RegionOutcome => {
        const latencyMs = this.clock.now() - start;
        const present = status.filter((s) => s >= 0).length;
        const there = status.filter((s) => s === node).length;
        // The collapse takes its huge page where most present pages are: unless that is now `node`,
        // collapsing would make exactly the remote huge page the rule forbids. The pages that stayed
        // were busy, pinned or found no room: the region is tried again later — EAGAIN, the region's
        // errno for the failure memory (EBUSY there means a cgroup that could not be charged, and would
        // hold back every process of the cgroup).
        if (2 * there <= present) return this.failed(cycle, [plan], 'migrate', 'EAGAIN', latencyMs);
        this.record(cycle, [plan], 'migrate', 'ok', undefined, latencyMs, there * PAGE_BYTES);
        return { plan, action: 'migrate', outcome: 'ok', latencyMs, callRegions: 1, firstOfCall: true };
      }),
      catchError((e: unknown) => {
        if (!(e instanceof KernelPortError)) throw e;
        return of(this.failed(cycle, [plan], 'migrate', e.errno, this.clock.now() - start));
      }),
    );
  }

  private failed(cycle: number, plans: readonly PlannedCollapse[], action: 'collapse' | 'migrate', errno: string, latencyMs: number): RegionOutcome {
    this.record(cycle, plans, action, 'failed', errno, latencyMs, 0);
    return { plan: plans[0], action, outcome: 'failed', errno, latencyMs, callRegions: plans.length, firstOfCall: true };
  }

  /** One decision record (and the metrics) for a call over `plans`. */
  private record(cycle: number, plans: readonly PlannedCollapse[], action: RegionOutcome['action'], outcome: 'ok' | 'failed', errno: string | undefined, latencyMs: number, bytes: number): void {
    const first = plans[0].candidate;
    const components: Record<string, number> = {};
    for (const p of plans) for (const [k, v] of Object.entries(p.components)) components[k] = (components[k] ?? 0) + v / plans.length;
    const cls = first.process.cls.name;
    this.log.decision({
      cycle, pid: first.process.pid, comm: first.process.comm, class: cls, region: plans[0].target.region, regions: plans.length,
      score: plans.reduce((s, p) => s + p.score, 0) / plans.length, components, action, outcome,
      ...(errno === undefined ? {} : { errno }), latencyMs, bytes,
    });
    if (action !== 'collapse') return;
    this.metrics.collapses.inc({ class: cls, outcome, errno: errno ?? '' }, outcome === 'ok' ? plans.length : 1);
    if (bytes > 0) this.metrics.bytesCollapsed.inc({ class: cls }, Math.min(bytes, plans.length * REGION_BYTES));
    this.metrics.collapseSeconds.observe({ class: cls }, latencyMs / 1000);
  }
}
