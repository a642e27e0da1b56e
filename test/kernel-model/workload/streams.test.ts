// Access streams driven through the whole kernel: the MMU cost of the same accesses with and without
// THPs reproduces the calibration ratios, accessed bits reach the LRU, and DAMON finds the hot range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, SyscallError, type AccessPattern } from '../../../kernel-model/index.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

/** Cycles per access of one stream over a populated range, with or without THPs. */
function cyclesPerAccess(bytes: number, pattern: AccessPattern, thp: boolean): { cpa: number; walkShare: number } {
  const k = new SimKernel({ nodes: [{ memoryMiB: Math.ceil((bytes * 1.25) / MiB) + 256 }] });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', thp ? 'always' : 'never');
  const pid = k.spawn({ comm: 'bench' });
  const a = k.mmap(pid, bytes);
  k.touch(pid, a, bytes);
  k.addAccessStream(pid, { start: a, length: bytes, ratePerSec: 1e7, pattern, writeFraction: 0 });
  k.advance(3000);
  const p = k.perfCounters(pid);
  assert.ok(p.accesses > 0);
  return { cpa: p.cycles / p.accesses, walkShare: p.walkCycles / p.cycles };
}

test('random reads over 4 GiB are 2–3x faster with THPs', () => {
  const small = cyclesPerAccess(4 * GiB, 'uniform', false);
  const huge = cyclesPerAccess(4 * GiB, 'uniform', true);
  const speedup = small.cpa / huge.cpa;
  assert.ok(speedup >= 2 && speedup <= 3, `speed-up ${speedup.toFixed(2)}`);
  assert.ok(small.walkShare > huge.walkShare, 'THPs cut the page-walk share');
});

test('sequential reads gain nothing, and a 64 MiB working set little', () => {
  const seq = cyclesPerAccess(512 * MiB, 'sequential', false).cpa / cyclesPerAccess(512 * MiB, 'sequential', true).cpa;
  assert.ok(seq > 0.95 && seq < 1.1, `sequential speed-up ${seq.toFixed(3)}`);
  const small = cyclesPerAccess(64 * MiB, 'uniform', false).cpa / cyclesPerAccess(64 * MiB, 'uniform', true).cpa;
  assert.ok(small >= 1 && small < 1.3, `64 MiB speed-up ${small.toFixed(3)}`);
});

test('a remote node makes accesses dearer', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 512 }, { memoryMiB: 512 }] });
  const pid = k.spawn({ node: 0 });
  const a = k.mmap(pid, 256 * MiB);
  k.touch(pid, a, 256 * MiB);
  k.addAccessStream(pid, { start: a, length: 256 * MiB, ratePerSec: 1e6, pattern: 'uniform', writeFraction: 0 });
  k.advance(2000);
  const local = k.perfCounters(pid);
  k.setNode(pid, 1);
  k.advance(2000);
  const both = k.perfCounters(pid);
  const remoteCpa = (both.cycles - local.cycles) / (both.accesses - local.accesses);
  assert.ok(remoteCpa > 1.5 * (local.cycles / local.accesses), `remote ${remoteCpa} vs local ${local.cycles / local.accesses}`);
});

test('streams fault in untouched memory and keep accessed bits on hot pages', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 256 }] });
  const pid = k.spawn();
  const a = k.mmap(pid, 64 * MiB);
  k.addAccessStream(pid, { start: a, length: 64 * MiB, ratePerSec: 1e6, pattern: 'uniform', writeFraction: 1, hotFraction: 0.25 });
  k.advance(5000);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(k.readFile(`/proc/${pid}/status`))![1]);
  assert.ok(rss > 0, 'the stream faulted pages in');
  k.writeFile(`/proc/${pid}/clear_refs`, '1');
  k.advance(1000);
  const referenced = Number(/Referenced:\s+(\d+)/.exec(k.readFile(`/proc/${pid}/smaps_rollup`))![1]);
  assert.ok(referenced > 0, 'the next tick set accessed bits again');
  assert.ok(k.cpuTime(pid).utimeMs > 0, 'the accesses cost user time');
});

test('DAMON finds the hot part of an address space', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 512 }] });
  const pid = k.spawn();
  const a = k.mmap(pid, 256 * MiB);
  k.touch(pid, a, 256 * MiB);
  k.addAccessStream(pid, { start: a + 64 * MiB, length: 32 * MiB, ratePerSec: 1e7, pattern: 'uniform', writeFraction: 0 });
  k.damonStart(pid);
  k.advance(10_000);
  const regions = k.damonRegions(pid);
  const hot = regions.filter((r) => r.nrAccesses > 10);
  assert.ok(hot.length > 0, 'some region is hot');
  for (const r of hot) assert.ok(r.start >= a + 60 * MiB && r.end <= a + 100 * MiB, `hot region ${r.start - a}..${r.end - a} outside the stream`);
  assert.throws(() => k.damonStart(pid), (e: unknown) => e instanceof SyscallError && e.errno === 'EBUSY');
  k.damonStop(pid);
});

test('a stream over unmapped memory is EFAULT', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 64 }] });
  const pid = k.spawn();
  assert.throws(
    () => k.addAccessStream(pid, { start: 0x1000_0000, length: 4096, ratePerSec: 1, pattern: 'uniform', writeFraction: 0 }),
    (e: unknown) => e instanceof SyscallError && e.errno === 'EFAULT',
  );
});

test('a hot range paged out comes back at its next accesses, paying one swap-in per page, not per access', () => {
  // 1 GiB read at 1e7 accesses/s: 256 Ki pages, each touched ~38 times a second. 8 MiB of it paged
  // out is 2048 pages, far more than the fault path's sample of a tick's touched pages would find.
  const k = new SimKernel({ nodes: [{ memoryMiB: 1536 }], swapMiB: 64 });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
  const pid = k.spawn({ comm: 'bench' });
  const a = k.mmap(pid, GiB);
  k.touch(pid, a, GiB);
  k.addAccessStream(pid, { start: a, length: GiB, ratePerSec: 1e7, pattern: 'uniform', writeFraction: 0 });
  k.advance(2000);
  const before = k.perfCounters(pid);
  const majflt = (): number => Number(k.readFile(`/proc/${pid}/stat`).split(') ')[1].split(' ')[9]);
  const faultsBefore = majflt();
  k.madvise(pid, a + 256 * MiB, 8 * MiB, 'MADV_PAGEOUT');
  assert.match(k.readFile(`/proc/${pid}/status`), /VmSwap:\s+8192 kB/);
  k.advance(2000);
  assert.match(k.readFile(`/proc/${pid}/status`), /VmSwap:\s+0 kB/, 'every paged-out page was touched, so swapped back in');
  assert.equal(majflt() - faultsBefore, 2048, 'one major fault per page');
  const after = k.perfCounters(pid);
  const extra = after.cycles - before.cycles - (after.accesses - before.accesses) * (before.cycles / before.accesses);
  const swapIn = 80_000;
  // The swap-ins cost about 2048 × 80 µs; priced per access (0.78% of 2e7 accesses) it would be ~155 times that.
  assert.ok(extra > 0.5 * 2048 * swapIn && extra < 2 * 2048 * swapIn, `extra cycles ${extra.toExponential(2)}`);
});
