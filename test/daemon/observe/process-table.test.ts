// The process table: new pids classified, excluded and small processes never sampled, sampling started
// once a process is big enough and restarted with more regions when it has grown, exited processes
// dropped with their sampling stopped — also when they exit between two reads — and identities read
// again on a rescan. On a fake port (every read and exit on cue), then once on the simulated kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualTimeScheduler } from 'rxjs';
import { SimKernel } from '../../../kernel-model/index.js';
import { kernelOf } from '../../../kernel-model/evaluation.js';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { ClassMatcher } from '../../../daemon/decide/classes.js';
import { MIN_SAMPLED_BYTES, ProcessTable, ROLLUP_REFRESH_MS, SAMPLING_ATTRS, samplingAttrsFor } from '../../../daemon/observe/process-table.js';
import { SimKernelPort } from '../../../sim/kernel-port/sim-kernel-port.js';
import { FakeKernelPort, hotRegions } from '../../support/fake-kernel-port.js';

const MiB = 1024 * 1024;
const KiB = 1024;
const BASE = 0x4000_0000;

/** db (comm db*) and, unless `dbOnly`, a catch-all `other` that excludes sshd*. */
function matcherOf(dbOnly = false): ClassMatcher {
  const other = dbOnly ? '' : "  - name: other\n    match: {}\n    eligibility: { exclude: { comm: ['sshd*'] } }\n";
  return new ClassMatcher(parsePolicy(`version: 1\nclasses:\n  - name: db\n    match: { comm: ['db*'] }\n${other}`, 'p.yaml').classes);
}

function setUp(nodeOf: (pid: number) => number = () => 0): { port: FakeKernelPort; table: ProcessTable; statusReads: () => number[] } {
  const scheduler = new VirtualTimeScheduler();
  const port = new FakeKernelPort({ now: () => scheduler.now(), scheduler });
  const reads: string[] = [];
  port.beforeRead = (path) => void reads.push(path);
  const statusReads = (): number[] => reads.filter((p) => p.endsWith('/status')).map((p) => Number(p.split('/')[2]));
  return { port, table: new ProcessTable(port, nodeOf), statusReads };
}

const started = (port: FakeKernelPort): [number, unknown][] => port.callsOf('start_sampling').map((c) => [c.pid, c.detail]);
const stopped = (port: FakeKernelPort): number[] => port.callsOf('stop_sampling').map((c) => c.pid);
const eligible = (table: ProcessTable): number[] => [...table.eligible()].map((p) => p.pid);

test('new pids are classified; an excluded process is tracked but never eligible; one of no class is ignored until a rescan', () => {
  const { port, table, statusReads } = setUp();
  port.spawn({ pid: 10, comm: 'db-main' });
  port.spawn({ pid: 11, comm: 'sshd' });
  port.spawn({ pid: 12, comm: 'bash' });
  assert.deepEqual(table.refresh(matcherOf()), []);
  assert.equal(table.get(10)?.outcome?.cls.name, 'db');
  assert.deepEqual(table.get(11)?.outcome && { cls: table.get(11)!.outcome!.cls.name, excluded: table.get(11)!.outcome!.excluded }, { cls: 'other', excluded: true });
  assert.deepEqual(eligible(table), [10, 12]);
  assert.deepEqual([...table.all()].map((p) => p.pid), [10, 11, 12]);

  const other = setUp();
  other.port.spawn({ pid: 12, comm: 'bash' });
  other.table.refresh(matcherOf(true));
  assert.equal(other.table.get(12), undefined);
  assert.equal(other.table.size, 0);
  other.table.refresh(matcherOf(true));
  assert.deepEqual(other.statusReads(), [12], 'an ignored pid is not read again on the next refresh');
  other.table.rescan(matcherOf(true));
  other.table.refresh(matcherOf(true));
  assert.deepEqual(other.statusReads(), [12, 12], 'but again after a rescan');
  assert.deepEqual(statusReads(), [10, 11, 12]);
});

