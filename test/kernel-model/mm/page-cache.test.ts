// The page cache and the kernel's own allocations as memory consumers (kernel-model/mm/page-cache.ts,
// kernel-allocations.ts). They allocate and free in batches: the allocator's bulk fast path, then its
// slow path page by page (allocPagesBulk), which must take the pages allocPages would; a call for n
// pages must leave the machine as n calls for one do; their counters follow the pages; and compaction
// moving cache pages keeps the cache's index right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import { kernelOf } from '../../../kernel-model/evaluation.js';
import { PageKind } from '../../../kernel-model/mm/constants.js';
import { GFP } from '../../../kernel-model/mm/gfp.js';
import { Vm } from '../../../kernel-model/mm/vmstat.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;
const FILES = ['/proc/vmstat', '/proc/buddyinfo', '/proc/pagetypeinfo', '/proc/zoneinfo', '/sys/devices/system/node/node1/meminfo'];

/** Two 64 MiB nodes, node 0 mostly taken by a process, so that reads spill, wake kswapd and reclaim. */
function crowded(zoneReclaimMode = 0): SimKernel {
  const k = new SimKernel({ nodes: [{ memoryMiB: 64 }, { memoryMiB: 64 }], swapMiB: 16, seed: 4 });
  k.writeFile('/proc/sys/vm/zone_reclaim_mode', String(zoneReclaimMode));
  const pid = k.spawn({ comm: 'hog', node: 0 });
  const a = k.mmap(pid, 48 * MiB);
  k.madvise(pid, a, 48 * MiB, 'MADV_NOHUGEPAGE');
  k.touch(pid, a, 48 * MiB);
  return k;
}

function state(k: SimKernel): string[] {
  return FILES.map((f) => k.readFile(f));
}

const vm = (k: SimKernel, item: number): number => kernelOf(k).vmstat.global(item);

for (const zoneReclaimMode of [0, 1]) {
  test(`allocPagesBulk takes the pages allocPages would, in order, past the watermarks (zone_reclaim_mode ${zoneReclaimMode})`, () => {
    const bulk = crowded(zoneReclaimMode);
    const single = crowded(zoneReclaimMode);
    for (const k of [bulk, single]) k.pageCacheAdd(0, 2000); // clean cache node reclaim can take
    const out = new Int32Array(1024);
    for (const [kind, gfp, node, n] of [
      [PageKind.PageCache, GFP.KSWAPD_RECLAIM | GFP.DIRECT_RECLAIM | GFP.MOVABLE | GFP.NORETRY, 0, 20_000],
      [PageKind.KernelUnmovable, GFP.KSWAPD_RECLAIM | GFP.DIRECT_RECLAIM | GFP.NORETRY, 1, 3000],
    ] as const) {
      const req = { order: 0, kind, gfp, nodes: [node] };
      const got: number[] = [];
      while (got.length < n) {
        const m = kernelOf(bulk).allocator.allocPagesBulk(req, Math.min(out.length, n - got.length), out);
        if (m === 0) break;
        got.push(...out.subarray(0, m));
      }
      const want: number[] = [];
      while (want.length < n) {
        const pfn = kernelOf(single).allocator.allocPages(req);
        if (pfn < 0) break;
        want.push(pfn);
      }
      assert.deepEqual(got, want);
      assert.deepEqual(state(bulk), state(single));
    }
    assert.ok(vm(bulk, zoneReclaimMode === 0 ? Vm.numa_miss : Vm.zone_reclaim_success) > 0);
    bulk.advance(3000);
    single.advance(3000);
    assert.deepEqual(state(bulk), state(single));
    assert.ok(vm(bulk, Vm.pageoutrun) > 0, 'the slow path woke kswapd');
  });

  test(`one call for n pages leaves the machine as n calls for one do, past the watermarks and across nodes (zone_reclaim_mode ${zoneReclaimMode})`, () => {
    const batched = crowded(zoneReclaimMode);
    const single = crowded(zoneReclaimMode);
    const steps: [(k: SimKernel, n: number) => number, number][] = [
      [(k, n) => k.pageCacheAdd(0, n), 12_000],
      [(k, n) => k.kernelAlloc(0, n, 'unmovable', 2000), 700],
      [(k, n) => k.kernelAlloc(1, n, 'reclaimable'), 900],
      [(k, n) => k.pageCacheAdd(1, n, true), 20_000],
      [(k, n) => k.pageCacheDrop(n), 9000],
    ];
    for (const [step, n] of steps) {
      const got = step(batched, n);
      let one = 0;
      for (let i = 0; i < n; i++) one += step(single, 1);
      assert.equal(got, one);
      assert.deepEqual(state(batched), state(single));
    }
    // The reads went past node 0's watermarks: without zone_reclaim_mode they spilled to node 1 and
    // woke kswapd, which ran once time moved on; with it, node 0's own cache was reclaimed first.
    if (zoneReclaimMode === 0) assert.ok(vm(batched, Vm.numa_miss) > 0);
    else assert.ok(vm(batched, Vm.zone_reclaim_success) > 0);
    batched.writeFile('/proc/sys/vm/drop_caches', '3');
    single.writeFile('/proc/sys/vm/drop_caches', '3');
    batched.advance(3000);
    single.advance(3000);
    assert.deepEqual(state(batched), state(single));
    if (zoneReclaimMode === 0) assert.ok(vm(batched, Vm.pageoutrun) > 0);
    checkKernelInvariants(kernelOf(batched));
  });
}

