// Free page reporting in a guest with a balloon (kernel-model/mm/page-reporting.ts): the module
// parameter, the 2 s delay, the order and watermark conditions, batches of 32 within a budget, the
// Reported mark, and the seed's concern made measurable — what reusing reported memory costs the
// allocating task, whether THPs stay available, and what compaction does to reported pages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { MAX_ORDER, NR_MIGRATETYPES } from '../../../kernel-model/mm/constants.js';
import { PG } from '../../../kernel-model/mm/page-flags.js';
import { Vm, kernelOf, pageReportingStats } from '../../../kernel-model/evaluation.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;
const ORDER_FILE = '/sys/module/page_reporting/parameters/page_reporting_order';
const reported = (k: SimKernel): number => pageReportingStats(k).reportedPages;

/** Reported blocks of `order` on the zone's lists. */
function reportedBlocks(k: SimKernel, order: number): number {
  const km = kernelOf(k);
  const zone = km.zones[0];
  let n = 0;
  for (let mt = 0; mt < NR_MIGRATETYPES; mt++) {
    for (let p = zone.freeHead[order * NR_MIGRATETYPES + mt]; p >= 0; p = km.frames.link0[p]) if (km.frames.has(p, PG.reported)) n++;
  }
  return n;
}

/** A guest whose first reporting passes are over (everything free is reported and the worker idle). */
function settledGuest(memoryMiB = 1024): SimKernel {
  const k = new SimKernel({ nodes: [{ memoryMiB }], seed: 3, balloon: true });
  k.advance(60_000);
  return k;
}

describe('/sys/module/page_reporting/parameters/page_reporting_order', () => {
  test('reads -1 until a balloon registers, pageblock order (9) with one', () => {
    assert.equal(new SimKernel({ nodes: [{ memoryMiB: 64 }] }).readFile(ORDER_FILE), '-1\n');
    assert.equal(new SimKernel({ nodes: [{ memoryMiB: 64 }], balloon: true }).readFile(ORDER_FILE), '9\n');
  });

  test('takes 0–10 as kstrtouint in base 0 reads them; anything else is EINVAL; only root may write', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 64 }], balloon: true });
    for (const [text, value] of [['5', 5], ['0x7\n', 7], ['010', 8], ['+10', 10], ['0', 0]] as const) {
      k.writeFile(ORDER_FILE, text);
      assert.equal(k.readFile(ORDER_FILE), `${value}\n`, text);
    }
    for (const bad of ['11', '-1', '9 ', '08', 'nine', '', '4294967296']) {
      assert.throws(() => k.writeFile(ORDER_FILE, bad), (e: unknown) => e instanceof SyscallError && e.errno === 'EINVAL', bad);
    }
    const user = k.spawn({ uid: 1000 });
    assert.throws(() => k.writeFile(ORDER_FILE, '9', { caller: user }), (e: unknown) => e instanceof SyscallError && e.errno === 'EACCES');
  });
});

