// The tune analysis on hand-written records: exact counts of outcomes, repeated EAGAIN, churn, budget
// saturation, guard trips, classes never matched, eligibility, and the changes proposed from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { analyseLogs, editDistance, type Finding, type Findings } from '../../../daemon/tune/findings.js';
import type { LogRecord } from '../../../daemon/tune/log-reader.js';

const POLICY = `version: 1
classes:
  - name: db
    match:
      comm: [postgress]
    eligibility:
      maxNonePages: 0
  - name: other
    match: {}
budgets:
  collapsesPerSec: 2/s
`;
const policy = parsePolicy(POLICY, 'policy.yaml');

const decision = (t: number, cls: string, fields: Partial<Record<string, unknown>> = {}): LogRecord => ({
  message: 'decision', t, cycle: Math.round(t / 1000), pid: 7, comm: 'postgres', class: cls, region: '0x200000', regions: 1,
  action: 'collapse', outcome: 'ok', latencyMs: 1, bytes: 2 * 1024 * 1024, ...fields,
});
const cycle = (t: number, fields: Partial<Record<string, unknown>> = {}): LogRecord => ({
  message: 'cycle', t, cycle: Math.round(t / 1000), candidates: 100, planned: 2, collapsed: 2, failed: 0, nextIntervalMs: 1000, killSwitch: false, skipped: {}, ...fields,
});
const find = (f: Findings, id: string): Finding => {
  const x = f.findings.find((y) => y.id === id);
  assert.ok(x, `no finding ${id} in ${f.findings.map((y) => y.id).join(', ')}`);
  return x;
};

test('tune analysis: outcomes by class, errno and call size, with exact counts and rates', () => {
  const f = analyseLogs([
    decision(1000, 'other'),
    decision(2000, 'other', { regions: 4, bytes: 4 * 2 * 1024 * 1024, region: '0x400000' }),
    decision(3000, 'other', { outcome: 'failed', errno: 'EAGAIN', bytes: 0, region: '0x800000' }),
    decision(4000, 'other', { outcome: 'partial', regions: 8, bytes: 3 * 2 * 1024 * 1024, region: '0xa00000' }),
    decision(5000, 'other', { action: 'dry-run' }),
  ]);
  const o = f.outcomes.byClass.other;
  assert.equal(o.calls, 4);
  assert.equal(o.okCalls, 2);
  assert.equal(o.partialCalls, 1);
  assert.equal(o.failedCalls, 1);
  assert.equal(o.regions, 14);
  assert.equal(o.regionsDone, 8);
  assert.equal(o.successRate, 0.75);
  assert.equal(o.regionsPerCall, 3.5);
  assert.deepEqual(o.errnos, { EAGAIN: { calls: 1, rate: 0.25 } });
  assert.deepEqual(Object.keys(f.outcomes.byCallSize), ['1', '2-7', '8-63']);
  assert.equal(f.outcomes.byCallSize['1'].calls, 2);
  assert.equal(f.spanMs, 4000);
});

test('tune analysis: repeated EAGAIN on one region and churn within 10 minutes', () => {
  const f = analyseLogs([
    decision(1000, 'other', { outcome: 'failed', errno: 'EAGAIN', bytes: 0 }),
    decision(12_000, 'other', { outcome: 'failed', errno: 'EAGAIN', bytes: 0 }),
    decision(23_000, 'other', { outcome: 'failed', errno: 'EAGAIN', bytes: 0 }),
    decision(24_000, 'other', { outcome: 'failed', errno: 'EAGAIN', bytes: 0, region: '0x600000' }),
    decision(30_000, 'other', { region: '0x800000' }),
    decision(90_000, 'other', { region: '0x800000' }),
    decision(900_000, 'other', { region: '0x800000' }),
  ], policy);
  const eagain = find(f, 'repeated-eagain');
  assert.match(eagain.statement, /^1 regions failed with EAGAIN more than once/);
  assert.deepEqual(eagain.evidence, ['2 repeated EAGAIN calls on 1 of 2 regions that ever gave EAGAIN']);
  assert.deepEqual(eagain.change, { path: ['pacing', 'retry', 'EAGAIN'], pathText: 'pacing.retry.EAGAIN', from: '10s', to: '40s' });
  assert.equal(eagain.samples.length, 1);
  const churn = find(f, 'churn');
  assert.match(churn.evidence[0], /^1 of 3 successful collapse calls/);
  assert.match(churn.samples[0], /pid 7 region 0x800000 collapsed again 60\.0s after/);
  // 4 failures of 7 calls: too few to call a failure rate (5 at least).
  assert.equal(f.findings.some((x) => x.id === 'failures:EAGAIN'), false);
  const more = analyseLogs([...Array.from({ length: 5 }, (_, i) => decision(i * 1000, 'other', { outcome: 'failed', errno: 'EAGAIN', bytes: 0, region: `0x${(i + 1).toString(16)}00000` })), decision(9000, 'other')]);
  const failures = find(more, 'failures:EAGAIN');
  assert.equal(failures.severity, 'critical');
  assert.equal(failures.statement, '83.3% of collapse calls failed with EAGAIN');
  assert.deepEqual(failures.evidence, ['5 of 6 calls; by class: other 5/6']);
});

