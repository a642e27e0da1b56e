// The planner: candidates from hot maps, ranked by score, walked best first within the collapse budget
// and the observation budget; each one checked against its class's eligibility, NUMA rule, the guards
// and the failure memory, and every candidate not planned counted by reason and class in the cycle
// record. Region facts come from a fake reader (the facts each test chooses), scores from a fake ranker;
// guards, failure memory, budgets and the decision log are the real ones, over a canned kernel port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePolicy } from '../../../daemon/config/policy.js';
import type { Policy } from '../../../daemon/config/policy-schema.js';
import { REGION_BYTES, type Candidate, type RegionFacts } from '../../../daemon/decide/candidate.js';
import { FailureMemory } from '../../../daemon/decide/failure-memory.js';
import { Guards } from '../../../daemon/decide/guards.js';
import { candidatesOf, majorityNode, NODE_RECHECK_MS, Planner, RECHECK_DOUBLINGS, RECHECK_MS, type CandidateRanker, type PlannedCollapse, type RegionReader } from '../../../daemon/decide/planner.js';
import { PolicyBudgets } from '../../../daemon/decide/policy-budgets.js';
import { KernelPortError } from '../../../daemon/kernel-port/kernel-port.js';
import { accessRateOf, HotMap } from '../../../daemon/observe/hot-map.js';
import { SAMPLING_ATTRS, type TrackedProcess } from '../../../daemon/observe/process-table.js';
import { fingerprint } from '../../../daemon/observe/region-inspector.js';
import { DecisionLog } from '../../../daemon/telemetry/decision-log.js';
import { VirtualTimeScheduler } from 'rxjs';
import { CapturingLoggerFactory, type Captured } from '../../support/capturing-logger.js';
import { FakeKernelPort } from '../../support/fake-kernel-port.js';

/** Start address of region `i` of every process. */
const BASE = 0x4000_0000;
const at = (i: number): number => BASE + i * REGION_BYTES;
const hex = (region: number): string => `0x${region.toString(16)}`;

interface PolicyOptions {
  collapsesPerSec?: string;
  dbPerProcess?: string;
  /** db's budgetShare, e.g. '50%' (default none). */
  dbShare?: string;
  guards?: string;
}

/** Two classes: `db` (comm db*, local-only) and `vm` (comm vm*, allow-remote); budgets generous unless given. */
function policyOf(o: PolicyOptions = {}): Policy {
  return parsePolicy(
    `version: 1
classes:
  - name: db
    match: { comm: ['db*'] }
    numa: local-only
    ${o.dbShare === undefined ? '' : `budgetShare: ${o.dbShare}`}
    eligibility: { maxNonePages: 64, maxSwapPages: 0, maxSharedPages: 0, maxCollapsesPerSecPerProcess: ${o.dbPerProcess ?? '1000/s'} }
  - name: vm
    match: { comm: ['vm*'] }
    numa: allow-remote
    eligibility: { maxCollapsesPerSecPerProcess: 1000/s }
budgets: { collapsesPerSec: ${o.collapsesPerSec ?? '1000/s'}, cpuMsPerSec: 1000, catchUp: { duration: 0s } }
${o.guards ?? ''}
`,
    'p.yaml',
  );
}

/** A process of the test: its class, home node, and hot regions as [index, nrAccesses of 100 checks]. */
interface ProcSpec {
  pid: number;
  cls: 'db' | 'vm';
  home?: number;
  hot: readonly (readonly [number, number])[];
}

