// The daemon's loop, as marble tests on rxjs's TestScheduler: the production container with the
// platform swapped for fakes (kernel port, clock, cron source, the parts built from the port), as
// sim/daemon/daemon-run.ts swaps in the simulated kernel. Cycles come at the pacer's interval and back
// off while idle; onStop ends every subscription (cycles, the action in flight, the cron schedules);
// --once runs one cycle and completes done$; a reloaded policy takes effect at the next cycle. Each
// fake call is a marble: cycles are seen as the pid-list reads, collapses as process_madvise calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { of, Subject, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { buildContainer } from '../../../daemon/container.js';
import type { DaemonOptions } from '../../../daemon/config/daemon-options.js';
import { KillSwitch } from '../../../daemon/config/kill-switch.js';
import { PolicyStore } from '../../../daemon/config/policy-store.js';
import type { RegionFacts } from '../../../daemon/decide/candidate.js';
import { CollapseDaemon, INSPECTIONS_FLOOR, RANK_EVERY_MS } from '../../../daemon/engine/collapse-daemon.js';
import { DaemonParts } from '../../../daemon/engine/daemon-parts.js';
import { KernelPort, type MadviseResult } from '../../../daemon/kernel-port/kernel-port.js';
import { fingerprint } from '../../../daemon/observe/region-inspector.js';
import { Clock } from '../../../daemon/schedule/clock.js';
import type { CronExpression } from '../../../daemon/schedule/cron-expression.js';
import { CronSource } from '../../../daemon/schedule/cron-source.js';
import { LoggerFactory } from '../../../daemon/telemetry/logger-factory.js';
import { SimKernel } from '../../../kernel-model/index.js';
import { CapturingLoggerFactory, type Captured } from '../../support/capturing-logger.js';
import { FakeKernelPort, hotRegions } from '../../support/fake-kernel-port.js';
import { simContainer } from '../../support/sim-container.js';

const BASE = 0x4000_0000;
const MiB = 1024 * 1024;
const FULL_RESCAN = '*/10 * * * *';
const SUMMARY = '0 * * * *';

/** The fake port, with each cycle (its pid-list read) and each collapse call (its region count) as an observable. */
class LoopPort extends FakeKernelPort {
  private readonly cycleSubject = new Subject<string>();
  private readonly collapseSubject = new Subject<number>();
  readonly cycles$ = this.cycleSubject.asObservable();
  readonly collapses$ = this.collapseSubject.asObservable();

  constructor(clock: Clock) {
    super(clock);
    const collapse = this.madvise;
    this.madvise = (pid, iov) => {
      this.collapseSubject.next(iov.length);
      return collapse(pid, iov);
    };
  }

  override listPids(): number[] {
    this.cycleSubject.next('c');
    return super.listPids();
  }
}

interface PolicyOptions {
  collapsesPerSec?: string;
  cpuMsPerSec?: number;
  observeCpuMsPerSec?: number;
  killSwitch?: boolean;
}

const policyText = (o: PolicyOptions = {}): string => `version: 1
killSwitch: ${o.killSwitch ?? false}
classes:
  - name: db
    match: { comm: ['db*'] }
budgets: { collapsesPerSec: ${o.collapsesPerSec ?? '1/s'}, cpuMsPerSec: ${o.cpuMsPerSec ?? 50}, observeCpuMsPerSec: ${o.observeCpuMsPerSec ?? 10}, catchUp: { duration: 0s } }
pacing: { interval: 1s, minInterval: 1s, maxInterval: 8s }
schedules: { fullRescan: '${FULL_RESCAN}', summary: '${SUMMARY}' }
kernelSettings: {}
`;

interface Loop {
  daemon: CollapseDaemon;
  port: LoopPort;
  entries: Captured[];
  /** Starts the daemon and the kill switch (which follows the policy). */
  start(): void;
  stop(): void;
  /** Writes the policy file anew and reloads it. */
  reload(o: PolicyOptions): void;
  cycleRecords(): Captured[];
}

const eligible: RegionFacts = { present: 512, none: 0, swapped: 0, shared: 0, huge: false, nodePages: [512, 0] };

/**
 * The production container with fakes for the platform; `cron` gives each expression's firings. Runs
 * `body` inside `scheduler.run`, bounded at `horizon` frames so that a loop that does not stop fails
 * its marbles instead of running forever.
 */
