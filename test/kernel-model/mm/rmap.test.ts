// The reverse map at KSM scale: a frame mapped by hundreds of PTEs gets a slot index, and any order of
// additions and removals keeps its mapcount and its list of slots exact (against a plain Set).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Cost } from '../../../kernel-model/mm/costs.js';
import { PG, PageFrames } from '../../../kernel-model/mm/page-flags.js';
import { Rmap } from '../../../kernel-model/mm/rmap.js';

test('any interleaving of addPte and removePte keeps a widely mapped frame\'s slots and mapcount exact', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 399 })), { minLength: 1, maxLength: 2000 }),
      fc.integer({ min: 0, max: 399 }),
      (ops, prefill) => {
        const frames = new PageFrames(4);
        const rmap = new Rmap(frames);
        const model = new Set<number>();
        for (let s = 0; s < prefill; s++) {
          rmap.addPte(1, s);
          model.add(s);
        }
        for (const [add, slot] of ops) {
          if (add && !model.has(slot)) {
            rmap.addPte(1, slot);
            model.add(slot);
          } else if (!add && model.has(slot)) {
            assert.equal(rmap.removePte(1, slot), model.size - 1);
            model.delete(slot);
          }
          assert.equal(frames.getMapcount(1), model.size);
        }
        assert.deepEqual([...rmap.ptesOf(1)].sort((a, b) => a - b), [...model].sort((a, b) => a - b));
        // Moving the frame (migration) carries its index along.
        rmap.moveAll(1, 2);
        for (const slot of model) rmap.removePte(2, slot);
        assert.equal(frames.getMapcount(2), 0);
        assert.deepEqual(rmap.ptesOf(2), []);
      },
    ),
    { numRuns: 50 },
  );
});

test('removing a slot that does not map the frame is a bug, indexed or not', () => {
  for (const n of [3, 300]) {
    const frames = new PageFrames(2);
    const rmap = new Rmap(frames);
    for (let s = 0; s < n; s++) rmap.addPte(0, s);
    assert.throws(() => rmap.removePte(0, 10_000), /does not map/);
  }
});

test('an rmap walk of a KSM page costs Cost.ksmRmapItem per mapping, of any other page rmapPerMapping', () => {
  const frames = new PageFrames(2);
  const rmap = new Rmap(frames);
  for (let s = 0; s < 10; s++) rmap.addPte(0, s);
  assert.equal(rmap.walkCostMs(0), 10 * Cost.rmapPerMapping);
  frames.set(0, PG.ksm);
  assert.equal(rmap.walkCostMs(0), 10 * Cost.ksmRmapItem);
  assert.equal(rmap.walkCostMs(0, 3), 3 * Cost.ksmRmapItem);
});
