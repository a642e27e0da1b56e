// A scenario stream over a process's life: accessSpecAt applies the phases begun by an age in time
// order, each overriding only the fields it sets; `move` wraps the hot set within the mapping; strided
// and zipf streams carry their own parameters; changeTimes lists exactly the ages where the spec changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { streamPatterns, type StreamSpec } from '../../../sim/scenario/schema.js';
import { accessSpecAt, changeTimes } from '../../../sim/scenario/stream-phases.js';

const MiB = 1 << 20;
const BASE = 1 << 30;
/** Large enough that accessSpecAt's floor on hotFraction (one page) does not apply to the fractions drawn. */
const LENGTH = 1024 * MiB;

type Phase = NonNullable<StreamSpec['phases']>[number];
type Field = 'rate' | 'pattern' | 'theta' | 'hotFraction' | 'hotOffset' | 'writeFraction';

const fraction = fc.double({ min: 0.01, max: 1, noNaN: true });
const pattern = fc.constantFrom(...streamPatterns);
const theta = fc.double({ min: 0.1, max: 5, noNaN: true });
const rate = fc.integer({ min: 0, max: 50_000_000 });

const phaseArb: fc.Arbitrary<Phase> = fc.record(
  {
    at: fc.integer({ min: 0, max: 20 }).map((s) => s * 1000),
    rate,
    pattern,
    theta,
    hotFraction: fraction,
    hotOffset: fc.double({ min: 0, max: 1, noNaN: true }),
    writeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['at'] },
);

const streamArb: fc.Arbitrary<StreamSpec> = fc.record(
  {
    name: fc.constant('s'),
    mapping: fc.constant('m'),
    rate,
    pattern,
    theta,
    stride: fc.integer({ min: 1, max: 64 }).map((k) => k * 64),
    hotFraction: fraction,
    hotOffset: fc.double({ min: 0, max: 1, noNaN: true }),
    writeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    phases: fc.array(phaseArb, { maxLength: 8 }),
  },
  { requiredKeys: ['name', 'mapping', 'rate', 'pattern'] },
);

/**
 * The value of a field at an age, found field by field: the phase that began last by then (the later
 * one in the list on a tie) among those that set the field, else the stream's own value, else `dflt`.
 */
function fieldAt<K extends Field>(s: StreamSpec, key: K, age: number, dflt: StreamSpec[K]): StreamSpec[K] {
  let value = s[key] ?? dflt;
  let at = -Infinity;
  for (const p of s.phases ?? []) {
    if (p.at <= age && p[key] !== undefined && p.at >= at) {
      value = p[key] as StreamSpec[K];
      at = p.at;
    }
  }
  return value;
}

function stream(over: Partial<StreamSpec>): StreamSpec {
  return { name: 's', mapping: 'm', rate: 1000, pattern: 'uniform', ...over };
}

// ---- phases -------------------------------------------------------------------------------------------

test('accessSpecAt: the phases begun by an age apply in time order, each only for the fields it sets (property)', () => {
  fc.assert(
    fc.property(streamArb, fc.integer({ min: 0, max: 25_000 }), (s, age) => {
      const spec = accessSpecAt(s, BASE, LENGTH, age);
      const pat = fieldAt(s, 'pattern', age, s.pattern);
      const th = fieldAt(s, 'theta', age, undefined);
      assert.equal(spec.start, BASE);
      assert.equal(spec.length, LENGTH);
      assert.equal(spec.ratePerSec, fieldAt(s, 'rate', age, s.rate));
      assert.equal(spec.pattern, pat);
      assert.equal(spec.hotFraction, fieldAt(s, 'hotFraction', age, 1));
      assert.equal(spec.hotOffset, fieldAt(s, 'hotOffset', age, 0));
      assert.equal(spec.writeFraction, fieldAt(s, 'writeFraction', age, 0));
      assert.equal(spec.theta, pat === 'zipf' ? th : undefined);
      assert.equal('theta' in spec, pat === 'zipf' && th !== undefined);
      assert.equal(spec.strideBytes, pat === 'strided' ? (s.stride ?? 4096) : undefined);
      assert.equal('strideBytes' in spec, pat === 'strided');
    }),
  );
});