/** A tracked process whose hot map has seen one sampling read of `spec.hot`. */
function trackedOf(policy: Policy, spec: ProcSpec): TrackedProcess {
  const cls = policy.classes.find((c) => c.name === spec.cls)!;
  const hot = new HotMap();
  const regions = [...spec.hot].sort((a, b) => a[0] - b[0]).map(([i, n]) => ({ start: at(i), end: at(i) + REGION_BYTES, nrAccesses: n, age: 1 }));
  hot.update(regions, SAMPLING_ATTRS, 0);
  const comm = `${spec.cls}${spec.pid}`;
  return {
    pid: spec.pid, identity: { pid: spec.pid, comm, uid: 0, cgroup: '/', cgroupHierarchy: 'v2' }, outcome: { cls, excluded: false }, hot, sampling: true,
    anonBytes: 64 * REGION_BYTES, hugeBytes: 0, rollupAt: 0, sampledAt: 0, homeNode: spec.home ?? 0, sampledForBytes: 64 * REGION_BYTES,
  };
}

/** Facts of a region: all 512 pages present, `nodePages` as given (default all on node 0). */
const factsOf = (f: Partial<RegionFacts> = {}): RegionFacts => ({ present: 512, none: 0, swapped: 0, shared: 0, huge: false, nodePages: [512, 0], ...f });

interface Fixture {
  planner: Planner;
  reader: RegionReader;
  port: FakeKernelPort;
  guards: Guards;
  failures: FailureMemory;
  budgets: PolicyBudgets;
  log: DecisionLog;
  entries: Captured[];
  /** Regions the reader was asked for, as `pid:0xaddr`. */
  reads: string[];
  /** Facts the reader gives, by `pid:0xaddr` (default: factsOf()). */
  facts: Map<string, RegionFacts>;
  /** Scores after inspection, by `pid:0xaddr` (default: the access rate, as before). */
  post: Map<string, number>;
  /** Processes whose inspection throws, and with what errno. */
  failing: Map<number, string>;
  processes: Map<number, TrackedProcess>;
  rank(now?: number): void;
  plan(now?: number, maxInspections?: number): PlannedCollapse[];
  /** Ends the cycle and returns its record's skipped counts. */
  skipped(): Record<string, Record<string, number>>;
}

function setUp(specs: readonly ProcSpec[], opts: { policy?: Policy; level?: string; port?: FakeKernelPort } = {}): Fixture {
  const policy = opts.policy ?? policyOf();
  const scheduler = new VirtualTimeScheduler();
  const clock = { now: () => scheduler.now(), scheduler };
  const port = opts.port ?? new FakeKernelPort(clock);
  const loggers = new CapturingLoggerFactory();
  loggers.root.level = opts.level ?? 'info';
  const log = new DecisionLog(loggers, clock);
  const guards = new Guards(policy.guards, port);
  guards.read(0);
  const failures = new FailureMemory(policy.pacing.retry);
  const budgets = new PolicyBudgets(policy, 0);
  const reads: string[] = [];
  const facts = new Map<string, RegionFacts>();
  const post = new Map<string, number>();
  const failing = new Map<number, string>();
  const key = (pid: number, region: number): string => `${pid}:${hex(region)}`;
  const reader: RegionReader = {
    inspect(pid, region) {
      reads.push(key(pid, region));
      const errno = failing.get(pid);
      if (errno !== undefined) throw new KernelPortError(errno, 'pread');
      return facts.get(key(pid, region)) ?? factsOf();
    },
    fingerprint,
  };
  const ranker: CandidateRanker = {
    beginCycle: () => undefined,
    score: (c: Candidate) => ({ score: c.facts === undefined ? c.accessRate : (post.get(key(c.process.pid, c.region)) ?? c.accessRate), components: { rate: c.accessRate } }),
  };
  const planner = new Planner({ reader, ranker, guards, failures, budgets, log });
  const processes = new Map(specs.map((s) => [s.pid, trackedOf(policy, s)]));
  let cycle = 0;
  return {
    planner, reader, port, guards, failures, budgets, log, entries: loggers.entries, reads, facts, post, failing, processes,
    rank: (now = 0) => planner.rank([...processes.values()], now),
    plan: (now = 0, maxInspections = 1000) => planner.plan(now, maxInspections, (pid) => processes.get(pid)),
    skipped() {
      log.cycle(++cycle, {});
      return loggers.entries.filter((e) => e.message === 'cycle').at(-1)!.skipped as Record<string, Record<string, number>>;
    },
  };
}

