// The actuator: a plan carried out on a fake kernel port — one process_madvise per batch, a short count
// advised again from where it stopped with each failing region's own errno, ESRCH failing what is left
// at once, migrations before collapses, dry runs that make no call at all, and `concurrency` processes
// worked on at a time (marble tests on rxjs's TestScheduler, asserting when each call was subscribed and
// unsubscribed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map, of, throwError, VirtualTimeScheduler, type Observable, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Actuator, type ActOptions, type RegionOutcome } from '../../../daemon/act/actuator.js';
import { PidfdCache } from '../../../daemon/act/pidfd-cache.js';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { REGION_BYTES, type RegionFacts } from '../../../daemon/decide/candidate.js';
import type { PlannedCollapse } from '../../../daemon/decide/planner.js';
import { KernelPortError, type MadviseResult } from '../../../daemon/kernel-port/kernel-port.js';
import type { Clock } from '../../../daemon/schedule/clock.js';
import { DaemonMetrics } from '../../../daemon/telemetry/daemon-metrics.js';
import { DecisionLog } from '../../../daemon/telemetry/decision-log.js';
import { CapturingLoggerFactory, type Captured } from '../../support/capturing-logger.js';
import { FakeKernelPort } from '../../support/fake-kernel-port.js';

const BASE = 0x4000_0000;
const at = (i: number): number => BASE + i * REGION_BYTES;
const db = parsePolicy("version: 1\nclasses:\n  - name: db\n    match: { comm: ['db*'] }\n", 'p.yaml').classes[0];
const facts: RegionFacts = { present: 512, none: 0, swapped: 0, shared: 0, huge: false, nodePages: [512, 0] };

/** A planned collapse of region `i` of `pid`, with a score and (optionally) a migration first. */
function planOf(pid: number, i: number, o: { score?: number; migrateTo?: number; collapse?: boolean } = {}): PlannedCollapse {
  const process = { pid, comm: `db${pid}`, cls: db, cgroup: '/', cgroupHierarchy: 'v2' as const, homeNode: 0, anonBytes: 0, hugeBytes: 0, hotBytes: 0, hotHugeBytes: 0, smallPageAccessesPerSec: 0 };
  const score = o.score ?? 1;
  return {
    candidate: { process, region: at(i), accessRate: 10, ageMs: 0, facts, targetNode: 0 },
    target: { pid, region: at(i), node: 0, cgroup: '/', fingerprint: '' },
    score, components: { rate: score }, migrateTo: o.migrateTo, collapse: o.collapse ?? true,
  };
}

interface Fixture {
  actuator: Actuator;
  port: FakeKernelPort;
  metrics: DaemonMetrics;
  entries: Captured[];
  decisions(): Captured[];
}

function setUp(scheduler: SchedulerLike & { now(): number } = new VirtualTimeScheduler(), pids: readonly number[] = [10]): Fixture {
  const clock: Clock = { now: () => scheduler.now(), scheduler };
  const port = new FakeKernelPort(clock);
  for (const pid of pids) port.spawn({ pid, comm: `db${pid}` });
  const loggers = new CapturingLoggerFactory();
  const metrics = new DaemonMetrics();
  const actuator = new Actuator(port, clock, new PidfdCache(port), new DecisionLog(loggers, clock), metrics);
  return { actuator, port, metrics, entries: loggers.entries, decisions: () => loggers.entries.filter((e) => e.message === 'decision') };
}

const opts = (o: Partial<ActOptions> = {}): ActOptions => ({ cycle: 1, dryRun: false, concurrency: 1, ...o });

/** Collects what a synchronous observable emits (every fake call here answers at once). */
function collect<T>(o: Observable<T>): T[] {
  const out: T[] = [];
  let completed = false;
  const sub = o.subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
  sub.unsubscribe();
  assert.ok(completed, 'the observable completed synchronously');
  return out;
}

