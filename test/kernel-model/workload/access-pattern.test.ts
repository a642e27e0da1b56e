import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type AccessPattern,
  type AccessStreamSpec,
  PAGE_BYTES,
  createStreamCursor,
  expectedTouchedPages,
  generalizedHarmonic,
  hurwitzPartialSum,
  pageAccessRate,
  regionAccessMass,
  sampleTouchedPages,
  sumOverZipfRanks,
  validateAccessStreamSpec,
} from '../../../kernel-model/workload/access-pattern.js';
import { meanAndStandardError, seededRandom } from './workload-fixtures.js';

const MiB = 1024 * 1024;

function spec(overrides: Partial<AccessStreamSpec> = {}): AccessStreamSpec {
  return { start: 64 * PAGE_BYTES, length: 1000 * PAGE_BYTES, ratePerSec: 1e5, pattern: 'uniform', writeFraction: 0.25, ...overrides };
}

/** A stream shape drawn by fast-check: any pattern, hot subset and size. */
const arbitrarySpec = fc
  .record({
    startPage: fc.integer({ min: 0, max: 1 << 20 }),
    pages: fc.integer({ min: 1, max: 5000 }),
    pattern: fc.constantFrom<AccessPattern>('uniform', 'zipf', 'sequential', 'strided'),
    theta: fc.double({ min: 0.05, max: 3, noNaN: true }),
    strideBytes: fc.integer({ min: 1, max: 40_000 }),
    hotFraction: fc.double({ min: 0.001, max: 1, noNaN: true }),
    hotOffset: fc.double({ min: 0, max: 1, noNaN: true }),
    ratePerSec: fc.double({ min: 0, max: 1e8, noNaN: true }),
    writeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(
    (r): AccessStreamSpec => ({
      start: r.startPage * PAGE_BYTES,
      length: r.pages * PAGE_BYTES,
      ratePerSec: r.ratePerSec,
      pattern: r.pattern,
      theta: r.pattern === 'zipf' ? r.theta : undefined,
      strideBytes: r.pattern === 'strided' ? r.strideBytes : undefined,
      hotFraction: r.hotFraction,
      hotOffset: r.hotOffset,
      writeFraction: r.writeFraction,
    }),
  );

const firstPage = (s: AccessStreamSpec): number => s.start / PAGE_BYTES;
const lastPage = (s: AccessStreamSpec): number => (s.start + s.length) / PAGE_BYTES;

test('validation names the field and the rule', () => {
  const cases: [Partial<AccessStreamSpec>, RegExp][] = [
    [{ start: 100 }, /start must be a non-negative multiple of 4096 \(got 100\)/],
    [{ length: 0 }, /length must be a positive multiple of 4096/],
    [{ ratePerSec: -1 }, /ratePerSec must be a finite number ≥ 0/],
    [{ pattern: 'random' as AccessPattern }, /pattern must be/],
    [{ pattern: 'zipf', theta: 0 }, /theta must be in \(0, 5\]/],
    [{ pattern: 'strided' }, /strideBytes must be given for a strided stream/],
    [{ pattern: 'strided', strideBytes: 1.5 }, /strideBytes must be a positive integer/],
    [{ hotFraction: 0 }, /hotFraction must be in \(0, 1\]/],
    [{ hotOffset: 1.5 }, /hotOffset must be in \[0, 1\]/],
    [{ writeFraction: 2 }, /writeFraction must be in \[0, 1\]/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(() => validateAccessStreamSpec(spec(bad)), (e: unknown) => e instanceof RangeError && message.test(e.message));
    assert.throws(() => pageAccessRate(spec(bad), 64), RangeError);
  }
  assert.throws(() => pageAccessRate(spec(), 1.5), /page must be an integer/);
  assert.throws(() => regionAccessMass(spec(), 0, -1), /pageCount must be an integer ≥ 0/);
  assert.throws(() => sampleTouchedPages(spec({ pattern: 'sequential' }), 10, seededRandom(1), 10), /needs its StreamCursor/);
});

test('partial Hurwitz sums agree with plain summation within the documented bound', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.05, max: 5, noNaN: true }),
      fc.double({ min: 1e-5, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 0, max: 20_000 }),
      (theta, a, from, count) => {
        let plain = 0;
        for (let j = from + count - 1; j >= from; j--) plain += (j + a) ** -theta;
        const fast = hurwitzPartialSum(theta, a, from, from + count);
        assert.ok(Math.abs(fast - plain) <= 3e-6 * plain + 1e-300, `θ=${theta} a=${a} [${from}, ${from + count}): ${fast} vs ${plain}`);
      },
    ),
    { numRuns: 200 },
  );
  assert.ok(Math.abs(generalizedHarmonic(10, 1) - 7381 / 2520) < 1e-15);
  assert.ok(Math.abs(generalizedHarmonic(1_000_000, 2) / (Math.PI ** 2 / 6 - 1e-6 + 5e-13) - 1) < 1e-9);
});

