import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPagetypeinfo, migratetypeNames, type PagetypeinfoNode } from '../../../kernel-model/fs/pagetypeinfo.js';
import { NR_PAGE_ORDERS } from '../../../kernel-model/fs/buddyinfo.js';
import { parsePagetypeinfo, type PagetypeinfoRecord } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/** The formatter's input rebuilt from a parsed file. */
function nodesOf(p: PagetypeinfoRecord): PagetypeinfoNode[] {
  const nodeIds = [...new Set(p.blocks.map((b) => b.node))];
  return nodeIds.map((node) => ({
    node,
    zones: p.blocks.filter((b) => b.node === node).map((b) => ({
      zone: b.zone,
      freeByType: migratetypeNames.map((type) => p.free.find((f) => f.node === node && f.zone === b.zone && f.type === type)?.counts ?? []),
      blocksByType: migratetypeNames.map((type) => b.counts.get(type) ?? 0),
    })),
  }));
}

test('formatPagetypeinfo reproduces /proc/pagetypeinfo byte for byte', () => {
  const text = golden('proc-pagetypeinfo.txt');
  const parsed = parsePagetypeinfo(text);
  assert.equal(formatPagetypeinfo(nodesOf(parsed), parsed.pageblockOrder), text);
});

const zone = (free: number) => ({
  zone: 'Normal',
  freeByType: migratetypeNames.map(() => new Array<number>(NR_PAGE_ORDERS).fill(free)),
  blocksByType: migratetypeNames.map(() => 1),
});

test('a free list of 100000 or more prints as Linux\'s capped >100000', () => {
  const text = formatPagetypeinfo([{ node: 0, zones: [zone(250000)] }]);
  assert.ok(text.includes('\nNode    0, zone   Normal, type    Unmovable >100000 >100000 '));
  assert.deepEqual(parsePagetypeinfo(text).free[0]?.counts, new Array<number>(NR_PAGE_ORDERS).fill(100000));
});

test('each node has its own section with the pageblock header', () => {
  const text = formatPagetypeinfo([{ node: 0, zones: [zone(1)] }, { node: 1, zones: [zone(2)] }]);
  assert.equal(text.match(/^Page block order: 9$/gm)?.length, 2);
  assert.ok(text.includes('\nNode 1, zone   Normal            1            1 '));
  const parsed = parsePagetypeinfo(text);
  assert.deepEqual(parsed.free.map((f) => f.node), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
});
