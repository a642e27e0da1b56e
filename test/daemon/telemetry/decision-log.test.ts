// The decision log: records carry the daemon's clock time, skips are counted per cycle by reason and
// class (and logged one by one only at debug level), and a policy change is logged as what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualTimeScheduler } from 'rxjs';
import { DecisionLog, diffValues } from '../../../daemon/telemetry/decision-log.js';
import type { Clock } from '../../../daemon/schedule/clock.js';
import { CapturingLoggerFactory } from '../../support/capturing-logger.js';

function setUp(level = 'info'): { log: DecisionLog; entries: CapturingLoggerFactory['entries']; scheduler: VirtualTimeScheduler } {
  const loggers = new CapturingLoggerFactory();
  loggers.root.level = level;
  const scheduler = new VirtualTimeScheduler();
  const clock: Clock = { now: () => scheduler.now(), scheduler };
  return { log: new DecisionLog(loggers, clock), entries: loggers.entries, scheduler };
}

test('a decision is one record with the clock time, its region in hex, failures as warnings', () => {
  const { log, entries, scheduler } = setUp();
  scheduler.schedule(() => {
    log.decision({ cycle: 3, pid: 42, comm: 'mysqld', class: 'db', region: 0x7f0000200000, regions: 2, score: 9.5, components: { 'benefit-cost': 9.5 }, action: 'collapse', outcome: 'ok', latencyMs: 4.2, bytes: 4 << 20 });
    log.decision({ cycle: 3, pid: 43, comm: 'java', class: 'rt', region: 0x200000, regions: 1, score: 1, components: {}, action: 'collapse', outcome: 'failed', errno: 'EAGAIN', latencyMs: 0.1, bytes: 0 });
  }, 1500);
  scheduler.flush();
  assert.equal(entries.length, 2);
  assert.deepEqual({ level: entries[0].level, message: entries[0].message, t: entries[0].t, region: entries[0].region, logger: entries[0].logger }, { level: 'info', message: 'decision', t: 1500, region: '0x7f0000200000', logger: 'decide:DecisionLog' });
  assert.equal(entries[1].level, 'warn');
  assert.equal(entries[1].errno, 'EAGAIN');
});

test('skips are counted per reason and class into the cycle summary, then reset', () => {
  const { log, entries } = setUp();
  for (let i = 0; i < 1000; i++) log.skipped('region-busy', 'db');
  log.skipped('budget', 'db');
  log.skipped('budget', 'web');
  assert.equal(entries.length, 0, 'no line per skip at info level');
  log.cycle(7, { candidates: 1003, acted: 0 });
  assert.deepEqual(entries[0].skipped, { 'region-busy': { db: 1000 }, budget: { db: 1, web: 1 } });
  assert.equal(entries[0].cycle, 7);
  log.cycle(8, { candidates: 0, acted: 0 });
  assert.deepEqual(entries[1].skipped, {});
});

test('at debug level each skip is logged too, with its detail', () => {
  const { log, entries } = setUp('debug');
  log.skipped('node-no-memory', 'db', { pid: 42, node: 1 });
  assert.equal(entries[0].message, 'skipped');
  assert.equal(entries[0].node, 1);
});

test('a policy change is logged as the paths that changed; no change logs nothing', () => {
  const { log, entries } = setUp();
  const before = { budgets: { collapsesPerSec: 16 }, classes: [{ name: 'db', weight: 4 }] };
  const after = { budgets: { collapsesPerSec: 32 }, classes: [{ name: 'db', weight: 4 }, { name: 'web', weight: 1 }] };
  assert.deepEqual(log.policyChanged('p.yaml', before, after), [
    { path: 'budgets.collapsesPerSec', from: 16, to: 32 },
    { path: 'classes[1]', from: undefined, to: { name: 'web', weight: 1 } },
  ]);
  assert.equal(entries[0].message, 'policy changed');
  assert.deepEqual(log.policyChanged('p.yaml', after, structuredClone(after)), []);
  assert.equal(entries.length, 1);
  log.policyRejected('p.yaml', ['p.yaml:3:5: version: expected 1']);
  assert.equal(entries[1].level, 'error');
  assert.deepEqual(diffValues(1, 2), [{ path: '(root)', from: 1, to: 2 }]);
});
