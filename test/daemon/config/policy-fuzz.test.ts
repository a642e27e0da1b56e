// The policy loader never fails with anything but a ConfigFileError: random YAML-like text, and the
// shipped policy mutated key by key (dropped, replaced or added keys with random JSON values, written as
// YAML or JSON), each end in a Policy or in a ConfigFileError whose every problem has a file, a path and
// a one-line message (and a line within the text when it has one). 10 200 inputs in all (fixed seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse } from 'yaml';
import { ConfigFileError } from '../../../daemon/config/config-file.js';
import { parsePolicy } from '../../../daemon/config/policy.js';
import { checkLoad, mutate, serialise, type Json, type Mutation } from '../../support/config-fuzz.js';
import type { Policy } from '../../../daemon/config/policy-schema.js';

function check(text: string, file: string, never?: RegExp): 'ok' | 'problems' {
  const accept = (p: Policy): void => {
    assert.ok(p.classes.length > 0);
    assert.equal(typeof p.pacing.interval, 'number');
  };
  return checkLoad(text, file, parsePolicy, accept, ConfigFileError, never);
}

const tokens = [
  'version', 'classes', 'name', 'match', 'comm', 'cgroup', 'uid', 'pid', 'weight', 'budgetShare', 'eligibility', 'exclude', 'numa',
  'local-only', 'allow-remote', 'budgets', 'guards', 'pacing', 'retry', 'EAGAIN', 'ENOMEM', 'scorers', 'hawkeye', 'schedules', 'killSwitch',
  '1', '2', '10s', '250ms', '16/s', '5%', '150%', '-1', '1e400', '.nan', 'null', '~', 'true', '*/5 * * * *', '61 * * * *', 'mysqld', 'qemu-*',
  '__proto__', 'constructor', '!!binary', '&a', '*a', '<<', ':', ': ', '- ', '? ', ',', '[', ']', '{', '}', '"', "'", '#', '|', '---', '\n', '\n  ', '\n    ', '\t', ' ',
];
const yamlishText = fc.array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 60 }).map((parts) => parts.join(''));
const anyText = fc.oneof(yamlishText, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 80 }));

test('random YAML-like text: a Policy or a ConfigFileError, never another exception', () => {
  fc.assert(
    fc.property(anyText, fc.constantFrom('fuzz.yaml', 'fuzz.json'), (text, file) => {
      check(text, file);
    }),
    { numRuns: 6000 },
  );
});

const SHIPPED = parse(readFileSync(fileURLToPath(new URL('../../../../config/uhugepaged.yaml', import.meta.url)), 'utf8')) as Json;

const interesting: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  null, true, false, 0, -1, 1, 1.5, 1e21, '', '10s', '0s', '1m', '10 seconds', '5%', '150%', '16/s', '-3/s', 'local-only', 'remote', 'hawkeye', 'damos', 'nope',
  '*/5 * * * *', '0 25 * * *', 'mysqld', 'a very long command name', '/batch', 'batch', [], {}, [0], ['java'], { comm: ['x'] }, { name: 'x', match: {} }, { name: 'benefit-cost' },
);
const keys = fc.constantFrom('name', 'match', 'comm', 'weight', 'budgetShare', 'numa', 'eligibility', 'exclude', 'interval', 'minInterval', 'EAGAIN', 'fullRescan', 'colapsesPerSec', '__proto__', 'constructor', '', ' ', '0');
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop', 'replace', 'insert'),
  pick: fc.nat(),
  key: fc.oneof(keys, fc.string({ maxLength: 8 })),
  value: fc.oneof({ weight: 3, arbitrary: interesting }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> }),
});

test('mutated policies: a Policy or a ConfigFileError with a path and a message for each problem', () => {
  const outcomes = { ok: 0, problems: 0 };
  const format = fc.constantFrom<'yaml' | 'json' | 'yaml-flow'>('yaml', 'json', 'yaml-flow');
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), format, (mutations, how) => {
      const text = serialise(mutations.reduce(mutate, SHIPPED), how);
      const file = how === 'json' ? 'mutant.json' : 'mutant.yaml';
      outcomes[check(text, file, /syntax error|duplicate key/)]++;
    }),
    { numRuns: 4200 },
  );
  assert.ok(outcomes.ok > 100 && outcomes.problems > 500, JSON.stringify(outcomes));
});
