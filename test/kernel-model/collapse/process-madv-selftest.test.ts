/**
 * process_madvise(2) on the simulated kernel. Two sources:
 *  - the kernel selftest tools/testing/selftests/mm/process_madv.c, case by case (basic, remote_collapse,
 *    exited_process_pidfd, bad_pidfd / invalid_pidfd, invalid_vlen, invalid_advice_zero_length, flag);
 *  - reference section 5 (linux-mm-semantics.md): the order of checks on 6.18 and every observed result
 *    ([r0,r1] → 4194304; [r2 no-table, r3] → EINVAL; [r3, r2 no-table, r4] → 2097152; [r4, r5 + 4 KiB
 *    unmapped tail] → 2097152 with r5 collapsed; 1024 × 2 MiB → 2147479552; EACCES for PTRACE_MODE_READ,
 *    EPERM for CAP_SYS_NICE; PIDFD_SELF), plus the contract's iovec validation and accounting
 *    (kernel-model-api contract, "pidfd and process_madvise").
 * Where the upstream selftest has moved past 6.18 (invalid_advice_zero_length), the test follows 6.18 as
 * observed on this project's 6.18.44 host, and says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import {
  HPAGE_PMD_NR, HPAGE_PMD_SIZE, PAGE_SIZE, PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, anonHugeKb, assertErrno,
  hugeRegions, mapAligned, outcome, pagePresent, readWord, regionIsHuge, writePages,
} from './collapse-helpers.js';

const H = HPAGE_PMD_SIZE;
const INVALID_ADVICE = 'MADV_INVALID'; // the selftest passes advice -1
const MAX_RW_COUNT = 0x7ffff000;

function machine(memoryMiB = 1024): SimKernel {
  return new SimKernel({ nodes: [{ memoryMiB }], seed: 1 });
}

/** A root caller (every capability) and a target, with a pidfd of the target in the caller's table. */
function callerAndTarget(k: SimKernel, target: { uid?: number; dumpable?: boolean } = {}, caller: { uid?: number; caps?: string[] } = {}) {
  const c = k.spawn({ comm: 'caller', ...caller });
  const t = k.spawn({ comm: 'target', ...target });
  return { caller: c, target: t, pidfd: k.pidfdOpen(c, t) };
}

/**
 * Reference section 5's layout in the target: regions r0..r5 in one VMA, every one fully written but r2
 * (no page table), and 4 KiB unmapped after r5.
 */
function sixRegions(k: SimKernel, target: number): number {
  const base = k.mmap(target, 6 * H + PAGE_SIZE, { align: H });
  k.munmap(target, base + 6 * H, PAGE_SIZE);
  for (const i of [0, 1, 3, 4, 5]) writePages(k, target, base + i * H, HPAGE_PMD_NR);
  return base;
}

const region = (base: number, i: number, len = H) => ({ base: base + i * H, len });

// ---- process_madv.c ------------------------------------------------------------------------------

test('basic', () => {
  const k = machine();
  const pid = k.spawn();
  const map = k.mmap(pid, 10 * PAGE_SIZE);
  k.touch(pid, map, 10 * PAGE_SIZE, { fill: 0x41414141 }); // memset(map, 'A', ...)
  const vec = [0, 3, 5, 8].map((i) => ({ base: map + i * PAGE_SIZE, len: PAGE_SIZE }));
  assert.equal(k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, vec, 'MADV_DONTNEED'), 4 * PAGE_SIZE);
  for (const v of vec) {
    assert.ok(!pagePresent(k, pid, v.base), 'an advised page is unmapped');
    assert.equal(readWord(k, pid, v.base), 0, 'an advised page reads as zero');
  }
  assert.equal(readWord(k, pid, map + PAGE_SIZE), 0x41414141, 'a page between advised ones keeps its content');
});