test('accessSpecAt: a phase listed first but beginning later is not applied before its time', () => {
  const s = stream({
    rate: 1000,
    writeFraction: 0.1,
    phases: [
      { at: 60_000, rate: 3000 },
      { at: 30_000, rate: 2000, writeFraction: 0.5 },
    ],
  });
  const at = (age: number) => accessSpecAt(s, BASE, LENGTH, age);
  assert.deepEqual(
    [0, 29_999, 30_000, 59_999, 60_000, 3_600_000].map((age) => [at(age).ratePerSec, at(age).writeFraction]),
    [
      [1000, 0.1],
      [1000, 0.1],
      [2000, 0.5],
      [2000, 0.5],
      // The 60 s phase sets only the rate: the 30 s phase's write share stays.
      [3000, 0.5],
      [3000, 0.5],
    ],
  );
});

test('accessSpecAt: a phase at 0 applies from the start; the defaults fill what nothing sets', () => {
  const spec = accessSpecAt(stream({ phases: [{ at: 0, hotFraction: 0.25, hotOffset: 1 }] }), BASE, 64 * MiB, 0);
  assert.deepEqual(spec, { start: BASE, length: 64 * MiB, ratePerSec: 1000, pattern: 'uniform', hotFraction: 0.25, hotOffset: 1, writeFraction: 0 });
});

test('accessSpecAt: strided streams get strideBytes (default 4096), zipf streams keep theta, through phases', () => {
  const strided = accessSpecAt(stream({ pattern: 'strided', stride: 8192 }), BASE, LENGTH, 0);
  assert.equal(strided.strideBytes, 8192);
  assert.equal(accessSpecAt(stream({ pattern: 'strided' }), BASE, LENGTH, 0).strideBytes, 4096);
  const zipf = stream({ pattern: 'zipf', theta: 1.2, stride: 128, phases: [{ at: 10_000, pattern: 'strided' }, { at: 20_000, pattern: 'zipf' }, { at: 30_000, theta: 0.7 }] });
  const at = (age: number) => accessSpecAt(zipf, BASE, LENGTH, age);
  assert.equal(at(0).theta, 1.2);
  assert.equal(at(0).strideBytes, undefined);
  assert.equal(at(10_000).pattern, 'strided');
  assert.equal(at(10_000).strideBytes, 128);
  assert.ok(!('theta' in at(10_000)));
  assert.equal(at(20_000).theta, 1.2);
  assert.ok(!('strideBytes' in at(20_000)));
  assert.equal(at(30_000).theta, 0.7);
  // A zipf stream without theta leaves the kernel's default.
  assert.ok(!('theta' in accessSpecAt(stream({ pattern: 'zipf' }), BASE, LENGTH, 0)));
});

test('accessSpecAt: the hot set is at least one page of the mapping', () => {
  const spec = accessSpecAt(stream({ hotFraction: 0 }), BASE, 2 * MiB, 0);
  assert.equal(spec.hotFraction, 4096 / (2 * MiB));
});

// ---- move -------------------------------------------------------------------------------------------

test('accessSpecAt: move shifts the hot set by `by` of the mapping per period, wrapping within the mapping (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.05, max: 0.95, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 60 }).map((s) => s * 1000),
      fc.integer({ min: 0, max: 3_600_000 }),
      (hotFraction, hotOffset, by, every, age) => {
        const spec = accessSpecAt(stream({ hotFraction, hotOffset, move: { every, by } }), BASE, LENGTH, age);
        assert.ok(spec.hotOffset! >= 0 && spec.hotOffset! <= 1, `hotOffset ${spec.hotOffset}`);
        assert.equal(spec.hotFraction, hotFraction);
        // The hot set starts at hotOffset · (1 − hotFraction) of the mapping (the kernel's placement):
        // moved forward by moves · by from where it began, modulo the room it has.
        const room = 1 - hotFraction;
        const moves = Math.floor(age / every);
        const turns = (spec.hotOffset! * room - hotOffset * room - moves * by) / room;
        assert.ok(Math.abs(turns - Math.round(turns)) < 1e-6, `start moved by ${turns} rooms`);
      },
    ),
  );
});