/** A call that advised `regions` regions (of however many it was given). */
const short = (regions: number): Observable<MadviseResult> => of({ bytes: regions * REGION_BYTES, latencyMs: 2 });
const fail = (errno: string): Observable<MadviseResult> => throwError(() => new KernelPortError(errno, 'process_madvise'));
const brief = (o: RegionOutcome): string => `${(o.plan.target.region - BASE) / REGION_BYTES}:${o.action}:${o.outcome}${o.errno ? `:${o.errno}` : ''}`;
const iovs = (port: FakeKernelPort): number[][] => port.callsOf('process_madvise').map((c) => (c.detail as number[]).map((b) => (b - BASE) / REGION_BYTES));

test('a batch wholly done: one call, one ok decision record for all its regions, the metrics counted', async () => {
  const fx = setUp();
  const plan = [planOf(10, 0, { score: 6 }), planOf(10, 1, { score: 3 }), planOf(10, 2, { score: 0 })];
  const outcomes = collect(fx.actuator.act(plan, opts({ cycle: 7 })));
  assert.deepEqual(outcomes.map(brief), ['0:collapse:ok', '1:collapse:ok', '2:collapse:ok']);
  assert.ok(outcomes.every((o) => o.callRegions === 3 && o.latencyMs === 1));
  assert.deepEqual(iovs(fx.port), [[0, 1, 2]]);
  assert.equal(fx.port.callsOf('pidfd_open').length, 1);
  const [rec, ...more] = fx.decisions();
  assert.equal(more.length, 0);
  assert.deepEqual(
    { cycle: rec.cycle, pid: rec.pid, class: rec.class, region: rec.region, regions: rec.regions, score: rec.score, components: rec.components, action: rec.action, outcome: rec.outcome, bytes: rec.bytes, errno: rec.errno },
    { cycle: 7, pid: 10, class: 'db', region: `0x${at(0).toString(16)}`, regions: 3, score: 3, components: { rate: 3 }, action: 'collapse', outcome: 'ok', bytes: 3 * REGION_BYTES, errno: undefined },
  );
  const text = await fx.metrics.text();
  assert.match(text, /uhugepaged_collapses_total\{class="db",outcome="ok",errno=""\} 3/);
  assert.match(text, new RegExp(`uhugepaged_collapsed_bytes_total\\{class="db"\\} ${3 * REGION_BYTES}`));
});

test('a short count: the rest is advised again from where it stopped, each failing region gets its own errno, later ones are still tried', () => {
  const fx = setUp();
  const answers = [short(2), fail('EAGAIN'), fail('EINVAL'), short(1), fail('ENOMEM')];
  fx.port.madvise = () => answers.shift()!;
  const outcomes = collect(fx.actuator.act([0, 1, 2, 3, 4, 5].map((i) => planOf(10, i, { score: 10 - i })), opts()));
  assert.deepEqual(iovs(fx.port), [[0, 1, 2, 3, 4, 5], [2, 3, 4, 5], [3, 4, 5], [4, 5], [5]]);
  assert.deepEqual(outcomes.map(brief), ['0:collapse:ok', '1:collapse:ok', '2:collapse:failed:EAGAIN', '3:collapse:failed:EINVAL', '4:collapse:ok', '5:collapse:failed:ENOMEM']);
  assert.deepEqual(fx.decisions().map((d) => [d.outcome, d.regions, d.errno ?? '']), [['ok', 2, ''], ['failed', 1, 'EAGAIN'], ['failed', 1, 'EINVAL'], ['ok', 1, ''], ['failed', 1, 'ENOMEM']]);
  assert.deepEqual(fx.decisions().filter((d) => d.outcome === 'failed').map((d) => d.level), ['warn', 'warn', 'warn']);
});

test('a call that makes no progress and reports no error counts its first region as busy and goes on', () => {
  const fx = setUp();
  const answers = [short(0), short(1)];
  fx.port.madvise = () => answers.shift()!;
  const outcomes = collect(fx.actuator.act([planOf(10, 0), planOf(10, 1)], opts()));
  assert.deepEqual(outcomes.map(brief), ['0:collapse:failed:EAGAIN', '1:collapse:ok']);
  assert.equal(fx.port.callsOf('process_madvise').length, 2);
});

