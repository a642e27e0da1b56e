// move_pages(2) and migrate_pages(2) through the public API (kernel-model/mm/migrate-syscalls.ts):
// statuses and errnos as Linux 6.18 reports them, THPs moved whole or split, shared and pinned pages,
// permissions, who pays, and the machine-wide invariants after each scenario.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, SyscallError, errnoNumbers } from '../../../kernel-model/index.js';
import { Vm, kernelOf, type VmstatName } from '../../../kernel-model/evaluation.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;
const PAGE = 4096;
const vm = (k: SimKernel, item: VmstatName): number => kernelOf(k).vmstat.global(Vm[item]);
const anonOn = (k: SimKernel, node: number): number => kernelOf(k).vmstat.node(node, Vm.nr_anon_pages);
const { EFAULT, ENOENT, EACCES, EBUSY, ENOMEM, EAGAIN } = errnoNumbers;

function twoNodes(opts: { swapMiB?: number } = {}) {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }, { memoryMiB: 128 }], seed: 5, ...opts });
  const pid = k.spawn({ comm: 'app', node: 0 });
  return { k, pid };
}

/** `n` small pages written on the task's node; returns the mapping's address. */
function smallPages(k: SimKernel, pid: number, n: number): number {
  const a = k.mmap(pid, n * PAGE);
  k.madvise(pid, a, n * PAGE, 'MADV_NOHUGEPAGE');
  k.touch(pid, a, n * PAGE);
  return a;
}

function throwsErrno(fn: () => unknown, errno: string, syscall: string): void {
  assert.throws(fn, (e: unknown) => e instanceof SyscallError && e.errno === errno && e.syscall === syscall);
}

describe('move_pages with nodes = null: where each page is', () => {
  test('present pages report their node; absent, swapped, zero-page and unmapped addresses report errnos', () => {
    const { k, pid } = twoNodes({ swapMiB: 64 });
    const a = k.mmap(pid, 8 * PAGE);
    k.madvise(pid, a, 8 * PAGE, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, PAGE); // page 0 written
    k.touch(pid, a + PAGE, PAGE, { write: false }); // page 1: the zero page
    k.touch(pid, a + 2 * PAGE, PAGE); // page 2 written, then swapped out
    k.madvise(pid, a + 2 * PAGE, PAGE, 'MADV_PAGEOUT');
    const status = k.movePages(pid, [a, a + PAGE + 17, a + 2 * PAGE, a + 3 * PAGE, a + 64 * MiB], null);
    assert.deepEqual(status, [0, -EFAULT, -ENOENT, -ENOENT, -EFAULT]);
    assert.equal(vm(k, 'pgmigrate_success'), 0);
  });

  test('the huge zero page reports EFAULT and a THP reports its node at every address inside it', () => {
    const { k, pid } = twoNodes();
    const a = k.mmap(pid, 4 * MiB);
    k.madvise(pid, a, 4 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, a, 2 * MiB);
    k.touch(pid, a + 2 * MiB, PAGE, { write: false });
    assert.deepEqual(k.movePages(pid, [a, a + MiB, a + 2 * MiB], null), [0, 0, -EFAULT]);
  });
});

