// The policy's budgets: class reserves of the collapse budget, the per-process cap, the collapse-time
// budget going into debt, the observation budget as a number of inspections, exhaustion, the levels the
// metrics show, a reload that builds every bucket anew, and the catch-up window at start. The tests of
// the steady budgets turn the catch-up window off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePolicy } from '../../../daemon/config/policy.js';
import type { Policy, PolicyClass } from '../../../daemon/config/policy-schema.js';
import { PolicyBudgets } from '../../../daemon/decide/policy-budgets.js';

function policyOf(budgets: string, dbShare = '', perProcess = '100/s', catchUp = '{ duration: 0s }'): Policy {
  return parsePolicy(
    `version: 1
classes:
  - name: db
    match: { comm: [db] }
    ${dbShare === '' ? '' : `budgetShare: ${dbShare}`}
    eligibility: { maxCollapsesPerSecPerProcess: ${perProcess} }
  - name: web
    match: {}
    eligibility: { maxCollapsesPerSecPerProcess: ${perProcess} }
budgets: ${budgets.replace(/}\s*$/, `${budgets.trim() === '{}' ? '' : ','} catchUp: ${catchUp} }`)}
`,
    'p.yaml',
  );
}

const cls = (p: Policy, name: string): PolicyClass => p.classes.find((c) => c.name === name)!;

/** Takes collapses for `pid` of `c` while the budgets allow, up to `max`; returns how many. */
function drain(b: PolicyBudgets, now: number, c: PolicyClass, pidFrom: number, max = 100): number {
  let n = 0;
  while (n < max && b.mayCollapse(now, c, pidFrom + n)) {
    b.takeCollapse(now, c, pidFrom + n);
    n++;
  }
  return n;
}

test('a class with a budget share keeps its reserve: others cannot spend it, it spends the shared part too', () => {
  const p = policyOf('{ collapsesPerSec: 10/s }', '40%');
  const b = new PolicyBudgets(p, 0);
  assert.equal(drain(b, 0, cls(p, 'web'), 1000), 6, 'web gets the unreserved 60%');
  assert.equal(b.exhausted(0), false, 'db still has its reserve');
  assert.equal(drain(b, 0, cls(p, 'db'), 2000), 4);
  assert.equal(b.exhausted(0), true);
  // Half a second later: the reserve has 2, the unreserved part 3.
  assert.equal(drain(b, 500, cls(p, 'db'), 3000), 5, 'db draws on its reserve and on the shared part');
  assert.equal(drain(b, 500, cls(p, 'web'), 4000), 0);
});

test('a class with no candidates lends its reserve: the others spend it after the unreserved part, until it is taken back', () => {
  const p = policyOf('{ collapsesPerSec: 10/s, cpuMsPerSec: 100 }', '40%');
  const b = new PolicyBudgets(p, 0);
  b.lendReservesOf(new Set(['db']));
  assert.equal(drain(b, 0, cls(p, 'web'), 1000), 10, 'web gets the unreserved 6 and db\'s 4');
  b.lendReservesOf(new Set());
  assert.equal(drain(b, 500, cls(p, 'web'), 2000), 3, 'held again: web refills at its 60% only');
  assert.equal(drain(b, 500, cls(p, 'db'), 3000), 2, 'db\'s reserve refills at its own rate');
  // Collapse time is lent too, and charged from the unreserved part before the lent reserve.
  b.lendReservesOf(new Set(['db']));
  b.chargeCollapseMs(500, 'web', 80);
  b.lendReservesOf(new Set());
  assert.equal(b.levels(500).collapseMs, 0.2, 'web\'s 80 ms took the unreserved 60 ms and 20 ms of db\'s 40');
  b.chargeCollapseMs(500, 'db', 20);
  assert.equal(b.mayCollapse(500, cls(p, 'db'), 4000), false, 'db spent the rest of its reserve');
  assert.equal(b.mayCollapse(600, cls(p, 'db'), 4000), true, '…which refills at 40 ms a second');
});