test('remote_collapse', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const map = k.mmap(target, 2 * H); // a multiple of 2 MiB: placed on a 2 MiB boundary, as 6.18 does
  for (let i = 0; i < 2 * H; i += PAGE_SIZE) k.touch(target, map + i, 1); // fault in as small pages
  assert.equal(anonHugeKb(k, target, map), 0, 'baseline: no huge page');
  assert.equal(k.processMadvise(caller, pidfd, [{ base: map, len: H }], 'MADV_COLLAPSE'), H);
  assert.equal(anonHugeKb(k, target, map) * 1024, H, 'MADV_COLLAPSE verified via smaps');
});

test('exited_process_pidfd', () => {
  const k = machine();
  const pid = k.spawn();
  const map = k.mmap(pid, PAGE_SIZE, { prot: 'r' });
  const child = k.fork(pid);
  const pidfd = k.pidfdOpen(pid, child);
  k.exit(child);
  assertErrno(() => k.processMadvise(pid, pidfd, [{ base: map, len: PAGE_SIZE }], 'MADV_DONTNEED'), 'ESRCH');
});

test('bad_pidfd: -1 and a descriptor that is not a pidfd (STDIN_FILENO) → EBADF', () => {
  const k = machine();
  const pid = k.spawn();
  const vec = [{ base: 0x1234000, len: PAGE_SIZE }];
  assertErrno(() => k.processMadvise(pid, -1, vec, 'MADV_DONTNEED'), 'EBADF');
  assertErrno(() => k.processMadvise(pid, 0, vec, 'MADV_DONTNEED'), 'EBADF');
});

test('invalid_vlen: 1025 iovecs → EINVAL', () => {
  const k = machine();
  const pid = k.spawn();
  const map = k.mmap(pid, PAGE_SIZE, { prot: 'r' });
  const vec = Array.from({ length: 1025 }, () => ({ base: map, len: PAGE_SIZE }));
  assertErrno(() => k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, vec, 'MADV_DONTNEED'), 'EINVAL');
});

test('invalid_advice_zero_length: on 6.18 an empty request is not checked for its advice', () => {
  // The upstream selftest (after 6.18) expects EINVAL for the first and third calls; Linux 6.18.44 answers
  // 0 to both (probed on this project's host: test/real-kernel, case pm-self-invalid-advice-zero-length).
  const k = machine();
  const pid = k.spawn();
  assert.equal(k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [{ base: 0, len: 0 }], INVALID_ADVICE), 0);
  assert.equal(k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [{ base: 0, len: 0 }], 'MADV_DONTNEED'), 0);
  assert.equal(k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [], INVALID_ADVICE), 0);
  // A non-empty request with invalid advice is refused.
  const map = k.mmap(pid, PAGE_SIZE);
  assertErrno(() => k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [{ base: map, len: PAGE_SIZE }], INVALID_ADVICE), 'EINVAL');
});

test('flag: flags = 0x80000000 → EINVAL', () => {
  const k = machine();
  const pid = k.spawn();
  const map = k.mmap(pid, PAGE_SIZE, { prot: 'r' });
  assertErrno(() => k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [{ base: map, len: PAGE_SIZE }], 'MADV_DONTNEED', 0x80000000), 'EINVAL');
  assertErrno(() => k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [{ base: map, len: PAGE_SIZE }], 'MADV_DONTNEED', 1), 'EINVAL');
});

// ---- reference section 5: the order of checks ----------------------------------------------------

test('order: flags ≠ 0 is checked before vlen and the pidfd', () => {
  const k = machine();
  const pid = k.spawn();
  const vec = Array.from({ length: 1025 }, () => ({ base: 0, len: PAGE_SIZE }));
  assertErrno(() => k.processMadvise(pid, -1, vec, 'MADV_COLLAPSE', 1), 'EINVAL');
});

test('order: vlen > 1024 is checked before the pidfd', () => {
  const k = machine();
  const pid = k.spawn();
  const vec = Array.from({ length: 1025 }, () => ({ base: 0, len: PAGE_SIZE }));
  assertErrno(() => k.processMadvise(pid, -1, vec, 'MADV_COLLAPSE'), 'EINVAL');
});

