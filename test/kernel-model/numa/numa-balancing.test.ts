// Automatic NUMA balancing (kernel-model/mm/numa-balancing.ts): the kernel.numa_balancing sysctl, the
// periodic PROT_NONE scan, hinting faults from access streams and from touch, the two-fault filter, and
// memory following its task home — with numa_balancing=1 and not with 0. Invariants after each scenario.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { Vm, kernelOf, type VmstatName } from '../../../kernel-model/evaluation.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;
const PAGE = 4096;
const vm = (k: SimKernel, item: VmstatName): number => kernelOf(k).vmstat.global(Vm[item]);
const SYSCTL = '/proc/sys/kernel/numa_balancing';

/** Nodes of the pages of [addr, addr + len), page by page (move_pages with nodes = null). */
function nodesOf(k: SimKernel, pid: number, addr: number, len: number): number[] {
  return k.movePages(pid, Array.from({ length: len / PAGE }, (_, i) => addr + i * PAGE), null);
}

const count = (xs: number[], x: number): number => xs.filter((v) => v === x).length;

/** Advances in 100 ms steps until `cond` holds; fails after `limitMs`. */
function advanceUntil(k: SimKernel, cond: () => boolean, limitMs: number): void {
  for (let t = 0; !cond(); t += 100) {
    assert.ok(t < limitMs, `condition not met within ${limitMs} ms`);
    k.advance(100);
  }
}

describe('/proc/sys/kernel/numa_balancing', () => {
  test('reads 0 by default; takes 0–4 as proc_dointvec_minmax does; needs root and CAP_SYS_ADMIN', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }] });
    assert.equal(k.readFile(SYSCTL), '0\n');
    for (const ok of ['1', ' 3\n', '+2', '4', '0']) {
      k.writeFile(SYSCTL, ok);
      assert.equal(k.readFile(SYSCTL), `${Number(ok)}\n`);
    }
    for (const bad of ['5', '-1', 'on', '1 1', '']) {
      assert.throws(() => k.writeFile(SYSCTL, bad), (e: unknown) => e instanceof SyscallError && e.errno === 'EINVAL', bad);
    }
    const user = k.spawn({ uid: 1000 });
    assert.throws(() => k.writeFile(SYSCTL, '1', { caller: user }), (e: unknown) => e instanceof SyscallError && e.errno === 'EACCES');
    const rootNoAdmin = k.spawn({ uid: 0, caps: ['CAP_SYS_NICE'] });
    assert.throws(() => k.writeFile(SYSCTL, '1', { caller: rootNoAdmin }), (e: unknown) => e instanceof SyscallError && e.errno === 'EPERM');
    assert.equal(k.readFile(SYSCTL, { caller: user }), '0\n');
  });

  test('the scan tunables live in debugfs since 5.13, not under /proc/sys/kernel', () => {
    const k = new SimKernel();
    for (const name of ['numa_balancing_scan_delay_ms', 'numa_balancing_scan_period_min_ms', 'numa_balancing_scan_period_max_ms', 'numa_balancing_scan_size_mb']) {
      assert.throws(() => k.readFile(`/proc/sys/kernel/${name}`), (e: unknown) => e instanceof SyscallError && e.errno === 'ENOENT');
    }
  });
});

/**
 * A task whose memory sits on node 1 while it runs on node 0: 64 MiB of small pages of which a quarter
 * is hot, and 16 MiB of THPs accessed all over.
 */
function remoteWorkingSet(numaBalancing: '0' | '1') {
  const k = new SimKernel({ nodes: [{ memoryMiB: 512 }, { memoryMiB: 512 }], seed: 11 });
  k.writeFile(SYSCTL, numaBalancing);
  const pid = k.spawn({ comm: 'db', node: 1 });
  const heap = k.mmap(pid, 64 * MiB);
  k.madvise(pid, heap, 64 * MiB, 'MADV_NOHUGEPAGE');
  k.touch(pid, heap, 64 * MiB);
  const huge = k.mmap(pid, 16 * MiB);
  k.madvise(pid, huge, 16 * MiB, 'MADV_HUGEPAGE');
  k.touch(pid, huge, 16 * MiB);
  k.setNode(pid, 0);
  k.addAccessStream(pid, { start: heap, length: 64 * MiB, ratePerSec: 2e6, pattern: 'uniform', hotFraction: 0.25, writeFraction: 0.1 });
  k.addAccessStream(pid, { start: huge, length: 16 * MiB, ratePerSec: 1e6, pattern: 'uniform', writeFraction: 0.1 });
  return { k, pid, heap, huge };
}