test('accessSpecAt: a hot set moving by its own size walks across the mapping, then wraps back', () => {
  // The jvm preset's eden: an eighth of the heap, moving by an eighth every 10 s.
  const s = stream({ hotFraction: 0.125, hotOffset: 0, move: { every: 10_000, by: 0.125 } });
  const offsets = Array.from({ length: 9 }, (_, k) => accessSpecAt(s, BASE, LENGTH, k * 10_000).hotOffset!);
  for (let k = 0; k < 8; k++) assert.ok(Math.abs(offsets[k] - k / 7) < 1e-9, `offset after ${k} moves: ${offsets[k]}`);
  // The eighth move would leave the mapping: the hot set goes back towards its start.
  assert.ok(offsets[8] < offsets[7] && offsets[8] < 0.5, `offset after 8 moves: ${offsets[8]}`);
  // Between moves nothing changes.
  assert.equal(accessSpecAt(s, BASE, LENGTH, 19_999).hotOffset, offsets[1]);
});

test('accessSpecAt: a hot set covering the whole mapping has nowhere to move', () => {
  const spec = accessSpecAt(stream({ move: { every: 1000, by: 0.3 } }), BASE, LENGTH, 7000);
  assert.equal(spec.hotOffset, 0);
  assert.equal(spec.hotFraction, 1);
});

// ---- changeTimes --------------------------------------------------------------------------------------

const movingStreamArb = fc.tuple(streamArb, fc.option(fc.record({ every: fc.integer({ min: 0, max: 15 }).map((s) => s * 1000), by: fraction }), { nil: undefined })).map(([s, move]) => (move ? { ...s, move } : s));

test('changeTimes: the phase starts and the moves up to the limit, ascending, without duplicates (property)', () => {
  fc.assert(
    fc.property(movingStreamArb, fc.integer({ min: 0, max: 40_000 }), (s, until) => {
      const times = changeTimes(s, until);
      const expected = new Set<number>();
      for (const p of s.phases ?? []) if (p.at > 0 && p.at <= until) expected.add(p.at);
      if (s.move && s.move.every > 0) for (let k = 1; k * s.move.every <= until; k++) expected.add(k * s.move.every);
      assert.deepEqual(times, [...expected].sort((a, b) => a - b));
      for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] < times[i]);
    }),
  );
});

test('changeTimes: the spec is the same from one change time to the next (property)', () => {
  fc.assert(
    fc.property(movingStreamArb, fc.integer({ min: 0, max: 40_000 }), (s, age) => {
      const last = changeTimes(s, age).at(-1) ?? 0;
      assert.deepEqual(accessSpecAt(s, BASE, LENGTH, age), accessSpecAt(s, BASE, LENGTH, last));
    }),
  );
});

test('changeTimes: a stream without phases or move never changes; a phase at 0 is no change', () => {
  assert.deepEqual(changeTimes(stream({}), 3_600_000), []);
  assert.deepEqual(changeTimes(stream({ phases: [{ at: 0, rate: 5 }] }), 3_600_000), []);
  assert.deepEqual(changeTimes(stream({ move: { every: 0, by: 0.5 } }), 3_600_000), []);
  assert.deepEqual(changeTimes(stream({ phases: [{ at: 20_000 }, { at: 10_000 }], move: { every: 10_000, by: 0.1 } }), 30_000), [10_000, 20_000, 30_000]);
});
