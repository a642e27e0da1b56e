// Memory cgroups (cgroup v2) through the public API: the hierarchy and its errors, moving processes,
// what faults charge, memory.max (reclaim with swap, the memcg OOM killer without), THP fallback on a
// failed charge, memory.high throttling, and the files' formats, read back with the daemon's parsers.
// Every scenario ends with the machine-wide invariants, which include "memory.current of each cgroup =
// pages charged to it".
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { kernelOf } from '../../../kernel-model/evaluation.js';
import { parseCgroupLimit, parseFlatKeyed, parsePidList, parseVmstat } from '../../../daemon/kernel-port/procfs-parsers.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;
const CG = '/sys/fs/cgroup';
const THP = '/sys/kernel/mm/transparent_hugepage';
const errno = (code: string) => (e: unknown) => e instanceof SyscallError && e.errno === code;

function machine(opts: { memoryMiB?: number; swapMiB?: number; thp?: string } = {}): SimKernel {
  const k = new SimKernel({ nodes: [{ memoryMiB: opts.memoryMiB ?? 256 }], swapMiB: opts.swapMiB ?? 0, seed: 3 });
  k.writeFile(`${THP}/enabled`, opts.thp ?? 'never');
  return k;
}

const current = (k: SimKernel, cg: string): number => parseCgroupLimit(k.readFile(`${CG}${cg}/memory.current`));
const stat = (k: SimKernel, cg: string): Map<string, number> => parseFlatKeyed(k.readFile(`${CG}${cg}/memory.stat`), 'memory.stat');
const events = (k: SimKernel, cg: string): Map<string, number> => parseFlatKeyed(k.readFile(`${CG}${cg}/memory.events`), 'memory.events');
const vmstat = (k: SimKernel, name: string): number => parseVmstat(k.readFile('/proc/vmstat')).get(name)!;
const procs = (k: SimKernel, cg: string): number[] => parsePidList(k.readFile(`${CG}${cg}/cgroup.procs`));

/** A process in `cgroup` that maps and writes `mib` MiB of small pages. */
function filler(k: SimKernel, cgroup: string, mib: number, comm = 'filler'): { pid: number; addr: number } {
  const pid = k.spawn({ comm, cgroup });
  const addr = k.mmap(pid, mib * MiB);
  k.touch(pid, addr, mib * MiB);
  return { pid, addr };
}

