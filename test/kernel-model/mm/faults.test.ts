// THP and small-page faults under the sysfs knobs, checked through the public API (counters) and the
// evaluation entry (page tables), with the machine-wide invariants after each scenario.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { Vm, kernelOf, type VmstatName } from '../../../kernel-model/evaluation.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';
import { pagemap } from '../collapse/collapse-helpers.js';

const MiB = 1 << 20;
const vm = (k: SimKernel, item: VmstatName): number => kernelOf(k).vmstat.global(Vm[item]);
const thpOf = (k: SimKernel, pid: number): number => kernelOf(k).task(pid)!.mm.thpPmdMapped;

function setup(enabled: string, defrag = 'madvise', memoryMiB = 256) {
  const k = new SimKernel({ nodes: [{ memoryMiB }], seed: 7 });
  kernelOf(k).tunables.thpEnabled = enabled as 'always';
  kernelOf(k).tunables.thpDefrag = defrag as 'always';
  const pid = k.spawn({ comm: 'test' });
  return { k, pid };
}

describe('THP at fault under transparent_hugepage/enabled', () => {
  for (const [enabled, madvised, expectThp] of [
    ['always', false, 2],
    ['always', true, 2],
    ['madvise', false, 0],
    ['madvise', true, 2],
    ['never', true, 0],
  ] as const) {
    test(`enabled=${enabled}${madvised ? ' + MADV_HUGEPAGE' : ''}: ${expectThp} THPs for a 4 MiB write`, () => {
      const { k, pid } = setup(enabled);
      const a = k.mmap(pid, 4 * MiB);
      if (madvised) k.madvise(pid, a, 4 * MiB, 'MADV_HUGEPAGE');
      k.touch(pid, a, 4 * MiB);
      assert.equal(vm(k, 'thp_fault_alloc'), expectThp);
      assert.equal(thpOf(k, pid), expectThp);
      assert.equal(vm(k, 'pgfault'), expectThp === 2 ? 2 : 1024);
      checkKernelInvariants(kernelOf(k));
    });
  }

  test('MADV_NOHUGEPAGE and PR_SET_THP_DISABLE win over enabled=always', () => {
    const { k, pid } = setup('always');
    const a = k.mmap(pid, 2 * MiB);
    k.madvise(pid, a, 2 * MiB, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, 2 * MiB);
    const other = k.spawn();
    k.prctl(other, 'PR_SET_THP_DISABLE', 1);
    const b = k.mmap(other, 2 * MiB);
    k.touch(other, b, 2 * MiB);
    assert.equal(vm(k, 'thp_fault_alloc'), 0);
  });

  test('only aligned 2 MiB regions wholly inside the VMA get THPs', () => {
    const { k, pid } = setup('always');
    const a = k.mmap(pid, 4 * MiB);
    k.munmap(pid, a, 1 * MiB);
    k.touch(pid, a + 1 * MiB, 3 * MiB);
    assert.equal(vm(k, 'thp_fault_alloc'), 1);
    assert.equal(kernelOf(k).task(pid)!.mm.rssPages, 512 + 256);
  });
});

/**
 * Fills memory with small movable pages up to 1 MiB short of full (with a tiny min_free_kbytes so
 * that no reclaim is needed), then frees every other page: plenty of free memory, no free 2 MiB block.
 */
function fragment(k: SimKernel): void {
  k.writeFile('/proc/sys/vm/min_free_kbytes', '128');
  const filler = k.spawn({ comm: 'filler' });
  const size = Math.floor((kernelOf(k).zones[0].nrFree * 4096 - 1 * MiB) / 4096) * 4096;
  const a = k.mmap(filler, size);
  k.madvise(filler, a, size, 'MADV_NOHUGEPAGE');
  k.touch(filler, a, size);
  for (let off = 0; off < size; off += 8192) k.madvise(filler, a + off, 4096, 'MADV_DONTNEED');
}

