// The scenario loader: a good file yields the Scenario in model units; each kind of mistake is reported
// with its file, line, column, path and a message saying what was expected and what was found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPath, formatProblem, loadScenario, parseScenario, ScenarioError } from '../../../sim/scenario/load.js';
import { ScenarioFileSchema, WorkloadOverrideSchema, type Scenario } from '../../../sim/scenario/schema.js';

const MiB = 1 << 20;
/** The keys an unknown-key message lists (read from the schema, which grows). */
const WORKLOAD_KEYS = Object.keys(WorkloadOverrideSchema.shape).join(', ');
const FILE_KEYS = Object.keys(ScenarioFileSchema.shape).join(', ');

/** A YAML text from lines (so that line numbers in the tests can be counted). */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The problem lines of a text that must fail. */
function problems(text: string, file = 'test.yaml'): string[] {
  try {
    parseScenario(text, file);
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    assert.deepEqual(e.message.split('\n'), e.problems.map(formatProblem));
    return e.problems.map(formatProblem);
  }
  assert.fail('the scenario was accepted');
}

/** Asserts that the text fails with exactly these problem lines. */
function fails(text: string, expected: string[], file = 'test.yaml'): void {
  assert.deepEqual(problems(text, file), expected);
}

const MACHINE = ['machine:', '  nodes:', '    - memory: 512MiB'];

const GOOD = yaml(
  'duration: 90s', //                                   1
  'machine:', //                                        2
  '  nodes:', //                                        3
  '    - memory: 512MiB', //                            4
  '    - memory: 1GiB', //                              5
  '  knobs:', //                                        6
  '    /sys/kernel/mm/transparent_hugepage/enabled: always',
  'workloads:', //                                      8
  '  - name: db', //                                    9
  '    node: 1', //                                     10
  '    mappings:', //                                   11
  '      - name: heap', //                              12
  '        size: 512MiB', //                            13
  '        populate: 30%', //                           14
  '    streams:', //                                    15
  '      - name: reads', //                             16
  '        mapping: heap', //                           17
  '        rate: 2M/s', //                              18
  '        pattern: zipf', //                           19
);

// ---- a good file ----------------------------------------------------------------------------------

test('a minimal good scenario yields the Scenario in model units, with the defaults', () => {
  const s: Scenario = parseScenario(GOOD, 'scenarios/small-db.yaml');
  assert.equal(s.file, 'scenarios/small-db.yaml');
  assert.equal(s.name, 'small-db');
  assert.equal(s.description, '');
  assert.equal(s.seed, 1);
  assert.equal(s.durationMs, 90_000);
  assert.equal(s.hotThresholdPerSec, 1);
  assert.equal(s.sampleEveryMs, 10_000);
  assert.deepEqual(s.machine.nodes, [{ memory: 512 * MiB }, { memory: 1024 * MiB }]);
  assert.deepEqual(s.machine.knobs, { '/sys/kernel/mm/transparent_hugepage/enabled': 'always' });
  assert.deepEqual(s.cgroups, []);
  assert.equal(s.workloads.length, 1);
  const w = s.workloads[0];
  assert.equal(w.name, 'db');
  assert.equal(w.node, 1);
  assert.deepEqual(w.mappings, [{ name: 'heap', size: 512 * MiB, populate: 0.3 }]);
  assert.deepEqual(w.streams, [{ name: 'reads', mapping: 'heap', rate: 2e6, pattern: 'zipf' }]);
});

test('given values replace the defaults; $schema is accepted and dropped', () => {
  const s = parseScenario(
    yaml('$schema: ../scenario.schema.json', 'name: mine', 'description: two words', 'seed: 7', 'duration: 2h', 'hotThreshold: 5k', 'sampleEvery: 1m', ...MACHINE, 'cgroups:', '  - path: /batch/a', '    memoryMax: 1GiB'),
    'x.yaml',
  );
  assert.deepEqual(
    { name: s.name, description: s.description, seed: s.seed, durationMs: s.durationMs, hot: s.hotThresholdPerSec, sample: s.sampleEveryMs, cgroups: s.cgroups, workloads: s.workloads },
    { name: 'mine', description: 'two words', seed: 7, durationMs: 7_200_000, hot: 5000, sample: 60_000, cgroups: [{ path: '/batch/a', memoryMax: 1024 * MiB }], workloads: [] },
  );
  assert.ok(!('$schema' in s));
});

