// The scenario timeline: a min-heap of timed callbacks that pops in (time, insertion) order, checked
// against a stably sorted reference, alone and with scheduling and popping interleaved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Timeline } from '../../../sim/scenario/timeline.js';

/** Times with many ties (small integers) and some fractions, as the runner schedules them. */
const time = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 20, noNaN: true }));

test('timeline: an empty timeline peeks Infinity, pops undefined and has size 0', () => {
  const tl = new Timeline();
  assert.equal(tl.peekTime(), Infinity);
  assert.equal(tl.pop(), undefined);
  assert.equal(tl.size, 0);
  tl.at(5, () => undefined);
  assert.equal(tl.peekTime(), 5);
  assert.equal(tl.size, 1);
  assert.equal(typeof tl.pop(), 'function');
  assert.equal(tl.peekTime(), Infinity);
  assert.equal(tl.pop(), undefined);
  assert.equal(tl.size, 0);
});

test('timeline: events pop in (time, insertion) order, as a stable sort by time orders them (property)', () => {
  fc.assert(
    fc.property(fc.array(time, { maxLength: 200, size: 'medium' }), (times) => {
      const tl = new Timeline();
      const ran: number[] = [];
      times.forEach((t, i) => tl.at(t, () => ran.push(i)));
      assert.equal(tl.size, times.length);
      const expected = times
        .map((t, i) => ({ t, i }))
        .sort((a, b) => a.t - b.t)
        .map((e) => e.i);
      const peeked: number[] = [];
      while (tl.size > 0) {
        peeked.push(tl.peekTime());
        tl.pop()!();
      }
      assert.deepEqual(ran, expected);
      // peekTime gave the time of the event popped next.
      assert.deepEqual(peeked, expected.map((i) => times[i]));
      assert.equal(tl.peekTime(), Infinity);
    }),
  );
});

type Op = { kind: 'at'; t: number } | { kind: 'pop' };

test('timeline: scheduling and popping interleaved agree with a sorted reference (property)', () => {
  // More schedules than pops, over few distinct times, so that many events wait together and tie.
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.oneof(fc.integer({ min: 0, max: 5 }), time).map((t): Op => ({ kind: 'at', t })), weight: 3 },
    { arbitrary: fc.constant<Op>({ kind: 'pop' }), weight: 1 },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300, size: 'medium' }), (ops) => {
      const tl = new Timeline();
      /** Pending events of the reference: (time, sequence), in no particular order. */
      const pending: { t: number; seq: number }[] = [];
      let seq = 0;
      let ran = -1;
      for (const o of ops) {
        if (o.kind === 'at') {
          const id = seq++;
          tl.at(o.t, () => (ran = id));
          pending.push({ t: o.t, seq: id });
        } else {
          let best = -1;
          for (let i = 0; i < pending.length; i++) {
            const e = pending[i];
            if (best < 0 || e.t < pending[best].t || (e.t === pending[best].t && e.seq < pending[best].seq)) best = i;
          }
          const want = best < 0 ? undefined : pending.splice(best, 1)[0];
          assert.equal(tl.peekTime(), want?.t ?? Infinity);
          const run = tl.pop();
          if (want === undefined) {
            assert.equal(run, undefined);
          } else {
            assert.ok(run);
            run();
            assert.equal(ran, want.seq);
          }
        }
        assert.equal(tl.size, pending.length);
      }
    }),
  );
});

test('timeline: an event scheduled at the current time by a running event runs after those already due then', () => {
  // The runner's periodic events reschedule themselves from inside their callback.
  const tl = new Timeline();
  const order: string[] = [];
  tl.at(10, () => {
    order.push('a');
    tl.at(10, () => order.push('a-again'));
    tl.at(5, () => order.push('late-but-earlier'));
  });
  tl.at(10, () => order.push('b'));
  tl.at(11, () => order.push('c'));
  while (tl.size > 0) tl.pop()!();
  assert.deepEqual(order, ['a', 'late-but-earlier', 'b', 'a-again', 'c']);
});
