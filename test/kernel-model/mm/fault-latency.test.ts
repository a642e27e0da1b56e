// Page-fault latencies as the model records them: one entry per fault with what it cost (4 KiB faults,
// THP faults, swap-ins), none for an access to a present page, and percentiles read back within the
// histogram's resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultLatency, SimKernel } from '../../../kernel-model/index.js';

const MiB = 2 ** 20;

/** Within the histogram's resolution (2^(1/16) per bucket: ±2.2% at the middle). */
function near(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null && Math.abs(actual / expected - 1) < 0.025, `${what}: ${actual} µs, expected ${expected} µs`);
}

test('the histogram: quantiles at bucket middles, differences over an interval, null when empty', () => {
  const h = new FaultLatency();
  assert.equal(h.quantileUs(0.5), null);
  h.add(0.0015, 98);
  h.add(0.08, 1);
  h.add(5, 1);
  near(h.quantileUs(0.5), 1.5, 'p50');
  near(h.quantileUs(0.99), 80, 'p99');
  near(h.quantileUs(1), 5000, 'max');
  const before = h.copy();
  h.add(0.18, 3);
  const d = h.since(before);
  assert.equal(d.total, 3);
  near(d.quantileUs(0.5), 180, 'the interval holds only the new faults');
});

test('faults are recorded with their cost; hits on present pages are not', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 512 }], swapMiB: 64 });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'madvise');
  const pid = k.spawn();
  const small = k.mmap(pid, 4 * MiB, { align: 2 * MiB });
  k.touch(pid, small, 4 * MiB);
  const afterSmall = k.faultLatency(pid);
  assert.equal(afterSmall.total, 1024, 'one per 4 KiB page written');
  near(afterSmall.quantileUs(0.5), 1.5, '4 KiB fault');
  k.touch(pid, small, 4 * MiB);
  assert.equal(k.faultLatency(pid).total, 1024, 'present pages are no faults');

  const huge = k.mmap(pid, 4 * MiB, { align: 2 * MiB });
  k.madvise(pid, huge, 4 * MiB, 'MADV_HUGEPAGE');
  k.touch(pid, huge, 4 * MiB);
  const thp = k.faultLatency(pid).since(afterSmall);
  assert.equal(thp.total, 2, 'one fault per huge page');
  near(thp.quantileUs(0.5), 180, 'THP fault (allocate and zero 2 MiB)');

  k.madvise(pid, small, 4096, 'MADV_PAGEOUT');
  const beforeSwap = k.faultLatency(pid);
  k.touch(pid, small, 4096, { write: false });
  const swap = k.faultLatency(pid).since(beforeSwap);
  assert.equal(swap.total, 1);
  near(swap.quantileUs(0.5), 80, 'swap-in');
});
