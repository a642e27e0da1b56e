// Hot memory and its THP coverage (evaluation ground truth): the cached, per-region counts agree with a
// brute-force scan of every page (sum of pageAccessRate over the streams, then the page table), for every
// pattern and for overlapping streams; THP coverage follows enabled, MADV_COLLAPSE and swap-out; a
// phase change (a new spec) changes the answer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimKernel, type AccessStreamSpec } from '../../../kernel-model/index.js';
import { hotMemory, kernelOf, thpBloat, type HotMemory } from '../../../kernel-model/evaluation.js';
import { pageAccessRate } from '../../../kernel-model/workload/access-pattern.js';

const KiB = 1024;
const MiB = 1 << 20;
const PAGE = 4096;
const H = 2 * MiB;
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';

/** The reference: every page of every stream's range, one at a time. */
function bruteForce(sim: SimKernel, pid: number, threshold = 1): HotMemory {
  const k = kernelOf(sim);
  const task = k.task(pid);
  const specs = task ? k.streams.streamsOf(pid) : [];
  const r: HotMemory = { hotBytes: 0, hotThpBytes: 0, hotThpRemoteBytes: 0, hotSwappedBytes: 0, hotAbsentBytes: 0, accessRate: 0, hotAccessThpShare: 0, coldThpBytes: 0 };
  if (!task || specs.length === 0) return r;
  const pages = new Set<number>();
  for (const s of specs) for (let p = s.start / PAGE; p < (s.start + s.length) / PAGE; p++) pages.add(p);
  const rateOf = (p: number): number => specs.reduce((sum, s) => sum + pageAccessRate(s, p), 0);
  const hotRegions = new Set<number>();
  let thpMass = 0;
  for (const p of pages) {
    const rate = rateOf(p);
    const e = task.mm.pmd.get(Math.floor(p / 512));
    if (e !== undefined && e < 0) thpMass += rate;
    if (rate < threshold) continue;
    r.hotBytes += PAGE;
    hotRegions.add(Math.floor(p / 512));
    if (e === undefined) r.hotAbsentBytes += PAGE;
    else if (e < 0) {
      r.hotThpBytes += PAGE;
      if (k.nodeOfPfn(-e - 1) !== task.node) r.hotThpRemoteBytes += PAGE;
    } else {
      const pte = k.pgtables.entries[e * 512 + (p % 512)];
      if (pte < 0) r.hotSwappedBytes += PAGE;
      else if (pte === 0) r.hotAbsentBytes += PAGE;
    }
  }
  for (const [idx, e] of task.mm.pmd) if (e < 0 && -e - 1 !== k.huge.hugeZeroPfn && !hotRegions.has(idx)) r.coldThpBytes += H;
  r.accessRate = specs.reduce((sum, s) => sum + s.ratePerSec, 0);
  r.hotAccessThpShare = r.accessRate > 0 ? thpMass / r.accessRate : 0;
  return r;
}

function assertMatches(sim: SimKernel, pid: number, threshold: number, label = ''): HotMemory {
  const got = hotMemory(sim, pid, threshold);
  const want = bruteForce(sim, pid, threshold);
  const { hotAccessThpShare: gotShare, ...gotBytes } = got;
  const { hotAccessThpShare: wantShare, ...wantBytes } = want;
  assert.deepEqual(gotBytes, wantBytes, `${label} threshold ${threshold}`);
  assert.ok(Math.abs(gotShare - wantShare) < 1e-6, `${label} THP share ${gotShare} vs ${wantShare}`);
  return got;
}

/**
 * A 32 MiB mapping on node 0 of a two-node machine in every state a page can be in: THPs on node 0
 * (0–6 MiB) and on node 1 (6–8 MiB), fully populated small pages (8–12 MiB), scattered small pages
 * (12–16 MiB), swapped pages (16–18 MiB, some of 18–20), a THP split by a partial page-out (20–22 MiB),
 * and nothing (22–32 MiB).
 */
