import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatChoice, formatKnob, ksmKnobs, parseBoolWrite, parseChoiceWrite, parseKnobWrite, parseUnsignedWrite, thpKnobs,
  type KnobSpec, type WritableKnob,
} from '../../../kernel-model/fs/sysfs-knob.js';
import { parseChoice } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/**
 * The captured `path: value` listing. The THP capture appended a space to every value (hpage_pmd_size's
 * `%lu\n` included), so values are trimmed: each file's real text is the value and a newline.
 */
function capture(name: string): Map<string, string> {
  return new Map(golden(name).trimEnd().split('\n').map((l) => {
    const at = l.indexOf(': ');
    return [l.slice(0, at).replace(/^\.\//, ''), l.slice(at + 2).trim()];
  }));
}

/** Every golden file is in the table and reads as captured: writable ones at their default. */
function checkTable(table: readonly KnobSpec[], files: Map<string, string>, modelOnly: readonly string[]) {
  assert.deepEqual(table.map((k) => k.path).filter((p) => !modelOnly.includes(p)).sort(), [...files.keys()].sort());
  for (const knob of table) {
    const text = files.get(knob.path);
    if (text === undefined) continue;
    const value = knob.writable ? knob.default : Number(text);
    assert.equal(formatKnob(knob, value), `${text}\n`, knob.path);
  }
}

const knob = (table: readonly KnobSpec[], path: string): WritableKnob => {
  const k = table.find((s) => s.path === path);
  assert.ok(k?.writable, `${path} is writable`);
  return k;
};

test('thpKnobs lists every file of the THP directory with 6.18 defaults', () => {
  checkTable(thpKnobs, capture('sys-kernel-mm-transparent_hugepage.txt'), ['numa_fault_policy']);
});

test('ksmKnobs lists every file of the KSM directory with 6.18 defaults', () => {
  checkTable(ksmKnobs, capture('sys-kernel-mm-ksm.txt'), []);
});

test('formatChoice brackets the current choice and ends with a newline', () => {
  assert.equal(formatChoice(['always', 'madvise', 'never'], 'madvise'), 'always [madvise] never\n');
  assert.deepEqual(parseChoice(formatChoice(['thisnode', 'remote', 'local-first'], 'local-first')), {
    choices: ['thisnode', 'remote', 'local-first'], current: 'local-first',
  });
  assert.throws(() => formatChoice(['always', 'never'], 'madvise'), RangeError);
});

test('a choice write is the bare word with at most one newline', () => {
  const choices = ['always', 'madvise', 'never'];
  assert.equal(parseChoiceWrite(choices, 'madvise'), 'madvise');
  assert.equal(parseChoiceWrite(choices, 'madvise\n'), 'madvise');
  for (const bad of ['[madvise]', ' madvise', 'madvise ', 'madvise\n\n', 'MADVISE', '', '\n', 'always madvise']) {
    assert.equal(parseChoiceWrite(choices, bad), undefined, JSON.stringify(bad));
  }
});

test('a numeric write follows kstrtoul: digits, optional + and one newline', () => {
  assert.equal(parseUnsignedWrite('511', 0, 511), 511);
  assert.equal(parseUnsignedWrite('511\n', 0, 511), 511);
  assert.equal(parseUnsignedWrite('+7', 0, 511), 7);
  assert.equal(parseUnsignedWrite('007', 0, 511), 7);
  for (const bad of ['512', '-1', ' 5', '5 ', '0x10', '', '\n', '5\n\n', '1e3', '99999999999999999999999']) {
    assert.equal(parseUnsignedWrite(bad, 0, 511), undefined, JSON.stringify(bad));
  }
});

test('kstrtobool looks at the first character, or on/off', () => {
  for (const yes of ['1', 'y', 'Yes', 'true', 'on', 'ON', '1\n']) assert.equal(parseBoolWrite(yes), 1, yes);
  for (const no of ['0', 'n', 'false', 'off', 'OfF', 'no\n']) assert.equal(parseBoolWrite(no), 0, no);
  for (const bad of ['', 'o', 'x', '2', ' 1']) assert.equal(parseBoolWrite(bad), undefined, JSON.stringify(bad));
});

test('each knob validates as its store function does', () => {
  assert.equal(parseKnobWrite(knob(thpKnobs, 'khugepaged/max_ptes_none'), '512'), undefined);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'khugepaged/max_ptes_none'), '0'), 0);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'khugepaged/pages_to_scan'), '0'), undefined);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'khugepaged/scan_sleep_millisecs'), '0\n'), 0);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'khugepaged/scan_sleep_millisecs'), '4294967296'), undefined);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'use_zero_page'), 'y'), undefined);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'shrink_underused'), 'y'), 1);
  assert.equal(parseKnobWrite(knob(thpKnobs, 'enabled'), 'always\n'), 'always');
  assert.equal(parseKnobWrite(knob(thpKnobs, 'hugepages-2048kB/enabled'), 'inherit'), 'inherit');
  assert.equal(parseKnobWrite(knob(thpKnobs, 'numa_fault_policy'), 'remote'), 'remote');
  assert.equal(parseKnobWrite(knob(ksmKnobs, 'run'), '3'), undefined);
  assert.equal(parseKnobWrite(knob(ksmKnobs, 'max_page_sharing'), '1'), undefined);
  assert.equal(parseKnobWrite(knob(ksmKnobs, 'advisor_mode'), 'scan-time'), 'scan-time');
  assert.equal(formatKnob(knob(thpKnobs, 'numa_fault_policy'), 'local-first'), 'thisnode remote [local-first]\n');
  assert.ok(thpKnobs.every((k) => !k.path.startsWith('hugepages-') || !k.path.includes('/stats/') || !k.writable));
});
