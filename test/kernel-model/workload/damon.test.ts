import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type AccessStreamSpec, PAGE_BYTES } from '../../../kernel-model/workload/access-pattern.js';
import {
  type AccessOracle,
  type AddressRange,
  type DamonRegion,
  DamonMonitor,
  damonInitRegions,
  damonMergeRegions,
  damonMergeRegionsOf,
  damonSetRegions,
  damonSplitRegions,
  drawBinomial,
  normalizeRanges,
} from '../../../kernel-model/workload/damon.js';
import { meanAndStandardError, seededRandom, streamOracle } from './workload-fixtures.js';

const MiB = 1024 * 1024;
const P = PAGE_BYTES;

function region(startPage: number, endPage: number, nrAccesses = 0, age = 0, lastNrAccesses = 0): DamonRegion {
  return { start: startPage * P, end: endPage * P, nrAccesses, age, lastNrAccesses };
}

/** Asserts that the regions tile the ranges exactly: ordered, page aligned, no gap, no overlap. */
function assertTiles(regions: readonly DamonRegion[], ranges: readonly AddressRange[]): void {
  const covered: AddressRange[] = [];
  for (const r of regions) {
    assert.ok(r.start < r.end && r.start % P === 0 && r.end % P === 0, `bad region [${r.start}, ${r.end})`);
    const last = covered[covered.length - 1];
    assert.ok(!last || last.end <= r.start, 'regions are ordered and disjoint');
    if (last && last.end === r.start) covered[covered.length - 1] = { start: last.start, end: r.end };
    else covered.push({ start: r.start, end: r.end });
  }
  assert.deepEqual(covered, normalizeRanges(ranges));
}

/** A 256 MiB heap with a 16 MiB hot subset in its middle and a trickle of accesses everywhere. */
const HEAP: AddressRange = { start: 64 * MiB, end: 320 * MiB };
const hotAndCold: AccessStreamSpec[] = [
  { start: HEAP.start, length: 256 * MiB, ratePerSec: 2e7, pattern: 'uniform', hotFraction: 1 / 16, hotOffset: 0.5, writeFraction: 0 },
  { start: HEAP.start, length: 256 * MiB, ratePerSec: 1e5, pattern: 'uniform', writeFraction: 0 },
];
const HOT: AddressRange = { start: HEAP.start + 120 * MiB, end: HEAP.start + 136 * MiB };

function sizeWeightedAccesses(regions: readonly DamonRegion[], range: AddressRange): number {
  let weighted = 0;
  let size = 0;
  for (const r of regions) {
    const overlap = Math.min(r.end, range.end) - Math.max(r.start, range.start);
    if (overlap <= 0) continue;
    weighted += overlap * r.nrAccesses;
    size += overlap;
  }
  return weighted / size;
}

test('a hot sub-range shows more accesses than the cold rest after a few aggregations', () => {
  const monitor = new DamonMonitor([HEAP]);
  const rng = seededRandom(7);
  const oracle = streamOracle(hotAndCold);
  for (let i = 0; i < 30; i++) monitor.aggregate(rng, oracle);
  const regions = monitor.regions();
  const hot = sizeWeightedAccesses(regions, HOT);
  const cold = sizeWeightedAccesses(regions, { start: HEAP.start, end: HOT.start - 8 * MiB });
  assert.ok(hot > 15 && cold < 2, `hot ${hot}, cold ${cold}`);
  const hottest = regions.reduce((a, b) => (b.nrAccesses > a.nrAccesses ? b : a));
  assert.ok(hottest.start >= HOT.start - 8 * MiB && hottest.end <= HOT.end + 8 * MiB, 'the hottest region lies on the hot subset');
  assert.ok(hottest.age >= 1, 'a steadily hot region ages');
});

test('region count stays within [min, max] and the regions tile the targets, whatever the seed', () => {
  // 320 MiB in two VMAs with a gap: the initial pieces are exactly total / min, so merges (bounded by
  // that size) can never bring the count below min.
  const targets = [HEAP, { start: 1024 * MiB, end: 1088 * MiB }];
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 20, max: 200 }), (seed, maxNrRegions) => {
      const monitor = new DamonMonitor(targets, { maxNrRegions, minNrRegions: 10 });
      const rng = seededRandom(seed);
      const oracle = streamOracle(hotAndCold);
      for (let i = 0; i < 25; i++) {
        monitor.aggregate(rng, oracle);
        const regions = monitor.regions();
        assert.ok(regions.length >= 10 && regions.length <= maxNrRegions, `${regions.length} regions`);
        assertTiles(regions, targets);
        assert.ok(regions.every((r) => r.nrAccesses >= 0 && r.nrAccesses <= monitor.samplesPerAggregation));
      }
    }),
    { numRuns: 15 },
  );
});

test('runs are deterministic for a seed', () => {
  const run = (seed: number): DamonRegion[] => {
    const monitor = new DamonMonitor([HEAP]);
    const rng = seededRandom(seed);
    for (let i = 0; i < 12; i++) monitor.aggregate(rng, streamOracle(hotAndCold));
    assert.equal(monitor.aggregations, 12);
    return monitor.regions();
  };
  assert.deepEqual(run(99), run(99));
  assert.notDeepEqual(run(100), run(99));
});