const planned = (plan: readonly PlannedCollapse[]): string[] => plan.map((p) => `${p.target.pid}:${hex(p.target.region)}`);
const k = (pid: number, i: number): string => `${pid}:${hex(at(i))}`;

test('candidatesOf: hot regions not known huge are candidates; cold and huge ones are not; views add up what sampling found', () => {
  const policy = policyOf();
  const p = trackedOf(policy, { pid: 10, cls: 'db', hot: [[0, 50], [1, 1], [2, 30], [3, 20]] });
  p.hot.markHuge(at(3), true);
  p.hugeBytes = 4 * REGION_BYTES;
  const cold = trackedOf(policy, { pid: 11, cls: 'db', hot: [[0, 1]] });
  const { views, candidates } = candidatesOf([p, cold]);
  assert.deepEqual(candidates.map((c) => c.c.region).sort((a, b) => a - b), [at(0), at(2)], 'the cold region (0.5/s < 1/s) and the huge one are no candidates');
  assert.equal(views.length, 1, 'a process without hot memory has no view');
  const [v] = views;
  assert.equal(v.hotBytes, 3 * REGION_BYTES);
  assert.equal(v.hotHugeBytes, REGION_BYTES);
  const expected = (accessRateOf(50, SAMPLING_ATTRS) + accessRateOf(30, SAMPLING_ATTRS)) * 512;
  assert.ok(Math.abs(v.smallPageAccessesPerSec - expected) < 1e-9);
  // Huge marks claiming more than the process holds count only what it holds.
  p.hugeBytes = 0;
  assert.equal(candidatesOf([p]).views[0].hotHugeBytes, 0);
});

test('majorityNode: the node holding most present pages, the lowest on ties', () => {
  assert.equal(majorityNode(factsOf({ nodePages: [100, 412] })), 1);
  assert.equal(majorityNode(factsOf({ nodePages: [256, 256] })), 0);
  assert.equal(majorityNode(factsOf({ nodePages: [0, 7, 7, 3] })), 1);
  assert.equal(majorityNode(factsOf({ present: 0, nodePages: [0, 0] })), 0);
  fc.assert(
    fc.property(fc.array(fc.nat(512), { minLength: 1, maxLength: 8 }), (pages) => {
      const n = majorityNode(factsOf({ nodePages: pages }));
      const max = Math.max(...pages);
      return pages[n] === max && pages.indexOf(max) === n;
    }),
  );
});

test('rank orders candidates by score; plan inspects them best first and returns the plan by final score', () => {
  const fx = setUp([
    { pid: 10, cls: 'db', hot: [[0, 10], [1, 40]] },
    { pid: 20, cls: 'db', hot: [[0, 30], [1, 20]] },
  ]);
  fx.rank();
  assert.equal(fx.planner.candidates, 4);
  assert.deepEqual(fx.planner.processViews.map((v) => v.pid), [10, 20]);
  fx.post.set(k(10, 0), 1e6);
  const plan = fx.plan();
  assert.deepEqual(fx.reads, [k(10, 1), k(20, 0), k(20, 1), k(10, 0)], 'inspected in the order of the scores before inspection');
  assert.deepEqual(planned(plan), [k(10, 0), k(10, 1), k(20, 0), k(20, 1)], 'planned in the order of the scores with facts');
  assert.equal(fx.planner.inspected, 4);
  for (const p of plan) {
    assert.equal(p.migrateTo, undefined);
    assert.equal(p.collapse, true);
    assert.equal(p.target.node, 0);
    assert.deepEqual(p.candidate.facts, factsOf());
  }
  assert.deepEqual(fx.skipped(), {});
});