describe('memory follows its task home', () => {
  test('numa_balancing=1: within a few scan periods the hot pages and the THPs are on the task\'s node; cold pages stay', () => {
    const { k, pid, heap, huge } = remoteWorkingSet('1');
    k.advance(5000);
    const hot = nodesOf(k, pid, heap, 16 * MiB);
    const cold = nodesOf(k, pid, heap + 16 * MiB, 48 * MiB);
    assert.ok(count(hot, 0) > 0.95 * hot.length, `${count(hot, 0)} of ${hot.length} hot pages on node 0`);
    assert.ok(count(cold, 1) === cold.length, `${count(cold, 0)} cold pages moved`);
    assert.deepEqual(new Set(nodesOf(k, pid, huge, 16 * MiB)), new Set([0]));
    const km = kernelOf(k);
    assert.equal(km.huge.thpCount(0), 8);
    assert.equal(km.task(pid)!.mm.thpPmdMapped, 8, 'THPs move whole');
    // Counters: every remote page was marked (the cold ones too), hot ones faulted and moved.
    assert.equal(vm(k, 'numa_huge_pte_updates'), 8);
    assert.ok(vm(k, 'numa_pte_updates') >= 16384 + 8 * 512);
    assert.ok(vm(k, 'numa_hint_faults') >= count(hot, 0) + 8);
    assert.equal(vm(k, 'numa_pages_migrated'), count(hot, 0) + 8 * 512);
    assert.equal(vm(k, 'pgmigrate_success'), vm(k, 'numa_pages_migrated'));
    assert.equal(vm(k, 'thp_migration_success'), 8);
    assert.ok(k.stallTime(pid).numaHint > 0);
    checkKernelInvariants(km);
  });

  test('numa_balancing=0: nothing is scanned, nothing moves', () => {
    const { k, pid, heap, huge } = remoteWorkingSet('0');
    k.advance(10_000);
    assert.deepEqual(new Set(nodesOf(k, pid, heap, 64 * MiB)), new Set([1]));
    assert.deepEqual(new Set(nodesOf(k, pid, huge, 16 * MiB)), new Set([1]));
    for (const c of ['numa_pte_updates', 'numa_huge_pte_updates', 'numa_hint_faults', 'numa_pages_migrated', 'pgmigrate_success'] as const) {
      assert.equal(vm(k, c), 0, c);
    }
    assert.equal(k.stallTime(pid).numaHint, 0);
    checkKernelInvariants(kernelOf(k));
  });

  test('local accesses get cheaper: the stream\'s cycles per access drop once its memory is home', () => {
    const runs = (['0', '1'] as const).map((nb) => {
      const { k, pid } = remoteWorkingSet(nb);
      k.advance(5000);
      const before = k.perfCounters(pid);
      k.advance(5000);
      const after = k.perfCounters(pid);
      return (after.cycles - before.cycles) / (after.accesses - before.accesses);
    });
    assert.ok(runs[1] < runs[0], `cycles per access: ${runs[0].toFixed(1)} without balancing, ${runs[1].toFixed(1)} with`);
  });
});