test('order: a bad pidfd (EBADF) is checked before permissions', () => {
  const k = machine();
  const pid = k.spawn({ uid: 1000 });
  assertErrno(() => k.processMadvise(pid, 7, [{ base: 0, len: PAGE_SIZE }], 'MADV_DONTNEED'), 'EBADF');
});

test('order: PTRACE_MODE_READ (EACCES) is checked before the remote advice (EINVAL)', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k, { uid: 0 }, { uid: 1000 });
  const p = mapAligned(k, target, 1);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_DONTNEED'), 'EACCES');
});

test('order: the remote advice (EINVAL) is checked before CAP_SYS_NICE (EPERM)', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k, { uid: 1000 }, { uid: 1000 });
  const p = mapAligned(k, target, 1);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_DONTNEED'), 'EINVAL');
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EPERM');
});

// ---- reference section 5: pidfds -------------------------------------------------------------------

test('a closed pidfd, or one from another process\'s table, is EBADF', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const other = k.spawn({ comm: 'other' });
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  assertErrno(() => k.processMadvise(other, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EBADF');
  k.close(caller, pidfd);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EBADF');
  assertErrno(() => k.close(caller, pidfd), 'EBADF');
});

for (const [name, self] of [['PIDFD_SELF_THREAD (-10000)', PIDFD_SELF_THREAD], ['PIDFD_SELF_THREAD_GROUP (-10001)', PIDFD_SELF_THREAD_GROUP]] as const) {
  test(`${name} names the caller: any advice, no CAP_SYS_NICE needed`, () => {
    const k = machine();
    const pid = k.spawn({ uid: 1000 }); // no capabilities
    const p = mapAligned(k, pid, 1);
    writePages(k, pid, p, HPAGE_PMD_NR);
    assert.equal(k.processMadvise(pid, self, [{ base: p, len: H }], 'MADV_HUGEPAGE'), H);
    assert.equal(k.processMadvise(pid, self, [{ base: p, len: H }], 'MADV_COLLAPSE'), H);
    assert.ok(regionIsHuge(k, pid, p));
    assert.equal(k.processMadvise(pid, self, [{ base: p, len: PAGE_SIZE }], 'MADV_DONTNEED'), PAGE_SIZE);
  });
}

test('a pidfd of oneself is not remote: any advice, no CAP_SYS_NICE needed', () => {
  const k = machine();
  const pid = k.spawn({ uid: 1000 });
  const p = mapAligned(k, pid, 1);
  writePages(k, pid, p, HPAGE_PMD_NR);
  const fd = k.pidfdOpen(pid, pid);
  assert.equal(k.processMadvise(pid, fd, [{ base: p, len: PAGE_SIZE }], 'MADV_DONTNEED'), PAGE_SIZE);
});

// ---- reference section 5: permissions ----------------------------------------------------------------

test('another uid without CAP_SYS_PTRACE → EACCES (the man page says EPERM)', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k, { uid: 0 }, { uid: 1000 });
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EACCES');
  assert.ok(!regionIsHuge(k, target, p));
});

test('same uid but the target is not dumpable → EACCES', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k, { uid: 1000, dumpable: false }, { uid: 1000, caps: ['CAP_SYS_NICE'] });
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EACCES');
});

test('a caller whose capabilities do not cover the target\'s needs CAP_SYS_PTRACE → EACCES (commoncap)', () => {
  // security/commoncap.c cap_ptrace_access_check: the target's permitted set must be a subset of the
  // caller's, else CAP_SYS_PTRACE. Probed on 6.18.44: a root caller holding only CAP_SYS_NICE gets EACCES
  // from a root target (test/real-kernel, case pm-root-caller-fewer-caps-eacces).
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k, { uid: 0 }, { uid: 0, caps: ['CAP_SYS_NICE'] });
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EACCES');
});