test('the same scenario as JSON loads to the same values', () => {
  const json = JSON.stringify({
    duration: '90s',
    machine: { nodes: [{ memory: '512MiB' }, { memory: '1GiB' }], knobs: { '/sys/kernel/mm/transparent_hugepage/enabled': 'always' } },
    workloads: [{ name: 'db', node: 1, mappings: [{ name: 'heap', size: '512MiB', populate: '30%' }], streams: [{ name: 'reads', mapping: 'heap', rate: '2M/s', pattern: 'zipf' }] }],
  }, null, 2);
  const fromJson = parseScenario(json, 'dir/small-db.json');
  const fromYaml = parseScenario(GOOD, 'dir/small-db.yaml');
  assert.deepEqual({ ...fromJson, file: undefined }, { ...fromYaml, file: undefined });
});

test('a preset is merged under the entry: the override wins, lists of named items merge by name', () => {
  const s = parseScenario(
    yaml(...MACHINE, 'duration: 1m', 'workloads:', '  - name: pg', '    preset: database', '    mappings:', '      - name: buffer-pool', '        size: 128MiB', '    streams:', '      - name: scan', '        hotFraction: null'),
    't.yaml',
  );
  const w = s.workloads[0];
  assert.equal(w.name, 'pg');
  assert.equal(w.preset, 'database');
  assert.equal(w.comm, 'mysqld');
  assert.deepEqual(w.mappings.map((m) => [m.name, m.size]), [['buffer-pool', 128 * MiB]]);
  assert.deepEqual(w.streams?.map((st) => st.name), ['lookups', 'scan']);
  // `key: null` removes the preset's value (the default applies).
  assert.equal(w.streams?.[1].hotFraction, undefined);
});

test('a churn workload needs no mappings', () => {
  const s = parseScenario(yaml(...MACHINE, 'duration: 1m', 'workloads:', '  - name: kernel', '    churn: { unmovable: 64/s, pageCache: 1k }', '  - name: frag', '    preset: fragmenter'), 't.yaml');
  assert.deepEqual(s.workloads.map((w) => [w.name, w.mappings, w.churn?.unmovable]), [['kernel', [], 64], ['frag', [], 64]]);
});

