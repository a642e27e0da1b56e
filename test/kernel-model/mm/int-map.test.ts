// IntMap (the rmap's map of second mappings) behaves as a Map<number, number> under any sequence of
// sets, deletes and lookups, through growth and tombstone clean-ups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntMap } from '../../../kernel-model/mm/int-map.js';

const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 5000 }), value: fc.integer({ min: 0, max: 0x7fffffff }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 5000 }) }),
  fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 5000 }) }),
);

test('IntMap agrees with Map under random operations', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 4000 }), (ops) => {
      const m = new IntMap();
      const ref = new Map<number, number>();
      for (const o of ops) {
        if (o.kind === 'set') {
          m.set(o.key, o.value);
          ref.set(o.key, o.value);
        } else if (o.kind === 'delete') assert.equal(m.delete(o.key), ref.delete(o.key));
        else {
          assert.equal(m.get(o.key), ref.get(o.key) ?? -1);
          assert.equal(m.has(o.key), ref.has(o.key));
        }
        assert.equal(m.size, ref.size);
      }
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('IntMap survives a fork-sized burst: 300 000 keys in, all out, in again', () => {
  const m = new IntMap();
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < 300_000; k++) m.set(k * 7, k);
    assert.equal(m.size, 300_000);
    for (let k = 0; k < 300_000; k += 1000) assert.equal(m.get(k * 7), k);
    for (let k = 0; k < 300_000; k++) assert.ok(m.delete(k * 7));
    assert.equal(m.size, 0);
    assert.equal(m.get(7), -1);
  }
});

test('IntMap refuses keys it cannot store', () => {
  const m = new IntMap();
  assert.throws(() => m.set(-1, 0), RangeError);
  assert.throws(() => m.set(2 ** 31, 0), RangeError);
  assert.throws(() => m.set(1.5, 0), RangeError);
});