describe('when reporting runs and what it reports', () => {
  test('the first pass runs 2 s after boot and reports two batches of 32 within its budget; an idle guest is all reported in ~10 s', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 1024 }], seed: 3, balloon: true });
    k.advance(1999);
    assert.equal(reported(k), 0);
    k.advance(1);
    // Orders go upward and the batch carries over between lists: the one order-9 block (left by the
    // zero page's split) starts it; on the order-10 list, budget = ⌈255 blocks / 512⌉ = 1 allows the
    // report that completes it and one more before the budget runs out: 64 blocks in two reports.
    assert.equal(reportedBlocks(k, 9), 1);
    assert.equal(reportedBlocks(k, MAX_ORDER), 63);
    assert.equal(reported(k), 512 + 63 * 1024);
    k.advance(10_000);
    const km = kernelOf(k);
    assert.equal(pageReportingStats(k).reportedFreePages, km.buddy.freePagesInBlocks(km.zones[0]), 'every block of order ≥ 9 is reported');
    const settled = reported(k);
    k.advance(60_000);
    assert.equal(reported(k), settled, 'the worker went idle');
    checkKernelInvariants(km);
  });

  test('a free of order ≥ page_reporting_order is reported 2 s later, not before; small frees are not', () => {
    const k = settledGuest();
    const pid = k.spawn();
    const a = k.mmap(pid, 64 * MiB);
    k.madvise(pid, a, 64 * MiB, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, 64 * MiB);
    k.advance(30_000);
    const before = reported(k);
    // Every other page: nothing merges beyond order 0, so reporting is not asked for.
    for (let off = 0; off < 8 * MiB; off += 8192) k.madvise(pid, a + off, 4096, 'MADV_DONTNEED');
    k.advance(10_000);
    assert.equal(reported(k), before);
    k.munmap(pid, a + 32 * MiB, 32 * MiB);
    k.advance(1999);
    assert.equal(reported(k), before);
    k.advance(1);
    assert.ok(reported(k) >= before + 8192 - 1024, `${reported(k) - before} pages reported`);
    checkKernelInvariants(kernelOf(k));
  });

  test('nothing is reported while free memory is at most the low watermark + 32 << order', () => {
    const k = new SimKernel({ nodes: [{ memoryMiB: 256 }], seed: 3, balloon: true });
    const zone = kernelOf(k).zones[0];
    const pid = k.spawn();
    const threshold = zone.watermark[1] + (32 << 9);
    const size = Math.floor(((zone.nrFree - threshold + 2048) * 4096) / (2 * MiB)) * 2 * MiB;
    const a = k.mmap(pid, size);
    k.madvise(pid, a, size, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, size);
    assert.ok(zone.nrFree <= threshold);
    k.advance(10_000);
    assert.equal(reported(k), 0);
    k.exit(pid);
    k.advance(2000);
    assert.ok(reported(k) > 0);
  });

  test('allocation takes the Reported mark off a block; the host faults each reused page back in', () => {
    const k = settledGuest(256);
    const km = kernelOf(k);
    const marked = km.zones[0].nrReported;
    const pid = k.spawn();
    const a = k.mmap(pid, 4096);
    k.touch(pid, a, 4096);
    assert.equal(pageReportingStats(k).refaultedPages, 1);
    assert.ok(km.zones[0].nrReported < marked);
    assert.equal(pageReportingStats(k).unbackedPages, marked - 1, 'the rest of the split block stays unbacked');
    checkKernelInvariants(km);
  });
});

/**
 * A 512 MiB guest in which a 256 MiB process ran and exited a minute ago, then a process faults
 * `sizeMiB` (madvised THPs or small pages); returns its fault time and its THPs.
 */
function reuseFreedMemory(balloon: boolean, huge: boolean, sizeMiB = 128) {
  const k = new SimKernel({ nodes: [{ memoryMiB: 512 }], seed: 3, balloon });
  const first = k.spawn({ comm: 'batch' });
  const x = k.mmap(first, 256 * MiB);
  k.madvise(first, x, 256 * MiB, 'MADV_HUGEPAGE');
  k.touch(first, x, 256 * MiB);
  k.advance(5000);
  k.exit(first);
  k.advance(60_000);
  const pid = k.spawn({ comm: 'db' });
  const a = k.mmap(pid, sizeMiB * MiB);
  k.madvise(pid, a, sizeMiB * MiB, huge ? 'MADV_HUGEPAGE' : 'MADV_NOHUGEPAGE');
  k.touch(pid, a, sizeMiB * MiB);
  checkKernelInvariants(kernelOf(k));
  return { faultMs: k.cpuTime(pid).stimeMs, thps: kernelOf(k).task(pid)!.mm.thpPmdMapped, thpAllocs: kernelOf(k).vmstat.global(Vm.thp_fault_alloc), k };
}

