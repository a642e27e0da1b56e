// The arithmetic of `uhugepaged bench --linux` (sim/bench/linux-bench-figures.ts, and the sizes option of
// linux-benchmarks.ts): the THP-backed share of the child's region from smaps text, CPU from stat,
// the random-read ratio. No timing is asserted here: the figures themselves come from the bench.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAUGHT_UP_FRACTION, cpuPercent, median, readSpeedup, regionHugeFraction, statCpuMs, statusRssMiB } from '../../../sim/bench/linux-bench-figures.js';
import { LINUX_BENCH_SIZES, parseLinuxSizes } from '../../../sim/bench/linux-benchmarks.js';

/** A VMA of smaps as Linux 6.18 prints it, with the given address range and AnonHugePages (kB). */
function smapsVma(start: number, end: number, hugeKb: number, perms = 'rw-p'): string {
  const kb = (end - start) / 1024;
  return [
    `${start.toString(16)}-${end.toString(16)} ${perms} 00000000 00:00 0 `,
    `Size:             ${kb} kB`, 'KernelPageSize:        4 kB', 'MMUPageSize:           4 kB', `Rss:              ${kb} kB`,
    `Pss:              ${kb} kB`, 'Pss_Dirty:             0 kB', 'Shared_Clean:          0 kB', 'Shared_Dirty:          0 kB',
    'Private_Clean:         0 kB', `Private_Dirty:    ${kb} kB`, `Referenced:       ${kb} kB`, `Anonymous:        ${kb} kB`,
    'KSM:                   0 kB', 'LazyFree:              0 kB', `AnonHugePages:    ${hugeKb} kB`, 'ShmemPmdMapped:        0 kB',
    'FilePmdMapped:         0 kB', 'Shared_Hugetlb:        0 kB', 'Private_Hugetlb:       0 kB', 'Swap:                  0 kB',
    'SwapPss:               0 kB', 'Locked:                0 kB', 'THPeligible:           1', 'ProtectionKey:         0',
    'VmFlags: rd wr mr mw me ac sd',
  ].join('\n');
}

const MiB = 1024 * 1024;
const REGION = 0x7f0000000000;
const BYTES = 64 * MiB;

/** smaps of a child: a guard, its region with `hugeKb` THP-backed, a guard, and a neighbour fully huge. */
function childSmaps(hugeKb: number): string {
  return [
    smapsVma(REGION - 2 * MiB, REGION, 0, '---p'),
    smapsVma(REGION, REGION + BYTES, hugeKb),
    smapsVma(REGION + BYTES, REGION + BYTES + 2 * MiB, 0, '---p'),
    smapsVma(REGION + BYTES + 2 * MiB, REGION + BYTES + 66 * MiB, 64 * 1024),
  ].join('\n') + '\n';
}

test('the THP-backed share is the region\'s own VMA\'s AnonHugePages, not its neighbours\'', () => {
  assert.equal(regionHugeFraction(childSmaps(0), REGION, BYTES), 0);
  assert.equal(regionHugeFraction(childSmaps(30 * 2048), REGION, BYTES), 30 / 32);
  assert.equal(regionHugeFraction(childSmaps(32 * 2048), REGION, BYTES), 1);
});

test('≥ 95% is caught up: 31 of 32 huge regions are (96.9%), 30 are not (93.8%)', () => {
  assert.ok(regionHugeFraction(childSmaps(31 * 2048), REGION, BYTES)! >= CAUGHT_UP_FRACTION);
  assert.ok(regionHugeFraction(childSmaps(30 * 2048), REGION, BYTES)! < CAUGHT_UP_FRACTION);
});

test('no VMA starting at the region: undefined, not 0 or a neighbour\'s figure', () => {
  assert.equal(regionHugeFraction(childSmaps(32 * 2048), REGION + 4096, BYTES), undefined);
  assert.equal(regionHugeFraction('', REGION, BYTES), undefined);
});

test('CPU time from stat is utime + stime in USER_HZ ticks; RSS from status in MiB', () => {
  // Fields 14 and 15 (utime 250, stime 37) are the process's own; 16 and 17 (its children's) are not counted.
  const stat = '4242 (node (bench)) S 1 4242 4242 0 -1 4194560 27684 22343300 0 393 250 37 330198 16572 20 0 11 0 15 36700160 2158 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
  assert.equal(statCpuMs(stat), 2870);
  const status = 'Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t1\nThreads:\t11\nVmHWM:\t  204800 kB\nVmRSS:\t  122880 kB\n';
  assert.deepEqual(statusRssMiB(status), { rssMiB: 120, peakMiB: 200 });
});

test('the read speed-up is the median ns before over the median ns after', () => {
  const r = readSpeedup([90, 300, 100, 110, 95], [40, 41, 39, 200, 40]);
  assert.deepEqual(r, { beforeNs: 100, afterNs: 40, ratio: 2.5 });
  assert.equal(readSpeedup([50], [100]).ratio, 0.5, 'slower after is a ratio below 1, not hidden');
  assert.throws(() => readSpeedup([], [1]), RangeError);
  assert.throws(() => readSpeedup([1], [0]), RangeError);
});

test('CPU % of one CPU, and the median', () => {
  assert.equal(cpuPercent(600, 30_000), 2);
  assert.throws(() => cpuPercent(1, 0), RangeError);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 3);
});

test('--linux-sizes: any subset over the defaults; region sizes must be powers of two', () => {
  assert.deepEqual(parseLinuxSizes(''), LINUX_BENCH_SIZES);
  assert.deepEqual(parseLinuxSizes('catchUpMiB=256, procs=10'), { ...LINUX_BENCH_SIZES, catchUpMiB: 256, procs: 10 });
  assert.throws(() => parseLinuxSizes('readMiB=300'), /power of two/);
  assert.throws(() => parseLinuxSizes('procs=0'), /≥ 1/);
  assert.throws(() => parseLinuxSizes('cores=4'), /NAME one of/);
});
