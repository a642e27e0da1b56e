import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBuddyinfo, NR_PAGE_ORDERS } from '../../../kernel-model/fs/buddyinfo.js';
import { parseBuddyinfo } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

test('formatBuddyinfo reproduces /proc/buddyinfo byte for byte', () => {
  const text = golden('proc-buddyinfo.txt');
  const zones = parseBuddyinfo(text).map((z) => ({ node: z.node, zone: z.zone, nrFree: z.free }));
  assert.equal(formatBuddyinfo(zones), text);
});

test('the model\'s one zone per node prints as Linux prints Normal', () => {
  const free = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => o * 1000);
  assert.equal(
    formatBuddyinfo([{ node: 1, zone: 'Normal', nrFree: free }]),
    'Node 1, zone   Normal      0   1000   2000   3000   4000   5000   6000   7000   8000   9000  10000 \n',
  );
});

test('formatBuddyinfo refuses a zone without 11 orders', () => {
  assert.throws(() => formatBuddyinfo([{ node: 0, zone: 'Normal', nrFree: [1, 2, 3] }]), RangeError);
});