test('the collapse budget stops the walk; the candidates not reached are counted per class, exactly', () => {
  const fx = setUp(
    [
      { pid: 10, cls: 'db', hot: [[0, 90], [1, 70], [2, 50], [3, 30]] },
      { pid: 20, cls: 'vm', hot: [[0, 80], [1, 60], [2, 40], [3, 20]] },
    ],
    { policy: policyOf({ collapsesPerSec: '3/s' }) },
  );
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(10, 0), k(20, 0), k(10, 1)]);
  assert.equal(fx.reads.length, 3, 'nothing is read once the budget is spent');
  assert.deepEqual(fx.skipped(), { budget: { db: 2, vm: 3 } });
  // A second later the bucket holds 3 again; the planned ones wait for their outcome (retry time).
  assert.deepEqual(planned(fx.plan(1000)), [k(20, 1), k(10, 2), k(20, 2)]);
  assert.deepEqual(fx.skipped(), { budget: { db: 1, vm: 1 } });
  assert.equal(fx.budgets.exhausted(1000), true);
});

test('a class reserve goes to the others while the class has no candidates left, and is held again once it has', () => {
  const vmOnly = setUp([{ pid: 20, cls: 'vm', hot: [[0, 80], [1, 60], [2, 40], [3, 20]] }], { policy: policyOf({ collapsesPerSec: '4/s', dbShare: '50%' }) });
  vmOnly.rank();
  assert.deepEqual(planned(vmOnly.plan(0)), [k(20, 0), k(20, 1), k(20, 2), k(20, 3)], 'no db process: its half is lent');
  assert.equal(vmOnly.planner.heldByBudget, false, 'nothing was left waiting');

  const fx = setUp(
    [
      { pid: 10, cls: 'db', hot: [[0, 90]] },
      { pid: 20, cls: 'vm', hot: [[0, 80], [1, 60], [2, 40], [3, 20]] },
    ],
    { policy: policyOf({ collapsesPerSec: '4/s', dbShare: '50%' }) },
  );
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(10, 0), k(20, 0), k(20, 1)], 'db has a candidate: vm gets the unreserved half only');
  assert.equal(fx.planner.heldByBudget, true, 'vm\'s other candidates wait for budget');
  assert.deepEqual(fx.skipped(), { budget: { vm: 2 } });
  fx.processes.get(10)!.hot.markHuge(at(0), true);
  // Half a second on: db's reserve refilled by 1, lent now that db's one region is huge.
  assert.deepEqual(planned(fx.plan(500)), [k(20, 2), k(20, 3)]);
  assert.equal(fx.planner.heldByBudget, false);
});

test('a process at its rate cap is passed over (counted as budget) and the walk goes on to other processes', () => {
  const fx = setUp(
    [
      { pid: 10, cls: 'db', hot: [[0, 90], [1, 80]] },
      { pid: 11, cls: 'db', hot: [[0, 70]] },
    ],
    { policy: policyOf({ dbPerProcess: '1/s' }) },
  );
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(10, 0), k(11, 0)]);
  assert.deepEqual(fx.reads, [k(10, 0), k(11, 0)], 'the capped candidate is not inspected');
  assert.deepEqual(fx.skipped(), { budget: { db: 1 } });
});

test('maxInspections bounds the regions read; the rest are counted as observe-budget', () => {
  const fx = setUp([{ pid: 10, cls: 'db', hot: [[0, 90], [1, 80], [2, 70], [3, 60], [4, 50], [5, 40]] }, { pid: 20, cls: 'vm', hot: [[0, 85]] }]);
  fx.rank();
  assert.deepEqual(planned(fx.plan(0, 2)), [k(10, 0), k(20, 0)]);
  assert.equal(fx.planner.inspected, 2);
  assert.deepEqual(fx.skipped(), { 'observe-budget': { db: 5 } });
  fx.plan(0, 0);
  assert.equal(fx.reads.length, 2, 'no inspection at all when none is allowed');
  assert.deepEqual(fx.skipped(), { 'observe-budget': { db: 6, vm: 1 } }, 'the planned ones wait (retry time) but still count as not reached');
});