test('a reserve holder overspending charges its reserve, then the unreserved part; only what is left goes into debt', () => {
  const p = policyOf('{ collapsesPerSec: 100/s, cpuMsPerSec: 100 }', '40%');
  const b = new PolicyBudgets(p, 0);
  b.chargeCollapseMs(0, 'db', 110);
  assert.equal(b.mayCollapse(0, cls(p, 'web'), 1), false, 'the unreserved 60 ms paid for db\'s overrun');
  assert.equal(b.mayCollapse(0, cls(p, 'db'), 1), false, 'db is 10 ms in debt on its reserve');
  assert.equal(b.mayCollapse(200, cls(p, 'db'), 1), true, 'its 40 ms a second pay it back in 250 ms, the unreserved part meanwhile holds 12 ms');
});

test('the per-process cap holds one process back while others of its class go on; it refills at its rate', () => {
  const p = policyOf('{ collapsesPerSec: 100/s }', '', '2/s');
  const b = new PolicyBudgets(p, 0);
  const db = cls(p, 'db');
  for (let i = 0; i < 2; i++) {
    assert.ok(b.mayCollapse(0, db, 7));
    b.takeCollapse(0, db, 7);
  }
  assert.equal(b.mayCollapse(0, db, 7), false);
  assert.equal(b.mayCollapse(0, db, 8), true, 'another process is not capped');
  assert.equal(b.exhausted(0), false, 'one capped process does not exhaust the budgets');
  assert.equal(b.mayCollapse(499, db, 7), false);
  assert.equal(b.mayCollapse(500, db, 7), true, 'one collapse back after half a second at 2/s');
  b.forget(7);
  for (let i = 0; i < 2; i++) b.takeCollapse(600, db, 7);
  assert.equal(b.mayCollapse(600, db, 7), false, 'a forgotten process starts with a full cap');
});

test('collapse time: charged after the work, into debt, it exhausts the budgets until it is paid back', () => {
  const p = policyOf('{ collapsesPerSec: 100/s, cpuMsPerSec: 50 }');
  const b = new PolicyBudgets(p, 0);
  b.chargeCollapseMs(0, 'db', 60);
  assert.equal(b.exhausted(0), true);
  assert.equal(b.mayCollapse(0, cls(p, 'web'), 1), false);
  assert.equal(b.exhausted(200), true, '−10 + 10 ms is still nothing left');
  assert.equal(b.exhausted(201), false);
  assert.equal(b.mayCollapse(201, cls(p, 'db'), 1), true);
});

test('inspections: what the observation budget allows at the measured cost of one, spent by what observing cost', () => {
  const p = policyOf('{ observeCpuMsPerSec: 10 }');
  const b = new PolicyBudgets(p, 0);
  assert.equal(b.inspections(0, 0.05), 200);
  assert.equal(b.inspections(0, 0.3), 33);
  assert.ok(b.inspections(0, 0) > 1e6, 'a cost of zero does not divide by zero');
  b.chargeObserveMs(0, 10);
  assert.equal(b.inspections(0, 0.05), 0);
  b.chargeObserveMs(0, 5);
  assert.equal(b.inspections(0, 0.05), 0, 'in debt: none, not a negative number');
  assert.equal(b.inspections(1000, 0.05), 100, 'a second pays back 10 ms: 5 ms left');
});

test('levels: a second’s worth of each budget is 1 when untouched, whatever the class reserves; spending lowers it', () => {
  for (const share of ['', '40%']) {
    const p = policyOf('{ collapsesPerSec: 10/s, cpuMsPerSec: 50, observeCpuMsPerSec: 10 }', share);
    const b = new PolicyBudgets(p, 0);
    assert.deepEqual(b.levels(0), { collapses: 1, collapseMs: 1, observe: 1 }, `share ${share || 'none'}`);
    b.takeCollapse(0, cls(p, 'db'), 1);
    b.chargeCollapseMs(0, 'web', 25);
    b.chargeObserveMs(0, 5);
    assert.deepEqual(b.levels(0), { collapses: 0.9, collapseMs: 0.5, observe: 0.5 }, `share ${share || 'none'}`);
  }
});

