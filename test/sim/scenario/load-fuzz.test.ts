// The loader never fails with anything but a ScenarioError: random YAML-like text, and valid scenarios
// mutated key by key (dropped, replaced or added keys with random JSON values, then written as YAML or
// JSON), each end in a Scenario or in a ScenarioError whose every problem has a file, a path and a
// message (and a line within the text when it has one). 10 200 inputs in all (fixed seed, see
// scripts/test-setup.mjs), in about 15 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScenario, ScenarioError } from '../../../sim/scenario/load.js';
import type { Scenario } from '../../../sim/scenario/schema.js';
import { presetNames } from '../../../sim/scenario/schema.js';
import { checkLoad, mutate, serialise, type Json, type Mutation } from '../../support/config-fuzz.js';

/** The outcome of loading `text`: 'ok', or the problems, after checking the contract on them. */
function check(text: string, file: string, never?: RegExp): 'ok' | 'problems' {
  const accept = (s: Scenario): void => {
    assert.equal(typeof s.durationMs, 'number');
    assert.ok(Array.isArray(s.workloads));
  };
  return checkLoad(text, file, parseScenario, accept, ScenarioError, never);
}

// ---- random text ----------------------------------------------------------------------------------

const tokens = [
  'duration', 'machine', 'nodes', 'memory', 'workloads', 'mappings', 'streams', 'name', 'size', 'preset', 'knobs', 'cgroups', 'path',
  'node', 'rate', 'pattern', 'mapping', 'churn', 'forks', 'distances', 'mempolicy', 'mode', 'nodes', '__proto__', 'constructor',
  '90s', '512MiB', '12Gb', '2M/s', '30%', '-1', '0', '1e400', '.nan', '.inf', '0x1F', 'null', '~', 'true', 'database', 'zipf',
  '/sys/kernel/mm/transparent_hugepage/enabled', 'always', 'sometimes', '!!binary', '!!str', '!!map', '!custom', '&a', '*a', '*b',
  '<<', ':', ': ', '- ', '? ', ',', '[', ']', '{', '}', '"', "'", '#', '|', '>', '---', '...', '%YAML 1.2', '\n', '\n  ', '\n    ', '\t', ' ', '\\',
];
const yamlishText = fc.array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 60 }).map((parts) => parts.join(''));
const anyText = fc.oneof(yamlishText, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 80 }));

test('random YAML-like text: a Scenario or a ScenarioError, never another exception', () => {
  fc.assert(
    fc.property(anyText, fc.constantFrom('fuzz.yaml', 'fuzz.json'), (text, file) => {
      check(text, file);
    }),
    { numRuns: 6000 },
  );
});

// ---- structured mutations of a valid scenario ---------------------------------------------------

const VALID: Json = {
  name: 'fuzz',
  seed: 3,
  duration: '90s',
  sampleEvery: '5s',
  machine: {
    nodes: [{ memory: '256MiB' }, { memory: '256MiB' }],
    distances: [[10, 20], [20, 10]],
    swap: '64MiB',
    knobs: { '/sys/kernel/mm/transparent_hugepage/enabled': 'always', '/sys/kernel/mm/ksm/run': 1 },
    age: { unmovable: '1%', pageCache: 0.1 },
  },
  cgroups: [{ path: '/batch/a', memoryMax: '128MiB', memoryHigh: 'max' }],
  workloads: [
    {
      name: 'db',
      count: 2,
      node: [0, 1],
      cgroup: '/batch',
      mempolicy: { mode: 'bind', nodes: [0, 1] },
      start: '1s',
      stop: '80s',
      mappings: [{ name: 'heap', size: '64MiB', align: '2MiB', madvise: ['MADV_HUGEPAGE'], populate: '50%', content: { duplicated: 0.2, zero: '10%' } }],
      streams: [
        { name: 'r', mapping: 'heap', rate: '1M/s', pattern: 'zipf', theta: 0.9, phases: [{ at: '10s', rate: 5, pattern: 'uniform' }], move: { every: '10s', by: 0.1 } },
        { name: 's', mapping: 'heap', rate: 1000, pattern: 'strided', stride: '4KiB' },
      ],
      forks: [{ at: '30s', every: '20s', childLifetime: '5s' }],
    },
    { name: 'pg', preset: 'database', mappings: [{ name: 'buffer-pool', size: '128MiB' }], streams: [{ name: 'scan', hotFraction: null }] },
    { name: 'kernel', churn: { unmovable: 10, pageCacheDropEvery: '1m' } },
  ],
};

/** The same without knobs: checking knobs boots a small kernel (~3 ms), so most mutants go without. */
const VALID_NO_KNOBS: Json = (() => {
  const v = structuredClone(VALID) as { machine: Record<string, Json> };
  delete v.machine.knobs;
  return v;
})();

const interesting: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  null, true, false, 0, -1, 1, 1.5, 1e21, Number.MAX_SAFE_INTEGER, '', 'max', '12Gb', '90', '90s', '0s', '-5MiB', '4097', '2MiB', '1000%', '30%',
  '2M/s', 'strided', 'zipf', 'bind', 'default', '/', '/batch', '/batch/a', 'heap', 'buffer-pool', 'lookups', 'sometimes', ...presetNames,
  [], {}, [0], [5], [[10]], { name: 'x' }, { name: 'heap', size: 4096 }, { name: 'r', mapping: 'nope', rate: 1, pattern: 'uniform' },
  { mode: 'interleave' }, { memory: '32MiB' }, { memory: '64MiB' }, { path: '/web' },
);
const keys = fc.constantFrom(
  'name', 'preset', 'size', 'mapings', 'mappings', 'streams', 'stride', 'churn', 'forks', 'node', 'cgroup', 'stop', 'start', 'knobs', 'distances',
  '/sys/kernel/mm/ksm/run', '/sys/kernel/mm/nope', '/etc/x', '__proto__', 'constructor', 'toString', '', ' ', 'a b', '0',
);
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop', 'replace', 'insert'),
  pick: fc.nat(),
  key: fc.oneof(keys, fc.string({ maxLength: 8 })),
  value: fc.oneof({ weight: 3, arbitrary: interesting }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> }),
});

test('the valid scenario the mutations start from is valid, as YAML and as JSON', () => {
  assert.equal(check(serialise(VALID, 'yaml'), 'valid.yaml'), 'ok');
  assert.equal(check(serialise(VALID, 'json'), 'valid.json'), 'ok');
});

test('mutated scenarios: a Scenario or a ScenarioError with a path and a message for each problem', () => {
  const outcomes = { ok: 0, problems: 0 };
  const base = fc.oneof({ weight: 1, arbitrary: fc.constant(VALID) }, { weight: 9, arbitrary: fc.constant(VALID_NO_KNOBS) });
  const format = fc.constantFrom<'yaml' | 'json' | 'yaml-flow'>('yaml', 'json', 'yaml-flow');
  fc.assert(
    fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), format, (start, mutations, how) => {
      const text = serialise(mutations.reduce(mutate, start), how);
      const file = how === 'json' ? 'mutant.json' : 'mutant.yaml';
      // Text written by a serialiser is never a syntax error.
      outcomes[check(text, file, /syntax error|duplicate key/)]++;
    }),
    { numRuns: 4200 },
  );
  // The mutations exercise both outcomes.
  assert.ok(outcomes.ok > 100 && outcomes.problems > 500, JSON.stringify(outcomes));
});