function withLoop(
  scheduler: TestScheduler,
  opts: {
    policy?: PolicyOptions;
    daemon?: Partial<DaemonOptions>;
    horizon?: number;
    /** Processes of comm db<i> with 64 hot regions each (default 1), or these. */
    processes?: number | readonly { pid: number; regions: number; nrAccesses: number }[];
    /** The facts the region reader gives (default: eligible, on node 0). */
    facts?: (pid: number, region: number, now: number) => RegionFacts;
    /** The daemon CPU one inspection costs, ms (default 0). */
    inspectCpuMs?: number;
  },
  body: (loop: Loop, helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0], cron: Map<string, Observable<number>>) => void,
): Loop {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-loop-'));
  try {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyText(opts.policy));
    const clock: Clock = { now: () => scheduler.now(), scheduler };
    const port = new LoopPort(clock);
    const processes = typeof opts.processes === 'object' ? opts.processes : Array.from({ length: opts.processes ?? 1 }, (_, i) => ({ pid: 10 + i, regions: 64, nrAccesses: 50 }));
    for (const p of processes) port.spawn({ pid: p.pid, comm: `db${p.pid}`, anonKb: 128 * 1024, regions: hotRegions(BASE, p.regions, p.nrAccesses) });
    const loggers = new CapturingLoggerFactory();
    loggers.root.level = 'info';
    const cron = new Map<string, Observable<number>>();
    const parts: DaemonParts = {
      regionReader: () => ({
        inspect: (pid, region) => {
          port.cpuMs += opts.inspectCpuMs ?? 0;
          return opts.facts?.(pid, region, clock.now()) ?? eligible;
        },
        fingerprint,
      }),
      ranker: () => ({ beginCycle: () => undefined, score: (c) => ({ score: c.accessRate, components: { rate: c.accessRate } }), forget: () => undefined, reconfigure: () => undefined }),
      homeNode: () => () => 0,
    };
    const container = buildContainer({ logLevel: 'error', ...opts.daemon, policyFile: file });
    container.bind<KernelPort>(KernelPort).toConstantValue(port);
    container.rebind<Clock>(Clock).toConstantValue(clock);
    container.rebind<LoggerFactory>(LoggerFactory).toConstantValue(loggers);
    container.rebind<DaemonParts>(DaemonParts).toConstantValue(parts);
    container.rebind<CronSource>(CronSource).toConstantValue({ fires: (e: CronExpression) => cron.get(e.expression) ?? new Subject<number>().asObservable() });
    const daemon = container.get(CollapseDaemon);
    const kill = container.get(KillSwitch);
    const store = container.get(PolicyStore);
    const loop: Loop = {
      daemon, port, entries: loggers.entries,
      start: () => {
        kill.onStart();
        daemon.onStart();
      },
      stop: () => {
        daemon.onStop();
        kill.onStop();
      },
      reload: (o) => {
        writeFileSync(file, policyText(o));
        assert.equal(store.reload(), true);
      },
      cycleRecords: () => loggers.entries.filter((e) => e.message === 'cycle'),
    };
    scheduler.run((helpers) => {
      scheduler.maxFrames = opts.horizon ?? 60_000;
      body(loop, helpers, cron);
    });
    return loop;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const newScheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

test('marble: idle cycles back off, doubling the interval up to pacing.maxInterval; no cycle after stop', () => {
  const scheduler = newScheduler();
  const loop = withLoop(scheduler, { processes: 0 }, (loop, { expectObservable }) => {
    expectObservable(loop.port.cycles$).toBe('c 1999ms c 3999ms c 7999ms c 7999ms c');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 25_000);
  });
  assert.deepEqual(loop.cycleRecords().map((r) => r.nextIntervalMs), [2000, 4000, 8000, 8000, 8000]);
  assert.deepEqual(loop.cycleRecords().map((r) => r.t), [0, 2000, 6000, 14_000, 22_000]);
});

