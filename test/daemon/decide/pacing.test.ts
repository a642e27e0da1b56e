// Latency backoff, per-errno failure handling and budgets: the pieces of the decide loop's state that
// the policy's pacing and budgets configure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { Pacer } from '../../../daemon/decide/pacing.js';
import { FailureMemory, type CollapseTarget } from '../../../daemon/decide/failure-memory.js';
import { SharedBudget, TokenBucket } from '../../../daemon/decide/budget.js';

const policy = parsePolicy('version: 1\nclasses:\n  - name: all\n    match: {}\npacing:\n  interval: 1s\n  minInterval: 250ms\n  maxInterval: 8s\n  slowCollapse: 40ms\n', 'p.yaml');

test('pacing: slow collapses double the interval up to the maximum, fast ones halve it down to the minimum', () => {
  const p = new Pacer(policy.pacing);
  assert.equal(p.intervalMs, 1000);
  for (const expected of [2000, 4000, 8000, 8000]) {
    p.recordLatency(41);
    assert.equal(p.intervalMs, expected);
  }
  p.recordLatency(30); // between half and the limit: unchanged
  assert.equal(p.intervalMs, 8000);
  for (const expected of [4000, 2000, 1000, 500, 250, 250]) {
    p.recordLatency(19);
    assert.equal(p.intervalMs, expected);
  }
  p.reconfigure({ ...policy.pacing, minInterval: 1000 });
  assert.equal(p.intervalMs, 1000, 'a reload clamps the interval to the new bounds');
});

const target = (over: Partial<CollapseTarget> = {}): CollapseTarget => ({ pid: 10, region: 0x200000, node: 0, cgroup: '/a', fingerprint: 'v1', ...over });

test('EAGAIN leaves the region alone for retry.EAGAIN, and only that region', () => {
  const m = new FailureMemory(policy.pacing.retry);
  assert.deepEqual(m.record(0, target(), 'EAGAIN'), { report: false, forgetProcess: false });
  assert.equal(m.skip(9_999, target()), 'region-busy');
  assert.equal(m.skip(9_999, target({ region: 0x400000 })), undefined);
  assert.equal(m.skip(10_000, target()), undefined);
});

test('ENOMEM stops collapses onto the node for retry.ENOMEM', () => {
  const m = new FailureMemory(policy.pacing.retry);
  m.record(0, target(), 'ENOMEM');
  assert.equal(m.skip(59_999, target({ pid: 99, region: 0 })), 'node-no-memory');
  assert.equal(m.skip(59_999, target({ node: 1 })), undefined);
  assert.equal(m.skip(60_000, target()), undefined);
});

test('EBUSY skips the cgroup for retry.EBUSY and then until it is seen with headroom', () => {
  const m = new FailureMemory(policy.pacing.retry);
  m.record(0, target(), 'EBUSY');
  m.sawHeadroom('/a');
  assert.equal(m.skip(29_999, target()), 'cgroup-full');
  m.record(0, target(), 'EBUSY');
  assert.equal(m.skip(45_000, target()), 'cgroup-full', 'no headroom seen since');
  m.sawHeadroom('/a');
  assert.equal(m.skip(45_000, target()), undefined);
  assert.equal(m.skip(45_000, target({ cgroup: '/b' })), undefined);
});

test('EINVAL is remembered until the region’s mapping or residency changes', () => {
  const m = new FailureMemory(policy.pacing.retry);
  m.record(0, target(), 'EINVAL');
  assert.equal(m.skip(1e9, target()), 'region-invalid', 'time alone changes nothing');
  assert.equal(m.skip(1e9, target({ fingerprint: 'v2' })), undefined);
  assert.equal(m.skip(1e9, target()), undefined, 'once seen changed, forgotten');
});