test('ESRCH fails every remaining region at once, in one record, with no further call', () => {
  const fx = setUp();
  const answers = [short(1), fail('ESRCH')];
  fx.port.madvise = () => answers.shift()!;
  const outcomes = collect(fx.actuator.act([0, 1, 2, 3].map((i) => planOf(10, i)), opts()));
  assert.deepEqual(outcomes.map(brief), ['0:collapse:ok', '1:collapse:failed:ESRCH', '2:collapse:failed:ESRCH', '3:collapse:failed:ESRCH']);
  assert.equal(fx.port.callsOf('process_madvise').length, 2);
  assert.deepEqual(fx.decisions().map((d) => [d.outcome, d.regions, d.errno ?? '']), [['ok', 1, ''], ['failed', 3, 'ESRCH']]);
});

test('a process gone before its pidfd is opened: its regions fail with ESRCH and nothing is advised', () => {
  const fx = setUp(new VirtualTimeScheduler(), []);
  const outcomes = collect(fx.actuator.act([planOf(10, 0), planOf(10, 1)], opts()));
  assert.deepEqual(outcomes.map(brief), ['0:collapse:failed:ESRCH', '1:collapse:failed:ESRCH']);
  assert.equal(fx.port.callsOf('process_madvise').length, 0);
});

test('dry run: not one kernel call, not even pidfd_open; every planned region is logged as a dry-run decision', () => {
  const fx = setUp(new VirtualTimeScheduler(), [10, 20]);
  const plan = [planOf(10, 0, { migrateTo: 0 }), planOf(20, 0), planOf(10, 1), planOf(20, 1, { migrateTo: 1, collapse: false })];
  const outcomes = collect(fx.actuator.act(plan, opts({ dryRun: true, concurrency: 4 })));
  assert.deepEqual(fx.port.calls, []);
  assert.equal(outcomes.length, 4);
  assert.ok(outcomes.every((o) => o.action === 'dry-run' && o.outcome === 'ok'));
  const decisions = fx.decisions();
  assert.equal(decisions.length, 4);
  assert.ok(decisions.every((d) => d.action === 'dry-run' && d.regions === 1));
});

test('migrations come first, then one collapse of the process’s regions in the planner’s order (best first)', () => {
  const fx = setUp();
  const plan = [planOf(10, 0, { score: 10, migrateTo: 0 }), planOf(10, 2, { score: 7, migrateTo: 0, collapse: false }), planOf(10, 1, { score: 5 })];
  const outcomes = collect(fx.actuator.act(plan, opts()));
  assert.deepEqual(fx.port.calls.filter((c) => c.name !== 'pidfd_open').map((c) => c.name), ['move_pages', 'move_pages', 'process_madvise']);
  assert.deepEqual(iovs(fx.port), [[0, 1]], 'the migrated region first: a short count should leave the weakest undone');
  assert.deepEqual(outcomes.map(brief), ['0:migrate:ok', '2:migrate:ok', '0:collapse:ok', '1:collapse:ok']);
  assert.deepEqual(fx.decisions().map((d) => [d.action, d.outcome, d.regions]), [['migrate', 'ok', 1], ['migrate', 'ok', 1], ['collapse', 'ok', 2]]);
});