describe('defrag decides how hard a THP fault tries on fragmented memory', () => {
  test('defrag=never falls back to small pages without compacting', () => {
    const { k, pid } = setup('always', 'never');
    fragment(k);
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB);
    assert.equal(vm(k, 'thp_fault_alloc'), 0);
    assert.equal(vm(k, 'thp_fault_fallback'), 1);
    assert.equal(vm(k, 'compact_stall'), 0);
    checkKernelInvariants(kernelOf(k));
  });

  test('defrag=always compacts in the faulting task and gets the THP', () => {
    const { k, pid } = setup('always', 'always');
    fragment(k);
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB);
    assert.equal(vm(k, 'thp_fault_alloc'), 1);
    assert.ok(vm(k, 'compact_stall') >= 1);
    assert.ok(k.stallTime(pid).directCompaction > 0, 'the faulting task pays for compaction');
    checkKernelInvariants(kernelOf(k));
  });

  test('defrag=madvise: only a madvised region compacts', () => {
    const { k, pid } = setup('always', 'madvise');
    fragment(k);
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB);
    assert.equal(vm(k, 'thp_fault_alloc'), 0);
    const b = k.mmap(pid, 2 * MiB);
    k.madvise(pid, b, 2 * MiB, 'MADV_HUGEPAGE');
    k.touch(pid, b, 2 * MiB);
    assert.equal(vm(k, 'thp_fault_alloc'), 1);
  });
});

describe('the huge zero page', () => {
  test('a read fault maps the huge zero page; a later write allocates a THP [6.18]', () => {
    const { k, pid } = setup('always');
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB, { write: false });
    assert.equal(vm(k, 'thp_zero_page_alloc'), 1);
    assert.equal(kernelOf(k).task(pid)!.mm.rssPages, 0);
    k.touch(pid, a, 4096);
    assert.equal(thpOf(k, pid), 1);
    assert.equal(vm(k, 'thp_zero_page_alloc'), 1, 'the huge zero page is allocated once');
    checkKernelInvariants(kernelOf(k));
  });
});