test('sums over zipf ranks by quadrature are within 1e-3 of the plain sum', () => {
  for (const [n, theta, c] of [
    [100_000, 0.99, 50],
    [1_000_000, 0.6, 1e4],
    [300_000, 1.5, 0.3],
  ] as const) {
    const fn = (k: number): number => -Math.expm1(-c * k ** -theta);
    let plain = 0;
    for (let k = n; k >= 1; k--) plain += fn(k);
    assert.ok(Math.abs(sumOverZipfRanks(n, fn) / plain - 1) < 1e-3, `n=${n} θ=${theta}`);
  }
});

test('masses over any partition of the range sum to 1, and to 0 outside the range', () => {
  fc.assert(
    fc.property(arbitrarySpec, fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 40 }), (s, cuts) => {
      const from = firstPage(s) - 3;
      const to = lastPage(s) + 3;
      let total = 0;
      let page = from;
      for (let i = 0; page < to; i++) {
        const count = Math.min(cuts[i % cuts.length], to - page);
        total += regionAccessMass(s, page, count);
        page += count;
      }
      assert.ok(Math.abs(total - 1) < 1e-9, `Σ mass = ${total}`);
      assert.equal(regionAccessMass(s, lastPage(s), 1000), 0);
      assert.equal(regionAccessMass(s, from - 100, 100), 0);
    }),
    { numRuns: 300 },
  );
});

test('page rates are non-negative, zero outside the range, and add up to the stream rate', () => {
  fc.assert(
    fc.property(arbitrarySpec, (s) => {
      let sum = 0;
      for (let p = firstPage(s); p < lastPage(s); p++) {
        const rate = pageAccessRate(s, p);
        assert.ok(rate >= 0 && Number.isFinite(rate));
        sum += rate;
      }
      assert.equal(pageAccessRate(s, firstPage(s) - 1), 0);
      assert.equal(pageAccessRate(s, lastPage(s)), 0);
      assert.ok(Math.abs(sum - s.ratePerSec) <= 1e-9 * s.ratePerSec + 1e-12, `Σ rates ${sum} vs ${s.ratePerSec}`);
    }),
    { numRuns: 150 },
  );
});

test('the mass of one page is its rate over the stream rate (zipf regions match a page-by-page sum)', () => {
  const s = spec({ pattern: 'zipf', length: 20_000 * PAGE_BYTES, hotFraction: 0.7, hotOffset: 0.4 });
  for (let p = firstPage(s); p < lastPage(s); p += 97) {
    assert.ok(Math.abs(regionAccessMass(s, p, 1) - pageAccessRate(s, p) / s.ratePerSec) < 1e-15);
  }
  for (let region = firstPage(s); region < lastPage(s); region += 512) {
    let bySum = 0;
    for (let p = region; p < region + 512; p++) bySum += pageAccessRate(s, p) / s.ratePerSec;
    assert.ok(Math.abs(regionAccessMass(s, region, 512) - bySum) <= 1e-9 * bySum + 1e-15);
  }
});

