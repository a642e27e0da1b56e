/**
 * The daemon's loop: observe, decide, act — once per pacing interval, on the injected clock, never two
 * cycles at once.
 *
 *   observe  the process table (new and exited processes, their classes, access sampling folded into
 *            hot maps), the guards' machine reading, smaps_rollup of processes with hot memory; its CPU
 *            cost is measured through the kernel port and charged to the observation budget;
 *   decide   the planner ranks and filters candidates (inspecting the best ones' pages within what is
 *            left of the observation budget) — nothing at all while the kill switch is on;
 *   act      the actuator migrates and collapses (or, with --dry-run, only logs); each outcome feeds
 *            back: huge marks, failure memory, pacing, the collapse-time budget.
 *
 * The loop is `defer(cycle)` repeated with a delay of the pacer's current interval (exhaust semantics
 * by construction: the next delay starts when a cycle's actions are all done), ended by `stop$`.
 * Cron schedules from the policy mark a full rescan as due and log a summary. A new policy takes effect
 * at the next cycle, whole: classes are matched again and every budget and guard is rebuilt.
 *
 * With --once the loop ends after the first cycle that had candidates to decide on: on a real host the
 * first access samples take an aggregation interval to arrive, and a cycle before them could only decide
 * nothing. The cycles before it only observe (there is nothing to act on). With no process to sample it
 * is the first cycle, and with nothing hot the last cycle within ONCE_WAIT_MS of sampling's start.
 */