test('excluded processes are never sampled; small ones only once RssAnon reaches MIN_SAMPLED_BYTES; a read per aggregation', () => {
  const { port, table } = setUp();
  port.spawn({ pid: 10, comm: 'db', anonKb: 16 * 1024, regions: hotRegions(BASE, 8) });
  port.spawn({ pid: 11, comm: 'sshd', anonKb: 1024 * 1024, regions: hotRegions(BASE, 8) });
  port.spawn({ pid: 12, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 32) });
  table.refresh(matcherOf());
  assert.deepEqual(table.sample(0), { gone: [], updated: true, firstReading: true, firstDeferred: 0 });
  assert.deepEqual(started(port), [[12, samplingAttrsFor(64 * MiB).maxNrRegions]]);
  assert.equal(samplingAttrsFor(64 * MiB).maxNrRegions, 32);
  assert.equal(table.get(12)?.hot.size, 32);
  assert.equal(table.get(10)?.sampling, false);
  assert.equal(table.get(10)?.anonBytes, 16 * MiB, 'its size is known from status');

  port.procs.get(10)!.anonKb = MIN_SAMPLED_BYTES / KiB - 1;
  assert.deepEqual(table.sample(1000), { gone: [], updated: false, firstReading: false, firstDeferred: 0 }, 'not yet big enough; 12 was read less than an aggregation ago');
  port.procs.get(10)!.anonKb = MIN_SAMPLED_BYTES / KiB;
  assert.deepEqual(table.sample(1500), { gone: [], updated: true, firstReading: true, firstDeferred: 0 }, '10 is big enough: its first regions');
  assert.deepEqual(started(port), [[12, 32], [10, samplingAttrsFor(MIN_SAMPLED_BYTES).maxNrRegions]]);
  assert.equal(table.get(12)?.sampledAt, 0, 'not read before its aggregation interval passed');
  table.sample(SAMPLING_ATTRS.aggrIntervalMs);
  assert.equal(table.get(12)?.sampledAt, SAMPLING_ATTRS.aggrIntervalMs);
  assert.ok(!started(port).some(([pid]) => pid === 11), 'the excluded process was never sampled');
  assert.equal(port.isSampled(11), false);
});