function mixedMachine(): { sim: SimKernel; pid: number; base: number } {
  const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }], swapMiB: 64, seed: 7 });
  const pid = sim.spawn({ node: 0 });
  const base = sim.mmap(pid, 32 * MiB, { align: H });
  sim.writeFile(THP, 'always');
  sim.touch(pid, base, 6 * MiB);
  sim.setNode(pid, 1);
  sim.touch(pid, base + 6 * MiB, 2 * MiB);
  sim.setNode(pid, 0);
  sim.touch(pid, base + 20 * MiB, 2 * MiB);
  sim.writeFile(THP, 'never');
  sim.touch(pid, base + 8 * MiB, 4 * MiB);
  for (let a = base + 12 * MiB; a < base + 16 * MiB; a += 3 * PAGE) sim.touch(pid, a, PAGE);
  sim.touch(pid, base + 16 * MiB, 4 * MiB);
  sim.madvise(pid, base + 16 * MiB, 2 * MiB, 'MADV_PAGEOUT');
  for (let a = base + 18 * MiB; a < base + 20 * MiB; a += 64 * KiB) sim.madvise(pid, a, 8 * KiB, 'MADV_PAGEOUT');
  sim.madvise(pid, base + 20 * MiB, 1 * MiB, 'MADV_PAGEOUT');
  return { sim, pid, base };
}

function withStreams(specs: (base: number) => AccessStreamSpec[]): { sim: SimKernel; pid: number; base: number } {
  const m = mixedMachine();
  for (const s of specs(m.base)) m.sim.addAccessStream(m.pid, s);
  return m;
}

const stream = (start: number, length: number, ratePerSec: number, more: Partial<AccessStreamSpec> = {}): AccessStreamSpec => ({
  start,
  length,
  ratePerSec,
  pattern: 'uniform',
  writeFraction: 0,
  ...more,
});