describe('the cgroup hierarchy', () => {
  test('mkdir and rmdir answer EEXIST, ENOENT, EBUSY and EPERM as Linux does', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    k.mkdir(`${CG}/a/b/`);
    assert.throws(() => k.mkdir(`${CG}/a`), errno('EEXIST'));
    assert.throws(() => k.mkdir(CG), errno('EEXIST'), 'the root exists');
    assert.throws(() => k.mkdir(`${CG}/a/memory.max`), errno('EEXIST'), 'a control file of /a has that name');
    assert.throws(() => k.mkdir(`${CG}/nope/x`), errno('ENOENT'));
    assert.throws(() => k.mkdir('/proc/x'), errno('EPERM'));
    assert.throws(() => k.rmdir(`${CG}/nope`), errno('ENOENT'));
    assert.throws(() => k.rmdir(CG), errno('EBUSY'), 'the root is a mount point');
    assert.throws(() => k.rmdir(`${CG}/a`), errno('EBUSY'), 'a has a child');
    const pid = k.spawn({ cgroup: '/a/b' });
    assert.throws(() => k.rmdir(`${CG}/a/b`), errno('EBUSY'), 'b has a process');
    k.exit(pid);
    k.rmdir(`${CG}/a/b`);
    k.rmdir(`${CG}//a/.`);
    assert.throws(() => k.readFile(`${CG}/a/cgroup.procs`), errno('ENOENT'));
  });

  test('spawn validates its cgroup; fork inherits it; cgroup.procs lists the pids of the cgroup itself', () => {
    const k = machine();
    assert.throws(() => k.spawn({ cgroup: '/nope' }), errno('ENOENT'));
    const before = k.listPids().length;
    k.mkdir(`${CG}/a`);
    k.mkdir(`${CG}/a/b`);
    const p1 = k.spawn({ cgroup: '/a' });
    const p2 = k.spawn({ cgroup: `${CG}/a/b` });
    const child = k.fork(p1);
    assert.equal(k.listPids().length, before + 3);
    assert.deepEqual(procs(k, '/a'), [p1, child]);
    assert.deepEqual(procs(k, '/a/b'), [p2]);
    assert.ok(!procs(k, '/').includes(p1));
  });

  test('files: root has cgroup.procs and memory.stat only; a missing cgroup is ENOENT, a directory EISDIR', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    assert.doesNotThrow(() => k.readFile(`${CG}/memory.stat`));
    assert.doesNotThrow(() => k.readFile(`${CG}/cgroup.procs`));
    for (const f of ['memory.max', 'memory.high', 'memory.current', 'memory.events']) assert.throws(() => k.readFile(`${CG}/${f}`), errno('ENOENT'), f);
    assert.throws(() => k.readFile(`${CG}/b/memory.max`), errno('ENOENT'));
    assert.throws(() => k.readFile(`${CG}/a/memory.nope`), errno('ENOENT'));
    assert.throws(() => k.readFile(`${CG}/a`), errno('EISDIR'));
    assert.throws(() => k.writeFile(`${CG}/a/memory.current`, '0'), errno('EACCES'));
  });

  test('ids run out at 254 cgroups (EBUSY, as xa_alloc answers) and come back with rmdir', () => {
    const k = machine();
    for (let i = 0; i < 254; i++) k.mkdir(`${CG}/c${i}`);
    assert.throws(() => k.mkdir(`${CG}/one-more`), errno('EBUSY'));
    k.rmdir(`${CG}/c7`);
    k.mkdir(`${CG}/one-more`);
  });
});