test('a region found huge is marked in its hot map; later plans neither inspect nor count it', () => {
  const fx = setUp([{ pid: 10, cls: 'db', hot: [[0, 90], [1, 50], [2, 40]] }], { policy: policyOf({ collapsesPerSec: '1/s' }) });
  fx.facts.set(k(10, 0), factsOf({ huge: true }));
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(10, 1)]);
  assert.equal(fx.processes.get(10)!.hot.get(at(0))?.huge, true);
  assert.deepEqual(fx.skipped(), { 'already-huge': { db: 1 }, budget: { db: 1 } });
  fx.reads.length = 0;
  // Within the retry time the planned region is passed over too; the budget stops the walk at region 2.
  assert.deepEqual(planned(fx.plan(1000)), [k(10, 2)]);
  assert.deepEqual(fx.reads, [k(10, 2)], 'the huge region is not read again');
  assert.deepEqual(fx.skipped(), {});
  fx.plan(1000);
  assert.deepEqual(fx.skipped(), { budget: { db: 2 } }, 'the huge region is settled: not counted among those not reached');
});

test('an ineligible region (none, swapped or shared pages) is left alone for RECHECK_MS, then inspected again, longer each time it is still ineligible', () => {
  const fx = setUp([{ pid: 10, cls: 'db', hot: [[0, 90], [1, 80], [2, 70], [3, 60]] }]);
  fx.facts.set(k(10, 0), factsOf({ present: 447, none: 65 }));
  fx.facts.set(k(10, 1), factsOf({ present: 511, swapped: 1 }));
  fx.facts.set(k(10, 2), factsOf({ shared: 1 }));
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(10, 3)]);
  assert.deepEqual(fx.skipped(), { 'too-many-none-pages': { db: 1 }, 'swapped-pages': { db: 1 }, 'shared-pages': { db: 1 } });
  for (const i of [0, 1, 2]) assert.equal(fx.processes.get(10)!.hot.get(at(i))?.retryAt, RECHECK_MS);
  fx.reads.length = 0;
  assert.deepEqual(fx.plan(RECHECK_MS - 1), []);
  assert.deepEqual(fx.reads, [], 'nothing is inspected before its recheck time');
  fx.facts.set(k(10, 0), factsOf({ present: 448, none: 64 }));
  assert.deepEqual(planned(fx.plan(RECHECK_MS)), [k(10, 0), k(10, 3)]);
  assert.deepEqual(fx.reads, [k(10, 0), k(10, 1), k(10, 2), k(10, 3)]);
  // Found ineligible again, regions 1 and 2 wait twice as long each time, up to 2^RECHECK_DOUBLINGS times.
  let at0 = RECHECK_MS;
  for (let n = 1; n <= RECHECK_DOUBLINGS + 1; n++) {
    const wait = RECHECK_MS * 2 ** Math.min(n, RECHECK_DOUBLINGS);
    assert.equal(fx.processes.get(10)!.hot.get(at(1))?.retryAt, at0 + wait, `after ${n + 1} findings`);
    // (Regions 0 and 3, planned with no outcome reported, come back every RECHECK_MS.)
    const rechecked = (): string[] => fx.reads.filter((r) => r === k(10, 1) || r === k(10, 2));
    fx.reads.length = 0;
    fx.plan(at0 + wait - 1);
    assert.deepEqual(rechecked(), [], 'not before');
    fx.plan((at0 += wait));
    assert.deepEqual(rechecked(), [k(10, 1), k(10, 2)]);
  }
  // Eligible once: the backoff starts again.
  fx.facts.set(k(10, 1), factsOf());
  fx.facts.set(k(10, 2), factsOf());
  fx.plan(at0 + RECHECK_MS * 2 ** RECHECK_DOUBLINGS);
  assert.equal(fx.processes.get(10)!.hot.get(at(1))?.ineligible, 0);
});

