// The generic config-file check (daemon/config/config-file.ts) on a tiny schema: a good file yields the
// schema's output; a syntax error, an unknown key, a wrong type and a semantic finding are each reported
// with file, line, column and path, every problem of a stage at once, in a ConfigFileError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigFileError, formatProblem, loadFile, validateFile, type Finding, type Problem } from '../../../daemon/config/config-file.js';

const Schema = z.strictObject({
  name: z.string(),
  interval: z.number().int().min(1),
  /** A transform: the output type is not the input type. */
  label: z.string().transform((s) => s.toUpperCase()).optional(),
  rules: z.array(z.strictObject({ match: z.string(), max: z.number().optional() })).optional(),
});
type Config = z.output<typeof Schema>;

/** Meaning: two rules may not match the same thing. */
function duplicateRules(config: Config): Finding[] {
  const seen = new Map<string, number>();
  const out: Finding[] = [];
  (config.rules ?? []).forEach((r, i) => {
    const prior = seen.get(r.match);
    if (prior !== undefined) out.push({ path: ['rules', i, 'match'], message: `duplicate rule ${JSON.stringify(r.match)} (also rules[${prior}])` });
    else seen.set(r.match, i);
  });
  return out;
}

/** A text from lines (so that line numbers in the tests can be counted). */
const lines = (...l: string[]): string => `${l.join('\n')}\n`;

/** The problems of a text that must fail, after checking that the message lists them one per line. */
function problems(text: string, file = 'policy.yaml'): Problem[] {
  try {
    validateFile(text, file, Schema, duplicateRules);
  } catch (e) {
    assert.ok(e instanceof ConfigFileError, `expected a ConfigFileError, got ${String(e)}`);
    assert.equal(e.name, 'ConfigFileError');
    assert.deepEqual(e.message.split('\n'), e.problems.map(formatProblem));
    return e.problems;
  }
  assert.fail('the file was accepted');
}

test('a good file yields the schema output, from YAML and from JSON', () => {
  const expected = { name: 'a', interval: 5, label: 'HOT', rules: [{ match: 'x', max: 2 }] };
  const yaml = lines('name: a', 'interval: 5', 'label: hot', 'rules:', '  - match: x', '    max: 2');
  assert.deepEqual(validateFile(yaml, 'policy.yaml', Schema, duplicateRules), expected);
  assert.deepEqual(validateFile(JSON.stringify({ name: 'a', interval: 5, label: 'hot', rules: [{ match: 'x', max: 2 }] }), 'policy.json', Schema), expected);
});

test('a syntax error: file, line, column and the path it is in', () => {
  const text = lines(
    'name: a', //           1
    'interval: 5', //       2
    'rules:', //            3
    '  - match: x', //      4
    '    max: @2', //       5
  );
  assert.deepEqual(problems(text), [
    { file: 'policy.yaml', line: 5, column: 10, path: 'rules[0].max', message: 'YAML syntax error: Plain value cannot start with reserved character @' },
  ]);
  // JSON when the name ends in .json: its own syntax, the same report.
  assert.deepEqual(problems('{"name": "a",\n "interval": 5,,}', 'policy.json'), [
    { file: 'policy.json', line: 2, column: 16, path: '(root)', message: 'JSON syntax error: Expected double-quoted property name' },
  ]);
  // A duplicate key is a syntax problem, pointing at the second with the line of the first.
  assert.deepEqual(problems(lines('name: a', 'interval: 5', 'rules:', '  - match: x', '    match: y')), [
    { file: 'policy.yaml', line: 5, column: 5, path: 'rules[0].match', message: 'duplicate key "match" (first defined at line 4)' },
  ]);
});

test('an unknown key: at the key, with the likely meant one and the allowed keys', () => {
  const text = lines(
    'name: a', //           1
    'interval: 5', //       2
    'rules:', //            3
    '  - match: x', //      4
    '    mac: 2', //        5
  );
  assert.deepEqual(problems(text), [
    { file: 'policy.yaml', line: 5, column: 5, path: 'rules[0].mac', message: 'unknown key "mac" (did you mean "max"?); allowed keys: match, max' },
  ]);
});

test('wrong types and a missing key: every problem of the schema stage at once, in the order of the file', () => {
  const text = lines(
    'name: a', //           1
    'label: 3', //          2
    'rules:', //            3
    '  - match: x', //      4
    '    max: lots', //     5
  );
  assert.deepEqual(problems(text), [
    { file: 'policy.yaml', line: 1, column: 1, path: 'interval', message: 'missing required key "interval": expected a number' },
    { file: 'policy.yaml', line: 2, column: 8, path: 'label', message: 'expected a string, got 3' },
    { file: 'policy.yaml', line: 5, column: 10, path: 'rules[0].max', message: 'expected a number, got "lots"' },
  ]);
  assert.deepEqual(problems(lines('name: a', 'interval: 0.5')), [
    { file: 'policy.yaml', line: 2, column: 11, path: 'interval', message: 'expected a whole number, got 0.5' },
  ]);
});

test('a semantic finding: placed at its path, after the schema has passed', () => {
  const text = lines(
    'name: a', //           1
    'interval: 5', //       2
    'rules:', //            3
    '  - match: x', //      4
    '  - match: y', //      5
    '  - match: x', //      6
  );
  assert.deepEqual(problems(text), [
    { file: 'policy.yaml', line: 6, column: 12, path: 'rules[2].match', message: 'duplicate rule "x" (also rules[0])' },
  ]);
  // Not run while the schema stage has problems (it is given only a validated value).
  assert.deepEqual(
    problems(lines('name: a', 'interval: -1', 'rules: [{ match: x }, { match: x }]')).map((p) => p.path),
    ['interval'],
  );
});

test('a message never spans lines; a semantic check that throws is an internal error, not a crash', () => {
  const multiline = (): Finding[] => [{ path: ['name'], message: 'first\n  second' }];
  assert.throws(
    () => validateFile(lines('name: a', 'interval: 1'), 'p.yaml', Schema, multiline),
    (e: unknown) => e instanceof ConfigFileError && e.message === 'p.yaml:1:7: name: first second',
  );
  const broken = (): Finding[] => {
    throw new TypeError('boom');
  };
  assert.throws(
    () => validateFile(lines('name: a', 'interval: 1'), 'p.yaml', Schema, broken),
    (e: unknown) => e instanceof ConfigFileError && e.message === 'p.yaml: (root): internal error while checking the file: boom',
  );
});

test('loadFile reads the file; one that cannot be read is a ConfigFileError naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-file-'));
  try {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, lines('name: a', 'interval: 2'));
    assert.deepEqual(loadFile(file, Schema), { name: 'a', interval: 2 });
    const missing = join(dir, 'missing.yaml');
    assert.throws(
      () => loadFile(missing, Schema),
      (e: unknown) => e instanceof ConfigFileError && e.message === `${missing}: (root): cannot read the file: no such file (ENOENT)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