test('a migration that leaves most pages elsewhere is a failure, and that region is not collapsed', () => {
  const fx = setUp();
  const statuses = [
    // Half moved: the huge page would come from either node.
    [...new Array<number>(256).fill(0), ...new Array<number>(256).fill(1)],
    // Most present pages moved (absent ones, −ENOENT, do not count).
    [...new Array<number>(300).fill(0), ...new Array<number>(112).fill(1), ...new Array<number>(100).fill(-2)],
  ];
  fx.port.move = () => {
    const status = statuses.shift();
    return status === undefined ? throwError(() => new KernelPortError('ENOMEM', 'move_pages')) : of(status);
  };
  const outcomes = collect(fx.actuator.act([planOf(10, 0, { migrateTo: 0 }), planOf(10, 1, { migrateTo: 0 }), planOf(10, 2, { migrateTo: 0 })], opts()));
  // The third migration fails in move_pages itself.
  assert.deepEqual(outcomes.map(brief), ['0:migrate:failed:EAGAIN', '1:migrate:ok', '2:migrate:failed:ENOMEM', '1:collapse:ok']);
  assert.deepEqual(iovs(fx.port), [[1]]);
});

test('marble: each migration’s latency is its own, not the time it waited behind the one before', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  const fx = setUp(scheduler);
  scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
    const moved = cold<number[]>('5ms (a|)', { a: new Array<number>(512).fill(0) });
    const collapsed = cold<MadviseResult>('2ms (a|)', { a: { bytes: 2 * REGION_BYTES, latencyMs: 2 } });
    fx.port.move = () => moved;
    fx.port.madvise = () => collapsed;
    const out = fx.actuator.act([planOf(10, 0, { migrateTo: 0 }), planOf(10, 1, { migrateTo: 0 })], opts()).pipe(map(brief));
    expectObservable(out).toBe('5ms a 4ms b 1ms (cd|)', { a: '0:migrate:ok', b: '1:migrate:ok', c: '0:collapse:ok', d: '1:collapse:ok' });
    expectSubscriptions(moved.subscriptions).toBe(['^ 4ms !', '5ms ^ 4ms !']);
    expectSubscriptions(collapsed.subscriptions).toBe('10ms ^ 1ms !');
  });
  assert.deepEqual(fx.decisions().map((d) => [d.action, d.latencyMs]), [['migrate', 5], ['migrate', 5], ['collapse', 2]]);
});

test('marble: with concurrency 1 two processes’ calls never overlap; with 2 they run together', () => {
  for (const concurrency of [1, 2]) {
    const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
    const fx = setUp(scheduler, [10, 20]);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const calls = new Map([10, 20].map((pid) => [pid, cold<MadviseResult>('3ms (a|)', { a: { bytes: REGION_BYTES, latencyMs: 3 } })]));
      fx.port.madvise = (pid) => calls.get(pid)!;
      const out = fx.actuator.act([planOf(10, 0), planOf(20, 0)], opts({ concurrency })).pipe(map((o) => String(o.plan.target.pid)));
      if (concurrency === 1) {
        expectObservable(out).toBe('3ms a 2ms (b|)', { a: '10', b: '20' });
        expectSubscriptions(calls.get(10)!.subscriptions).toBe('^ 2ms !');
        expectSubscriptions(calls.get(20)!.subscriptions).toBe('3ms ^ 2ms !');
      } else {
        expectObservable(out).toBe('3ms (ab|)', { a: '10', b: '20' });
        expectSubscriptions(calls.get(10)!.subscriptions).toBe('^ 2ms !');
        expectSubscriptions(calls.get(20)!.subscriptions).toBe('^ 2ms !');
      }
    });
  }
});

test('marble: unsubscribing the actions mid-call unsubscribes the call in flight and starts no other', () => {
  const scheduler = new TestScheduler((a, b) => assert.deepEqual(a, b));
  const fx = setUp(scheduler, [10, 20]);
  scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
    const call = cold<MadviseResult>('10ms (a|)', { a: { bytes: REGION_BYTES, latencyMs: 10 } });
    fx.port.madvise = () => call;
    expectObservable(fx.actuator.act([planOf(10, 0), planOf(20, 0)], opts()).pipe(map(brief)), '^ 4ms !').toBe('');
    expectSubscriptions(call.subscriptions).toBe('^ 4ms !');
  });
  assert.equal(fx.port.callsOf('process_madvise').length, 1);
});