test('tune analysis: budget saturation proposes a higher collapsesPerSec with the evidence', () => {
  const recs: LogRecord[] = [];
  for (let i = 0; i < 9; i++) recs.push(cycle(i * 1000, { skipped: { budget: { db: 40, other: 60 } } }));
  recs.push(cycle(9000, { skipped: { budget: { other: 10 } }, failed: 1 }), cycle(10_000));
  const f = analyseLogs(recs, policy);
  const b = find(f, 'budget-saturated');
  assert.equal(b.severity, 'critical');
  assert.equal(b.evidence[0], '81.8% of 11 cycles stopped on the budget while nothing failed');
  assert.equal(b.evidence[1], 'candidates left waiting in those cycles: median 100, max 100');
  assert.deepEqual(b.change, { path: ['budgets', 'collapsesPerSec'], pathText: 'budgets.collapsesPerSec', from: '2/s', to: '8/s' });
  assert.deepEqual(b.samples[0], 'cycle 0 (t=0.0s): 100 skipped for budget, 100 candidates, 2 planned');
  // Without the policy: the finding, no change.
  assert.equal(analyseLogs(recs).findings.find((x) => x.id === 'budget-saturated')?.change, undefined);
});

test('tune analysis: a class never matched is reported with the comms seen, and a near miss corrected', () => {
  const f = analyseLogs([cycle(0, { skipped: { 'already-huge': { other: 3 } } }), decision(1000, 'other')], policy);
  const c = find(f, 'class-never-matched:db');
  assert.equal(c.statement, 'classes[0] "db" matched no process with hot memory');
  assert.ok(c.evidence.includes('comms seen in decisions — other: postgres (1)'), c.evidence.join('\n'));
  assert.deepEqual(c.change, { path: ['classes', 0, 'match', 'comm'], pathText: 'classes[0].match.comm', from: ['postgress'], to: ['postgres'] });
  assert.equal(f.findings.some((x) => x.id === 'class-never-matched:other'), false);
  assert.equal(editDistance('postgress', 'postgres'), 1);
});

test('tune analysis: a dominant eligibility skip proposes relaxing maxNonePages; guards and the kill switch are reported', () => {
  const recs: LogRecord[] = [];
  for (let i = 0; i < 4; i++) recs.push(cycle(i * 1000, { skipped: { 'too-many-none-pages': { db: 10 }, 'guard:memory-pressure': { other: 5 } }, killSwitch: i === 3 }));
  recs.push(decision(5000, 'db'));
  const f = analyseLogs(recs, policy);
  const e = find(f, 'eligibility:db:too-many-none-pages');
  assert.equal(e.evidence[0], '40 candidate skips of class db for too-many-none-pages (counted each cycle a region is looked at again) against 1 regions acted on: 97.6%');
  assert.deepEqual(e.change, { path: ['classes', 0, 'eligibility', 'maxNonePages'], pathText: 'classes[0].eligibility.maxNonePages', from: 0, to: 64 });
  const g = find(f, 'guard:guard:memory-pressure');
  assert.equal(g.severity, 'warning');
  assert.equal(g.evidence[0].startsWith('4 of 4 cycles, 20 candidate skips'), true);
  const k = find(f, 'kill-switch');
  assert.equal(k.statement, 'the kill switch was on for about 1.0 s (1 cycles)');
  // Ordered by severity.
  const order = f.findings.map((x) => x.severity);
  assert.deepEqual(order, [...order].sort((a, b) => ['critical', 'warning', 'info'].indexOf(a) - ['critical', 'warning', 'info'].indexOf(b)));
});

test('tune analysis: policy records and unknown records', () => {
  const f = analyseLogs([
    { message: 'policy changed', t: 5, file: 'p.yaml', changes: [{ path: 'killSwitch', from: false, to: true }] },
    { message: 'policy rejected, the previous one stays', t: 6, file: 'p.yaml', problems: ['p.yaml:1:1: version: expected 1'] },
    { message: 'something else', level: 'info' },
  ]);
  assert.equal(find(f, 'policy-rejected').evidence[0], 'p.yaml: p.yaml:1:1: version: expected 1');
  assert.match(find(f, 'policy-changed').statement, /changed 1 times/);
  assert.equal(f.records, 3);
  assert.ok(f.findings.some((x) => x.id === 'no-policy'));
});