test('the inspection is told the class\'s shared-page limit: beyond it the exact count does not matter', () => {
  const limits: number[] = [];
  const fx = setUp([{ pid: 10, cls: 'db', hot: [[0, 90]] }]);
  const reader = { ...fx.reader };
  fx.reader.inspect = (pid, region, sharedLimit) => {
    limits.push(sharedLimit);
    return reader.inspect(pid, region, sharedLimit);
  };
  fx.rank();
  fx.plan(0);
  assert.deepEqual(limits, [0], 'db allows no shared pages');
});

test('NUMA: local-only migrates remote pages home and collapses there, moves a remote huge page home only; allow-remote collapses where the pages are', () => {
  const fx = setUp([
    { pid: 10, cls: 'db', home: 0, hot: [[0, 90], [1, 80], [2, 70]] },
    { pid: 20, cls: 'vm', home: 0, hot: [[0, 60], [1, 50]] },
  ]);
  fx.facts.set(k(10, 0), factsOf({ nodePages: [100, 412] }));
  fx.facts.set(k(10, 1), factsOf({ huge: true, nodePages: [0, 512] }));
  fx.facts.set(k(20, 0), factsOf({ nodePages: [100, 412] }));
  fx.facts.set(k(20, 1), factsOf({ huge: true, nodePages: [0, 512] }));
  fx.rank();
  const plan = new Map(fx.plan().map((p) => [`${p.target.pid}:${hex(p.target.region)}`, p]));
  const shape = (key: string): unknown => {
    const p = plan.get(key);
    return p && { migrateTo: p.migrateTo, collapse: p.collapse, node: p.target.node, targetNode: p.candidate.targetNode };
  };
  assert.deepEqual(shape(k(10, 0)), { migrateTo: 0, collapse: true, node: 0, targetNode: 0 });
  assert.deepEqual(shape(k(10, 1)), { migrateTo: 0, collapse: false, node: 0, targetNode: 0 });
  assert.deepEqual(shape(k(10, 2)), { migrateTo: undefined, collapse: true, node: 0, targetNode: 0 });
  assert.deepEqual(shape(k(20, 0)), { migrateTo: undefined, collapse: true, node: 1, targetNode: 1 });
  assert.equal(plan.has(k(20, 1)), false, 'a remote huge page of an allow-remote class is already what it wants');
  assert.deepEqual(fx.skipped(), { 'already-huge': { vm: 1 } });
  assert.equal(fx.processes.get(20)!.hot.get(at(1))?.huge, true);
  assert.equal(fx.processes.get(10)!.hot.get(at(1))?.huge, false, 'a remote huge page of a local-only class is not settled');
});

test('local-only: a home node short of memory skips the candidate before it is read; allow-remote is judged by where its pages are', () => {
  const port = new FakeKernelPort({ now: () => 0, scheduler: new VirtualTimeScheduler() });
  port.nodes[0].memFreeKb = 1024; // of 8 GiB: below the 5% minimum
  const fx = setUp(
    [
      { pid: 10, cls: 'db', home: 0, hot: [[0, 90], [1, 80]] },
      { pid: 20, cls: 'vm', home: 0, hot: [[0, 70], [1, 60]] },
    ],
    { port },
  );
  fx.facts.set(k(10, 1), factsOf({ nodePages: [0, 512] }));
  fx.facts.set(k(20, 0), factsOf({ nodePages: [0, 512] }));
  fx.rank();
  assert.equal(fx.guards.nodeBlock(0), 'little-free-memory');
  assert.deepEqual(planned(fx.plan(0)), [k(20, 0)]);
  assert.deepEqual(fx.reads, [k(20, 0), k(20, 1)], 'the local-only candidates are never read');
  assert.deepEqual(fx.skipped(), { 'node:little-free-memory': { db: 2, vm: 1 } });
  assert.equal(fx.processes.get(10)!.hot.get(at(0))?.retryAt, 0, 'home is read every cycle: no recheck time before inspection');
  assert.equal(fx.processes.get(20)!.hot.get(at(1))?.retryAt, NODE_RECHECK_MS, 'after inspection, the node recheck time');
});

