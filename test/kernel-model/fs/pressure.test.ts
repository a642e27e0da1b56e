import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPressure } from '../../../kernel-model/fs/pressure.js';
import { parsePressure } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

test('formatPressure reproduces /proc/pressure/memory byte for byte', () => {
  const text = golden('proc-pressure-memory.txt');
  const p = parsePressure(text);
  const line = (l: { avg10: number; avg60: number; avg300: number; total: number }) => ({ ...l, totalUs: l.total });
  assert.ok(p.full);
  assert.equal(formatPressure({ some: line(p.some), full: line(p.full) }), text);
});

test('averages print with two decimals, rounded to the hundredth', () => {
  const some = { avg10: 12.345, avg60: 0.29, avg300: 100, totalUs: 5 };
  const full = { avg10: 0.004, avg60: 0.005, avg300: 7.1, totalUs: 0 };
  assert.equal(
    formatPressure({ some, full }),
    'some avg10=12.35 avg60=0.29 avg300=100.00 total=5\nfull avg10=0.00 avg60=0.01 avg300=7.10 total=0\n',
  );
});