describe('hotMemory agrees with a per-page scan', () => {
  test('the mixed fixture has every page state', () => {
    const { sim, pid } = withStreams((b) => [stream(b, 32 * MiB, 8192 * 4)]);
    const got = assertMatches(sim, pid, 1);
    assert.equal(got.hotBytes, 32 * MiB);
    for (const key of ['hotThpBytes', 'hotThpRemoteBytes', 'hotSwappedBytes', 'hotAbsentBytes'] as const) assert.ok(got[key] > 0, `${key} > 0`);
    assert.equal(got.hotThpBytes, 8 * MiB);
    assert.equal(got.hotThpRemoteBytes, 2 * MiB);
    assert.equal(hotMemory(sim, pid, 1e9).coldThpBytes, 8 * MiB, 'nothing hot: every THP is bloat');
  });

  test('uniform: below, at and above the per-page rate', () => {
    // 8 MiB hot subset = 2048 pages at 8192/s: exactly 4 accesses/s on each page.
    const { sim, pid } = withStreams((b) => [stream(b + 4 * MiB, 16 * MiB, 8192, { hotFraction: 0.5, hotOffset: 0.5 })]);
    assert.equal(assertMatches(sim, pid, 3).hotBytes, 8 * MiB);
    assert.equal(assertMatches(sim, pid, 4).hotBytes, 8 * MiB, 'a rate equal to the threshold is hot');
    assert.equal(assertMatches(sim, pid, 4.000001).hotBytes, 0);
  });

  for (const theta of [0.3, 0.99, 1.5, 3]) {
    test(`zipf θ=${theta}: every hot fraction, offset and threshold`, () => {
      for (const [hotFraction, hotOffset] of [[1, 0], [0.37, 0.2], [0.05, 1]]) {
        const { sim, pid, base } = withStreams((b) => [stream(b + 1 * MiB, 30 * MiB, 1e5, { pattern: 'zipf', theta, hotFraction, hotOffset })]);
        const spec = kernelOf(sim).streams.streamsOf(pid)[0];
        // thresholds at exact page rates (the page then counts) and between them
        const rates = [1, 17, 300, 2001].map((i) => pageAccessRate(spec, base / PAGE + 256 + Math.floor(i * hotFraction * 3)));
        const thresholds = [...rates, ...rates.map((x) => x * 1.0001), 0.01, 1, 1e5];
        for (const t of thresholds.filter((x) => x > 0)) assertMatches(sim, pid, t, `hf ${hotFraction} ho ${hotOffset}`);
      }
    });
  }

  test('zipf with a cutoff in the tail and with a single chunk', () => {
    // 7680 + 15 pages: 480 chunks of 16 and a 15-rank tail; a tiny stream has one chunk.
    const { sim, pid } = withStreams((b) => [
      stream(b, 30 * MiB + 15 * PAGE, 1e9, { pattern: 'zipf', theta: 0.6 }),
      stream(b + 31 * MiB, 13 * PAGE, 50, { pattern: 'zipf', theta: 2 }),
    ]);
    const [big] = kernelOf(sim).streams.streamsOf(pid);
    const inTail = pageAccessRate(big, big.start / PAGE + 7685);
    const m = assertMatches(sim, pid, inTail);
    assert.ok(m.hotBytes > 7680 * PAGE && m.hotBytes < 7695 * PAGE, 'the cutoff rank lies in the tail');
    for (const t of [1e-3, 1, 10, 1e4]) assertMatches(sim, pid, t);
  });

  test('sequential and strided (σ dividing 4096, not dividing it, above it)', () => {
    for (const more of [{ pattern: 'sequential' }, { pattern: 'strided', strideBytes: 1024 }, { pattern: 'strided', strideBytes: 3000 }, { pattern: 'strided', strideBytes: 10000 }] as const) {
      const { sim, pid } = withStreams((b) => [stream(b + 3 * MiB, 24 * MiB, 6144, { ...more, hotFraction: 0.5, hotOffset: 0.3 })]);
      for (const t of [0.5, 1, 1.4, 1.5, 1.6, 2, 3]) assertMatches(sim, pid, t, more.pattern + String(more.pattern === 'strided' ? more.strideBytes : ''));
    }
  });

  test('two overlapping streams: their rates add up page by page', () => {
    // uniform at 0.75/s per page everywhere, zipf on top of part of it: only the overlap passes 1/s
    const { sim, pid } = withStreams((b) => [
      stream(b, 32 * MiB, 0.75 * 8192),
      stream(b + 5 * MiB, 9 * MiB, 1000, { pattern: 'zipf', theta: 0.8 }),
    ]);
    const got = assertMatches(sim, pid, 1);
    assert.ok(got.hotBytes > 0 && got.hotBytes < 9 * MiB);
    for (const t of [0.5, 0.75, 0.76, 3, 50]) assertMatches(sim, pid, t);
  });

  test('property: random streams on a small mapping', () => {
    const pattern = fc.constantFrom('uniform', 'zipf', 'sequential', 'strided');
    const spec = fc.record({
      startPage: fc.integer({ min: 0, max: 8191 }),
      pages: fc.integer({ min: 1, max: 8192 }),
      rate: fc.oneof(fc.constant(0), fc.double({ min: 1, max: 1e7, noNaN: true })),
      pattern,
      theta: fc.double({ min: 0.05, max: 5, noNaN: true }),
      stride: fc.integer({ min: 1, max: 20000 }),
      hotFraction: fc.double({ min: 0.001, max: 1, noNaN: true }),
      hotOffset: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    const mixed = mixedMachine();
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 3 }), fc.double({ min: -3, max: 5, noNaN: true }), (specs, logThreshold) => {
        const { sim, pid, base } = mixed;
        const ids = specs.map((s) => {
          const start = base + s.startPage * PAGE;
          const length = Math.min(s.pages, 8192 - s.startPage) * PAGE;
          const extra = s.pattern === 'zipf' ? { theta: s.theta } : s.pattern === 'strided' ? { strideBytes: s.stride } : {};
          return sim.addAccessStream(pid, stream(start, length, s.rate, { pattern: s.pattern, hotFraction: s.hotFraction, hotOffset: s.hotOffset, ...extra }));
        });
        try {
          assertMatches(sim, pid, 10 ** logThreshold);
        } finally {
          for (const id of ids) sim.removeAccessStream(pid, id);
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('THP coverage follows the kernel', () => {
  function machine(enabled: string, swapMiB = 0): { sim: SimKernel; pid: number; a: number } {
    const sim = new SimKernel({ nodes: [{ memoryMiB: 512 }], swapMiB, seed: 3 });
    sim.writeFile(THP, enabled);
    const pid = sim.spawn();
    const a = sim.mmap(pid, 64 * MiB, { align: H });
    return { sim, pid, a };
  }

  test('an MADV_HUGEPAGE mapping under enabled=madvise is hot on THPs; under never it is not', () => {
    for (const enabled of ['madvise', 'never']) {
      const { sim, pid, a } = machine(enabled);
      sim.madvise(pid, a, 64 * MiB, 'MADV_HUGEPAGE');
      sim.touch(pid, a, 64 * MiB);
      sim.addAccessStream(pid, stream(a, 64 * MiB, 1e6, { pattern: 'zipf', hotFraction: 0.5, hotOffset: 0.25 }));
      sim.advance(3000);
      const m = assertMatches(sim, pid, 1);
      assert.ok(m.hotBytes > 8 * MiB, `hot ${m.hotBytes}`);
      if (enabled === 'madvise') {
        assert.equal(m.hotThpBytes, m.hotBytes);
        assert.ok(Math.abs(m.hotAccessThpShare - 1) < 1e-6);
        assert.equal(m.coldThpBytes, 32 * MiB, 'the THPs outside the hot subset are bloat');
        assert.equal(thpBloat(sim, pid), 32 * MiB);
      } else {
        assert.equal(m.hotThpBytes, 0);
        assert.equal(m.hotAccessThpShare, 0);
        assert.equal(m.coldThpBytes, 0);
      }
      assert.equal(m.hotAbsentBytes + m.hotSwappedBytes, 0);
    }
  });

  test('MADV_COLLAPSE of a region adds exactly its hot pages', () => {
    const { sim, pid, a } = machine('madvise');
    sim.touch(pid, a, 64 * MiB);
    sim.addAccessStream(pid, stream(a, 64 * MiB, 2e4, { pattern: 'zipf' }));
    const before = assertMatches(sim, pid, 1);
    assert.equal(before.hotThpBytes, 0);
    const region = a + 10 * H;
    const spec = kernelOf(sim).streams.streamsOf(pid)[0];
    let regionHot = 0;
    for (let p = region / PAGE; p < (region + H) / PAGE; p++) if (pageAccessRate(spec, p) >= 1) regionHot += PAGE;
    assert.ok(regionHot > 0 && regionHot < H);
    const pidfd = sim.pidfdOpen(pid, pid);
    assert.equal(sim.processMadvise(pid, pidfd, [{ base: region, len: H }], 'MADV_COLLAPSE'), H);
    const after = assertMatches(sim, pid, 1);
    assert.equal(after.hotThpBytes - before.hotThpBytes, regionHot);
    assert.equal(after.hotBytes, before.hotBytes);
    assert.ok(after.hotAccessThpShare > 0);
  });

  test('swapping hot pages out shows as hotSwappedBytes; a remote home node as hotThpRemoteBytes', () => {
    const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }, { memoryMiB: 256 }], swapMiB: 64, seed: 3 });
    sim.writeFile(THP, 'always');
    const pid = sim.spawn({ node: 0 });
    const a = sim.mmap(pid, 16 * MiB, { align: H });
    sim.touch(pid, a, 16 * MiB);
    sim.addAccessStream(pid, stream(a, 16 * MiB, 4096 * 10));
    assert.equal(assertMatches(sim, pid, 1).hotSwappedBytes, 0);
    sim.madvise(pid, a + 4 * MiB, 3 * MiB, 'MADV_PAGEOUT');
    const m = assertMatches(sim, pid, 1);
    assert.equal(m.hotSwappedBytes, 3 * MiB);
    assert.equal(m.hotThpBytes, 12 * MiB);
    sim.setNode(pid, 1);
    assert.equal(assertMatches(sim, pid, 1).hotThpRemoteBytes, 12 * MiB);
  });
});

describe('the per-process cache', () => {
  test('a new spec (the hot set moves) changes the answer; the threshold is part of the key', () => {
    const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }], seed: 5 });
    const pid = sim.spawn();
    const a = sim.mmap(pid, 32 * MiB, { align: H });
    sim.touch(pid, a, 8 * MiB);
    const id = sim.addAccessStream(pid, stream(a, 32 * MiB, 2048 * 8, { hotFraction: 0.25 }));
    const first = assertMatches(sim, pid, 1);
    assert.deepEqual([first.hotBytes, first.hotAbsentBytes], [8 * MiB, 0]);
    assert.deepEqual(hotMemory(sim, pid, 1), first, 'the cached answer is the same');
    assert.equal(assertMatches(sim, pid, 9).hotBytes, 0, 'another threshold, another answer');
    sim.updateAccessStream(pid, id, stream(a, 32 * MiB, 2048 * 8, { hotFraction: 0.25, hotOffset: 1 }));
    const moved = assertMatches(sim, pid, 1);
    assert.deepEqual([moved.hotBytes, moved.hotAbsentBytes], [8 * MiB, 8 * MiB], 'the hot set moved onto untouched memory');
    sim.updateAccessStream(pid, id, stream(a, 32 * MiB, 2048 * 8, { hotFraction: 0.25, hotOffset: 0 }));
    assert.equal(assertMatches(sim, pid, 1).hotAbsentBytes, 0);
    const id2 = sim.addAccessStream(pid, stream(a + 16 * MiB, 4 * MiB, 1024 * 2));
    assert.equal(assertMatches(sim, pid, 1).hotBytes, 12 * MiB, 'an added stream counts');
    sim.removeAccessStream(pid, id2);
    assert.equal(assertMatches(sim, pid, 1).hotBytes, 8 * MiB, 'a removed one no longer does');
  });

  test('a layout rebuilt after one stream moves equals a fresh build and a per-page scan', () => {
    // A JVM in small: a zipf old generation over the whole mapping that never changes, a uniform young
    // generation (4 MiB, 0.5 accesses/s per page) whose hot set moves in eighths and comes back to the
    // same positions as new spec objects, and a second zipf over part of the mapping (regions where two
    // zipf streams meet sum page by page). Threshold 1 leaves the old generation a residual of 0.5 in
    // the young one's regions (some pages hot, some not), 0.4 makes them all hot, and 3 and 1e4 cut in
    // between. The fixture's partly populated and swapped page tables make the sample read the hot runs.
    const m = mixedMachine();
    const fresh = mixedMachine();
    const old = stream(m.base, 32 * MiB, 8192, { pattern: 'zipf', theta: 0.8 });
    const other = stream(m.base + 20 * MiB, 8 * MiB, 4000, { pattern: 'zipf', theta: 1.2, hotFraction: 0.5, hotOffset: 0.5 });
    const young = (step: number): AccessStreamSpec => stream(m.base, 32 * MiB, 512, { hotFraction: 0.125, hotOffset: (step % 8) / 7 });
    m.sim.addAccessStream(m.pid, old);
    const youngId = m.sim.addAccessStream(m.pid, young(0));
    m.sim.addAccessStream(m.pid, other);
    const first = young(0);
    let partial = 0;
    for (let p = first.start / PAGE; p < first.start / PAGE + 1024; p++) partial += pageAccessRate(old, p) + pageAccessRate(first, p) >= 1 ? 1 : 0;
    assert.ok(partial > 0 && partial < 1024, `some but not all young pages are hot at 1/s (${partial})`);
    let freshIds: number[] = [];
    for (let step = 0; step < 20; step++) {
      if (step > 0) m.sim.updateAccessStream(m.pid, youngId, young(step));
      const specs = kernelOf(m.sim).streams.streamsOf(m.pid);
      assert.equal(specs[0], old, 'the old generation keeps its spec object');
      // the fresh build: the same page tables, the same streams as new objects, a process never measured
      for (const id of freshIds) fresh.sim.removeAccessStream(fresh.pid, id);
      freshIds = specs.map((s) => fresh.sim.addAccessStream(fresh.pid, { ...s }));
      for (const t of [1, 0.4, 3, 1e4]) {
        const got = assertMatches(m.sim, m.pid, t, `step ${step}`);
        assert.deepEqual(got, hotMemory(fresh.sim, fresh.pid, t), `step ${step} threshold ${t}: rebuilt equals fresh`);
      }
    }
  });

  test('an exited or streamless process is all zeros; the threshold must be positive', () => {
    const sim = new SimKernel({ nodes: [{ memoryMiB: 256 }], seed: 5 });
    const pid = sim.spawn();
    const a = sim.mmap(pid, 4 * MiB);
    sim.touch(pid, a, 4 * MiB);
    const zeros = bruteForce(sim, pid);
    assert.deepEqual(hotMemory(sim, pid), zeros);
    sim.addAccessStream(pid, stream(a, 4 * MiB, 1e6));
    assert.ok(hotMemory(sim, pid).hotBytes > 0);
    sim.exit(pid);
    assert.deepEqual(hotMemory(sim, pid), zeros);
    assert.deepEqual(hotMemory(sim, 999), zeros);
    assert.throws(() => hotMemory(sim, pid, 0), RangeError);
  });
});