describe('charging', () => {
  test('moving a process leaves its charges behind; new faults charge the new cgroup; exit uncharges', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    k.mkdir(`${CG}/b`);
    const { pid } = filler(k, '/a', 8);
    assert.equal(current(k, '/a'), 8 * MiB);
    k.writeFile(`${CG}/b/cgroup.procs`, `${pid}\n`);
    assert.deepEqual(procs(k, '/b'), [pid]);
    assert.deepEqual(procs(k, '/a'), []);
    assert.equal(current(k, '/a'), 8 * MiB, 'cgroup v2 does not move charges');
    assert.equal(current(k, '/b'), 0);
    const more = k.mmap(pid, 4 * MiB);
    k.touch(pid, more, 4 * MiB);
    assert.equal(current(k, '/b'), 4 * MiB);
    assert.throws(() => k.writeFile(`${CG}/b/cgroup.procs`, '99999'), errno('ESRCH'));
    assert.throws(() => k.writeFile(`${CG}/b/cgroup.procs`, 'one'), errno('EINVAL'));
    assert.throws(() => k.writeFile(`${CG}/b/cgroup.procs`, '-1'), errno('EINVAL'));
    checkKernelInvariants(kernelOf(k));
    k.exit(pid);
    assert.equal(current(k, '/a'), 0);
    assert.equal(current(k, '/b'), 0);
    checkKernelInvariants(kernelOf(k));
  });

  test('faults charge 4 KiB pages and THPs hierarchically; memory.stat shows anon, anon_thp and the fault events', () => {
    const k = machine({ thp: 'madvise' });
    k.mkdir(`${CG}/a`);
    k.mkdir(`${CG}/a/b`);
    const pid = k.spawn({ cgroup: '/a/b' });
    const huge = k.mmap(pid, 4 * MiB);
    k.madvise(pid, huge, 4 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, huge, 4 * MiB);
    const small = k.mmap(pid, 1 * MiB);
    k.touch(pid, small, 1 * MiB);
    for (const cg of ['/a/b', '/a']) {
      assert.equal(current(k, cg), 5 * MiB, cg);
      const s = stat(k, cg);
      assert.equal(s.get('anon'), 5 * MiB);
      assert.equal(s.get('anon_thp'), 4 * MiB);
      assert.equal(s.get('thp_fault_alloc'), 2);
      assert.equal(s.get('pgfault'), 2 + 256);
    }
    assert.equal(stat(k, '/').get('anon_thp'), 4 * MiB, 'the root sees every charge');
    // A fork-shared page stays charged to its allocator; the child's write copies into the child's cgroup.
    k.mkdir(`${CG}/c`);
    const child = k.fork(pid);
    k.writeFile(`${CG}/c/cgroup.procs`, String(child));
    k.touch(child, small, 64 * 1024);
    assert.equal(current(k, '/c'), 64 * 1024);
    assert.equal(current(k, '/a'), 5 * MiB);
    checkKernelInvariants(kernelOf(k));
    k.exit(child);
    k.exit(pid);
    assert.equal(current(k, '/a'), 0);
    assert.equal(stat(k, '/a').get('anon_thp'), 0);
    checkKernelInvariants(kernelOf(k));
  });

  test('a swapped-out page is uncharged and charged again when it is swapped in', () => {
    const k = machine({ swapMiB: 64 });
    k.mkdir(`${CG}/a`);
    const { pid, addr } = filler(k, '/a', 8);
    k.madvise(pid, addr, 4 * MiB, 'MADV_PAGEOUT');
    assert.equal(current(k, '/a'), 4 * MiB);
    assert.equal(stat(k, '/a').get('pswpout'), 1024);
    k.touch(pid, addr, 1 * MiB, { write: false });
    assert.equal(current(k, '/a'), 5 * MiB);
    assert.equal(stat(k, '/a').get('pswpin'), 256);
    assert.equal(stat(k, '/a').get('pgmajfault'), 256);
    checkKernelInvariants(kernelOf(k));
  });

  test('a cgroup removed with pages still charged lingers until they are freed', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    const { pid } = filler(k, '/a', 2);
    k.writeFile(`${CG}/cgroup.procs`, String(pid));
    k.rmdir(`${CG}/a`);
    const zombie = kernelOf(k).memcg.all().find((c) => c.path === '/a');
    assert.ok(zombie && !zombie.online && zombie.usage === 512);
    assert.throws(() => k.readFile(`${CG}/a/memory.current`), errno('ENOENT'));
    checkKernelInvariants(kernelOf(k));
    k.exit(pid);
    assert.ok(!kernelOf(k).memcg.all().some((c) => c.path === '/a'), 'its id is free again');
  });
});

