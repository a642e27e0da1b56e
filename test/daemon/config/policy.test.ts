// Policy files: the shipped default is valid and complete, the committed JSON Schema is the one the zod
// definition exports, and each kind of mistake is reported with its file, line, path and what was
// expected — several at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigFileError, formatProblem } from '../../../daemon/config/config-file.js';
import { loadPolicy, parsePolicy } from '../../../daemon/config/policy.js';
import { policyJsonSchema } from '../../../daemon/config/policy-schema.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const shipped = `${root}config/uhugepaged.yaml`;

/** The problems of a policy text, formatted, or [] when it is valid. */
function problems(text: string, file = 'policy.yaml'): string[] {
  try {
    parsePolicy(text, file);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw e;
    return e.problems.map(formatProblem);
  }
}

const minimal = 'version: 1\nclasses:\n  - name: all\n    match: {}\n';

test('the shipped default policy is valid, and a minimal one gets every default', () => {
  const p = loadPolicy(shipped);
  assert.deepEqual(p.classes.map((c) => c.name), ['databases', 'runtimes', 'virtual-machines', 'other']);
  assert.equal(p.classes[0].budgetShare, 0.4);
  assert.equal(p.pacing.retry.ENOMEM, 60_000);
  const m = parsePolicy(minimal, 'minimal.yaml');
  assert.equal(m.killSwitch, false);
  assert.equal(m.pacing.interval, 1000);
  assert.equal(m.classes[0].eligibility.maxNonePages, 64);
  assert.equal(m.classes[0].numa, 'local-only');
  assert.deepEqual(m.scorers.map((s) => s.name), ['benefit-cost']);
  assert.equal(m.schedules.fullRescan, '*/10 * * * *');
  // The shipped file writes out every default: parsing it equals its defaults wherever it does not differ.
  assert.deepEqual(p.budgets, m.budgets);
  assert.deepEqual(p.guards, m.guards);
  assert.deepEqual(p.pacing, m.pacing);
  assert.deepEqual(p.schedules, m.schedules);
});

test('config/uhugepaged.schema.json is what the policy schema exports (npm run build && npm run schema)', () => {
  const committed: unknown = JSON.parse(readFileSync(`${root}config/uhugepaged.schema.json`, 'utf8'));
  assert.deepEqual(committed, JSON.parse(JSON.stringify(policyJsonSchema())));
});

test('each kind of mistake gives a precise problem: file, line, path and what was expected', () => {
  const cases: [string, string][] = [
    [minimal + 'pacing:\n  interval: 10 seconds\n', 'policy.yaml:6:13: pacing.interval: expected a duration'],
    [minimal + 'budgets:\n  colapsesPerSec: 4/s\n', 'policy.yaml:6:3: budgets.colapsesPerSec: unknown key "colapsesPerSec"'],
    [minimal.replace('match: {}', 'match: {}\n    numa: remote'), 'policy.yaml:5:11: classes[0].numa:'],
    [minimal + 'schedules:\n  summary: "0 25 * * *"\n', 'policy.yaml:6:12: schedules.summary: expected a cron expression'],
    [minimal.replace('match: {}', 'match:\n      comm: ["a very long command name"]'), 'policy.yaml:5:14: classes[0].match.comm[0]: expected a command name'],
    ['version: 2\nclasses: []\n', 'policy.yaml:1:10: version:'],
    ['version: 1\n', 'policy.yaml'],
    [minimal + 'guards:\n  minFreeMemory: 150%\n', 'policy.yaml:6:18: guards.minFreeMemory: expected a fraction'],
  ];
  for (const [text, expected] of cases) {
    const found = problems(text);
    assert.ok(found.some((p) => p.startsWith(expected)), `expected a problem starting with ${JSON.stringify(expected)}, got ${JSON.stringify(found)}`);
  }
});

test('mistakes of meaning are found too, all of them at once', () => {
  const text = [
    'version: 1',
    'classes:',
    '  - name: db',
    '    match: { comm: [mysqld] }',
    '    budgetShare: 70%',
    '  - name: rest',
    '    match: {}',
    '    budgetShare: 50%',
    '  - name: db',
    '    match: { uid: [1000] }',
    'pacing:',
    '  interval: 1m',
    '  maxInterval: 30s',
    'scorers:',
    '  - { name: hawkeye, weight: 0 }',
    '  - { name: hawkeye, weight: 0 }',
    '',
  ].join('\n');
  const found = problems(text);
  const expect = [
    'policy.yaml:9:11: classes[2].name: a second class named "db"',
    'policy.yaml:10:12: classes[2].match: never matches: classes[1] ("rest")',
    'policy.yaml:8:18: classes[1].budgetShare: the classes\' budget shares add up to 120%',
    'policy.yaml:12:13: pacing.interval: interval (60000 ms) must lie between',
    'policy.yaml:16:13: scorers[1].name: scorer "hawkeye" is listed twice',
    'policy.yaml:15:3: scorers: every scorer has weight 0',
  ];
  for (const e of expect) assert.ok(found.some((p) => p.startsWith(e)), `expected ${JSON.stringify(e)} among ${JSON.stringify(found, null, 1)}`);
});