test('checks are counted at the sampled region count (before the merge)', () => {
  const monitor = new DamonMonitor([{ start: 0, end: 100 * P }], { minNrRegions: 10 });
  const oracle: AccessOracle = { probabilityAccessed: () => 0 };
  monitor.aggregate(seededRandom(1), oracle);
  assert.equal(monitor.checksPerformed, 20 * 10, 'ten initial regions, twenty samples each');
  assert.equal(monitor.regions().length, 10, 'equal, idle regions cannot merge beyond the size limit');
});

test('the initial regions are an even split into about minNrRegions pieces (damon_va_evenly_split_region)', () => {
  assert.deepEqual(
    damonInitRegions([{ start: 0, end: 100 * P }], 10).map((r) => [r.start / P, r.end / P]),
    [...Array(10).keys()].map((i) => [10 * i, 10 * i + 10]),
  );
  const uneven = damonInitRegions([{ start: 0, end: 33 * P }, { start: 50 * P, end: 117 * P }], 10);
  assert.deepEqual(
    uneven.map((r) => [r.start / P, r.end / P]),
    [[0, 11], [11, 22], [22, 33], [50, 61], [61, 72], [72, 83], [83, 94], [94, 105], [105, 117]],
    'pieces per range are ⌊size / ⌊total / min⌋⌋ (3 and 6), so rounding can leave fewer than min regions, as in DAMON',
  );
});

test('merge: ages and merges adjacent regions as damon_merge_regions_of does', () => {
  const merged = damonMergeRegionsOf(
    [
      region(0, 10, 5, 2, 5), // steady: age 3
      region(10, 30, 6, 7, 0), // moved by 6 > 2: age 0; merges with the first (|5 − 6| ≤ 2)
      region(30, 40, 20, 4, 19), // differs by 14: stays, age 5
      region(41, 50, 20, 1, 20), // not adjacent (gap at page 40): stays, age 2
    ],
    2,
    1000 * P,
  );
  assert.deepEqual(merged, [
    { start: 0, end: 30 * P, nrAccesses: Math.floor((5 * 10 + 6 * 20) / 30), age: Math.floor((3 * 10 + 0 * 20) / 30), lastNrAccesses: 5 },
    region(30, 40, 20, 5, 19),
    region(41, 50, 20, 2, 20),
  ]);
  const limited = damonMergeRegionsOf([region(0, 10, 5), region(10, 20, 5), region(20, 30, 5)], 0, 20 * P);
  assert.deepEqual(
    limited.map((r) => [r.start / P, r.end / P]),
    [[0, 20], [20, 30]],
    'the size limit stops merging',
  );
});

test('merge: the threshold doubles while there are more than maxNrRegions regions', () => {
  const many = [...Array(40).keys()].map((i) => region(i, i + 1, i % 8, 0, i % 8));
  assert.equal(damonMergeRegions(many, 0, 1000 * P, 1000, 20).length, 40, 'no two neighbours are equal');
  const capped = damonMergeRegions(many, 0, 1000 * P, 10, 20);
  assert.ok(capped.length <= 10, `${capped.length} regions`);
  assert.equal(damonMergeRegions(many, 0, 1000 * P, 1, 1).length, 20, 'thresholds 0 and 1 only: next / 2 must stay below 1');
});

test('split: two or three pieces at random 10–90 % points, statistics inherited (damon_split_regions_of)', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 5000 }), fc.constantFrom(2, 3), (seed, size, pieces) => {
      const original = region(100, 100 + size, 7, 3, 9);
      const out = damonSplitRegions([original], pieces, seededRandom(seed));
      assertTiles(out, [{ start: original.start, end: original.end }]);
      assert.ok(out.length <= pieces);
      if (size > 2 * pieces && size >= 10) assert.ok(out.length >= 2, 'a large region is split');
      if (size <= 2) assert.equal(out.length, 1, 'regions of up to two pages are not split');
      for (const r of out) assert.deepEqual([r.nrAccesses, r.age, r.lastNrAccesses], [7, 3, 9]);
      const firstCut = out.length === 1 ? size : (out[out.length - 1].start - original.start) / P;
      if (out.length > 1 && pieces === 2) assert.ok(firstCut >= Math.floor(size / 10) && firstCut <= Math.floor((9 * size) / 10));
    }),
  );
});

test('kdamond splits only while there are at most max/2 regions, in three when the count is stable', () => {
  // 4000 pages in ten 400-page regions, alternately always and never accessed: split pieces merge back
  // into their region (equal counts, exactly the size limit) and regions never merge with each other.
  const alternating: AccessOracle = { probabilityAccessed: (addr) => (Math.floor(addr / (400 * P)) % 2 === 0 ? 1 : 0) };
  const checksPerAggregation = (maxNrRegions: number): number[] => {
    const monitor = new DamonMonitor([{ start: 0, end: 4000 * P }], { minNrRegions: 10, maxNrRegions });
    const rng = seededRandom(3);
    const checks: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = monitor.checksPerformed;
      monitor.aggregate(rng, alternating);
      checks.push((monitor.checksPerformed - before) / monitor.samplesPerAggregation);
      assert.equal(monitor.regions().length, 10);
    }
    return checks;
  };
  assert.deepEqual(checksPerAggregation(18), [10, 10, 10, 10], '10 > 18 / 2: never split');
  assert.deepEqual(checksPerAggregation(1000), [10, 20, 30, 30], 'in two, then in three once the count is stable');
});