describe('memory.max', () => {
  test('with swap: usage stays within memory.max, reclaim swaps the cgroup out and is counted in the memcg only', () => {
    const k = machine({ swapMiB: 128 });
    k.mkdir(`${CG}/a`);
    k.writeFile(`${CG}/a/memory.max`, '16M');
    const outsider = filler(k, '/', 16, 'outsider');
    const { pid } = filler(k, '/a', 48);
    assert.ok(k.listPids().includes(pid));
    assert.ok(current(k, '/a') <= 16 * MiB, `memory.current ${current(k, '/a')}`);
    const s = stat(k, '/a');
    assert.ok(s.get('pswpout')! >= 32 * 256, `pswpout ${s.get('pswpout')}`);
    assert.ok(s.get('pgsteal_direct')! >= 32 * 256 && s.get('pgscan_direct')! > 0);
    assert.equal(s.get('pgsteal'), s.get('pgsteal_direct'));
    assert.ok(vmstat(k, 'pswpout') >= 32 * 256);
    assert.equal(vmstat(k, 'pgsteal_direct'), 0, 'cgroup reclaim is not counted in /proc/vmstat pgsteal_direct');
    const e = events(k, '/a');
    assert.ok(e.get('max')! > 0);
    assert.equal(e.get('oom'), 0);
    assert.ok(k.stallTime(pid).memcgThrottle > 0);
    assert.equal(kernelOf(k).task(outsider.pid)!.mm.swapEntries, 0, 'only the cgroup is reclaimed');
    checkKernelInvariants(kernelOf(k));
  });

  test('a parent limit holds for its children', () => {
    const k = machine({ swapMiB: 64 });
    k.mkdir(`${CG}/a`);
    k.mkdir(`${CG}/a/b`);
    k.writeFile(`${CG}/a/memory.max`, '8M');
    filler(k, '/a/b', 16);
    assert.ok(current(k, '/a') <= 8 * MiB);
    assert.equal(current(k, '/a/b'), current(k, '/a'));
    assert.ok(events(k, '/a').get('max')! > 0);
    assert.equal(parseFlatKeyed(k.readFile(`${CG}/a/b/memory.events.local`)).get('max'), 0, 'the limit hit was the parent’s');
    checkKernelInvariants(kernelOf(k));
  });

  test('without swap the memcg OOM killer kills the largest task of that cgroup only, then the faulting one', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    k.writeFile(`${CG}/a/memory.max`, `${32 * MiB}`);
    const outsider = filler(k, '/', 64, 'outsider');
    const big = filler(k, '/a', 20, 'big');
    const small = filler(k, '/a', 20, 'small');
    assert.ok(!k.listPids().includes(big.pid), 'the largest task of the cgroup was killed');
    assert.ok(k.listPids().includes(small.pid) && k.listPids().includes(outsider.pid));
    assert.equal(current(k, '/a'), 20 * MiB);
    let e = events(k, '/a');
    assert.equal(e.get('oom'), 1);
    assert.equal(e.get('oom_kill'), 1);
    assert.equal(vmstat(k, 'oom_kill'), 1);
    const log = k.kmsg();
    assert.match(log, new RegExp(`Memory cgroup out of memory: Killed process ${big.pid} \\(big\\)`));
    assert.match(log, /oom-kill:constraint=CONSTRAINT_MEMCG,.*oom_memcg=\/a,task_memcg=\/a,task=big/);
    assert.match(log, /memory: usage 32768kB, limit 32768kB, failcnt \d+/);
    // Now the faulting task is the largest (and only) one: it is killed and its fault fails.
    const more = k.mmap(small.pid, 16 * MiB);
    assert.throws(() => k.touch(small.pid, more, 16 * MiB), errno('EFAULT'));
    assert.ok(!k.listPids().includes(small.pid));
    e = events(k, '/a');
    assert.equal(e.get('oom_kill'), 2);
    assert.equal(current(k, '/a'), 0);
    assert.equal(kernelOf(k).task(outsider.pid)!.mm.rssPages, 64 * 256, 'the outsider keeps every page');
    checkKernelInvariants(kernelOf(k));
  });

  test('lowering memory.max below usage reclaims, or OOM-kills in the cgroup when nothing can be reclaimed', () => {
    const withSwap = machine({ swapMiB: 64 });
    withSwap.mkdir(`${CG}/a`);
    const kept = filler(withSwap, '/a', 16);
    withSwap.writeFile(`${CG}/a/memory.max`, '4M');
    assert.ok(current(withSwap, '/a') <= 4 * MiB);
    assert.ok(withSwap.listPids().includes(kept.pid));
    const noSwap = machine();
    noSwap.mkdir(`${CG}/a`);
    const killed = filler(noSwap, '/a', 16);
    noSwap.writeFile(`${CG}/a/memory.max`, '4M');
    assert.ok(!noSwap.listPids().includes(killed.pid));
    assert.equal(events(noSwap, '/a').get('oom_kill'), 1);
    assert.equal(current(noSwap, '/a'), 0);
    checkKernelInvariants(kernelOf(withSwap));
    checkKernelInvariants(kernelOf(noSwap));
  });

  test('a THP fault whose charge fails falls back to small pages (thp_fault_fallback_charge)', () => {
    const k = machine({ thp: 'madvise' });
    k.mkdir(`${CG}/a`);
    const { pid } = filler(k, '/a', 1);
    k.writeFile(`${CG}/a/memory.max`, `${current(k, '/a') + 1 * MiB}`);
    const region = k.mmap(pid, 2 * MiB);
    k.madvise(pid, region, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, region, 4096);
    assert.equal(vmstat(k, 'thp_fault_fallback_charge'), 1);
    assert.equal(vmstat(k, 'thp_fault_fallback'), 1);
    assert.equal(vmstat(k, 'thp_fault_alloc'), 0);
    assert.equal(k.readFile(`${THP}/hugepages-2048kB/stats/anon_fault_fallback_charge`), '1\n');
    assert.equal(current(k, '/a'), 1 * MiB + 4096, 'the fault got a 4 KiB page');
    assert.equal(stat(k, '/a').get('anon_thp'), 0);
    assert.ok(events(k, '/a').get('max')! > 0, 'a madvised THP fault may reclaim, so it hits the limit');
    assert.equal(events(k, '/a').get('oom'), 0, 'a THP charge never OOM-kills');
    checkKernelInvariants(kernelOf(k));
  });

  test('a THP charge without __GFP_DIRECT_RECLAIM (defrag=never) fails at once, without a max event', () => {
    const k = machine({ thp: 'always' });
    k.writeFile(`${THP}/defrag`, 'never');
    k.mkdir(`${CG}/a`);
    k.writeFile(`${CG}/a/memory.max`, '1M');
    const pid = k.spawn({ cgroup: '/a' });
    const region = k.mmap(pid, 2 * MiB);
    k.touch(pid, region, 4096);
    assert.equal(vmstat(k, 'thp_fault_fallback_charge'), 1);
    assert.equal(events(k, '/a').get('max'), 0);
    assert.equal(current(k, '/a'), 4096);
  });

  test('with swap, a THP charge reclaims within the cgroup and succeeds', () => {
    const k = machine({ thp: 'madvise', swapMiB: 64 });
    k.mkdir(`${CG}/a`);
    const { pid } = filler(k, '/a', 4);
    k.writeFile(`${CG}/a/memory.max`, '5M');
    const region = k.mmap(pid, 2 * MiB);
    k.madvise(pid, region, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, region, 2 * MiB);
    assert.equal(vmstat(k, 'thp_fault_alloc'), 1);
    assert.equal(stat(k, '/a').get('anon_thp'), 2 * MiB);
    assert.ok(current(k, '/a') <= 5 * MiB);
    assert.ok(stat(k, '/a').get('pswpout')! > 0);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('collapse', () => {
  test('[6.18] MADV_COLLAPSE under a 2.5 MiB memory.max is EBUSY with thp_collapse_alloc +1; with room it charges the THP', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    k.writeFile(`${CG}/a/memory.max`, `${2.5 * MiB}`);
    const { pid, addr } = filler(k, '/a', 2);
    assert.throws(() => k.madvise(pid, addr, 2 * MiB, 'MADV_COLLAPSE'), errno('EBUSY'));
    assert.equal(vmstat(k, 'thp_collapse_alloc'), 1, 'counted before the charge');
    assert.equal(stat(k, '/a').get('thp_collapse_alloc'), 0, 'the memcg counts only a charged THP');
    assert.equal(current(k, '/a'), 2 * MiB);
    k.writeFile(`${CG}/a/memory.max`, '8M');
    k.madvise(pid, addr, 2 * MiB, 'MADV_COLLAPSE');
    assert.equal(vmstat(k, 'thp_collapse_alloc'), 2);
    const s = stat(k, '/a');
    assert.equal(s.get('thp_collapse_alloc'), 1);
    assert.equal(s.get('anon_thp'), 2 * MiB);
    assert.equal(current(k, '/a'), 2 * MiB, 'the small pages were uncharged as they were freed');
    checkKernelInvariants(kernelOf(k));
  });
});

describe('memory.high', () => {
  test('over memory.high without swap the task is throttled: memcgThrottle stalls and high events', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    k.writeFile(`${CG}/a/memory.high`, '16M');
    const { pid } = filler(k, '/a', 24);
    assert.ok(k.listPids().includes(pid), 'memory.high never kills');
    assert.equal(current(k, '/a'), 24 * MiB, 'nor does it stop a charge');
    assert.ok(events(k, '/a').get('high')! > 0);
    const stall = k.stallTime(pid).memcgThrottle;
    assert.ok(stall >= 2000, `memcgThrottle ${stall} ms: 50% over high costs the maximum 2 s a batch`);
    const more = k.mmap(pid, 4 * MiB);
    k.touch(pid, more, 4 * MiB);
    assert.ok(k.stallTime(pid).memcgThrottle > stall, 'every further batch is throttled');
  });

  test('with swap, reclaim keeps usage at memory.high; writing a lower value reclaims at once', () => {
    const k = machine({ swapMiB: 64 });
    k.mkdir(`${CG}/a`);
    k.writeFile(`${CG}/a/memory.high`, '16M');
    filler(k, '/a', 32);
    assert.ok(current(k, '/a') <= 16 * MiB + 64 * 4096, `memory.current ${current(k, '/a')}`);
    assert.ok(stat(k, '/a').get('pswpout')! > 0);
    k.writeFile(`${CG}/a/memory.high`, '8M');
    assert.ok(current(k, '/a') <= 8 * MiB);
    assert.equal(parseCgroupLimit(k.readFile(`${CG}/a/memory.high`)), 8 * MiB);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('file formats', () => {
  test('memory.max and memory.high take max or a byte count with memparse suffixes, rounded down to pages', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    const max = `${CG}/a/memory.max`;
    assert.equal(k.readFile(max), 'max\n');
    for (const [text, read] of [
      ['1G', `${1 << 30}\n`],
      ['  64m\n', `${64 * MiB}\n`],
      ['4097', '4096\n'],
      ['0x2000', '8192\n'],
      ['020000', '8192\n'],
      ['1k', '0\n'],
      ['8E', 'max\n'],
      ['max\n', 'max\n'],
    ]) {
      k.writeFile(max, text);
      assert.equal(k.readFile(max), read, JSON.stringify(text));
    }
    for (const bad of ['1KB', '-1', '1.5G', 'abc', 'Max', '1 G', '08', 'max max']) {
      assert.throws(() => k.writeFile(max, bad), errno('EINVAL'), JSON.stringify(bad));
      assert.throws(() => k.writeFile(`${CG}/a/memory.high`, bad), errno('EINVAL'), JSON.stringify(bad));
    }
    assert.equal(k.readFile(max), 'max\n', 'a rejected write changes nothing');
  });

  test('memory.stat prints Linux 6.18’s keys in order; memory.events its six; all parse', () => {
    const k = machine();
    k.mkdir(`${CG}/a`);
    filler(k, '/a', 1);
    const keys = [...stat(k, '/a').keys()];
    assert.deepEqual(keys.slice(0, 6), ['anon', 'file', 'kernel', 'kernel_stack', 'pagetables', 'sec_pagetables']);
    for (const [before, after] of [
      ['slab_unreclaimable', 'slab'],
      ['pgpromote_success', 'pgscan'],
      ['pgscan', 'pgsteal'],
      ['pgsteal', 'pswpin'],
      ['shmem', 'zswap'],
      ['swapcached', 'anon_thp'],
      ['anon_thp', 'file_thp'],
      ['file_thp', 'shmem_thp'],
      ['thp_fault_alloc', 'thp_collapse_alloc'],
    ]) assert.equal(keys.indexOf(after), keys.indexOf(before) + 1, `${after} follows ${before}`);
    assert.equal(keys[keys.length - 1], 'numa_hint_faults');
    assert.equal(keys.length, 70);
    assert.equal(stat(k, '/a').get('anon'), 1 * MiB);
    assert.equal(stat(k, '/a').get('file'), 0);
    assert.deepEqual([...events(k, '/a').keys()], ['low', 'high', 'max', 'oom', 'oom_kill', 'oom_group_kill']);
    assert.equal(k.readFile(`${CG}/a/memory.current`), `${1 * MiB}\n`);
  });
});

describe('invariants under cgroup activity', () => {
  type Op =
    | { op: 'touch'; p: number; mib: number; huge: boolean }
    | { op: 'move'; p: number; cg: number }
    | { op: 'limit'; cg: number; file: 'memory.max' | 'memory.high'; mib: number }
    | { op: 'pageout'; p: number }
    | { op: 'fork'; p: number }
    | { op: 'exit'; p: number }
    | { op: 'advance'; ms: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('touch' as const), p: fc.nat(), mib: fc.integer({ min: 1, max: 6 }), huge: fc.boolean() }),
    fc.record({ op: fc.constant('move' as const), p: fc.nat(), cg: fc.nat(3) }),
    fc.record({ op: fc.constant('limit' as const), cg: fc.integer({ min: 1, max: 3 }), file: fc.constantFrom('memory.max' as const, 'memory.high' as const), mib: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ op: fc.constant('pageout' as const), p: fc.nat() }),
    fc.record({ op: fc.constant('fork' as const), p: fc.nat() }),
    fc.record({ op: fc.constant('exit' as const), p: fc.nat() }),
    fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
  );
  const groups = ['/', '/a', '/a/b', '/c'];

  test('memory.current of every cgroup equals the pages charged to it, whatever happens', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.boolean(), (ops, swap) => {
        const k = new SimKernel({ nodes: [{ memoryMiB: 64 }], swapMiB: swap ? 16 : 0, seed: 9 });
        k.writeFile(`${THP}/defrag`, 'always');
        for (const g of groups.slice(1)) k.mkdir(`${CG}${g}`);
        const pids = [k.spawn({ cgroup: '/a' }), k.spawn({ cgroup: '/a/b' })];
        for (const o of ops) {
          const pid = pids.length ? pids[('p' in o ? o.p : 0) % pids.length] : undefined;
          try {
            if (o.op === 'touch' && pid !== undefined) {
              const a = k.mmap(pid, o.mib * MiB);
              if (o.huge) k.madvise(pid, a, o.mib * MiB, 'MADV_HUGEPAGE');
              k.touch(pid, a, o.mib * MiB);
            } else if (o.op === 'move' && pid !== undefined) k.writeFile(`${CG}${groups[o.cg]}/cgroup.procs`, String(pid));
            else if (o.op === 'limit') k.writeFile(`${CG}${groups[o.cg]}/${o.file}`, `${o.mib}M`);
            else if (o.op === 'pageout' && pid !== undefined) {
              for (const v of kernelOf(k).task(pid)?.mm.vmas ?? []) k.madvise(pid, v.start, v.end - v.start, 'MADV_PAGEOUT');
            } else if (o.op === 'fork' && pid !== undefined) pids.push(k.fork(pid));
            else if (o.op === 'exit' && pid !== undefined) k.exit(pid);
            else if (o.op === 'advance') k.advance(o.ms);
          } catch (e) {
            if (!(e instanceof SyscallError)) throw e;
          }
          for (let i = pids.length - 1; i >= 0; i--) if (!k.listPids().includes(pids[i])) pids.splice(i, 1);
          checkKernelInvariants(kernelOf(k));
        }
      }),
      { numRuns: 40, seed: 20261123 },
    );
  });
});