describe('a machine whose read faults map no zero page (noZeroPage, as pvm_no_zero_page=1) [6.18.44-fc]', () => {
  function noZeroPage(enabled: string) {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }], seed: 7, noZeroPage: true });
    kernelOf(k).tunables.thpEnabled = enabled as 'always';
    return { k, pid: k.spawn({ comm: 'test' }) };
  }

  test('a 4 KiB read fault allocates a zero-filled page and gives the VMA its anon_vma', () => {
    const { k, pid } = noZeroPage('madvise');
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 8 * 4096, { write: false });
    const km = kernelOf(k);
    const mm = km.task(pid)!.mm;
    assert.equal(mm.rssPages, 8, 'each read fault is a resident page');
    assert.notEqual(mm.findVma(a)!.anonVma, 0);
    const [entry = 0n] = pagemap(k, pid, a, 1);
    const pfn = Number(entry & ((1n << 55n) - 1n));
    assert.ok(pfn !== 0 && pfn !== km.zeroPfn, 'a page of its own, not the zero page');
    assert.equal(km.frames.content(pfn), 0, 'zero-filled');
    checkKernelInvariants(km);
  });

  test('a read fault in a THP-eligible region allocates a THP, not the huge zero page', () => {
    const { k, pid } = noZeroPage('always');
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 4096, { write: false });
    assert.equal(vm(k, 'thp_zero_page_alloc'), 0);
    assert.equal(vm(k, 'thp_fault_alloc'), 1);
    assert.equal(thpOf(k, pid), 1);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('page-table lifetime', () => {
  const tableOf = (k: SimKernel, pid: number, a: number) => kernelOf(k).task(pid)!.mm.pmd.get(Math.floor(a / (2 * MiB)));

  test('MADV_DONTNEED frees an emptied PTE table only when one call covers its 2 MiB (PT_RECLAIM) [6.18]', () => {
    const { k, pid } = setup('madvise');
    const a = k.mmap(pid, 4 * MiB);
    k.touch(pid, a, 4096);
    k.madvise(pid, a, 4096, 'MADV_DONTNEED');
    assert.notEqual(tableOf(k, pid, a), undefined, 'emptied by a 4 KiB call: stays');
    k.touch(pid, a + 2 * MiB, 4096);
    k.madvise(pid, a, 4 * MiB, 'MADV_DONTNEED');
    assert.equal(tableOf(k, pid, a), undefined, 'covered whole and empty: freed');
    assert.equal(tableOf(k, pid, a + 2 * MiB), undefined);
    checkKernelInvariants(kernelOf(k));
  });

  test('munmap frees a PTE table only when no VMA still overlaps its 2 MiB (free_pgtables) [6.18]', () => {
    const { k, pid } = setup('madvise');
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 4096);
    k.munmap(pid, a, 4096);
    assert.notEqual(tableOf(k, pid, a), undefined, 'the rest of the VMA keeps the (empty) table');
    assert.match(k.readFile(`/proc/${pid}/status`), /VmPTE:\s+4 kB/);
    k.munmap(pid, a + 4096, 2 * MiB - 4096);
    assert.equal(tableOf(k, pid, a), undefined);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('splitting', () => {
  test('MADV_DONTNEED of one page inside a THP splits the PMD and queues a deferred split', () => {
    const { k, pid } = setup('always');
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB);
    k.madvise(pid, a + 4096, 4096, 'MADV_DONTNEED');
    assert.equal(vm(k, 'thp_split_pmd'), 1);
    assert.equal(vm(k, 'thp_deferred_split_page'), 1);
    assert.equal(thpOf(k, pid), 0);
    assert.equal(kernelOf(k).task(pid)!.mm.rssPages, 511);
    checkKernelInvariants(kernelOf(k));
  });

  test('fork + write splits only the writer’s PMD and copies one page', () => {
    const { k, pid } = setup('always');
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB, { fill: 42 });
    const child = k.fork(pid);
    assert.equal(thpOf(k, child), 1, 'the child shares the THP, PMD-mapped');
    k.touch(child, a, 4096, { fill: 7 });
    assert.equal(thpOf(k, child), 0);
    assert.equal(thpOf(k, pid), 1, 'the parent keeps its PMD mapping');
    assert.equal(vm(k, 'thp_split_pmd'), 1);
    const km = kernelOf(k);
    const head = -km.task(pid)!.mm.pmd.get(a / (2 * MiB))! - 1;
    assert.equal(km.frames.content(head), 42, 'the parent still sees its data');
    checkKernelInvariants(km);
  });

  test('exit frees everything a process mapped', () => {
    const { k, pid } = setup('always');
    const km = kernelOf(k);
    const before = km.zones[0].nrFree;
    const a = k.mmap(pid, 8 * MiB);
    k.touch(pid, a, 8 * MiB);
    k.fork(pid);
    k.exit(pid);
    assert.throws(() => k.touch(pid, a, 4096), (e: unknown) => e instanceof SyscallError && e.errno === 'ESRCH');
    checkKernelInvariants(km);
    assert.ok(km.zones[0].nrFree < before, 'the child still holds the pages');
  });
});

describe('permissions and errors', () => {
  test('a write to a read-only mapping faults the pages before it, then EFAULT', () => {
    const { k, pid } = setup('never');
    const a = k.mmap(pid, 8 * 4096);
    k.mprotect(pid, a + 4 * 4096, 4 * 4096, 'r');
    assert.throws(() => k.touch(pid, a, 8 * 4096), (e: unknown) => e instanceof SyscallError && e.errno === 'EFAULT');
    assert.equal(kernelOf(k).task(pid)!.mm.rssPages, 4);
  });

  test('mprotect of a range with a hole is ENOMEM; munmap of an unaligned address is EINVAL', () => {
    const { k, pid } = setup('never');
    const a = k.mmap(pid, 4 * 4096);
    assert.throws(() => k.mprotect(pid, a, 8 * 4096, 'r'), (e: unknown) => e instanceof SyscallError && e.errno === 'ENOMEM');
    assert.throws(() => k.munmap(pid, a + 1, 4096), (e: unknown) => e instanceof SyscallError && e.errno === 'EINVAL');
  });
});

describe('every enabled × defrag combination on memory with no free 2 MiB block', () => {
  const enabledModes = ['always', 'madvise', 'never'] as const;
  const defragModes = ['always', 'defer', 'defer+madvise', 'madvise', 'never'] as const;
  for (const enabled of enabledModes) {
    for (const defrag of defragModes) {
      for (const madvised of [false, true]) {
        const eligible = enabled === 'always' || (enabled === 'madvise' && madvised);
        const stalls = defrag === 'always' || (madvised && (defrag === 'defer+madvise' || defrag === 'madvise'));
        const wakesKswapd = defrag === 'defer' || (defrag === 'defer+madvise' && !madvised);
        const expect = !eligible ? 'small pages, no THP attempt' : stalls ? 'compaction in the fault, a THP' : wakesKswapd ? 'fallback, kcompactd woken' : 'fallback, nothing woken';
        test(`enabled=${enabled} defrag=${defrag}${madvised ? ' madvised' : ''}: ${expect}`, () => {
          const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 9 });
          k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', enabled);
          k.writeFile('/sys/kernel/mm/transparent_hugepage/defrag', defrag);
          // khugepaged would try the region right after the fault; without its defrag it cannot compact
          // or wake anyone, so what this test sees is the fault's own doing.
          k.writeFile('/sys/kernel/mm/transparent_hugepage/khugepaged/defrag', '0');
          fragment(k);
          const pid = k.spawn();
          const a = k.mmap(pid, 2 * MiB);
          if (madvised) k.madvise(pid, a, 2 * MiB, 'MADV_HUGEPAGE');
          k.touch(pid, a, 2 * MiB);
          k.advance(1000);
          assert.equal(vm(k, 'thp_fault_alloc'), eligible && stalls ? 1 : 0);
          assert.equal(vm(k, 'thp_fault_fallback'), eligible && !stalls ? 1 : 0);
          assert.equal(vm(k, 'compact_stall') > 0, eligible && stalls);
          assert.equal(vm(k, 'compact_daemon_wake') > 0, eligible && !stalls && wakesKswapd);
        });
      }
    }
  }
});