test('marble: a cycle with work keeps the interval; onStop unsubscribes the cycles, the collapse in flight and the cron schedules', () => {
  const scheduler = newScheduler();
  const statusReads: number[] = [];
  const loop = withLoop(scheduler, {}, (loop, { cold, expectObservable, expectSubscriptions }, cron) => {
    const collapse = cold<MadviseResult>('300ms (a|)', { a: { bytes: 2 << 20, latencyMs: 1 } });
    loop.port.madvise = () => collapse;
    loop.port.beforeRead = (path) => {
      if (path === '/proc/10/status') statusReads.push(scheduler.now());
    };
    const rescan = cold<number>('1500ms r', { r: 1 });
    const summary = cold<number>('2000ms s', { s: 2 });
    cron.set(FULL_RESCAN, rescan);
    cron.set(SUMMARY, summary);
    // Each cycle acts for 300 ms, then the next comes a pacing interval (1 s) later.
    expectObservable(loop.port.cycles$).toBe('c 1299ms c 1299ms c 1299ms c');
    expectSubscriptions(collapse.subscriptions).toBe(['^ 299ms !', '1300ms ^ 299ms !', '2600ms ^ 299ms !', '3900ms ^ 99ms !']);
    expectSubscriptions(rescan.subscriptions).toBe('^ 3999ms !');
    expectSubscriptions(summary.subscriptions).toBe('^ 3999ms !');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 4000);
  });
  assert.deepEqual(statusReads, [0, 0, 2600], 'identity and size at the first cycle; the rescan due at 1500 ran at the next cycle');
  assert.deepEqual(loop.entries.filter((e) => e.message === 'summary').map((e) => e.t), [2000, 4000], 'the cron summary, and the one at stop');
  assert.equal(loop.port.isSampled(10), false, 'sampling stopped at stop');
  assert.deepEqual(loop.port.callsOf('close').map((c) => c.at), [4000], 'the pidfd closed at stop');
});

test('marble: cycles whose candidates wait for the collapse-time budget keep the interval, and act once it refills', () => {
  const scheduler = newScheduler();
  const loop = withLoop(scheduler, { policy: { cpuMsPerSec: 10 } }, (loop, { cold, expectObservable }) => {
    // Each collapse takes 30 ms against 10 ms a second: it leaves the budget 20 ms in debt, paid back
    // by the cycle 2 s later, so every third cycle collapses. An idle backoff would put those cycles
    // 2 s, then 4 s apart and spend the budget at half its rate, then a quarter.
    loop.port.madvise = () => cold<MadviseResult>('(a|)', { a: { bytes: 2 << 20, latencyMs: 30 } });
    expectObservable(loop.port.cycles$).toBe('c 999ms c 999ms c 999ms c 999ms c 999ms c 999ms c');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 6500);
  });
  const records = loop.cycleRecords();
  assert.deepEqual(records.map((r) => r.collapsed), [1, 0, 0, 1, 0, 0, 1]);
  assert.deepEqual(records.map((r) => r.nextIntervalMs), [1000, 1000, 1000, 1000, 1000, 1000, 1000]);
  assert.deepEqual(records[1].skipped, { budget: { db: 63 } });
});

test('marble: a process sampled for the first time is ranked at once, not at the next periodic ranking', () => {
  const scheduler = newScheduler();
  const loop = withLoop(scheduler, { processes: [{ pid: 10, regions: 64, nrAccesses: 50 }] }, (loop) => {
    // A hotter process appears after the first ranking (which found process 10's candidates).
    scheduler.schedule(() => loop.port.spawn({ pid: 11, comm: 'db11', anonKb: 128 * 1024, regions: hotRegions(BASE, 4, 90) }), 1500);
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 3500);
  });
  const decided = loop.entries.filter((e) => e.message === 'decision').map((e) => [e.t, e.pid]);
  assert.deepEqual(decided, [[0, 10], [1000, 10], [2000, 11], [3000, 11]], `not at ${RANK_EVERY_MS} ms`);
});

test('marble: first readings put off by the observation budget keep the interval; later ones do not', () => {
  const scheduler = newScheduler();
  // Four processes with nothing hot; a reading costs 5 ms of a 10 ms/s budget, of which 3 ms are kept
  // for inspections: two readings a cycle. The first cycle leaves two processes unseen and comes back
  // after the interval; once every process was read, readings put off are no reason not to back off.
  const processes = [10, 11, 12, 13].map((pid) => ({ pid, regions: 64, nrAccesses: 0 }));
  const loop = withLoop(scheduler, { policy: { observeCpuMsPerSec: 10 }, processes }, (loop, { expectObservable }) => {
    const read = loop.port.accessRegions.bind(loop.port);
    loop.port.accessRegions = (pid) => {
      loop.port.cpuMs += 5;
      return read(pid);
    };
    expectObservable(loop.port.cycles$).toBe('c 999ms c 1999ms c 3999ms c');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 8000);
  });
  assert.deepEqual(loop.cycleRecords().map((r) => r.nextIntervalMs), [1000, 2000, 4000, 8000]);
});

test('marble: --once runs exactly one cycle, done$ completes when its actions are done', () => {
  const scheduler = newScheduler();
  withLoop(scheduler, { daemon: { once: true } }, (loop, { cold, expectObservable }) => {
    loop.port.madvise = () => cold<MadviseResult>('5ms (a|)', { a: { bytes: 2 << 20, latencyMs: 5 } });
    expectObservable(loop.daemon.done$).toBe('5ms (d|)', { d: undefined });
    expectObservable(loop.port.cycles$).toBe('c');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 30_000);
  });
});

