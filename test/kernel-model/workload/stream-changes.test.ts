// The access streams work from the kernel's change reports rather than a walk of every region each tick:
// these cases check that what they derive still follows every kind of change — accessed bits cleared,
// a collapse, a phase that moves the hot set, a fork's copy-on-write ending — and that accessed bits
// accumulate over time on the schedule stream-regions.ts describes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, type AccessStreamSpec } from '../../../kernel-model/index.js';
import { MmStruct } from '../../../kernel-model/mm/mm-types.js';

const MiB = 1 << 20;
const KiB = 1024;

function referencedKiB(k: SimKernel, pid: number): number {
  return Number(/Referenced:\s+(\d+)/.exec(k.readFile(`/proc/${pid}/smaps_rollup`))![1]);
}

/** A process with `bytes` populated and one stream over them, run for a second so the stream has settled. */
function setUp(bytes: number, stream: Omit<AccessStreamSpec, 'start' | 'length'>): { k: SimKernel; pid: number; a: number; id: number } {
  const k = new SimKernel({ nodes: [{ memoryMiB: 512 }] });
  const pid = k.spawn();
  const a = k.mmap(pid, bytes, { align: 2 * MiB });
  k.touch(pid, a, bytes);
  const id = k.addAccessStream(pid, { start: a, length: bytes, ...stream });
  k.advance(1000);
  return { k, pid, a, id };
}

test('accessed bits accumulate as n·(1 − e^(−a·τ/n)) after they are cleared, marked at τ = 1, 2, 4, ...', () => {
  // 64 MiB = 32 regions of 512 pages, 96 accesses/s uniform: a = 3 accesses per region and tick.
  const { k, pid } = setUp(64 * MiB, { ratePerSec: 96, pattern: 'uniform', writeFraction: 0 });
  k.writeFile(`/proc/${pid}/clear_refs`, '1');
  assert.equal(referencedKiB(k, pid), 0);
  const expectedKiB = (tau: number): number => 32 * Math.round(512 * -Math.expm1((-3 * tau) / 512)) * 4;
  for (const tau of [1, 2, 4, 8, 16, 32, 64, 128]) {
    k.advance(tau === 1 ? 1000 : (tau / 2) * 1000);
    // Each round extends the last one's pages (a longer prefix of the same order), so the count is exact.
    assert.equal(referencedKiB(k, pid), expectedKiB(tau), `τ=${tau}`);
  }
});

test('a region touched less than once a tick gets its accessed bits in time, not never', () => {
  // 1 access/s over 32 regions: 1/32 per region and tick; the first page of each is due at τ = 16.
  const { k, pid } = setUp(64 * MiB, { ratePerSec: 1, pattern: 'uniform', writeFraction: 0 });
  k.writeFile(`/proc/${pid}/clear_refs`, '1');
  k.advance(10_000);
  assert.equal(referencedKiB(k, pid), 0, 'too early for a touch to be expected');
  k.advance(10_000);
  assert.equal(referencedKiB(k, pid), 32 * 4, 'one page per region after ~16 s');
});

test("a collapse changes the stream's cost from the next tick", () => {
  const { k, pid, a } = setUp(64 * MiB, { ratePerSec: 1e7, pattern: 'uniform', writeFraction: 0 });
  k.advance(2000);
  const before = k.perfCounters(pid);
  const caller = k.spawn({ comm: 'caller' });
  const fd = k.pidfdOpen(caller, pid);
  k.processMadvise(caller, fd, [{ base: a, len: 64 * MiB }], 'MADV_COLLAPSE');
  k.advance(2000);
  const mid = k.perfCounters(pid);
  k.advance(2000);
  const after = k.perfCounters(pid);
  const cpa = (x: { cycles: number; accesses: number }, y: { cycles: number; accesses: number }): number => (y.cycles - x.cycles) / (y.accesses - x.accesses);
  assert.ok(cpa(mid, after) < 0.95 * (before.cycles / before.accesses), `THP-backed ${cpa(mid, after)} vs ${before.cycles / before.accesses}`);
  assert.ok(/AnonHugePages:\s+65536 kB/.test(k.readFile(`/proc/${pid}/smaps_rollup`)));
});

test('a phase that moves the hot set marks the new hot regions and forgets nothing of the mapping', () => {
  const { k, pid, a, id } = setUp(64 * MiB, { ratePerSec: 1e7, pattern: 'uniform', hotFraction: 0.25, writeFraction: 0 });
  k.writeFile(`/proc/${pid}/clear_refs`, '1');
  k.updateAccessStream(pid, id, { start: a, length: 64 * MiB, ratePerSec: 1e7, pattern: 'uniform', hotFraction: 0.25, hotOffset: 1, writeFraction: 0 });
  k.advance(1000);
  // Only the last quarter is hot now, and all of it is young after one tick at this rate.
  const smaps = k.readFile(`/proc/${pid}/smaps`);
  const referenced = Number(/Referenced:\s+(\d+)/.exec(smaps)![1]);
  assert.equal(referenced, (64 * MiB) / 4 / KiB);
});

test('an address space stops counting as copy-on-write shared once the rest of its fork group exits', () => {
  const parent = new MmStruct();
  const child = new MmStruct();
  const grandchild = new MmStruct();
  assert.equal(parent.cowShared, false);
  child.shareCowWith(parent);
  grandchild.shareCowWith(child);
  assert.ok(parent.cowShared && child.cowShared && grandchild.cowShared);
  child.leaveCowGroup();
  assert.ok(parent.cowShared, 'the grandchild still shares pages with the parent');
  grandchild.leaveCowGroup();
  assert.equal(parent.cowShared, false);
});
