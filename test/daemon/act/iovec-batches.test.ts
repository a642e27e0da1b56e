// process_madvise batches: at most 1023 whole 2 MiB regions per call (IOV_MAX and MAX_RW_COUNT), one
// iovec per region, and the partial-progress result read per region — against the simulated kernel's
// process_madvise, which applies Linux's limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchProgress, iovecBatches, MAX_RW_COUNT, REGION_BYTES } from '../../../daemon/act/iovec-batches.js';
import { SimKernel } from '../../../kernel-model/index.js';

test('2050 regions make three calls of 1023, 1023 and 4: each within IOV_MAX and MAX_RW_COUNT', () => {
  const regions = Array.from({ length: 2050 }, (_, i) => i * REGION_BYTES);
  const batches = iovecBatches(regions);
  assert.deepEqual(batches.map((b) => b.iov.length), [1023, 1023, 4]);
  for (const b of batches) assert.ok(b.bytes <= MAX_RW_COUNT && b.iov.length <= 1024);
  assert.deepEqual(batches.flatMap((b) => b.iov.map((v) => v.base)), regions, 'every region once, in order');
  assert.deepEqual(iovecBatches([]), []);
  assert.throws(() => iovecBatches([4096]), RangeError);
});

test('a partial result says which regions were done and where the call stopped', () => {
  const [b] = iovecBatches([0, REGION_BYTES, 2 * REGION_BYTES]);
  assert.deepEqual(batchProgress(b, 3 * REGION_BYTES), { done: 3, failedAt: undefined });
  assert.deepEqual(batchProgress(b, REGION_BYTES), { done: 1, failedAt: 1 });
  assert.deepEqual(batchProgress(b, 0), { done: 0, failedAt: 0 });
});

test('on the simulated kernel a batch of regions collapses, and a failing region shows in the count', () => {
  const MiB = 1 << 20;
  const sim = new SimKernel({ nodes: [{ memoryMiB: 512 }] });
  const target = sim.spawn({ comm: 'db' });
  const a = sim.mmap(target, 8 * MiB, { align: 2 * MiB });
  sim.touch(target, a, 8 * MiB, { write: true });
  const caller = sim.spawn({ comm: 'uhugepaged' });
  const fd = sim.pidfdOpen(caller, target);
  // The third region unmapped: the call stops there.
  sim.munmap(target, a + 4 * MiB, 2 * MiB);
  const [b] = iovecBatches([a, a + 2 * MiB, a + 4 * MiB, a + 6 * MiB]);
  let bytes: number;
  try {
    bytes = sim.processMadvise(caller, fd, b.iov, 'MADV_COLLAPSE');
  } catch {
    bytes = 0;
  }
  assert.deepEqual(batchProgress(b, bytes), { done: 2, failedAt: 2 });
});
