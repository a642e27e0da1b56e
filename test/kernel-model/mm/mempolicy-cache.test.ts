// Node orders are cached per policy object; the default policy is shared by every kernel, so the
// cache must also be keyed by the machine (found by the scenario tests, which run many machines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';

const MiB = 1 << 20;

test('kernels of different shapes in one process keep their own node orders', () => {
  const two = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }] });
  const a = two.spawn();
  const x = two.mmap(a, 4 * MiB);
  two.touch(a, x, 4 * MiB);
  // Enough to run node 0 below its watermarks, where the allocator walks the rest of the node order.
  const one = new SimKernel({ nodes: [{ memoryMiB: 64 }], swapMiB: 64 });
  one.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
  const b = one.spawn();
  const y = one.mmap(b, 80 * MiB);
  assert.doesNotThrow(() => one.touch(b, y, 80 * MiB));
  assert.match(one.readFile('/proc/vmstat'), /^pswpout [1-9]/m);
});

test('interleave spreads a bulk fault over the nodes page by page', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }] });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'never');
  const pid = k.spawn();
  k.setMempolicy(pid, 'interleave', [0, 1]);
  const a = k.mmap(pid, 8 * MiB);
  k.touch(pid, a, 8 * MiB);
  const nodes = /N0=(\d+) N1=(\d+)/.exec(k.readFile(`/proc/${pid}/numa_maps`));
  assert.ok(nodes, k.readFile(`/proc/${pid}/numa_maps`));
  assert.ok(Math.abs(Number(nodes[1]) - Number(nodes[2])) <= 2, `N0=${nodes[1]} N1=${nodes[2]}`);
});
