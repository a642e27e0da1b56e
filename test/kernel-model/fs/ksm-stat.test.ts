import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatKsmStat, ksmProcessProfit } from '../../../kernel-model/fs/ksm-stat.js';
import { parseKsmStat } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

test('formatKsmStat reproduces /proc/PID/ksm_stat byte for byte', () => {
  const text = golden('proc-PID-ksm_stat.txt');
  const r = parseKsmStat(text);
  assert.equal(formatKsmStat(r), text);
});

test('the profit is merged and zero pages saved minus 64 bytes per rmap item', () => {
  const s = { rmapItems: 100, zeroPages: 2, mergingPages: 3, mergeAny: true, mergeable: true };
  assert.equal(ksmProcessProfit(s), 5 * 4096 - 6400);
  const r = parseKsmStat(formatKsmStat(s));
  assert.deepEqual(r, { ...s, processProfit: 5 * 4096 - 6400 });
  assert.equal(ksmProcessProfit({ ...s, zeroPages: 0, mergingPages: 0 }), -6400);
});
