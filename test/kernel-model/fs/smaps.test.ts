import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatSmapsRollup, formatSmapsVma, smapsFields, smapsRollupFields, vmFlagMnemonics, type SmapsVma, type VmFlag,
} from '../../../kernel-model/fs/smaps.js';
import { parseSmaps, parseSmapsRollup, type SmapsRecord } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

const isVmFlag = (f: string): f is VmFlag => (vmFlagMnemonics as readonly string[]).includes(f);

/** The formatter's VMA rebuilt from a parsed one. */
function vmaOf(r: SmapsRecord): SmapsVma {
  return {
    start: r.start, end: r.end, offset: r.offset, major: r.major, minor: r.minor, inode: r.inode,
    ...(r.name === '' ? {} : { name: r.name }),
    // A field missing from the golden would be NaN, which the formatter refuses.
    kb: Object.fromEntries(smapsFields.map((f) => [f, r.fields.get(f) ?? NaN])),
    thpEligible: r.thpEligible,
    vmFlags: r.vmFlags.filter(isVmFlag),
  };
}

test('formatSmapsVma reproduces /proc/PID/smaps byte for byte', () => {
  const text = golden('proc-PID-smaps.txt');
  const vmas = parseSmaps(text);
  assert.equal(vmas.length, 25);
  assert.equal(vmas.map((v) => formatSmapsVma(vmaOf(v))).join(''), text);
});

test('the per-VMA field list is the golden\'s, after the page sizes and before THPeligible', () => {
  const [first] = parseSmaps(golden('proc-PID-smaps.txt'));
  assert.deepEqual([...(first?.fields.keys() ?? [])], ['Size', 'KernelPageSize', 'MMUPageSize', ...smapsFields, 'THPeligible']);
});

test('formatSmapsRollup reproduces /proc/PID/smaps_rollup byte for byte', () => {
  const text = golden('proc-PID-smaps_rollup.txt');
  const r = parseSmapsRollup(text);
  assert.deepEqual([...r.fields.keys()], smapsRollupFields);
  assert.equal(formatSmapsRollup({ start: r.start, end: r.end, kb: Object.fromEntries(r.fields) }), text);
});

const anon: SmapsVma = { start: 0x7f0000000000, end: 0x7f0000400000, offset: 0, major: 0, minor: 0, inode: 0, kb: {}, thpEligible: true, vmFlags: ['hg', 'wr', 'rd', 'mr', 'mw', 'me', 'ac'] };

test('an unnamed anonymous VMA ends its header with the prefix\'s space; flags print in bit order', () => {
  const text = formatSmapsVma(anon);
  assert.match(text, /^7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \nSize: {15}4096 kB\n/);
  assert.match(text, /^THPeligible: {11}1$/m);
  assert.match(text, /^VmFlags: rd wr mr mw me ac hg \n$/m);
});

test('permissions come from the flags: shared and execute-only mappings', () => {
  assert.match(formatSmapsVma({ ...anon, vmFlags: ['rd', 'ms', 'sh'] }), /^\S+ r--s /);
  assert.match(formatSmapsVma({ ...anon, vmFlags: ['ex'] }), /^\S+ --xp /);
});

test('Private_Hugetlb keeps Linux\'s own widths when a value is wide', () => {
  const text = formatSmapsVma({ ...anon, kb: { Private_Hugetlb: 12345678, Shared_Hugetlb: 12345678 } });
  assert.match(text, /^Private_Hugetlb: 12345678 kB$/m);
  assert.match(text, /^Shared_Hugetlb: 12345678 kB$/m);
});

test('a newline in a path is escaped as \\012', () => {
  const text = formatSmapsVma({ ...anon, inode: 7, major: 0xfe, name: '/tmp/a\nb' });
  assert.match(text, /^\S+ rw-p 00000000 fe:00 7 {26}\/tmp\/a\\012b$/m);
});