test('reconfigure: every bucket is built anew and full, per-process caps are dropped', () => {
  const p = policyOf('{ collapsesPerSec: 2/s }', '', '1/s');
  const b = new PolicyBudgets(p, 0);
  assert.equal(drain(b, 0, cls(p, 'db'), 1), 2);
  assert.equal(b.exhausted(0), true);
  b.takeCollapse(0, cls(p, 'db'), 99);
  const raised = policyOf('{ collapsesPerSec: 20/s }', '', '1/s');
  b.reconfigure(raised, 0);
  assert.equal(b.exhausted(0), false);
  assert.equal(b.mayCollapse(0, cls(raised, 'db'), 99), true, 'the capped process starts afresh');
  assert.equal(drain(b, 0, cls(raised, 'db'), 100), 20);
});

test('property: exhausted() says exactly that no class could collapse for a process not yet capped, whatever reserves are lent', () => {
  const byShare = new Map(['', '25%', '70%'].map((share) => [share, policyOf('{}', share)]));
  const step = fc.record({ dt: fc.integer({ min: 0, max: 400 }), cls: fc.constantFrom('db', 'web'), take: fc.nat(6), chargeMs: fc.nat(40), lend: fc.subarray(['db', 'web']) });
  fc.assert(
    fc.property(fc.constantFrom('', '25%', '70%'), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 80 }), fc.array(step, { maxLength: 25 }), (share, rate, ms, steps) => {
      const base = byShare.get(share)!;
      const p: Policy = { ...base, budgets: { ...base.budgets, collapsesPerSec: rate, cpuMsPerSec: ms } };
      const b = new PolicyBudgets(p, 0);
      let now = 0;
      let fresh = 1_000_000;
      for (const s of steps) {
        now += s.dt;
        b.lendReservesOf(new Set(s.lend));
        for (let i = 0; i < s.take && b.mayCollapse(now, cls(p, s.cls), 1); i++) b.takeCollapse(now, cls(p, s.cls), 1);
        b.chargeCollapseMs(now, s.cls, s.chargeMs);
        const anyone = p.classes.some((c) => b.mayCollapse(now, c, fresh++));
        if (b.exhausted(now) === anyone) return false;
      }
      return true;
    }),
  );
});

test('for catchUp.duration after the start every collapse budget is catchUp.factor times higher, then steady', () => {
  const p = policyOf('{ collapsesPerSec: 10/s, cpuMsPerSec: 50 }', '', '2/s', '{ duration: 30s, factor: 8 }');
  const b = new PolicyBudgets(p, 0);
  const web = cls(p, 'web');
  assert.equal(drain(b, 0, web, 1000, 1000), 80, 'ten per second × 8: one catch-up second\'s worth at once');
  assert.equal(drain(b, 1000, web, 2000, 1000), 80, 'refilled at the catch-up rate');
  let one = 0;
  while (b.mayCollapse(2000, web, 7)) {
    b.takeCollapse(2000, web, 7);
    one++;
  }
  assert.equal(one, 16, 'the per-process cap is 2/s × 8');
  b.chargeCollapseMs(2000, 'web', 399);
  assert.equal(b.mayCollapse(2000, web, 3000), true, '400 ms of collapse time per second meanwhile');
  b.chargeCollapseMs(2000, 'web', 2);
  assert.equal(b.mayCollapse(2000, web, 3000), false);
  assert.equal(b.catchingUp(29_999), true);
  assert.equal(drain(b, 30_000, web, 4000, 1000), 10, 'after 30 s: the steady ten per second');
  assert.equal(b.catchingUp(30_000), false);
  b.reconfigure(p, 31_000);
  assert.equal(drain(b, 31_000, web, 5000, 1000), 10, 'a reload does not start the window again');
});

test('the shipped default: 16 times the budgets for the first 30 s', () => {
  const p = parsePolicy('version: 1\nclasses: [{ name: all, match: {} }]\n', 'p.yaml');
  assert.deepEqual(p.budgets.catchUp, { duration: 30_000, factor: 16 });
});