test('few free huge pages on the node: a collapse there is skipped after inspection, moving a huge page home is not', () => {
  const port = new FakeKernelPort({ now: () => 0, scheduler: new VirtualTimeScheduler() });
  port.nodes[0].freeHugeBlocks = 5;
  const fx = setUp([{ pid: 10, cls: 'db', home: 0, hot: [[0, 90], [1, 80]] }], { port, policy: policyOf({ guards: 'guards: { minFreeHugePagesPerNode: 10 }' }) });
  fx.facts.set(k(10, 1), factsOf({ huge: true, nodePages: [0, 512] }));
  fx.rank();
  const plan = fx.plan(0);
  assert.deepEqual(planned(plan), [k(10, 1)]);
  assert.equal(plan[0].collapse, false);
  assert.deepEqual(fx.skipped(), { 'node:few-free-huge-pages': { db: 1 } });
  assert.equal(fx.processes.get(10)!.hot.get(at(0))?.retryAt, NODE_RECHECK_MS);
});

test('memory pressure stops the whole walk before anything is read', () => {
  const port = new FakeKernelPort({ now: () => 0, scheduler: new VirtualTimeScheduler() });
  port.psiSome = 50;
  const fx = setUp([{ pid: 10, cls: 'db', hot: [[0, 90], [1, 80]] }, { pid: 20, cls: 'vm', hot: [[0, 70]] }], { port });
  fx.rank();
  assert.deepEqual(fx.plan(0), []);
  assert.deepEqual(fx.reads, []);
  assert.deepEqual(fx.skipped(), { 'guard:memory-pressure': { db: 2, vm: 1 } });
});

test('what failures taught: after ENOMEM nothing is collapsed onto that node, after EAGAIN that region is left alone', () => {
  const fx = setUp([{ pid: 20, cls: 'vm', hot: [[0, 90], [1, 80], [2, 70]] }]);
  fx.facts.set(k(20, 0), factsOf({ nodePages: [0, 512] }));
  fx.failures.record(0, { pid: 99, region: 0, node: 1, cgroup: '/', fingerprint: '' }, 'ENOMEM');
  fx.failures.record(0, { pid: 20, region: at(1), node: 0, cgroup: '/', fingerprint: '' }, 'EAGAIN');
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(20, 2)]);
  assert.deepEqual(fx.skipped(), { 'node-no-memory': { vm: 1 }, 'region-busy': { vm: 1 } });
  assert.equal(fx.processes.get(20)!.hot.get(at(0))?.retryAt, RECHECK_MS);
  // After retry.ENOMEM (60 s) the node may be used again.
  assert.deepEqual(planned(fx.plan(RECHECK_MS)), [k(20, 0), k(20, 1), k(20, 2)]);
});

test('a process gone during inspection loses its candidates for this plan, without an exception; other errors propagate', () => {
  const fx = setUp([
    { pid: 10, cls: 'db', hot: [[0, 90], [1, 85], [2, 80]] },
    { pid: 20, cls: 'db', hot: [[0, 70], [1, 60]] },
  ]);
  fx.failing.set(10, 'ESRCH');
  fx.rank();
  assert.deepEqual(planned(fx.plan(0)), [k(20, 0), k(20, 1)]);
  assert.deepEqual(fx.reads, [k(10, 0), k(20, 0), k(20, 1)], 'one read found it gone; its other regions are not read');
  assert.equal(fx.planner.inspected, 3);
  assert.deepEqual(fx.skipped(), {});
  fx.failing.set(10, 'EPERM');
  assert.throws(() => fx.plan(0), (e: unknown) => e instanceof KernelPortError && e.errno === 'EPERM');
});