describe('the scan and the hinting faults', () => {
  test('pages on the task\'s node, and VMAs under a non-default policy, are never marked', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }] });
    k.writeFile(SYSCTL, '1');
    const pid = k.spawn({ node: 0 });
    const local = k.mmap(pid, 8 * MiB);
    k.touch(pid, local, 8 * MiB);
    const bound = k.mmap(pid, 8 * MiB);
    k.mbind(pid, bound, 8 * MiB, 'bind', [1]);
    k.touch(pid, bound, 8 * MiB);
    k.addAccessStream(pid, { start: local, length: 8 * MiB, ratePerSec: 1e6, pattern: 'uniform', writeFraction: 0 });
    k.advance(5000);
    assert.equal(vm(k, 'numa_pte_updates'), 0);
    assert.equal(vm(k, 'numa_hint_faults'), 0);
    assert.deepEqual(new Set(nodesOf(k, pid, bound, 8 * MiB)), new Set([1]));
  });

  test('a marked page touched after the task moved to its node takes a local hinting fault and stays', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }] });
    k.writeFile(SYSCTL, '1');
    const pid = k.spawn({ node: 1 });
    const a = k.mmap(pid, 4 * MiB);
    k.madvise(pid, a, 4 * MiB, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, 4 * MiB);
    const busy = k.mmap(pid, 4 * MiB);
    k.touch(pid, busy, 4 * MiB);
    k.setNode(pid, 0);
    // The task runs (a stream over other memory) so that task_numa_work marks `a`, which nobody accesses.
    k.addAccessStream(pid, { start: busy + 2 * MiB, length: 2 * MiB, ratePerSec: 1e5, pattern: 'uniform', writeFraction: 0 });
    advanceUntil(k, () => vm(k, 'numa_pte_updates') >= 1024, 10_000);
    const hints = vm(k, 'numa_hint_faults');
    k.setNode(pid, 1);
    k.touch(pid, a, 4 * MiB, { write: false });
    assert.equal(vm(k, 'numa_hint_faults') - hints, 1024);
    assert.equal(vm(k, 'numa_hint_faults_local'), 1024);
    assert.deepEqual(new Set(nodesOf(k, pid, a, 4 * MiB)), new Set([1]));
    // The entries are restored: touching again takes no fault.
    k.touch(pid, a, 4 * MiB, { write: false });
    assert.equal(vm(k, 'numa_hint_faults') - hints, 1024);
    checkKernelInvariants(kernelOf(k));
  });

  test('two-fault filter: once the task has settled, a page moves only on the second fault from the same node', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }] });
    k.writeFile(SYSCTL, '1');
    const pid = k.spawn({ node: 1 });
    const a = k.mmap(pid, 4 * MiB);
    k.madvise(pid, a, 4 * MiB, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, 4 * MiB);
    k.setNode(pid, 0);
    k.addAccessStream(pid, { start: a, length: 4 * MiB, ratePerSec: 1e6, pattern: 'uniform', writeFraction: 0.1 });
    const km = kernelOf(k);
    const task = km.task(pid)!;
    // Early in the task's life a first fault moves a page at once.
    advanceUntil(k, () => vm(k, 'numa_pages_migrated') === 1024, 5000);
    advanceUntil(k, () => (km.numaBalancing.taskInfo(task)?.scanSeq ?? 0) > 4, 120_000);
    assert.equal(km.numaBalancing.taskInfo(task)!.preferredNid, 0);
    // Now the task moves to node 1: the first fault on each page (its last fault came from node 0) only
    // records node 1; the next scan's fault, again from node 1, moves it.
    k.setNode(pid, 1);
    const updates = vm(k, 'numa_pte_updates');
    advanceUntil(k, () => vm(k, 'numa_pte_updates') >= updates + 1024, 120_000);
    const hints = vm(k, 'numa_hint_faults');
    k.advance(1000);
    assert.equal(vm(k, 'numa_hint_faults') - hints, 1024);
    assert.equal(vm(k, 'numa_pages_migrated'), 1024, 'the first fault from node 1 moves nothing');
    advanceUntil(k, () => vm(k, 'numa_pte_updates') >= updates + 2048, 120_000);
    k.advance(1000);
    assert.equal(vm(k, 'numa_pages_migrated'), 2048);
    assert.deepEqual(new Set(nodesOf(k, pid, a, 4 * MiB)), new Set([1]));
    checkKernelInvariants(km);
  });

  test('the scan period starts at scan_period_min and grows towards scan_period_max while nothing is left to move', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }] });
    k.writeFile(SYSCTL, '1');
    const pid = k.spawn({ node: 1 });
    const a = k.mmap(pid, 4 * MiB);
    k.touch(pid, a, 4 * MiB);
    k.setNode(pid, 0);
    k.addAccessStream(pid, { start: a, length: 4 * MiB, ratePerSec: 1e6, pattern: 'uniform', writeFraction: 0 });
    const km = kernelOf(k);
    const task = km.task(pid)!;
    k.advance(1200);
    assert.ok(km.numaBalancing.taskInfo(task)!.scanPeriodMs <= 2000);
    k.advance(300_000);
    assert.equal(km.numaBalancing.taskInfo(task)!.scanPeriodMs, 60_000);
  });
});