test('ESRCH forgets the process; EPERM/EACCES skip it and are reported once; the unexpected always', () => {
  const m = new FailureMemory(policy.pacing.retry);
  m.record(0, target(), 'EAGAIN');
  m.record(0, target({ region: 0x400000 }), 'EINVAL');
  assert.deepEqual(m.record(1, target(), 'ESRCH'), { report: false, forgetProcess: true });
  assert.equal(m.size, 0);
  assert.deepEqual(m.record(0, target({ pid: 7 }), 'EPERM'), { report: true, forgetProcess: false });
  assert.deepEqual(m.record(5, target({ pid: 7 }), 'EACCES'), { report: false, forgetProcess: false });
  assert.equal(m.skip(1e9, target({ pid: 7 })), 'process-denied');
  assert.deepEqual(m.record(0, target(), 'EFAULT'), { report: true, forgetProcess: false });
  assert.deepEqual(m.record(0, target(), 'EFAULT'), { report: true, forgetProcess: false });
});

test('a token bucket refills at its rate up to one capacity, and charged work puts it in debt', () => {
  const b = new TokenBucket(10, 10, 0);
  assert.ok(b.take(0, 10));
  assert.equal(b.take(0, 1), false);
  assert.equal(b.available(500), 5);
  assert.equal(b.available(60_000), 10, 'an idle minute is not a burst');
  b.charge(60_000, 25);
  assert.equal(b.available(60_000), -15);
  assert.equal(b.take(61_000, 1), false);
  assert.ok(b.take(62_600, 1));
});

test('a class with a budget share draws on its reserve first, then on the unreserved part', () => {
  const s = new SharedBudget(10, new Map([['db', 0.4]]), 0);
  assert.equal(s.available(0, 'db'), 10);
  assert.equal(s.available(0, 'web'), 6);
  for (let i = 0; i < 6; i++) assert.ok(s.take(0, 'web', 1));
  assert.equal(s.take(0, 'web', 1), false, 'the reserve is not for others');
  for (let i = 0; i < 4; i++) assert.ok(s.take(0, 'db', 1));
  assert.equal(s.take(0, 'db', 1), false);
  assert.ok(s.take(1000, 'db', 10), 'after a second, db has its reserve and the unreserved part');
});

test('idle backoff: each idle cycle doubles the interval up to maxInterval, the first busy one resets it', () => {
  const p = new Pacer(policy.pacing);
  for (const expected of [2000, 4000, 8000, 8000, 8000]) {
    p.recordIdle();
    assert.equal(p.intervalMs, expected);
  }
  p.recordBusy();
  assert.equal(p.intervalMs, 1000);
  p.recordIdle();
  assert.equal(p.intervalMs, 2000, 'a busy cycle starts the doubling afresh');
});

test('idle backoff composes with latency backoff: the idle factor multiplies the latency-paced interval', () => {
  const p = new Pacer(policy.pacing);
  p.recordLatency(19); // fast: 500 ms
  p.recordIdle();
  p.recordIdle();
  assert.equal(p.intervalMs, 2000, '500 ms × 4');
  p.recordLatency(41); // slow: 1000 ms, still × 4
  assert.equal(p.intervalMs, 4000);
  p.recordLatency(41); // 2000 ms × 4 = 8000, the maximum
  p.recordIdle();
  assert.equal(p.intervalMs, 8000, 'never beyond maxInterval');
  p.recordBusy();
  assert.equal(p.intervalMs, 2000, 'busy: the latency-paced interval alone');
  p.reconfigure({ ...policy.pacing, maxInterval: 1500 });
  p.recordIdle();
  assert.equal(p.intervalMs, 1500, 'a reload clamps both');
});

test('property: whatever the sequence of cycles, the interval stays within [minInterval, maxInterval], and k idle cycles from busy multiply it by 2^k up to the maximum', () => {
  const op = fc.oneof(fc.constant('idle'), fc.constant('busy'), fc.integer({ min: 0, max: 100 }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 8 }), (ops, k) => {
      const p = new Pacer(policy.pacing);
      for (const o of ops) {
        if (o === 'idle') p.recordIdle();
        else if (o === 'busy') p.recordBusy();
        else p.recordLatency(o);
        if (p.intervalMs < policy.pacing.minInterval || p.intervalMs > policy.pacing.maxInterval) return false;
      }
      p.recordBusy();
      const base = p.intervalMs;
      for (let i = 0; i < k; i++) p.recordIdle();
      return p.intervalMs === Math.min(policy.pacing.maxInterval, base * 2 ** k);
    }),
  );
});