describe('reclaim', () => {
  test('kswapd gives up on a node with nothing to reclaim, and says so in zoneinfo', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }], seed: 4 });
    const pid = k.spawn();
    const zone = kernelOf(k).zones[0];
    // Leave free memory between the min and low watermarks: allocations still succeed, kswapd has work.
    k.kernelAlloc(0, zone.nrFree - Math.floor((zone.watermark[0] + zone.watermark[1]) / 2), 'unmovable');
    for (let i = 0; i < 40; i++) {
      const a = k.mmap(pid, 4096);
      k.touch(pid, a, 4096);
      k.advance(200);
    }
    assert.match(k.readFile('/proc/zoneinfo'), /node_unreclaimable:\s+1/);
  });

  test('with swap, memory pressure swaps anonymous pages out and a later access swaps them back in', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }], swapMiB: 64, seed: 4 });
    kernelOf(k).tunables.thpEnabled = 'never';
    const pid = k.spawn();
    const a = k.mmap(pid, 80 * MiB);
    k.touch(pid, a, 80 * MiB, { fill: 7 });
    assert.ok(vm(k, 'pswpout') > 0, 'pages were swapped out');
    const before = vm(k, 'pswpin');
    k.touch(pid, a, 80 * MiB, { write: false });
    assert.ok(vm(k, 'pswpin') > before, 'reading them faulted them back');
    assert.ok(k.stallTime(pid).swapIn > 0 && k.stallTime(pid).directReclaim > 0);
    checkKernelInvariants(kernelOf(k));
  });

  test('without swap, an allocation that cannot be satisfied kills the largest process and logs it', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }], seed: 4 });
    kernelOf(k).tunables.thpEnabled = 'never';
    const hog = k.spawn({ comm: 'hog' });
    const a = k.mmap(hog, 128 * MiB);
    assert.throws(() => k.touch(hog, a, 128 * MiB), (e: unknown) => e instanceof SyscallError && e.errno === 'EFAULT');
    assert.ok(!k.listPids().includes(hog));
    assert.match(k.kmsg(), /Out of memory: Killed process \d+ \(hog\)/);
    assert.equal(vm(k, 'oom_kill'), 1);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('MADV_PAGEOUT', () => {
  test('a THP the range covers goes to swap whole; one it cuts is split and only the range goes', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }], swapMiB: 64, seed: 4 });
    kernelOf(k).tunables.thpEnabled = 'always';
    const pid = k.spawn();
    const a = k.mmap(pid, 8 * MiB);
    k.touch(pid, a, 8 * MiB);
    k.madvise(pid, a, 2 * MiB, 'MADV_PAGEOUT');
    assert.equal(vm(k, 'thp_swpout'), 1);
    assert.equal(vm(k, 'pswpout'), 512);
    k.madvise(pid, a + 2 * MiB, 1 * MiB, 'MADV_PAGEOUT');
    assert.equal(vm(k, 'thp_split_page'), 1);
    assert.equal(vm(k, 'pswpout'), 512 + 256);
    assert.equal(kernelOf(k).task(pid)!.mm.swapEntries, 768);
    checkKernelInvariants(kernelOf(k));
  });

  test('without room for 512 slots a THP is split before it is swapped (thp_swpout_fallback)', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }], swapMiB: 1, seed: 4 });
    kernelOf(k).tunables.thpEnabled = 'always';
    const pid = k.spawn();
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 2 * MiB);
    k.madvise(pid, a, 2 * MiB, 'MADV_PAGEOUT');
    assert.equal(vm(k, 'thp_swpout'), 0);
    assert.equal(vm(k, 'thp_swpout_fallback'), 1);
    assert.equal(vm(k, 'pswpout'), 256);
    checkKernelInvariants(kernelOf(k));
  });
});

