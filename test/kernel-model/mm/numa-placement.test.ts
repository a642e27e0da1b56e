// The three THP placement behaviours of the seeds (docs/linux-semantics.md §6). A process on node 0
// madvises and writes more memory than node 0 holds while node 1 is empty: with `thisnode` (2015–2018
// kernels) the THP faults reclaim node 0 and swap its own memory out while node 1 stays free — the swap
// storm; with `remote` and `local-first` the huge pages go to node 1 and nothing is swapped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import { Vm, kernelOf } from '../../../kernel-model/evaluation.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;

function run(policy: 'thisnode' | 'remote' | 'local-first') {
  const k = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }], swapMiB: 512, seed: 3 });
  k.writeFile('/sys/kernel/mm/transparent_hugepage/numa_fault_policy', policy);
  const pid = k.spawn({ comm: 'bigheap', node: 0 });
  const size = 320 * MiB;
  const a = k.mmap(pid, size);
  k.madvise(pid, a, size, 'MADV_HUGEPAGE');
  k.touch(pid, a, size);
  const km = kernelOf(k);
  checkKernelInvariants(km);
  return {
    pswpout: km.vmstat.global(Vm.pswpout),
    node1FreeMiB: (km.zones[1].nrFree * 4096) / MiB,
    thpOnNode1: km.huge.thpCount(1),
    stall: k.stallTime(pid).directReclaim,
  };
}

test('thisnode: THP faults swap out node 0 while node 1 is free (the swap storm)', () => {
  const r = run('thisnode');
  assert.ok(r.pswpout > 0, `expected swap-outs, got ${r.pswpout}`);
  assert.ok(r.node1FreeMiB > 200, `node 1 should stay nearly free, has ${r.node1FreeMiB} MiB free`);
  assert.ok(r.stall > 0, 'the faulting task stalls in direct reclaim');
});

for (const policy of ['remote', 'local-first'] as const) {
  test(`${policy}: huge pages spill to node 1 and nothing is swapped`, () => {
    const r = run(policy);
    assert.equal(r.pswpout, 0);
    assert.ok(r.thpOnNode1 > 0, 'some THPs are on node 1');
  });
}