import { inject, injectable } from 'inversify';
import { catchError, defer, EMPTY, finalize, of, map, Observable, repeat, skip, Subject, switchMap, takeUntil, tap, timer, toArray, merge, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import { Actuator, type RegionOutcome } from '../act/actuator.js';
import { PidfdCache } from '../act/pidfd-cache.js';
import { DaemonOptions } from '../config/daemon-options.js';
import { KillSwitch } from '../config/kill-switch.js';
import type { Policy } from '../config/policy-schema.js';
import { PolicyStore } from '../config/policy-store.js';
import { ClassMatcher } from '../decide/classes.js';
import { FailureMemory } from '../decide/failure-memory.js';
import { Guards } from '../decide/guards.js';
import { Pacer } from '../decide/pacing.js';
import { Planner, type PlannedCollapse, type PolicyRanker, type RegionReader } from '../decide/planner.js';
import type { ProcessView } from '../decide/candidate.js';
import { INSPECTION_MS_PRIOR, PolicyBudgets } from '../decide/policy-budgets.js';
import { KernelPort } from '../kernel-port/kernel-port.js';
import { LoopHeartbeat } from '../lifecycle/loop-heartbeat.js';
import type { ManagedService } from '../lifecycle/managed-service.js';
import { ProcessTable, SAMPLING_ATTRS, type TrackedProcess } from '../observe/process-table.js';
import { Clock } from '../schedule/clock.js';
import { CronExpression } from '../schedule/cron-expression.js';
import { CronSource } from '../schedule/cron-source.js';
import { startStopwatch } from '../schedule/stopwatch.js';
import { DaemonMetrics } from '../telemetry/daemon-metrics.js';
import { DecisionLog } from '../telemetry/decision-log.js';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import { DaemonParts } from './daemon-parts.js';

/** Totals since the start (and since the last summary), for the summary log and the run's table. */
export interface DaemonTotals {
  cycles: number;
  collapsed: number;
  collapsedBytes: number;
  migrated: number;
  dryRunDecisions: number;
  failed: Record<string, number>;
  /** Daemon CPU ms spent observing (reads, sampling reads, inspections) and acting (its syscalls). */
  observeCpuMs: number;
  actCpuMs: number;
  /** Wall-clock ms spent in observe+decide code (what the daemon's own logic costs). */
  decideWallMs: number;
}

/**
 * Hot maps change every sampling aggregation (1 s), but smoothly (τ = 5 s): the candidates are ranked
 * again at most this often, ms. Between rankings a cycle walks the standing ranking.
 */
export const RANK_EVERY_MS = 5_000;
/** Share of a second's observation budget that access readings leave for inspections. */
const SAMPLING_RESERVE = 0.3;
/** Candidates a cycle may inspect even with the observation budget spent. */
export const INSPECTIONS_FLOOR = 16;
/** --once waits at most this long after sampling began for a cycle with candidates: three aggregations. */
export const ONCE_WAIT_MS = 3 * SAMPLING_ATTRS.aggrIntervalMs;
/** The guards' machine reading is taken at most this often (cycles may come every 250 ms), ms. */
export const GUARD_READ_MS = 2_000;

const emptyTotals = (): DaemonTotals => ({ cycles: 0, collapsed: 0, collapsedBytes: 0, migrated: 0, dryRunDecisions: 0, failed: {}, observeCpuMs: 0, actCpuMs: 0, decideWallMs: 0 });

@injectable()
export class CollapseDaemon implements ManagedService {
  readonly name = 'collapse-daemon';
  private readonly log: Logger;
  private readonly table: ProcessTable;
  private readonly guards: Guards;
  private readonly failures: FailureMemory;
  private readonly pacer: Pacer;
  private readonly budgets: PolicyBudgets;
  private readonly planner: Planner;
  private readonly actuator: Actuator;
  private readonly pidfds: PidfdCache;
  private readonly reader: RegionReader;
  private readonly ranker: PolicyRanker;
  private readonly homeNode: (pid: number) => number;
  private matcher: ClassMatcher;
  private policy: Policy;
  private cycleNo = 0;
  private rescanDue = false;
  /** The candidates must be ranked again (a process went, the policy changed). */
  private rankDue = true;
  /** --once: this cycle is the one (see the file comment), and when sampling began. */
  private onceReady = false;
  private samplingSince: number | undefined;
  /** A ranking has found candidates since the start. */
  private rankedAny = false;
  private rankedAt = Number.NEGATIVE_INFINITY;
  private guardsReadAt = Number.NEGATIVE_INFINITY;
  /** Collapse attempts (regions) since the guards' last reading: their own compaction stalls are not held against them. */
  private collapseAttempts = 0;
  private msPerInspection = INSPECTION_MS_PRIOR;
  private readonly stop$ = new Subject<void>();
  private subscription: Subscription | undefined;
  private readonly doneSubject = new Subject<void>();
  /** Totals since the start. */
  readonly totals: DaemonTotals = emptyTotals();
  private sinceSummary: DaemonTotals = emptyTotals();

  constructor(
    @inject(KernelPort) private readonly port: KernelPort,
    @inject(Clock) private readonly clock: Clock,
    @inject(PolicyStore) private readonly store: PolicyStore,
    @inject(KillSwitch) private readonly killSwitch: KillSwitch,
    @inject(DecisionLog) private readonly decisions: DecisionLog,
    @inject(DaemonMetrics) private readonly metrics: DaemonMetrics,
    @inject(CronSource) private readonly cron: CronSource,
    @inject(DaemonOptions) private readonly options: DaemonOptions,
    @inject(DaemonParts) parts: DaemonParts,
    @inject(LoggerFactory) loggers: LoggerFactory,
    @inject(LoopHeartbeat) private readonly heartbeat: LoopHeartbeat,
  ) {
    this.log = loggers.forClass('engine', 'CollapseDaemon');
    this.policy = store.current;
    const now = clock.now();
    this.matcher = new ClassMatcher(this.policy.classes);
    this.homeNode = parts.homeNode(port);
    this.table = new ProcessTable(port, this.homeNode);
    this.guards = new Guards(this.policy.guards, port);
    this.failures = new FailureMemory(this.policy.pacing.retry);
    this.pacer = new Pacer(this.policy.pacing);
    this.budgets = new PolicyBudgets(this.policy, now);
    this.pidfds = new PidfdCache(port);
    this.reader = parts.regionReader(port);
    this.ranker = parts.ranker(this.policy);
    this.planner = new Planner({ reader: this.reader, ranker: this.ranker, guards: this.guards, failures: this.failures, budgets: this.budgets, log: this.decisions });
    this.actuator = new Actuator(port, clock, this.pidfds, this.decisions, this.metrics);
  }

  /** Emits once when the daemon stopped on its own (--once) and completes. */
  get done$(): Observable<void> {
    return this.doneSubject.asObservable();
  }

  onStart(): void {
    const cycles$ = defer(() => {
      this.heartbeat.cycleStarted();
      return this.cycle();
    }).pipe(
      // A cycle that fails (a kernel port that throws what it should not, a bug) is logged and the
      // loop goes on: the daemon outlives any one cycle. Its state is what the cycle left.
      catchError((error: unknown) => {
        this.log.error('cycle failed; the next one goes ahead', { cycle: this.cycleNo, error: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
        this.pacer.recordIdle();
        return of(undefined);
      }),
      // Every cycle, failed or not, ends with a beat: the watchdog (lifecycle/sd-notify.ts) tells a
      // live loop from a hung one by these.
      tap(() => this.heartbeat.cycleEnded({ cycle: this.cycleNo, nextIntervalMs: this.nextIntervalMs(), processes: this.table.size, collapsed: this.totals.collapsed })),
      repeat({ delay: () => (this.options.once && this.onceReady ? EMPTY : timer(this.nextIntervalMs(), this.clock.scheduler)) }),
    );
    const policy$ = this.store.changes$.pipe(skip(1), tap((p) => this.reconfigure(p)));
    const schedules$ = this.store.changes$.pipe(
      switchMap((p) =>
        merge(
          this.cron.fires(new CronExpression(p.schedules.fullRescan)).pipe(tap(() => (this.rescanDue = true))),
          this.cron.fires(new CronExpression(p.schedules.summary)).pipe(tap(() => this.summary())),
        ),
      ),
    );
    this.subscription = merge(policy$, schedules$.pipe(map(() => undefined)), cycles$.pipe(finalize(() => this.finish()))).pipe(takeUntil(this.stop$)).subscribe();
    this.log.info('started', { kernel: this.port.kind, dryRun: this.options.dryRun, once: this.options.once, policy: this.store.file });
  }

  onStop(): void {
    this.stop$.next();
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.table.stopAll();
    this.pidfds.closeAll();
    this.summary();
  }

  private finish(): void {
    if (!this.options.once) return;
    this.doneSubject.next();
    this.doneSubject.complete();
  }

  private reconfigure(policy: Policy): void {
    const now = this.clock.now();
    this.policy = policy;
    this.matcher = new ClassMatcher(policy.classes);
    this.table.reclassify(this.matcher);
    this.guards.reconfigure(policy.guards);
    this.failures.reconfigure(policy.pacing.retry);
    this.pacer.reconfigure(policy.pacing);
    this.budgets.reconfigure(policy, now);
    this.ranker.reconfigure(policy);
    this.rankDue = true;
  }

  private forget(pids: readonly number[]): void {
    for (const pid of pids) {
      this.failures.forget(pid);
      this.budgets.forget(pid);
      this.ranker.forget(pid);
      this.pidfds.forget(pid);
      this.planner.forget(pid);
    }
  }

  /** One observe-decide-act cycle; completes when its actions are all done. */
  private cycle(): Observable<void> {
    const now = this.clock.now();
    const cycle = ++this.cycleNo;
    const policy = this.policy;
    const elapsed = startStopwatch();
    const cpu0 = this.port.selfCpuMs();

    // Observe.
    const gone: number[] = [];
    if (this.rescanDue) {
      this.rescanDue = false;
      gone.push(...this.table.rescan(this.matcher));
    }
    gone.push(...this.table.refresh(this.matcher));
    // Access readings take the observation budget first, stalest first, but leave a share of a
    // second's worth for the inspections of the best candidates: a host whose readings cost more than
    // the budget samples its processes less often instead of never deciding.
    const canSpend = this.budgets.observeAvailable(now) - SAMPLING_RESERVE * this.budgets.observeRate(now);
    const sampled = this.table.sample(now, () => this.port.selfCpuMs() - cpu0 < canSpend);
    gone.push(...sampled.gone);
    if (now - this.guardsReadAt >= GUARD_READ_MS) {
      this.guards.read(now, this.collapseAttempts);
      this.collapseAttempts = 0;
      this.guardsReadAt = now;
    }
    const live: TrackedProcess[] = [];
    for (const p of [...this.table.eligible()]) {
      if (!p.sampling || p.hot.size === 0) continue;
      if (this.table.refreshRollup(p, now)) live.push(p);
      else gone.push(p.pid);
    }
    this.forget(gone);
    // Until a ranking has found a candidate (at start, the hot maps are empty) every new sample is
    // ranked at once, rather than RANK_EVERY_MS after a ranking of nothing; so is a process's first
    // sample (its hot memory is news, not the drift of a known process): at start on a real host the
    // first readings of a hundred processes are spread over several cycles by the observation budget.
    const waitingForFirst = !this.rankedAny && sampled.updated;
    if (this.rankDue || waitingForFirst || sampled.firstReading || (sampled.updated && now - this.rankedAt >= RANK_EVERY_MS)) {
      this.planner.rank(live, now);
      this.rankDue = false;
      this.rankedAt = now;
      this.rankedAny ||= this.planner.candidates > 0;
    }
    if (this.options.once && !this.onceReady) {
      const sampling = this.table.anySampled();
      if (sampling) this.samplingSince ??= now;
      this.onceReady = this.planner.candidates > 0 || !sampling || now - (this.samplingSince ?? now) >= ONCE_WAIT_MS;
    }
    const cpuObserved = this.port.selfCpuMs();
    this.budgets.chargeObserveMs(now, cpuObserved - cpu0);
    const observeWallMs = elapsed();

    // Decide.
    let planned: PlannedCollapse[] = [];
    const candidates = this.planner.candidates;
    // Every cycle may inspect a few candidates whatever the readings cost, so that decisions keep coming
    // on a host whose access readings alone use up the observation budget (a few ms a second at most);
    // --once, asked for one whole decision, is not cut short by that budget at all.
    const maxInspections = this.options.once ? Number.POSITIVE_INFINITY : Math.max(INSPECTIONS_FLOOR, this.budgets.inspections(now, this.msPerInspection));
    if (this.killSwitch.active) this.planner.skipAll('kill-switch');
    else planned = this.planner.plan(now, maxInspections, (pid) => this.table.get(pid));
    const cpuDecided = this.port.selfCpuMs();
    const inspectMs = cpuDecided - cpuObserved;
    const inspected = this.killSwitch.active ? 0 : this.planner.inspected;
    this.budgets.chargeObserveMs(now, inspectMs);
    // The cost of one inspection, from the regions this walk actually read (it often stops early, on
    // the collapse budget, long before maxInspections or the end of the ranking).
    if (inspected > 0) this.msPerInspection = Math.max(INSPECTION_MS_PRIOR / 10, (0.8 * this.msPerInspection) + (0.2 * inspectMs) / inspected);
    const decideWallMs = elapsed();
    this.recordObservation(this.planner.processViews, cpuDecided - cpu0, observeWallMs, decideWallMs);

    // A cycle whose candidates wait for budget, or that put off a process's first reading for want of
    // observation budget, is not idle: backing off would leave the budget that refills meanwhile unspent
    // (its buckets hold one second's worth), and new processes unseen. The observation debt bounds how
    // often such cycles come. Readings put off of processes already seen do not count: with every hot
    // region huge, a host whose readings outrun the budget would otherwise never back off.
    if (planned.length > 0 || (!this.killSwitch.active && (this.planner.heldByBudget || sampled.firstDeferred > 0))) this.pacer.recordBusy();
    else if (!this.killSwitch.active) this.pacer.recordIdle();

    // Act.
    return this.actuator.act(planned, { cycle, dryRun: this.options.dryRun, concurrency: policy.budgets.concurrency }).pipe(
      tap((o) => this.apply(o)),
      toArray(),
      map((outcomes) => {
        const actCpuMs = this.port.selfCpuMs() - cpuDecided;
        for (const t of [this.totals, this.sinceSummary]) {
          t.cycles++;
          t.actCpuMs += actCpuMs;
        }
        this.decisions.cycle(cycle, {
          processes: this.table.size, sampled: live.length, candidates, inspected, planned: planned.length,
          collapsed: outcomes.filter((o) => o.action === 'collapse' && o.outcome === 'ok').length,
          failed: outcomes.filter((o) => o.outcome === 'failed').length,
          observeCpuMs: round(cpuDecided - cpu0), actCpuMs: round(actCpuMs), decideWallMs: round(decideWallMs), nextIntervalMs: this.nextIntervalMs(),
          killSwitch: this.killSwitch.active,
        });
      }),
    );
  }

  /**
   * Time until the next cycle: the pacer's interval, or longer while the observation budget is in debt
   * (the inspections a cycle makes whatever the budget, and a reading dearer than forecast, put it
   * there), up to `pacing.maxInterval`.
   */
  private nextIntervalMs(): number {
    const repaid = this.budgets.observeRepaidInMs(this.clock.now());
    return Math.max(this.pacer.intervalMs, Math.min(this.policy.pacing.maxInterval, Math.ceil(repaid)));
  }

  /** Consequences of one outcome: huge marks, failure memory, pacing, budgets, totals. */
  private apply(o: RegionOutcome): void {
    const now = this.clock.now();
    const pid = o.plan.target.pid;
    const cls = o.plan.candidate.process.cls.name;
    const totals = [this.totals, this.sinceSummary];
    if (o.action === 'dry-run') {
      for (const t of totals) t.dryRunDecisions++;
      return;
    }
    this.budgets.chargeCollapseMs(now, cls, o.latencyMs / o.callRegions);
    if (o.action === 'collapse') this.collapseAttempts++;
    if (o.outcome === 'ok') {
      if (o.action === 'collapse') {
        this.table.get(pid)?.hot.markHuge(o.plan.target.region, true);
        // Once per call, with its mean per-region latency: a slow call of many regions is one slow sign.
        if (o.firstOfCall) this.pacer.recordLatency(o.latencyMs / o.callRegions);
      }
      for (const t of totals) {
        if (o.action === 'collapse') {
          t.collapsed++;
          t.collapsedBytes += 2 * 1024 * 1024;
        } else t.migrated++;
      }
      return;
    }
    const errno = o.errno ?? 'EIO';
    for (const t of totals) t.failed[errno] = (t.failed[errno] ?? 0) + 1;
    const verdict = this.failures.record(now, o.plan.target, errno);
    if (verdict.report) this.log.warn('collapse failed', { pid, comm: o.plan.candidate.process.comm, errno, action: o.action });
    if (verdict.forgetProcess) {
      this.table.drop(pid);
      this.forget([pid]);
    }
  }

  /** Per-cycle figures and metrics; `wallMs` is observing and deciding together, `observeWallMs` the first part. */
  private recordObservation(views: readonly ProcessView[], cpuMs: number, observeWallMs: number, wallMs: number): void {
    for (const t of [this.totals, this.sinceSummary]) {
      t.observeCpuMs += cpuMs;
      t.decideWallMs += wallMs;
    }
    const byClass = new Map<string, { hot: number; huge: number }>();
    for (const v of views) {
      const c = byClass.get(v.cls.name) ?? { hot: 0, huge: 0 };
      c.hot += v.hotBytes;
      c.huge += v.hotHugeBytes;
      byClass.set(v.cls.name, c);
    }
    for (const [cls, c] of byClass) this.metrics.hotThpCoverage.set({ class: cls }, c.hot > 0 ? c.huge / c.hot : 0);
    this.metrics.cycleSeconds.observe({ phase: 'observe' }, observeWallMs / 1000);
    this.metrics.cycleSeconds.observe({ phase: 'decide' }, (wallMs - observeWallMs) / 1000);
    const levels = this.budgets.levels(this.clock.now());
    for (const [budget, level] of Object.entries(levels)) this.metrics.budgetUse.set({ budget }, 1 - level);
    const globalBlock = this.guards.globalBlock;
    this.metrics.guardActive.set({ guard: 'memory-pressure', scope: 'global' }, globalBlock === 'memory-pressure' ? 1 : 0);
    this.metrics.guardActive.set({ guard: 'compaction-stalls', scope: 'global' }, globalBlock === 'compaction-stalls' ? 1 : 0);
    for (const r of this.guards.readings) {
      const block = this.guards.nodeBlock(r.node);
      this.metrics.guardActive.set({ guard: 'few-free-huge-pages', scope: `node:${r.node}` }, block === 'few-free-huge-pages' ? 1 : 0);
      this.metrics.guardActive.set({ guard: 'little-free-memory', scope: `node:${r.node}` }, block === 'little-free-memory' ? 1 : 0);
    }
  }

  /**
   * What the daemon holds, in entries: processes watched, hot-map slots, ranked candidates, failure
   * memory, open pidfds. Logged with each summary, so that a long run shows its state staying bounded.
   */
  get stateSizes(): { processes: number; slots: number; ranked: number; failures: number; pidfds: number } {
    let slots = 0;
    for (const p of this.table.all()) slots += p.hot.size;
    return { processes: this.table.size, slots, ranked: this.planner.candidates, failures: this.failures.size, pidfds: this.pidfds.size };
  }

  /** Logs what was done since the last summary. */
  private summary(): void {
    const s = this.sinceSummary;
    this.sinceSummary = emptyTotals();
    this.log.info('summary', { t: this.clock.now(), ...s, observeCpuMs: round(s.observeCpuMs), actCpuMs: round(s.actCpuMs), decideWallMs: round(s.decideWallMs), state: this.stateSizes });
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