describe('the underused-THP shrinker', () => {
  function mostlyZeroThp(maxPtesNone: string) {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }], seed: 4 });
    k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'always');
    k.writeFile('/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none', maxPtesNone);
    const pid = k.spawn();
    const a = k.mmap(pid, 2 * MiB);
    k.touch(pid, a, 4096);                                    // one written page, 511 zero-filled subpages
    // Memory pressure: a second process fills memory with small pages, so reclaim runs.
    const hog = k.spawn();
    const b = k.mmap(hog, 60 * MiB);
    k.madvise(hog, b, 60 * MiB, 'MADV_NOHUGEPAGE');
    try {
      k.touch(hog, b, 60 * MiB);
      k.advance(1000);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
    return { k, pid };
  }

  test('with max_ptes_none below 511, a THP mostly of zero pages is split under pressure and its zero pages shared', () => {
    const { k, pid } = mostlyZeroThp('409');
    assert.ok(vm(k, 'thp_underused_split_page') >= 1);
    assert.equal(thpOf(k, pid), 0);
    assert.ok(kernelOf(k).task(pid)!.mm.rssPages < 512, 'zero-filled subpages no longer count as resident');
    checkKernelInvariants(kernelOf(k));
  });

  test('with max_ptes_none at 511 (the default) the shrinker leaves THPs alone', () => {
    const { k, pid } = mostlyZeroThp('511');
    assert.equal(vm(k, 'thp_underused_split_page'), 0);
    assert.equal(thpOf(k, pid), 1);
  });
});