test('marble: a reloaded collapse budget takes effect at the next cycle; the cron schedules are subscribed anew', () => {
  const scheduler = newScheduler();
  const loop = withLoop(scheduler, {}, (loop, { cold, expectObservable, expectSubscriptions }, cron) => {
    const rescan = cold<number>('-');
    cron.set(FULL_RESCAN, rescan);
    expectObservable(loop.port.collapses$).toBe('a 999ms a 999ms a 999ms b 999ms b', { a: 1, b: 4 });
    expectSubscriptions(rescan.subscriptions).toBe(['^ 2499ms !', '2500ms ^ 1999ms !']);
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.reload({ collapsesPerSec: '4/s' }), 2500);
    scheduler.schedule(() => loop.stop(), 4500);
  });
  assert.deepEqual(loop.cycleRecords().map((r) => r.collapsed), [1, 1, 1, 4, 4]);
});

test('marble: the kill switch turned on by a reload stops every action while the cycles go on', () => {
  const scheduler = newScheduler();
  const loop = withLoop(scheduler, {}, (loop, { expectObservable }) => {
    expectObservable(loop.port.cycles$).toBe('c 999ms c 999ms c 999ms c 999ms c');
    expectObservable(loop.port.collapses$).toBe('a 999ms a 999ms a', { a: 1 });
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.reload({ killSwitch: true }), 2500);
    scheduler.schedule(() => loop.stop(), 4500);
  });
  const records = loop.cycleRecords();
  assert.deepEqual(records.map((r) => r.killSwitch), [false, false, false, true, true]);
  assert.deepEqual(records.map((r) => r.inspected), [1, 1, 1, 0, 0]);
  assert.deepEqual(records[3].skipped, { 'kill-switch': { db: 61 } }, 'every candidate not yet huge is counted as held back');
  assert.deepEqual(records.map((r) => r.nextIntervalMs), [1000, 1000, 1000, 1000, 1000], 'no idle backoff while the switch is on');
});

test('marble: with --dry-run the loop decides and logs but makes no call that acts', () => {
  const scheduler = newScheduler();
  const loop = withLoop(scheduler, { daemon: { dryRun: true } }, (loop, { expectObservable }) => {
    expectObservable(loop.port.collapses$).toBe('');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 2500);
  });
  assert.deepEqual(loop.port.calls.filter((c) => ['pidfd_open', 'process_madvise', 'move_pages'].includes(c.name)), []);
  assert.deepEqual(loop.entries.filter((e) => e.message === 'decision').map((e) => [e.t, e.action]), [[0, 'dry-run'], [1000, 'dry-run'], [2000, 'dry-run']]);
});

test('marble: a migration that leaves the pages where they were holds back that region, not every process of its cgroup', () => {
  const scheduler = newScheduler();
  // Process 10's two regions (the hottest) are on the wrong node and will not move; process 11's are home.
  const remote: RegionFacts = { ...eligible, nodePages: [0, 512] };
  const loop = withLoop(
    scheduler,
    { policy: { collapsesPerSec: '2/s' }, processes: [{ pid: 10, regions: 2, nrAccesses: 60 }, { pid: 11, regions: 64, nrAccesses: 50 }], facts: (pid) => (pid === 10 ? remote : eligible) },
    (loop, { expectObservable }) => {
      loop.port.move = (_pid, pages) => of(pages.map(() => 1));
      expectObservable(loop.port.collapses$).toBe('1000ms a 999ms a', { a: 2 });
      scheduler.schedule(() => loop.start());
      scheduler.schedule(() => loop.stop(), 2500);
    },
  );
  const migrations = loop.entries.filter((e) => e.message === 'decision' && e.action === 'migrate');
  assert.deepEqual(migrations.map((e) => [e.t, e.pid, e.outcome]), [[0, 10, 'failed'], [0, 10, 'failed']]);
  assert.deepEqual(loop.cycleRecords().map((r) => Object.keys(r.skipped as object).filter((reason) => reason !== 'budget')), [[], [], []], 'nothing held back as cgroup-full');
});

test('marble: a cycle that throws (a port failing in a way it should not) is logged, and the loop goes on', () => {
  const scheduler = newScheduler();
  let reads = 0;
  const loop = withLoop(scheduler, { processes: 0 }, (loop, { expectObservable }) => {
    loop.port.beforeRead = (path) => {
      if (path === '/proc/buddyinfo' && reads++ === 0) throw new TypeError('the port broke');
    };
    // The failed cycle counts as idle (2 s), then the loop goes on backing off while idle.
    expectObservable(loop.port.cycles$).toBe('c 1999ms c 3999ms c');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 7000);
  });
  const failed = loop.entries.filter((e) => e.message === 'cycle failed; the next one goes ahead');
  assert.equal(failed.length, 1);
  assert.equal(failed[0].error, 'the port broke');
  assert.equal(loop.cycleRecords().length, 2);
});