describe('move_pages moving pages', () => {
  test('small pages move to the node asked for; pages already there report it and stay', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 16);
    const addrs = Array.from({ length: 16 }, (_, i) => a + i * PAGE);
    const status = k.movePages(pid, addrs, addrs.map((_, i) => (i < 12 ? 1 : 0)));
    assert.deepEqual(status, addrs.map((_, i) => (i < 12 ? 1 : 0)));
    assert.deepEqual(k.movePages(pid, addrs, null), status);
    assert.equal(vm(k, 'pgmigrate_success'), 12);
    assert.equal(anonOn(k, 1), 12);
    assert.equal(k.readFile(`/proc/${pid}/smaps_rollup`).match(/^Rss:\s+(\d+)/m)?.[1], '64');
    // The contents moved with the pages.
    checkKernelInvariants(kernelOf(k));
  });

  test('a THP moves whole when its new node has a free 2 MiB block', () => {
    const { k, pid } = twoNodes();
    const a = k.mmap(pid, 2 * MiB);
    k.madvise(pid, a, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, a, 2 * MiB);
    assert.deepEqual(k.movePages(pid, [a + 5 * PAGE], [1]), [1]);
    assert.equal(vm(k, 'thp_migration_success'), 1);
    assert.equal(vm(k, 'pgmigrate_success'), 512);
    assert.equal(kernelOf(k).huge.thpCount(1), 1);
    assert.match(k.readFile(`/proc/${pid}/smaps_rollup`), /AnonHugePages:\s+2048 kB/);
    checkKernelInvariants(kernelOf(k));
  });

  test('a second address inside a THP queued in the same call is busy (6.18: the folio is already isolated)', () => {
    const { k, pid } = twoNodes();
    const a = k.mmap(pid, 2 * MiB);
    k.madvise(pid, a, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, a, 2 * MiB);
    assert.deepEqual(k.movePages(pid, [a, a + PAGE, a + 2 * PAGE], [1, 1, 1]), [1, -EBUSY, 1]);
    checkKernelInvariants(kernelOf(k));
  });

  test('a THP is split and moved in pieces when no huge page can be had on the new node', () => {
    const { k, pid } = twoNodes();
    // Node 1: every pageblock holds pinned pages, so neither a free 2 MiB block nor compaction can help.
    k.writeFile('/proc/sys/vm/min_free_kbytes', '128');
    const blocker = k.spawn({ comm: 'vfio', node: 1 });
    k.setMempolicy(blocker, 'bind', [1]);
    const pages = kernelOf(k).zones[1].nrFree - 256;
    const b = smallPages(k, blocker, pages);
    for (let i = 0; i < pages; i += 8) {
      k.pin(blocker, b + i * PAGE, PAGE);
      k.madvise(blocker, b + (i + 1) * PAGE, Math.min(7, pages - i - 1) * PAGE, 'MADV_DONTNEED');
    }
    const a = k.mmap(pid, 2 * MiB);
    k.madvise(pid, a, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, a, 2 * MiB);
    assert.deepEqual(k.movePages(pid, [a], [1]), [1]);
    assert.equal(vm(k, 'thp_migration_split'), 1);
    assert.equal(vm(k, 'thp_migration_fail'), 1);
    assert.equal(vm(k, 'thp_migration_success'), 0);
    assert.equal(vm(k, 'pgmigrate_success'), 512);
    assert.equal(kernelOf(k).task(pid)!.mm.thpPmdMapped, 0);
    assert.deepEqual(new Set(k.movePages(pid, Array.from({ length: 512 }, (_, i) => a + i * PAGE), null)), new Set([1]));
    checkKernelInvariants(kernelOf(k));
  });

  test('shared pages need MPOL_MF_MOVE_ALL, which needs CAP_SYS_NICE', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 2);
    k.fork(pid);
    assert.deepEqual(k.movePages(pid, [a, a + PAGE], [1, 1]), [-EACCES, -EACCES]);
    const user = k.spawn({ uid: 0, caps: [] });
    throwsErrno(() => k.movePages(pid, [a], [1], { caller: user, flags: 'MPOL_MF_MOVE_ALL' }), 'EPERM', 'move_pages');
    assert.deepEqual(k.movePages(pid, [a], [1], { flags: 'MPOL_MF_MOVE_ALL' }), [1]);
    checkKernelInvariants(kernelOf(k));
  });

  test('a pinned page cannot move (-EAGAIN), and the other pages of the call still do', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 3);
    k.pin(pid, a + PAGE, PAGE);
    assert.deepEqual(k.movePages(pid, [a, a + PAGE, a + 2 * PAGE], [1, 1, 1]), [1, -EAGAIN, 1]);
    assert.equal(vm(k, 'pgmigrate_fail'), 1);
    checkKernelInvariants(kernelOf(k));
  });

  test('a full node answers -ENOMEM, without reclaiming anything or killing anyone', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 4);
    k.kernelAlloc(1, 1 << 20, 'unmovable');
    assert.deepEqual(k.movePages(pid, [a, a + PAGE], [1, 1]), [-ENOMEM, -ENOMEM]);
    assert.equal(vm(k, 'oom_kill'), 0);
    assert.deepEqual(k.listPids(), [pid]);
    checkKernelInvariants(kernelOf(k));
  });

  test('errors of the call: bad flags, MOVE_ALL without CAP_SYS_NICE, a node that does not exist, no such process, no ptrace access', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 2);
    throwsErrno(() => k.movePages(pid, [a], [1], { flags: 'MPOL_MF_STRICT' as 'MPOL_MF_MOVE' }), 'EINVAL', 'move_pages');
    // ENODEV stops the call at the bad node, after the pages before it were moved.
    throwsErrno(() => k.movePages(pid, [a, a + PAGE], [1, 2]), 'ENODEV', 'move_pages');
    assert.deepEqual(k.movePages(pid, [a, a + PAGE], null), [1, 0]);
    throwsErrno(() => k.movePages(pid, [a], [-1]), 'ENODEV', 'move_pages');
    const other = k.spawn({ uid: 1000 });
    throwsErrno(() => k.movePages(pid, [a], null, { caller: other }), 'EPERM', 'move_pages');
    const child = k.fork(pid);
    k.exit(child);
    throwsErrno(() => k.movePages(child, [a], null, { caller: pid }), 'ESRCH', 'move_pages');
    throwsErrno(() => k.movePages(child, [a], null), 'ESRCH', 'move_pages');
    assert.throws(() => k.movePages(pid, [a], [0, 1]), RangeError);
  });

  test('the caller pays for the migration; the target process is not charged', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 256);
    const daemon = k.spawn({ comm: 'daemon' });
    const before = k.cpuTime(pid).stimeMs;
    const addrs = Array.from({ length: 256 }, (_, i) => a + i * PAGE);
    k.movePages(pid, addrs, addrs.map(() => 1), { caller: daemon });
    assert.ok(k.stallTime(daemon).migration > 256 * 0.0015, `caller's migration stall ${k.stallTime(daemon).migration} ms`);
    assert.equal(k.stallTime(pid).migration, 0);
    assert.equal(k.cpuTime(pid).stimeMs, before);
  });

  test('memcg charges move with the pages', () => {
    const { k } = twoNodes();
    k.mkdir('/sys/fs/cgroup/app');
    const pid = k.spawn({ comm: 'app', cgroup: '/app' });
    const a = smallPages(k, pid, 64);
    const current = k.readFile('/sys/fs/cgroup/app/memory.current');
    const addrs = Array.from({ length: 64 }, (_, i) => a + i * PAGE);
    assert.deepEqual(k.movePages(pid, addrs, addrs.map(() => 1)), addrs.map(() => 1));
    assert.equal(k.readFile('/sys/fs/cgroup/app/memory.current'), current);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('migrate_pages', () => {
  test('every page of the process moves from the old nodes to the new ones; 0 means all moved', () => {
    const { k, pid } = twoNodes();
    smallPages(k, pid, 100);
    const h = k.mmap(pid, 4 * MiB);
    k.madvise(pid, h, 4 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, h, 4 * MiB);
    assert.equal(k.migratePages(pid, [0], [1]), 0);
    assert.equal(anonOn(k, 0), 0);
    assert.equal(anonOn(k, 1), 100 + 1024);
    assert.equal(vm(k, 'thp_migration_success'), 2);
    assert.equal(vm(k, 'pgmigrate_success'), 100 + 1024);
    // The node lists are nodemasks: [0, 1] → [1, 0] maps each node onto itself and moves nothing.
    smallPages(k, pid, 10);
    assert.equal(k.migratePages(pid, [0, 1], [1, 0]), 0);
    assert.equal(anonOn(k, 0), 10);
    assert.equal(anonOn(k, 1), 100 + 1024);
    // [0, 1] → [1]: the weights differ, so node 1 (also a destination) keeps its pages and node 0's go.
    assert.equal(k.migratePages(pid, [0, 1], [1]), 0);
    assert.equal(anonOn(k, 0), 0);
    assert.equal(anonOn(k, 1), 100 + 1024 + 10);
    checkKernelInvariants(kernelOf(k));
  });

  test('node_remap order: [0, 1] → [1, 2] empties node 1 into node 2 before node 0 moves to node 1', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }, { memoryMiB: 64 }] });
    const pid = k.spawn({ node: 0 });
    smallPages(k, pid, 30);
    k.setNode(pid, 1);
    smallPages(k, pid, 20);
    assert.equal(k.migratePages(pid, [0, 1], [1, 2]), 0);
    assert.deepEqual([0, 1, 2].map((n) => anonOn(k, n)), [0, 30, 20]);
    checkKernelInvariants(kernelOf(k));
  });

  test('shared pages move only for a caller with CAP_SYS_NICE, and skipping them is no failure', () => {
    const { k, pid } = twoNodes();
    smallPages(k, pid, 8);
    const child = k.fork(pid);
    smallPages(k, pid, 4);
    const peer = k.spawn({ uid: 0, caps: ['CAP_SYS_PTRACE'] });
    assert.equal(k.migratePages(pid, [0], [1], { caller: peer }), 0);
    assert.equal(anonOn(k, 1), 4);
    assert.equal(k.migratePages(pid, [0], [1]), 0);
    assert.equal(anonOn(k, 1), 12);
    assert.deepEqual(k.movePages(child, [kernelOf(k).task(child)!.mm.vmas[0].start], null), [1]);
    checkKernelInvariants(kernelOf(k));
  });

  test('a pinned page is counted as not moved', () => {
    const { k, pid } = twoNodes();
    const a = smallPages(k, pid, 8);
    k.pin(pid, a, PAGE);
    assert.equal(k.migratePages(pid, [0], [1]), 1);
    assert.equal(anonOn(k, 1), 7);
    checkKernelInvariants(kernelOf(k));
  });

  test('errors: node ids beyond MAX_NUMNODES, new nodes that do not exist, no such process, no ptrace access', () => {
    const { k, pid } = twoNodes();
    smallPages(k, pid, 2);
    throwsErrno(() => k.migratePages(pid, [0], [1024]), 'EINVAL', 'migrate_pages');
    throwsErrno(() => k.migratePages(pid, [-1], [1]), 'EINVAL', 'migrate_pages');
    const user = k.spawn({ uid: 0, caps: ['CAP_SYS_PTRACE'] });
    throwsErrno(() => k.migratePages(pid, [0], [5], { caller: user }), 'EPERM', 'migrate_pages');
    throwsErrno(() => k.migratePages(pid, [0], [5]), 'EINVAL', 'migrate_pages');
    assert.equal(k.migratePages(pid, [0], [1, 5]), 0);
    throwsErrno(() => k.migratePages(pid, [1], [0], { caller: k.spawn({ uid: 1000 }) }), 'EPERM', 'migrate_pages');
    k.exit(pid);
    throwsErrno(() => k.migratePages(pid, [0], [1], { caller: user }), 'ESRCH', 'migrate_pages');
    throwsErrno(() => k.migratePages(pid, [0], [1]), 'ESRCH', 'migrate_pages');
  });
});