test('zipf pages carry every rank once, with mass decreasing by rank, scattered over the hot subset', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6000 }), fc.double({ min: 0.2, max: 2, noNaN: true }), (pages, theta) => {
      const s = spec({ pattern: 'zipf', theta, length: pages * PAGE_BYTES, ratePerSec: 1 });
      const rates = Array.from({ length: pages }, (_, i) => pageAccessRate(s, firstPage(s) + i));
      const sorted = [...rates].sort((a, b) => b - a);
      const h = generalizedHarmonic(pages, theta);
      sorted.forEach((rate, rank) => {
        assert.ok(Math.abs(rate - (rank + 1) ** -theta / h) <= 1e-12 * rate, `rank ${rank}`);
        if (rank > 0) assert.ok(rate < sorted[rank - 1], 'mass strictly decreases with rank');
      });
    }),
    { numRuns: 60 },
  );
  const s = spec({ pattern: 'zipf', length: 65_536 * PAGE_BYTES });
  const top = Array.from({ length: 65_536 }, (_, i) => i)
    .sort((a, b) => pageAccessRate(s, firstPage(s) + b) - pageAccessRate(s, firstPage(s) + a))
    .slice(0, 64);
  assert.ok(Math.max(...top) - Math.min(...top) > 0.9 * 65_536, 'the 64 hottest pages span the hot subset');
  assert.ok(top.filter((q) => q < 65_536 / 2).length < 48, 'and are not packed at its start');
});

test('the hot subset is where hotFraction and hotOffset put it', () => {
  const s = spec({ length: 1000 * PAGE_BYTES, hotFraction: 0.1, hotOffset: 1 });
  assert.equal(regionAccessMass(s, firstPage(s), 900), 0);
  assert.equal(regionAccessMass(s, firstPage(s) + 900, 100), 1);
  const moved = { ...s, hotOffset: 0.5 };
  assert.equal(regionAccessMass(moved, firstPage(s) + 450, 100), 1);
});