test('same uid, dumpable, without CAP_SYS_NICE → EPERM', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k, { uid: 1000 }, { uid: 1000 });
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'EPERM');
  assert.ok(!regionIsHuge(k, target, p));
});

test('same uid with CAP_SYS_NICE; another uid with CAP_SYS_PTRACE and CAP_SYS_NICE: allowed', () => {
  const k = machine();
  const same = callerAndTarget(k, { uid: 1000 }, { uid: 1000, caps: ['CAP_SYS_NICE'] });
  const p = mapAligned(k, same.target, 1);
  writePages(k, same.target, p, HPAGE_PMD_NR);
  assert.equal(k.processMadvise(same.caller, same.pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), H);
  assert.ok(regionIsHuge(k, same.target, p));

  const other = callerAndTarget(k, { uid: 1000 }, { uid: 2000, caps: ['CAP_SYS_PTRACE', 'CAP_SYS_NICE'] });
  const q = mapAligned(k, other.target, 1);
  writePages(k, other.target, q, HPAGE_PMD_NR);
  assert.equal(k.processMadvise(other.caller, other.pidfd, [{ base: q, len: H }], 'MADV_COLLAPSE'), H);
  assert.ok(regionIsHuge(k, other.target, q));
});

test('remote advice: only MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED and MADV_COLLAPSE', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  for (const advice of ['MADV_DONTNEED', 'MADV_HUGEPAGE', 'MADV_NOHUGEPAGE', 'MADV_NORMAL', 'MADV_MERGEABLE']) {
    assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], advice), 'EINVAL', advice);
  }
  for (const advice of ['MADV_COLD', 'MADV_WILLNEED', 'MADV_PAGEOUT', 'MADV_COLLAPSE']) {
    assert.equal(k.processMadvise(caller, pidfd, [{ base: p, len: H }], advice), H, advice);
  }
});

// ---- reference section 5: iovecs and partial progress -------------------------------------------------

test('[r0, r1] populated → 4194304', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const base = sixRegions(k, target);
  assert.equal(k.processMadvise(caller, pidfd, [region(base, 0), region(base, 1)], 'MADV_COLLAPSE'), 4194304);
  assert.deepEqual(hugeRegions(k, target, base, 6), [1, 1, 0, 0, 0, 0]);
});

test('[r2 no table, r3] → EINVAL and r3 untouched', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const base = sixRegions(k, target);
  assertErrno(() => k.processMadvise(caller, pidfd, [region(base, 2), region(base, 3)], 'MADV_COLLAPSE'), 'EINVAL');
  assert.deepEqual(hugeRegions(k, target, base, 6), [0, 0, 0, 0, 0, 0]);
});

test('[r3, r2 no table, r4] → 2097152: r3 collapsed, the walk stops at r2, r4 untouched', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const base = sixRegions(k, target);
  assert.equal(k.processMadvise(caller, pidfd, [region(base, 3), region(base, 2), region(base, 4)], 'MADV_COLLAPSE'), 2097152);
  assert.deepEqual(hugeRegions(k, target, base, 6), [0, 0, 0, 1, 0, 0]);
});

test('[r4, r5 + 4 KiB unmapped tail] → 2097152, and the failing iovec still collapsed r5', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const base = sixRegions(k, target);
  assert.equal(k.processMadvise(caller, pidfd, [region(base, 4), region(base, 5, H + PAGE_SIZE)], 'MADV_COLLAPSE'), 2097152);
  assert.deepEqual(hugeRegions(k, target, base, 6), [0, 0, 0, 0, 1, 1]);
});

test('partial progress with a hole: [r0, r1 unmapped, r2] → 2097152, r2 untouched', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const base = k.mmap(target, 3 * H, { align: H });
  writePages(k, target, base, 3 * HPAGE_PMD_NR);
  k.munmap(target, base + H, H);
  assert.equal(k.processMadvise(caller, pidfd, [region(base, 0), region(base, 1), region(base, 2)], 'MADV_COLLAPSE'), 2097152);
  assert.deepEqual(hugeRegions(k, target, base, 3), [1, 0, 0]);
});