test('new targets are applied at the regions update interval, like damon_set_regions', () => {
  const monitor = new DamonMonitor([{ start: 0, end: 64 * MiB }]);
  const rng = seededRandom(4);
  const oracle = streamOracle(hotAndCold);
  const next = [{ start: 32 * MiB, end: 96 * MiB }, { start: 200 * MiB, end: 201 * MiB }];
  monitor.aggregate(rng, oracle);
  monitor.setTargets(next);
  for (let i = 1; i < 10; i++) monitor.aggregate(rng, oracle);
  assertTiles(monitor.regions(), [{ start: 0, end: 64 * MiB }]);
  monitor.aggregate(rng, oracle);
  assertTiles(monitor.regions(), next);
  assert.deepEqual(monitor.targets(), next);
});

test('damon_set_regions keeps what overlaps, stretches the ends and fills holes', () => {
  const before = [region(0, 10, 3, 1, 3), region(10, 20, 9, 4, 9), region(30, 40, 2, 2, 2)];
  const after = damonSetRegions(before, [
    { start: 5 * P, end: 50 * P },
    { start: 60 * P, end: 70 * P },
  ]);
  assert.deepEqual(after, [region(5, 10, 3, 1, 3), region(10, 20, 9, 4, 9), region(20, 30), region(30, 50, 2, 2, 2), region(60, 70)]);
});

test('target ranges are page aligned, sorted and merged when they touch', () => {
  assert.deepEqual(
    normalizeRanges([
      { start: 10 * P + 5, end: 12 * P },
      { start: 0, end: 3 * P - 1 },
      { start: 3 * P, end: 4 * P },
    ]),
    [
      { start: 0, end: 4 * P },
      { start: 10 * P, end: 12 * P },
    ],
  );
  assert.throws(() => normalizeRanges([{ start: 5, end: 5 }]), RangeError);
  assert.throws(() => new DamonMonitor([HEAP], { minNrRegions: 2 }), /minNrRegions must be an integer ≥ 3/);
  assert.throws(() => new DamonMonitor([HEAP], { aggrIntervalMs: 1 }), /aggrIntervalMs must be ≥ sampleIntervalMs/);
});

test('one probe per sample is DAMON exactly; one probe per region keeps the mean', () => {
  // Three initial regions of 33, 33 and 34 pages; the middle one, pages [33, 66), is accessed on its
  // first 17 pages only, so each of DAMON's samples succeeds with probability 17/33.
  const halfHot: AccessOracle = { probabilityAccessed: (addr) => (addr < 50 * P ? 1 : 0) };
  const middle = (probesPerRegion: number, seed: number): number => {
    const monitor = new DamonMonitor([{ start: 0, end: 100 * P }], { minNrRegions: 3, probesPerRegion });
    monitor.aggregate(seededRandom(seed), halfHot);
    const r = monitor.regions().find((x) => x.start === 33 * P);
    assert.ok(r && r.end === 66 * P, 'the middle region is not merged (its count differs from both neighbours)');
    return r.nrAccesses;
  };
  const p = 17 / 33;
  const exact = Array.from({ length: 400 }, (_, i) => middle(20, i));
  const cheap = Array.from({ length: 400 }, (_, i) => middle(1, i));
  for (const xs of [exact, cheap]) {
    const { mean, standardError } = meanAndStandardError(xs);
    assert.ok(Math.abs(mean - 20 * p) < 4 * standardError, `mean ${mean}`);
  }
  const { mean } = meanAndStandardError(exact);
  const variance = exact.reduce((a, x) => a + (x - mean) ** 2, 0) / (exact.length - 1);
  assert.ok(Math.abs(variance / (20 * p * (1 - p)) - 1) < 0.3, `Binomial(20, 17/33) variance, got ${variance}`);
  assert.ok(cheap.every((n) => n === 0 || n === 20), 'one shared address: all samples agree');
});

test('binomial draws have the right mean and variance on both branches', () => {
  const rng = seededRandom(8);
  for (const [n, p] of [
    [20, 0.3],
    [20, 0.97],
    [1000, 0.4],
    [400, 0.999],
  ] as const) {
    const xs = Array.from({ length: 4000 }, () => drawBinomial(n, p, rng));
    assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x <= n));
    const { mean, standardError } = meanAndStandardError(xs);
    assert.ok(Math.abs(mean - n * p) < 4 * standardError + 1e-9, `n=${n} p=${p}: ${mean}`);
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    assert.ok(Math.abs(variance / (n * p * (1 - p)) - 1) < 0.12, `n=${n} p=${p}: variance ${variance}`);
  }
  assert.equal(drawBinomial(20, 0, rng), 0);
  assert.equal(drawBinomial(20, 1, rng), 20);
});