test('the observation budget bounds the inspections of a cycle at their measured cost, also when the collapse budget ends the walks early', () => {
  const scheduler = newScheduler();
  // Every inspection costs 1 ms of the daemon's CPU, 10 ms a second are allowed. For ten seconds each
  // cycle inspects 2 regions (the collapse budget is 2/s); then every region is found ineligible and a
  // cycle walks on until the observation budget stops it (or the floor of inspections every cycle may
  // make, if that is higher).
  const ineligible: RegionFacts = { ...eligible, present: 0, none: 512, nodePages: [0, 0] };
  const loop = withLoop(
    scheduler,
    { policy: { collapsesPerSec: '2/s', observeCpuMsPerSec: 10 }, inspectCpuMs: 1, facts: (_pid, _region, now) => (now >= 10_000 ? ineligible : eligible) },
    (loop) => {
      scheduler.schedule(() => loop.start());
      scheduler.schedule(() => loop.stop(), 10_500);
    },
  );
  const records = loop.cycleRecords();
  assert.deepEqual(records.slice(0, 10).map((r) => r.inspected), new Array<number>(10).fill(2));
  const last = records[10];
  assert.equal(last.t, 10_000);
  assert.ok((last.inspected as number) <= Math.max(12, INSPECTIONS_FLOOR), `inspected ${String(last.inspected)} regions (${String(last.observeCpuMs)} ms) on a budget of 10 ms/s`);
});

test('marble: observation in debt delays the next cycle until it is paid back, whatever the pacer says', () => {
  const scheduler = newScheduler();
  // 64 ineligible regions at 1 ms an inspection: the first cycle inspects them all (the cost of an
  // inspection is not known yet) and leaves the 10 ms/s budget 54 ms in debt, 5.4 s of it. The pacer
  // alone would have come back after 2 s (an idle cycle); then the regions wait for their recheck and
  // the idle backoff goes on (a reading put off of a process already read is no work waiting).
  const shared: RegionFacts = { ...eligible, shared: 512 };
  const loop = withLoop(scheduler, { policy: { observeCpuMsPerSec: 10 }, inspectCpuMs: 1, facts: () => shared }, (loop, { expectObservable }) => {
    expectObservable(loop.port.cycles$).toBe('c 5399ms c 3999ms c 7999ms c');
    scheduler.schedule(() => loop.start());
    scheduler.schedule(() => loop.stop(), 20_000);
  });
  const records = loop.cycleRecords();
  assert.deepEqual(records.map((r) => r.inspected), [64, 0, 0, 0]);
  assert.deepEqual(records.map((r) => r.nextIntervalMs), [5400, 4000, 8000, 8000]);
});

test('on the simulated kernel, built as `run --kernel sim` builds it: the production daemon finds a hot database and collapses its memory', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 1024 }], seed: 3 });
  const { container, port } = simContainer({ logLevel: 'error' }, sim);
  const pid = sim.spawn({ comm: 'mysqld' });
  const a = sim.mmap(pid, 64 * MiB, { align: 2 * MiB });
  sim.touch(pid, a, 64 * MiB, { write: true });
  sim.addAccessStream(pid, { start: a, length: 64 * MiB, ratePerSec: 2_000_000, pattern: 'uniform', writeFraction: 0 });
  const daemon = container.get(CollapseDaemon);
  daemon.onStart();
  try {
    port.scheduler.runUntil(20_000);
  } finally {
    daemon.onStop();
  }
  const huge = /AnonHugePages:\s+(\d+) kB/.exec(sim.readFile(`/proc/${pid}/smaps_rollup`))?.[1];
  assert.equal(daemon.totals.collapsed, 32, `every region of the hot 64 MiB: ${JSON.stringify(daemon.totals)}`);
  assert.equal(Number(huge), daemon.totals.collapsedBytes / 1024, 'what the daemon counts is what the kernel shows');
  const cycles = daemon.totals.cycles;
  // The catch-up budgets collapse it all within seconds; the idle cycles after that back off.
  assert.ok(cycles >= 5, `${cycles} cycles`);
  port.scheduler.runUntil(40_000);
  assert.equal(daemon.totals.cycles, cycles, 'no cycle after stop');
});
