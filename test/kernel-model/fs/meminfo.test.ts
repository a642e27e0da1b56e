import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMeminfo, formatNodeMeminfo, meminfoFields, nodeMeminfoFields } from '../../../kernel-model/fs/meminfo.js';
import { parseKeyValueKb } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/** Asserts that `text` has `line` as one of its lines, spaces and all. */
const assertLine = (text: string, line: string) => assert.ok(text.split('\n').includes(line), `no line ${JSON.stringify(line)} in:\n${text}`);

test('the field lists are the golden files\' fields in their order', () => {
  assert.deepEqual([...parseKeyValueKb(golden('proc-meminfo.txt')).keys()], meminfoFields);
  assert.deepEqual([...parseKeyValueKb(golden('node0-meminfo.txt')).keys()], nodeMeminfoFields);
});

test('formatMeminfo reproduces /proc/meminfo byte for byte', () => {
  const text = golden('proc-meminfo.txt');
  assert.equal(formatMeminfo(Object.fromEntries(parseKeyValueKb(text))), text);
});

test('formatNodeMeminfo reproduces node0/meminfo byte for byte', () => {
  const text = golden('node0-meminfo.txt');
  assert.equal(formatNodeMeminfo(0, Object.fromEntries(parseKeyValueKb(text))), text);
});

test('missing fields print 0 with the same padding', () => {
  const lines = formatMeminfo({ MemTotal: 1024 }).split('\n');
  assert.equal(lines[0], 'MemTotal:           1024 kB');
  assert.equal(lines[1], 'MemFree:               0 kB');
  assert.equal(lines[meminfoFields.indexOf('HugePages_Rsvd')], 'HugePages_Rsvd:        0');
});

test('wide values push the unit right as %8lu and %5lu do', () => {
  const text = formatMeminfo({ VmallocTotal: 34359738367, HugePages_Total: 123456 });
  assertLine(text, 'VmallocTotal:   34359738367 kB');
  assertLine(text, 'HugePages_Total:   123456');
  assertLine(formatNodeMeminfo(12, { HugePages_Free: 123456 }), 'Node 12 HugePages_Free:  123456');
});