test('counters follow the cache: file, dirty and LRU pages per node, allocations and frees', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }, { memoryMiB: 128 }], seed: 2 });
  const alloc0 = vm(k, Vm.pgalloc_normal);
  const free0 = vm(k, Vm.pgfree);
  assert.equal(k.pageCacheAdd(1, 5000, true), 5000);
  assert.equal(k.pageCacheAdd(0, 3000), 3000);
  const v = kernelOf(k).vmstat;
  assert.deepEqual([v.node(0, Vm.nr_file_pages), v.node(1, Vm.nr_file_pages)], [3000, 5000]);
  assert.deepEqual([v.node(0, Vm.nr_dirty), v.node(1, Vm.nr_dirty)], [0, 5000]);
  assert.equal(vm(k, Vm.nr_dirtied), 5000);
  assert.deepEqual([v.node(0, Vm.nr_inactive_file), v.node(1, Vm.nr_zone_inactive_file)], [3000, 5000]);
  assert.equal(vm(k, Vm.pgalloc_normal) - alloc0, 8000);
  assert.equal(vm(k, Vm.numa_hit), vm(k, Vm.pgalloc_normal) - vm(k, Vm.numa_miss));
  // The newest pages go first: all of node 0's, then 1000 dirty ones of node 1.
  assert.equal(k.pageCacheDrop(4000), 4000);
  assert.deepEqual([v.node(0, Vm.nr_file_pages), v.node(1, Vm.nr_file_pages)], [0, 4000]);
  assert.equal(vm(k, Vm.nr_dirty), 4000);
  assert.equal(vm(k, Vm.nr_inactive_file), 4000);
  assert.equal(vm(k, Vm.pgfree) - free0, 4000);
  // drop_caches keeps dirty pages.
  k.writeFile('/proc/sys/vm/drop_caches', '1');
  assert.equal(vm(k, Vm.nr_file_pages), 4000);
  assert.equal(k.pageCacheDrop(Infinity), 4000);
  assert.equal(vm(k, Vm.nr_file_pages) + vm(k, Vm.nr_dirty) + vm(k, Vm.nr_inactive_file) + vm(k, Vm.nr_zone_inactive_file), 0);
  assert.equal(k.pageCacheDrop(10), 0);
  checkKernelInvariants(kernelOf(k));
});

test('kernel allocations are counted as slab and freed when their lifetime ends', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 2 });
  assert.equal(k.kernelAlloc(0, 1500, 'unmovable', 1000), 1500);
  assert.equal(k.kernelAlloc(0, 700, 'reclaimable'), 700);
  assert.equal(vm(k, Vm.nr_slab_unreclaimable), 1500);
  assert.equal(vm(k, Vm.nr_slab_reclaimable), 700);
  k.advance(1000);
  assert.equal(vm(k, Vm.nr_slab_unreclaimable), 0);
  k.writeFile('/proc/sys/vm/drop_caches', '2');
  assert.equal(vm(k, Vm.nr_slab_reclaimable), 0);
  checkKernelInvariants(kernelOf(k));
});

test('compaction moving cache pages keeps the cache index, so dropping the cache frees each page once', () => {
  const k = new SimKernel({ nodes: [{ memoryMiB: 128 }], seed: 3 });
  k.writeFile('/proc/sys/vm/compaction_proactiveness', '0');
  const pid = k.spawn({ comm: 'holes' });
  const chunk = 256;
  const maps: number[] = [];
  // Cache pages and anonymous pages in alternate runs; the anonymous ones then go, leaving holes.
  for (let i = 0; i < 48; i++) {
    k.pageCacheAdd(0, chunk);
    const a = k.mmap(pid, chunk * 4096);
    k.madvise(pid, a, chunk * 4096, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, chunk * 4096);
    maps.push(a);
  }
  for (const a of maps) k.munmap(pid, a, chunk * 4096);
  const admin = k.spawn({ comm: 'admin' });
  k.writeFile('/proc/sys/vm/compact_memory', '1', { caller: admin });
  assert.ok(vm(k, Vm.pgmigrate_success) > 0, 'compaction migrated cache pages');
  checkKernelInvariants(kernelOf(k));
  assert.equal(k.pageCacheDrop(Infinity), 48 * chunk);
  assert.equal(vm(k, Vm.nr_file_pages), 0);
  checkKernelInvariants(kernelOf(k));
});