test('sampleTouchedPages is deterministic for a seed and stays within bounds', () => {
  fc.assert(
    fc.property(
      arbitrarySpec,
      fc.integer(),
      fc.double({ min: 0, max: 500, noNaN: true }),
      fc.integer({ min: 0, max: 300 }),
      (s, seed, windowMs, maxPages) => {
        const run = () => {
          const cursor = createStreamCursor();
          const rng = seededRandom(seed);
          const window = () => sampleTouchedPages(s, windowMs, rng, maxPages, cursor);
          return [window(), window()];
        };
        const [a, b] = [run(), run()];
        assert.deepEqual(a, b);
        for (const t of a) {
          assert.ok(t.pages.length <= maxPages);
          assert.equal(t.written.length, t.pages.length);
          assert.equal(new Set(t.pages).size, t.pages.length, 'pages are distinct');
          const inStream = (p: number) => Number.isInteger(p) && p >= firstPage(s) && p < lastPage(s);
          assert.ok(t.pages.every((p) => inStream(p) && pageAccessRate(s, p) > 0), 'pages lie where the stream goes');
          assert.ok(t.sampledFraction >= 0 && t.sampledFraction <= 1);
          if (maxPages > 0) assert.ok(t.sampledFraction > 0);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('the expected number of distinct pages sampled matches the analytic rates', () => {
  const rng = seededRandom(2024);
  const poisson: AccessStreamSpec[] = [
    spec({ length: 20_000 * PAGE_BYTES, ratePerSec: 50_000, hotFraction: 0.5 }),
    spec({ length: 20_000 * PAGE_BYTES, ratePerSec: 50_000, pattern: 'zipf' }),
    spec({ length: 60_000 * PAGE_BYTES, ratePerSec: 5e5, pattern: 'zipf', theta: 0.7 }),
  ];
  for (const s of poisson) {
    const analytic = [...Array(s.length / PAGE_BYTES).keys()].reduce(
      (sum, i) => sum - Math.expm1((-pageAccessRate(s, firstPage(s) + i) * 100) / 1000),
      0,
    );
    assert.ok(Math.abs(expectedTouchedPages(s, 100) / analytic - 1) < 1e-3, 'expectedTouchedPages is Σ(1 − e^(−λw))');
    const counts = Array.from({ length: 100 }, () => sampleTouchedPages(s, 100, rng, 1e9).pages.length);
    const { mean, standardError } = meanAndStandardError(counts);
    assert.ok(Math.abs(mean - analytic) < 4 * standardError + 1, `${s.pattern}: mean ${mean} vs ${analytic} ± ${standardError}`);
  }
  const sweeps: AccessStreamSpec[] = [
    spec({ length: 2000 * PAGE_BYTES, ratePerSec: 33_333, pattern: 'sequential' }),
    spec({ length: 2000 * PAGE_BYTES, ratePerSec: 33_333, pattern: 'strided', strideBytes: 1000 }),
    spec({ length: 2000 * PAGE_BYTES, ratePerSec: 33_333, pattern: 'strided', strideBytes: 10_000 }),
  ];
  for (const s of sweeps) {
    const cursor = createStreamCursor();
    const counts = Array.from({ length: 500 }, () => sampleTouchedPages(s, 7, rng, 1e9, cursor).pages.length);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    assert.ok(Math.abs(mean / expectedTouchedPages(s, 7) - 1) < 0.02, `${s.pattern}/${s.strideBytes}: ${mean}`);
  }
});

test('writes: none, all, or the analytic fraction of touched pages', () => {
  const rng = seededRandom(5);
  const base = spec({ length: 10_000 * PAGE_BYTES, ratePerSec: 2e5 });
  const written = (s: AccessStreamSpec): number[] => {
    const t = sampleTouchedPages(s, 50, rng, 1e9);
    return t.written.map((w) => (w ? 1 : 0));
  };
  assert.ok(written({ ...base, writeFraction: 0 }).every((w) => w === 0));
  assert.ok(written({ ...base, writeFraction: 1 }).every((w) => w === 1));
  const lambdaW = (2e5 / 10_000) * 0.05;
  const analytic = -Math.expm1(-lambdaW * 0.25) / -Math.expm1(-lambdaW);
  const { mean, standardError } = meanAndStandardError(written(base));
  assert.ok(Math.abs(mean - analytic) < 4 * standardError, `${mean} vs ${analytic}`);
});

test('more touched pages than maxPages are thinned uniformly, not cut at the low addresses', () => {
  const rng = seededRandom(11);
  const s = spec({ length: 100_000 * PAGE_BYTES, ratePerSec: 1e7 });
  const t = sampleTouchedPages(s, 100, rng, 1000);
  assert.ok(t.pages.length <= 1000 && t.pages.length > 900);
  assert.ok(Math.abs(t.sampledFraction - 1000 / expectedTouchedPages(s, 100)) < 1e-12);
  const upperHalf = t.pages.filter((p) => p >= firstPage(s) + 50_000).length;
  assert.ok(upperHalf > 350 && upperHalf < 650, `${upperHalf} of the reported pages in the upper half`);
});

test('a sequential sweep visits every page once per pass, in order, carrying its cursor', () => {
  const s = spec({ length: 100 * PAGE_BYTES, pattern: 'sequential', ratePerSec: 64 * 30 * 1000 });
  const cursor = createStreamCursor();
  const rng = seededRandom(3);
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) seen.push(...sampleTouchedPages(s, 1, rng, 1e9, cursor).pages);
  const offsets = seen.map((p) => p - firstPage(s));
  assert.deepEqual(offsets.slice(0, 30), [...Array(30).keys()]);
  const firstPass = new Set(offsets.slice(0, 100));
  assert.equal(firstPass.size, 100);
  assert.deepEqual(cursor, { nextPoint: (10 * 64 * 30) % 6400, carry: 0 });
  const bigWindow = sampleTouchedPages(s, 1000, rng, 10, createStreamCursor());
  assert.equal(bigWindow.pages.length, 10);
  assert.equal(bigWindow.sampledFraction, 0.1);
  assert.ok(bigWindow.written.every((w) => w), 'a page swept hundreds of times at writeFraction 0.25 was written');
});

test('strided sweeps with strides beyond a page touch only the pages under their points', () => {
  const s = spec({ length: 64 * PAGE_BYTES, pattern: 'strided', strideBytes: 3 * PAGE_BYTES, ratePerSec: 1000 });
  const touched = sampleTouchedPages(s, 1000, seededRandom(1), 1e9, createStreamCursor()).pages.map((p) => p - firstPage(s));
  assert.deepEqual(
    [...touched].sort((a, b) => a - b),
    [...Array(22).keys()].map((k) => 3 * k),
  );
  assert.equal(regionAccessMass(s, firstPage(s) + 1, 2), 0);
  assert.ok(Math.abs(pageAccessRate(s, firstPage(s) + 3) - 1000 / 22) < 1e-12);
});

test('region masses are O(1): a 4 GiB zipf stream answers 2 MiB regions quickly', () => {
  const s = spec({ pattern: 'zipf', start: 0, length: 4096 * MiB });
  let total = 0;
  for (let region = 0; region < (4096 * MiB) / PAGE_BYTES; region += 512) total += regionAccessMass(s, region, 512);
  assert.ok(Math.abs(total - 1) < 1e-9);
});