test('forget drops a process from the ranking and the views', () => {
  const fx = setUp([
    { pid: 10, cls: 'db', hot: [[0, 90], [1, 85]] },
    { pid: 20, cls: 'vm', hot: [[0, 70]] },
  ]);
  fx.rank();
  fx.planner.forget(10);
  assert.equal(fx.planner.candidates, 1);
  assert.deepEqual(fx.planner.processViews.map((v) => v.pid), [20]);
  assert.deepEqual(planned(fx.plan(0)), [k(20, 0)]);
  assert.deepEqual(fx.reads, [k(20, 0)]);
});

test('skipAll counts every candidate not settled, per class, and the count does not depend on the log level', () => {
  for (const level of ['info', 'debug']) {
    const fx = setUp([{ pid: 10, cls: 'db', hot: [[0, 90], [1, 80], [2, 70]] }, { pid: 20, cls: 'vm', hot: [[0, 60]] }], { level });
    fx.facts.set(k(10, 0), factsOf({ huge: true }));
    fx.rank();
    fx.plan(0, 1);
    fx.skipped();
    fx.plan(0, 0); // settles the huge region at the top of the ranking
    fx.skipped();
    const lines = fx.entries.length;
    fx.planner.skipAll('kill-switch');
    assert.deepEqual(fx.skipped(), { 'kill-switch': { db: 2, vm: 1 } }, `at ${level}`);
    if (level === 'debug') assert.equal(fx.entries.slice(lines).filter((e) => e.message === 'skipped').length, 3, 'one debug line per candidate counted');
  }
});

test('property: in a fresh walk every candidate is planned or counted once, within both budgets, at any log level', () => {
  const base = policyOf();
  const kind = fc.constantFrom('ok', 'none', 'swap', 'shared', 'huge', 'remote', 'remote-huge');
  const proc = fc.record({
    cls: fc.constantFrom<'db' | 'vm'>('db', 'vm'),
    home: fc.constantFrom(0, 1),
    regions: fc.array(fc.record({ n: fc.integer({ min: 3, max: 99 }), kind }), { minLength: 1, maxLength: 6 }),
  });
  fc.assert(
    fc.property(fc.array(proc, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 30 }), fc.boolean(), (procs, rate, maxInspections, node1Low) => {
      const specs: ProcSpec[] = procs.map((p, i) => ({ pid: 10 + i, cls: p.cls, home: p.home, hot: p.regions.map((r, j) => [j, r.n] as const) }));
      const results = ['info', 'debug'].map((level) => {
        const port = new FakeKernelPort({ now: () => 0, scheduler: new VirtualTimeScheduler() });
        if (node1Low) port.nodes[1].memFreeKb = 0;
        const fx = setUp(specs, { level, port, policy: { ...base, budgets: { ...base.budgets, collapsesPerSec: rate } } });
        procs.forEach((p, i) =>
          p.regions.forEach((r, j) => {
            const other = 1 - p.home;
            const f = { ok: {}, none: { present: 400, none: 112 }, swap: { present: 500, swapped: 12 }, shared: { shared: 3 }, huge: { huge: true, nodePages: p.home === 0 ? [512, 0] : [0, 512] }, remote: { nodePages: other === 0 ? [512, 0] : [0, 512] }, 'remote-huge': { huge: true, nodePages: other === 0 ? [512, 0] : [0, 512] } }[r.kind];
            fx.facts.set(k(10 + i, j), factsOf(f));
          }),
        );
        fx.rank();
        const plan = fx.plan(0, maxInspections);
        const skipped = fx.skipped();
        const counted = Object.values(skipped).reduce((s, byClass) => s + Object.values(byClass).reduce((a, b) => a + b, 0), 0);
        assert.equal(plan.length + counted, fx.planner.candidates, JSON.stringify({ planned: plan.length, skipped }));
        assert.ok(fx.planner.inspected <= maxInspections);
        assert.ok(plan.length <= rate);
        return skipped;
      });
      assert.deepEqual(results[0], results[1], 'the same counts at info and at debug');
    }),
    { numRuns: 100 },
  );
});