test('the first iovec failing with nothing done → -1 with its errno (unmapped base → ENOMEM)', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const p = mapAligned(k, target, 1);
  k.munmap(target, p, H);
  assertErrno(() => k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), 'ENOMEM');
});

test('1024 × 2 MiB → 2147479552: the total is cut to MAX_RW_COUNT, so the last region is not collapsed', () => {
  const k = machine(3072);
  const { caller, target, pidfd } = callerAndTarget(k);
  const base = k.mmap(target, 1024 * H, { align: H });
  writePages(k, target, base, 1024 * HPAGE_PMD_NR);
  const iov = Array.from({ length: 1024 }, (_, i) => region(base, i));
  assert.equal(k.processMadvise(caller, pidfd, iov, 'MADV_COLLAPSE'), 2147479552);
  assert.equal(MAX_RW_COUNT, 2147479552);
  // The 1024th iovec is cut to 2 MiB − 4 KiB: a range holding no whole region, which does nothing.
  assert.ok(regionIsHuge(k, target, base + 1022 * H), 'region 1022 collapsed');
  assert.ok(!regionIsHuge(k, target, base + 1023 * H), 'region 1023 (cut short) not collapsed');
});

test('one iovec over MAX_RW_COUNT is silently cut to it', () => {
  const k = machine();
  const pid = k.spawn();
  const p = k.mmap(pid, 2 ** 31 + H, { align: H });
  assert.equal(k.processMadvise(pid, PIDFD_SELF_THREAD_GROUP, [{ base: p, len: 2 ** 31 }], 'MADV_COLD'), MAX_RW_COUNT);
});

test('vlen = 0 → 0', () => {
  const k = machine();
  const { caller, pidfd } = callerAndTarget(k);
  assert.equal(k.processMadvise(caller, pidfd, [], 'MADV_COLLAPSE'), 0);
});

test('an iovec whose base or length is negative, fractional or beyond 2^63 → EINVAL (contract); bases need not be mapped', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const p = mapAligned(k, target, 1);
  for (const v of [{ base: -PAGE_SIZE, len: PAGE_SIZE }, { base: p, len: -1 }, { base: p + 0.5, len: PAGE_SIZE }, { base: p, len: 1.5 }, { base: 2 ** 64, len: PAGE_SIZE }, { base: p, len: 2 ** 64 }]) {
    assertErrno(() => k.processMadvise(caller, pidfd, [v], 'MADV_COLD'), 'EINVAL', JSON.stringify(v));
  }
  // An unmapped base is not an iovec error: the advice reports what madvise would (ENOMEM for a hole).
  const o = outcome(() => k.processMadvise(caller, pidfd, [{ base: 0x1000, len: PAGE_SIZE }], 'MADV_COLD'));
  assert.deepEqual(o, { ret: -1, errno: 'ENOMEM' });
});

// ---- accounting (contract: "Clock and accounting") --------------------------------------------------

test('MADV_COLLAPSE through process_madvise charges the caller CPU time and the target a collapse stall', () => {
  const k = machine();
  const { caller, target, pidfd } = callerAndTarget(k);
  const p = mapAligned(k, target, 1);
  writePages(k, target, p, HPAGE_PMD_NR);
  const callerBefore = k.cpuTime(caller).stimeMs;
  const stallBefore = k.stallTime(target).collapse;
  assert.equal(k.processMadvise(caller, pidfd, [{ base: p, len: H }], 'MADV_COLLAPSE'), H);
  assert.ok(k.cpuTime(caller).stimeMs > callerBefore, 'the caller pays the collapse\'s CPU time');
  assert.ok(k.stallTime(target).collapse > stallBefore, 'the target\'s range stalls during the copy');
});