test('loadScenario reads the file; a missing file is a ScenarioError naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uhp-load-'));
  try {
    const file = join(dir, 'small.yaml');
    writeFileSync(file, GOOD);
    assert.equal(loadScenario(file).name, 'small');
    const missing = join(dir, 'nope.yaml');
    assert.throws(() => loadScenario(missing), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.message, `${missing}: (root): cannot read the file: no such file (ENOENT)`);
      return true;
    });
    assert.throws(() => loadScenario(dir), (e: unknown) => e instanceof ScenarioError && e.problems[0].file === dir && /directory/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- each mistake, precisely ----------------------------------------------------------------------

test('a size with a unit that does not exist (12Gb)', () => {
  const text = GOOD.replace('size: 512MiB', 'size: 12Gb');
  fails(text, ['test.yaml:13:15: workloads[0].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), got "12Gb"']);
});

test('a duration without a unit (90)', () => {
  fails(GOOD.replace('duration: 90s', 'duration: 90'), ['test.yaml:1:11: duration: expected a duration such as 500ms, 90s, 10m, 2h or 1d, got 90']);
});

test('a value of the wrong type says what was expected and what was found', () => {
  fails(GOOD.replace('rate: 2M/s', 'rate: [1, 2]'), ['test.yaml:18:15: workloads[0].streams[0].rate: expected a rate per second such as 1000, 500k or 2M/s, got a list of 2 items']);
  fails(GOOD.replace('node: 1', 'node: one'), ['test.yaml:10:11: workloads[0].node: expected a number or a list, got "one"']);
  fails(GOOD.replace('pattern: zipf', 'pattern: random'), [
    'test.yaml:19:18: workloads[0].streams[0].pattern: expected one of "uniform", "zipf", "sequential", "strided", got "random"',
  ]);
  fails(GOOD.replace('populate: 30%', 'populate: 130%'), ['test.yaml:14:19: workloads[0].mappings[0].populate: expected a fraction from 0 to 1, such as 0.3 or 30%, got "130%"']);
});

test('an unknown key (a typo) is pointed at, with a suggestion and the allowed keys', () => {
  fails(GOOD.replace('    mappings:', '    mapings:'), [
    `test.yaml:11:5: workloads[0].mapings: unknown key "mapings" (did you mean "mappings"?); allowed keys: ${WORKLOAD_KEYS}`,
  ]);
  fails(GOOD.replace('duration: 90s', 'duration: 90s\nDuration: 1s'), [
    `test.yaml:2:1: Duration: unknown key "Duration" (did you mean "duration"?); allowed keys: ${FILE_KEYS}`,
  ]);
});

test('a missing required key is reported at the object that lacks it', () => {
  fails(GOOD.replace('        size: 512MiB\n', ''), ['test.yaml:12:9: workloads[0].mappings[0].size: missing required key "size": expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB)']);
  fails(GOOD.replace('duration: 90s\n', ''), ['test.yaml:1:1: duration: missing required key "duration": expected a duration such as 500ms, 90s, 10m, 2h or 1d']);
});

test('a negative size', () => {
  fails(GOOD.replace('size: 512MiB', 'size: -4096'), [
    'test.yaml:13:15: workloads[0].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), not negative, got -4096',
  ]);
  fails(GOOD.replace('size: 512MiB', 'size: -5MiB'), ['test.yaml:13:15: workloads[0].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), got "-5MiB"']);
});

test('a process on a node that does not exist', () => {
  fails(GOOD.replace('node: 1', 'node: 2'), ['test.yaml:10:11: workloads[0].node: node 2 does not exist: the machine has 2 nodes (0–1)']);
  fails(GOOD.replace('node: 1', 'node: [0, 1, 5]'), ['test.yaml:10:18: workloads[0].node[2]: node 5 does not exist: the machine has 2 nodes (0–1)']);
  fails(GOOD.replace('node: 1', 'mempolicy: { mode: bind, nodes: [3] }'), ['test.yaml:10:38: workloads[0].mempolicy.nodes[0]: node 3 does not exist: the machine has 2 nodes (0–1)']);
});

test('a stream that refers to a mapping that does not exist', () => {
  fails(GOOD.replace('mapping: heap', 'mapping: heep'), ['test.yaml:17:18: workloads[0].streams[0].mapping: no mapping named "heep" in workload "db" (mappings: heap)']);
});

test('a YAML syntax error, with its line', () => {
  fails(GOOD.replace('memory: 512MiB', 'memory: 512MiB: 1'), ['test.yaml:4:15: machine.nodes[0].memory: YAML syntax error: Nested mappings are not allowed in compact mappings']);
  fails(GOOD.replace('memory: 1GiB', 'memory: [1GiB'), [
    'test.yaml:6:3: machine: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  // A misindented item: the parser's several complaints all point at its line.
  const misindented = problems(yaml('duration: 90s', 'machine:', '  nodes:', '   - memory: 1GiB', '  - memory: 1GiB'));
  assert.ok(misindented.length > 0 && misindented.every((l) => /^test\.yaml:5:\d+: machine: YAML syntax error: \S/.test(l)), misindented.join('\n'));
});

test('a JSON syntax error, with its line and column', () => {
  fails('{\n  "duration": "90s",\n  "machine": { "nodes": [] },\n}\n', ['test.json:4:1: (root): JSON syntax error: Expected double-quoted property name'], 'test.json');
  fails('{\n  "duration": "90s"\n  "machine": {}\n}\n', ["test.json:3:3: (root): JSON syntax error: Expected ',' or '}' after property value"], 'test.json');
});

test('a duplicate key, at the second one, naming the first', () => {
  fails(GOOD.replace('        populate: 30%', '        populate: 30%\n        size: 1GiB'), ['test.yaml:15:9: workloads[0].mappings[0].size: duplicate key "size" (first defined at line 13)']);
  fails('{"duration": "90s",\n "duration": "10s"}', ['test.json:2:2: duration: duplicate key "duration" (first defined at line 1)'], 'test.json');
});

test('a preset override with a bad value is reported where it is written', () => {
  const text = yaml(
    'duration: 1m', //                      1
    ...MACHINE, //                          2-4
    'workloads:', //                        5
    '  - name: pg', //                      6
    '    preset: database', //              7
    '    streams:', //                      8
    '      - name: scan', //                9
    '        rate: fast', //                10
    '    mappings:', //                     11
    '      - name: buffer-pool', //         12
    '        size: 12Gb', //                13
  );
  fails(text, [
    'test.yaml:10:15: workloads[0].streams[0].rate: expected a rate per second such as 1000, 500k or 2M/s, got "fast"',
    'test.yaml:13:15: workloads[0].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), got "12Gb"',
  ]);
});

test('after merging, a preset workload is checked complete and in meaning; paths are the merged ones, lines the file\'s', () => {
  const text = yaml(
    'duration: 1m', //                      1
    ...MACHINE, //                          2-4
    'workloads:', //                        5
    '  - name: pg', //                      6
    '    preset: database', //              7
    '    streams:', //                      8
    '      - name: scan', //                9
    '        mapping: log', //              10
    '      - name: extra', //               11
    '        rate: 1k', //                  12
  );
  // The new stream lacks its required fields (stage 2).
  fails(text, [
    'test.yaml:11:9: workloads[0].streams[2].mapping: missing required key "mapping": expected a string',
    'test.yaml:11:9: workloads[0].streams[2].pattern: missing required key "pattern": expected one of "uniform", "zipf", "sequential", "strided"',
  ]);
  // The merged scan (streams[1], the file's streams[0]) refers to a mapping the preset does not have (stage 3).
  fails(text.replace('      - name: extra\n        rate: 1k\n', ''), ['test.yaml:10:18: workloads[0].streams[1].mapping: no mapping named "log" in workload "pg" (mappings: buffer-pool)']);
});

test('a knob value the kernel refuses, and a knob file that does not exist', () => {
  fails(GOOD.replace('enabled: always', 'enabled: sometimes'), [
    'test.yaml:7:50: machine.knobs["/sys/kernel/mm/transparent_hugepage/enabled"]: the kernel refused the value "sometimes" (write: EINVAL); the file reads: always [madvise] never',
  ]);
  fails(GOOD.replace('/transparent_hugepage/enabled: always', '/transparent_hugepage/enable: always'), [
    'test.yaml:7:49: machine.knobs["/sys/kernel/mm/transparent_hugepage/enable"]: the kernel has no file /sys/kernel/mm/transparent_hugepage/enable (ENOENT)',
  ]);
  fails(GOOD.replace('/sys/kernel/mm/transparent_hugepage/enabled: always', '/etc/fstab: 1'), ['test.yaml:7:5: machine.knobs["/etc/fstab"]: invalid key "/etc/fstab": expected a path under /sys/ or /proc/sys/']);
});

test('knobs are written in order, as at boot', () => {
  const knobs = (...lines: string[]) => yaml('duration: 1m', ...MACHINE, '  knobs:', ...lines.map((l) => `    ${l}`));
  assert.doesNotThrow(() => parseScenario(knobs('/sys/kernel/mm/ksm/run: 1', '/sys/kernel/mm/ksm/pages_to_scan: 500', '/proc/sys/vm/swappiness: 10'), 'k.yaml'));
  fails(knobs('/proc/sys/vm/swappiness: lots', '/sys/kernel/mm/transparent_hugepage/defrag: never'), [
    'test.yaml:6:30: machine.knobs["/proc/sys/vm/swappiness"]: the kernel refused the value "lots" (write: EINVAL); the file reads: 60',
  ]);
});

// ---- meaning --------------------------------------------------------------------------------------

test('every semantic rule is checked, and all problems of the stage are reported together', () => {
  const text = yaml(
    'duration: 1m', //                                      1
    'machine:', //                                          2
    '  nodes:', //                                          3
    '    - memory: 32MiB', //                               4
    '    - memory: 1000000000', //                          5
    '  distances: [[10, 20], [20, 11], [10]]', //           6
    'cgroups:', //                                          7
    '  - path: /batch/a', //                                8
    '  - path: /batch/a', //                                9
    'workloads:', //                                        10
    '  - name: w', //                                       11
    '    cgroup: /web', //                                  12
    '    start: 10s', //                                    13
    '    stop: 5s', //                                      14
    '    mempolicy: { mode: interleave }', //               15
    '    mappings:', //                                     16
    '      - { name: a, size: 1000, align: 3000 }', //      17
    '      - { name: a, size: 4KiB, content: { duplicated: 70%, zero: 40% } }',
    '    streams:', //                                      19
    '      - { name: s, mapping: a, rate: 1, pattern: strided }',
    '      - { name: s, mapping: a, rate: 1, pattern: uniform, stride: 8 }',
    '  - name: w', //                                       22
    '    churn: { unmovable: 1 }', //                       23
    '    mappings: [{ name: x, size: 4KiB }]', //           24
    '    forks: [{ at: 1s, childLifetime: 1s }]', //        25
    '  - name: idle', //                                    26
    '    cgroup: /batch', //                                27
  );
  fails(text, [
    'test.yaml:4:15: machine.nodes[0].memory: expected at least 64MiB, got 32MiB',
    'test.yaml:5:15: machine.nodes[1].memory: expected a whole number of MiB, got 1000000000 bytes (953.674 MiB)',
    'test.yaml:6:14: machine.distances: expected a 2×2 matrix (one row per node), got 3 rows',
    'test.yaml:6:30: machine.distances[1][1]: expected 10 (a node\'s distance to itself), got 11',
    'test.yaml:6:35: machine.distances[2]: expected 2 distances (one per node), got 1',
    'test.yaml:6:36: machine.distances[2][0]: expected a distance > 10 between two nodes, got 10',
    'test.yaml:9:11: cgroups[1].path: duplicate cgroup "/batch/a" (also cgroups[0])',
    'test.yaml:12:13: workloads[0].cgroup: cgroup "/web" is not declared: expected / or a path of cgroups[] or one of its parents (declared: /batch/a, /batch/a)',
    'test.yaml:14:11: workloads[0].stop: expected a stop time after start (10000 ms), got 5000 ms',
    'test.yaml:15:24: workloads[0].mempolicy.mode: mode interleave needs nodes: expected a list such as nodes: [0]',
    'test.yaml:17:26: workloads[0].mappings[0].size: expected a multiple of 4KiB (4096 bytes), got 1000 bytes',
    'test.yaml:17:39: workloads[0].mappings[0].align: expected a power of two ≥ 4KiB (4096), got 3000',
    'test.yaml:18:17: workloads[0].mappings[1].name: duplicate mapping name "a" (also mappings[0])',
    'test.yaml:18:41: workloads[0].mappings[1].content: duplicated + zero must be at most 1 (the rest is distinct), got 0.7 + 0.4 = 1.1',
    'test.yaml:20:9: workloads[0].streams[0].stride: missing required key "stride": a strided stream needs the bytes between its accesses, e.g. stride: 4KiB',
    'test.yaml:21:17: workloads[0].streams[1].name: duplicate stream name "s" (also streams[0])',
    'test.yaml:21:67: workloads[0].streams[1].stride: expected a stride ≥ 64 bytes (a cache line), got 8',
    'test.yaml:22:11: workloads[1].name: duplicate workload name "w" (also workloads[0])',
    'test.yaml:24:15: workloads[1].mappings: a churn workload has no mappings (it is kernel activity, not a process), got 1',
    'test.yaml:25:12: workloads[1].forks: a churn workload has no forks, got 1',
    'test.yaml:26:5: workloads[2].mappings: a workload needs at least one mapping (or churn, for kernel activity): expected mappings: [{ name, size }]',
  ]);
});

test('a stage stops the loader: semantic problems are not reported while the schema finds some', () => {
  const lines = problems(GOOD.replace('node: 1', 'node: 9').replace('rate: 2M/s', 'rate: fast'));
  assert.deepEqual(lines, ['test.yaml:18:15: workloads[0].streams[0].rate: expected a rate per second such as 1000, 500k or 2M/s, got "fast"']);
});

// ---- odd input ------------------------------------------------------------------------------------

test('odd documents are ScenarioErrors with a path and a message, never another exception', () => {
  const cases: [string, string, string[]][] = [
    ['empty', '', ['empty.yaml: (root): expected a mapping (key: value), got an empty value (null)']],
    ['scalar', 'hello\n', ['scalar.yaml:1:1: (root): expected a mapping (key: value), got "hello"']],
    ['list', '- 1\n- 2\n', ['list.yaml:1:1: (root): expected a mapping (key: value), got a list of 2 items']],
    ['huge', 'duration: 1e400\n', [
      'huge.yaml:1:1: machine: missing required key "machine": expected a mapping (key: value)',
      'huge.yaml:1:11: duration: expected a duration such as 500ms, 90s, 10m, 2h or 1d, got Infinity',
    ]],
    ['self', '&a [*a]\n', ['self.yaml:1:4: (root): expected a mapping (key: value), got a list of 1 item']],
    ['unresolved', 'duration: *d\n', ['unresolved.yaml:1:11: duration: alias *d refers to no anchor defined before it']],
    ['collection-key', '? [a, b]\n: 1\n', ['collection-key.yaml:1:3: (root): a key must be a plain name or number, not a list or a mapping']],
    ['two-docs', 'a: 1\n---\nb: 2\n', ['two-docs.yaml:2:1: (root): YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments()']],
    ['binary', yaml(...MACHINE, 'duration: !!binary aGVsbG8='), ['binary.yaml:4:20: duration: expected a duration such as 500ms, 90s, 10m, 2h or 1d, got binary data']],
    ['proto', yaml(...MACHINE, 'duration: 1s', '__proto__: { polluted: true }'), [
      `proto.yaml:5:1: __proto__: unknown key "__proto__"; allowed keys: ${FILE_KEYS}`,
    ]],
  ];
  for (const [name, text, expected] of cases) assert.deepEqual(problems(text, `${name}.yaml`), expected, name);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('anchors and aliases are followed; a problem inside one points at the anchor', () => {
  const text = yaml('duration: 1m', ...MACHINE, 'workloads:', '  - name: a', '    mappings: &m', '      - { name: heap, size: 4KiB }', '  - name: b', '    mappings: *m');
  assert.deepEqual(parseScenario(text, 't.yaml').workloads.map((w) => w.mappings[0].size), [4096, 4096]);
  fails(text.replace('size: 4KiB', 'size: 4Kb'), [
    'test.yaml:8:29: workloads[0].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), got "4Kb"',
    'test.yaml:8:29: workloads[1].mappings[0].size: expected a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB), got "4Kb"',
  ]);
});

test('formatPath and formatProblem', () => {
  assert.equal(formatPath([]), '(root)');
  assert.equal(formatPath(['workloads', 0, 'mappings', 1, 'size']), 'workloads[0].mappings[1].size');
  assert.equal(formatPath(['machine', 'knobs', '/sys/kernel/mm/ksm/run']), 'machine.knobs["/sys/kernel/mm/ksm/run"]');
  assert.equal(formatProblem({ file: 'a.yaml', line: 3, column: 7, path: 'duration', message: 'm' }), 'a.yaml:3:7: duration: m');
  assert.equal(formatProblem({ file: 'a.yaml', path: '(root)', message: 'm' }), 'a.yaml: (root): m');
});
