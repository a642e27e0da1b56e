import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { accessRateOf, HotMap, RATE_SMOOTHING_MS } from '../../../daemon/observe/hot-map.js';

const MiB = 1024 * 1024;
const attrs = { sampleIntervalMs: 20, aggrIntervalMs: 1000 };

test('the rate behind a count inverts 1 − e^(−λw): the expected count of a Poisson page gives λ back', () => {
  for (const rate of [0.5, 1, 4, 20, 100]) {
    const p = 1 - Math.exp(-rate * 0.02);
    assert.ok(Math.abs(accessRateOf(p * 50, attrs) - rate) < 1e-9 * Math.max(1, rate));
  }
  assert.equal(accessRateOf(0, attrs), 0);
  // Saturated: S − ½ of S checks, finite.
  assert.ok(Number.isFinite(accessRateOf(50, attrs)));
  assert.equal(accessRateOf(50, attrs), accessRateOf(49.5, attrs));
});

test('a slot takes the overlap-weighted rate of the regions covering it; partly covered slots are dropped', () => {
  const map = new HotMap();
  const r1 = accessRateOf(10, attrs);
  const r2 = accessRateOf(30, attrs);
  // [2 MiB, 5 MiB) at 10, [5 MiB, 7 MiB) at 30: slot 1 all r1, slot 2 half each, slot 3 ([6, 8) MiB) partly.
  map.update([{ start: 2 * MiB, end: 5 * MiB, nrAccesses: 10, age: 3 }, { start: 5 * MiB, end: 7 * MiB, nrAccesses: 30, age: 7 }], attrs, 0);
  assert.equal(map.size, 2);
  assert.equal(map.get(2 * MiB)?.rate, r1);
  assert.ok(Math.abs(map.get(4 * MiB)!.rate - (r1 + r2) / 2) < 1e-12);
  assert.equal(map.get(2 * MiB)?.ageMs, 3000);
  assert.equal(map.get(6 * MiB), undefined);
});

test('rates are smoothed with α = 1 − e^(−Δt/τ), and slots no longer sampled are dropped', () => {
  const map = new HotMap();
  map.update([{ start: 0, end: 2 * MiB, nrAccesses: 0, age: 0 }], attrs, 0);
  map.update([{ start: 0, end: 2 * MiB, nrAccesses: 25, age: 0 }], attrs, 1000);
  const alpha = 1 - Math.exp(-1000 / RATE_SMOOTHING_MS);
  assert.ok(Math.abs(map.get(0)!.rate - alpha * accessRateOf(25, attrs)) < 1e-12);
  map.update([{ start: 4 * MiB, end: 6 * MiB, nrAccesses: 1, age: 0 }], attrs, 2000);
  assert.equal(map.get(0), undefined);
  assert.equal(map.size, 1);
});

test('huge marks: set, counted, cleared; a re-sampled slot keeps its mark', () => {
  const map = new HotMap();
  const regions = [{ start: 0, end: 8 * MiB, nrAccesses: 5, age: 1 }];
  map.update(regions, attrs, 0);
  map.markHuge(2 * MiB, true);
  map.update(regions, attrs, 1000);
  assert.equal(map.hugeBytes, 2 * MiB);
  assert.equal(map.get(2 * MiB)?.huge, true);
  map.clearHuge();
  assert.equal(map.hugeBytes, 0);
});

test('property: smoothed rates stay within the range of the observed ones', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 10_000 }), (counts, step) => {
      const map = new HotMap();
      counts.forEach((n, i) => map.update([{ start: 0, end: 2 * MiB, nrAccesses: n, age: 0 }], attrs, i * step));
      const rates = counts.map((n) => accessRateOf(n, attrs));
      const r = map.get(0)!.rate;
      return r >= Math.min(...rates) - 1e-9 && r <= Math.max(...rates) + 1e-9;
    }),
  );
});
