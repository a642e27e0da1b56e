import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatVmstat } from '../../../kernel-model/fs/vmstat.js';
import { NR_VM_ITEMS, Vm, vmstatNames } from '../../../kernel-model/mm/vmstat-items.js';
import { parseVmstat } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

test('formatVmstat reproduces /proc/vmstat byte for byte', () => {
  const text = golden('proc-vmstat.txt');
  const parsed = parseVmstat(text);
  assert.deepEqual([...parsed.keys()], vmstatNames);
  const values = new Float64Array(NR_VM_ITEMS);
  for (const [name, v] of parsed) values[Vm[name as keyof typeof Vm]] = v;
  assert.equal(formatVmstat(values), text);
});

test('formatVmstat refuses an array of the wrong length', () => {
  assert.throws(() => formatVmstat(new Float64Array(NR_VM_ITEMS - 1)), RangeError);
});

test('formatVmstat refuses a fractional counter', () => {
  const values = new Float64Array(NR_VM_ITEMS);
  values[Vm.thp_fault_alloc] = 0.5;
  assert.throws(() => formatVmstat(values), RangeError);
});