describe('the seed\'s concern, measured', () => {
  test('THP faults on reported memory cost ~5 ms per 2 MiB (host faults) against ~0.2 ms; THP availability is unchanged', () => {
    const off = reuseFreedMemory(false, true);
    const on = reuseFreedMemory(true, true);
    assert.equal(on.thps, 64);
    assert.equal(off.thps, 64);
    assert.equal(on.thpAllocs, off.thpAllocs);
    const stats = pageReportingStats(on.k);
    assert.equal(stats.refaultedPages, 64 * 512);
    assert.ok(on.faultMs / 64 > 4.5 && on.faultMs / 64 < 6, `${(on.faultMs / 64).toFixed(2)} ms per THP with reporting`);
    assert.ok(off.faultMs / 64 < 0.5, `${(off.faultMs / 64).toFixed(2)} ms per THP without`);
  });

  test('4 KiB faults on reported memory cost 7–12 µs more per page', () => {
    const off = reuseFreedMemory(false, false, 32);
    const on = reuseFreedMemory(true, false, 32);
    const extraUsPerPage = ((on.faultMs - off.faultMs) * 1000) / (8192 + 16);
    assert.ok(extraUsPerPage >= 7 && extraUsPerPage <= 12, `${extraUsPerPage.toFixed(1)} µs more per page`);
  });

  /** Small pages with every other one freed (no free pageblock), reported at `order`, then compact_memory. */
  function compactFragmented(order: string) {
    const k = new SimKernel({ nodes: [{ memoryMiB: 512 }], seed: 1, balloon: true });
    k.writeFile(ORDER_FILE, order);
    k.writeFile('/proc/sys/vm/min_free_kbytes', '1024');
    k.writeFile('/proc/sys/vm/compaction_proactiveness', '0');
    const pid = k.spawn({ comm: 'filler' });
    const size = 384 * MiB;
    const a = k.mmap(pid, size);
    k.madvise(pid, a, size, 'MADV_NOHUGEPAGE');
    k.touch(pid, a, size);
    for (let off = 0; off < size; off += 8192) k.madvise(pid, a + off, 4096, 'MADV_DONTNEED');
    k.advance(60_000);
    const before = pageReportingStats(k);
    const admin = k.spawn({ comm: 'admin' });
    k.writeFile('/proc/sys/vm/compact_memory', '1', { caller: admin });
    checkKernelInvariants(kernelOf(k));
    return { before, after: pageReportingStats(k), compactMs: k.cpuTime(admin).stimeMs, migrated: kernelOf(k).vmstat.global(Vm.pgmigrate_success) };
  }

  test('compaction with the default order: whole free pageblocks are no migration targets, so no reported page is touched', () => {
    const r = compactFragmented('9');
    assert.ok(r.before.reportedFreePages > 0);
    assert.ok(r.migrated > 0);
    assert.equal(r.after.compactionIsolatedReportedPages, 0);
    assert.equal(r.after.compactionRefaultedPages, 0);
  });

  test('compaction with a low page_reporting_order takes reported pages as targets regardless of the mark, and pays the host faults', () => {
    const r = compactFragmented('0');
    assert.ok(r.before.reportedFreePages > 0.9 * r.before.unbackedPages);
    assert.ok(r.after.compactionIsolatedReportedPages > 10_000, `${r.after.compactionIsolatedReportedPages} reported pages isolated`);
    assert.ok(r.after.compactionRefaultedPages > 10_000, `${r.after.compactionRefaultedPages} written`);
    assert.ok(r.after.compactionRefaultedPages <= r.after.compactionIsolatedReportedPages);
    const hostMs = r.after.refaultMs - r.before.refaultMs;
    assert.ok(r.compactMs > hostMs && hostMs > 0, `compaction ${r.compactMs.toFixed(1)} ms, of which host faults ${hostMs.toFixed(1)} ms`);
    // compact_memory undid the host's reclaim of those pages.
    assert.equal(r.after.unbackedPages, r.before.unbackedPages - r.after.compactionRefaultedPages);
  });
});