test('an exited process is dropped: its pid is returned and its sampling stopped', () => {
  const { port, table } = setUp();
  port.spawn({ pid: 10, comm: 'db', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  port.spawn({ pid: 12, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  table.refresh(matcherOf());
  table.sample(0);
  port.procs.delete(12);
  assert.deepEqual(table.refresh(matcherOf()), [12]);
  assert.deepEqual(stopped(port), [12]);
  assert.equal(table.get(12), undefined);
  assert.deepEqual(eligible(table), [10]);
  assert.deepEqual(table.refresh(matcherOf()), [], 'reported once');
});

test('a process that exits between the pid list and a read is forgotten, without an exception', () => {
  const { port, table } = setUp();
  for (const pid of [10, 11, 12, 13]) port.spawn({ pid, comm: `db${pid}`, anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  // 10 exits as its status is read, 11 as its cgroup is.
  port.beforeRead = (path) => {
    if (path === '/proc/10/status' || path === '/proc/11/cgroup') port.procs.delete(Number(path.split('/')[2]));
  };
  assert.deepEqual(table.refresh(matcherOf()), []);
  assert.deepEqual([...table.all()].map((p) => p.pid), [12, 13]);
  // 12 exits as sampling would start (its RssAnon is read); 13 between two samplings.
  port.beforeRead = (path) => {
    if (path === '/proc/12/status') port.procs.delete(12);
  };
  const first = table.sample(0);
  assert.deepEqual(first, { gone: [12], updated: true, firstReading: true, firstDeferred: 0 });
  port.procs.delete(13);
  assert.deepEqual(table.sample(SAMPLING_ATTRS.aggrIntervalMs), { gone: [13], updated: false, firstReading: false, firstDeferred: 0 });
  assert.deepEqual(stopped(port), [13], 'the sampling it had is stopped');
  assert.equal(table.size, 0);
});

test('smaps_rollup: read at most every ROLLUP_REFRESH_MS unless forced; a process gone meanwhile is dropped', () => {
  const { port, table } = setUp((pid) => (pid === 10 ? 1 : 0));
  port.spawn({ pid: 10, comm: 'db', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  table.refresh(matcherOf());
  table.sample(0);
  const p = table.get(10)!;
  assert.equal(table.refreshRollup(p, 0), true);
  assert.deepEqual({ anon: p.anonBytes, huge: p.hugeBytes, home: p.homeNode, at: p.rollupAt }, { anon: 64 * MiB, huge: 0, home: 1, at: 0 });
  port.procs.get(10)!.huge.add(BASE);
  table.refreshRollup(p, ROLLUP_REFRESH_MS - 1);
  assert.equal(p.hugeBytes, 0, 'not read again yet');
  table.refreshRollup(p, ROLLUP_REFRESH_MS - 1, true);
  assert.equal(p.hugeBytes, 2 * MiB, 'forced');
  // Huge marks claiming more than the process holds are stale.
  p.hot.markHuge(BASE, true);
  p.hot.markHuge(BASE + 2 * MiB, true);
  table.refreshRollup(p, 2 * ROLLUP_REFRESH_MS);
  assert.equal(p.hot.hugeBytes, 0);
  port.procs.delete(10);
  assert.equal(table.refreshRollup(p, 10 * ROLLUP_REFRESH_MS), false);
  assert.equal(table.get(10), undefined);
  assert.deepEqual(stopped(port), [10]);
});

test('sampling regrows: a process four times the size it was sampled for is sampled again with more regions, its hot map kept', () => {
  const { port, table } = setUp();
  port.spawn({ pid: 10, comm: 'db', anonKb: 32 * 1024, regions: hotRegions(BASE, 16) });
  table.refresh(matcherOf());
  table.sample(0);
  const p = table.get(10)!;
  assert.deepEqual(started(port), [[10, 16]]);
  port.procs.get(10)!.anonKb = 127 * 1024;
  table.refreshRollup(p, 0, true);
  assert.deepEqual(stopped(port), [], 'less than four times: kept');
  port.procs.get(10)!.anonKb = 128 * 1024;
  table.refreshRollup(p, 0, true);
  assert.deepEqual(stopped(port), [10]);
  assert.deepEqual(started(port), [[10, 16], [10, 64]]);
  assert.equal(p.sampling, true);
  assert.equal(p.sampledForBytes, 128 * MiB);
  assert.equal(p.hot.size, 16, 'the hot map carries over');
  // At the most regions sampling takes, growing further changes nothing.
  port.procs.get(10)!.anonKb = 512 * 1024;
  table.refreshRollup(p, 0, true);
  assert.deepEqual(started(port), [[10, 16], [10, 64], [10, 200]]);
  port.procs.get(10)!.anonKb = 4096 * 1024;
  table.refreshRollup(p, 0, true);
  assert.equal(started(port).length, 3);
});

test('a rescan reads identities again: a process whose comm became an excluded one stops being sampled; one gone is returned', () => {
  const { port, table } = setUp();
  port.spawn({ pid: 10, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  port.spawn({ pid: 11, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  port.spawn({ pid: 12, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  table.refresh(matcherOf());
  table.sample(0);
  for (const pid of [10, 11, 12]) table.refreshRollup(table.get(pid)!, 0);
  port.procs.get(10)!.comm = 'sshd-session';
  port.procs.get(11)!.comm = 'db-new';
  port.procs.delete(12);
  assert.deepEqual(table.rescan(matcherOf()), [12]);
  assert.equal(table.get(10)?.identity.comm, 'sshd-session');
  assert.equal(table.get(10)?.outcome?.excluded, true);
  assert.equal(table.get(11)?.outcome?.cls.name, 'db');
  assert.deepEqual(stopped(port).sort(), [10, 12]);
  assert.deepEqual(eligible(table), [11]);
  assert.equal(table.get(11)?.rollupAt, Number.NEGATIVE_INFINITY, 'smaps_rollup is due again');
});

test('a new policy reclassifies: a process now excluded stops being sampled; stopAll stops the rest', () => {
  const { port, table } = setUp();
  port.spawn({ pid: 10, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  port.spawn({ pid: 11, comm: 'db', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  table.refresh(matcherOf());
  table.sample(0);
  table.reclassify(matcherOf(true));
  assert.equal(table.get(10)?.outcome, undefined);
  assert.deepEqual(stopped(port), [10]);
  assert.deepEqual(eligible(table), [11]);
  table.stopAll();
  assert.deepEqual(stopped(port), [10, 11]);
  assert.equal(port.isSampled(11), false);
});

test('on the simulated kernel: a process found, sampled through DAMON once big enough, renamed, and its exit noticed', () => {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 512 }] });
  const port = new SimKernelPort(sim);
  const table = new ProcessTable(port, () => 0);
  const pid = sim.spawn({ comm: 'db' });
  const a = sim.mmap(pid, 64 * MiB, { align: 2 * MiB });
  sim.touch(pid, a, 16 * MiB, { write: true });
  table.refresh(matcherOf());
  table.sample(0);
  assert.equal(table.get(pid)?.sampling, false, '16 MiB: too small');
  sim.touch(pid, a, 64 * MiB, { write: true });
  const { updated } = table.sample(SAMPLING_ATTRS.aggrIntervalMs);
  assert.equal(updated, true);
  assert.equal(table.get(pid)?.sampling, true);
  assert.equal(table.get(pid)?.hot.size, 32, 'DAMON covers the 64 MiB mapping: 32 slots of 2 MiB');
  kernelOf(sim).task(pid)!.comm = 'sshd';
  table.rescan(matcherOf());
  assert.equal(table.get(pid)?.outcome?.excluded, true);
  assert.equal(table.get(pid)?.sampling, false);
  sim.exit(pid);
  assert.deepEqual(table.refresh(matcherOf()), [pid]);
  assert.equal(table.get(pid), undefined);
});

test('readings are rationed by mayRead, stalest first: the ones left stay due for the next cycle', () => {
  const { port, table } = setUp();
  for (const pid of [10, 11, 12]) port.spawn({ pid, comm: 'app', anonKb: 64 * 1024, regions: hotRegions(BASE, 4) });
  table.refresh(matcherOf());
  let allowed = 1;
  const oneMore = (): boolean => allowed-- > 0;
  assert.deepEqual(table.sample(0, oneMore), { gone: [], updated: true, firstReading: true, firstDeferred: 2 });
  const readAt = (): (number | undefined)[] => [10, 11, 12].map((pid) => table.get(pid)?.sampledAt);
  assert.deepEqual(readAt(), [0, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], 'one reading allowed: the first due');
  allowed = 2;
  assert.deepEqual(table.sample(SAMPLING_ATTRS.aggrIntervalMs, oneMore), { gone: [], updated: true, firstReading: true, firstDeferred: 0 }, 'the one put off was read before');
  assert.deepEqual(readAt(), [0, SAMPLING_ATTRS.aggrIntervalMs, SAMPLING_ATTRS.aggrIntervalMs], 'the two never read go before the one read last time');
  allowed = 0;
  assert.deepEqual(table.sample(2 * SAMPLING_ATTRS.aggrIntervalMs, oneMore), { gone: [], updated: false, firstReading: false, firstDeferred: 0 }, 'none allowed: none read, all still due');
  assert.ok(port.isSampled(10) && port.isSampled(11) && port.isSampled(12), 'rationing readings does not stop sampling');
});
