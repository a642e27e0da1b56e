import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatZoneinfo, type ZoneinfoNode, type ZoneinfoZone } from '../../../kernel-model/fs/zoneinfo.js';
import { NR_VM_ITEMS, Vm } from '../../../kernel-model/mm/vmstat-items.js';
import { parseZoneinfo, type ZoneinfoRecord } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/** Asserts that `text` has `line` as one of its lines, spaces and all. */
const assertLine = (text: string, line: string) => assert.ok(text.split('\n').includes(line), `no line ${JSON.stringify(line)} in:\n${text}`);

/** A counter array indexed by Vm from name/value pairs. */
function counters(values: Map<string, number>): Float64Array {
  const a = new Float64Array(NR_VM_ITEMS);
  for (const [name, v] of values) a[Vm[name as keyof typeof Vm]] = v;
  return a;
}

/** The formatter's zone rebuilt from a parsed one. */
function zoneOf(r: ZoneinfoRecord): ZoneinfoZone {
  const f = (key: string) => r.fields.get(key) ?? 0;
  return {
    zone: r.zone, boost: f('boost'), min: f('min'), low: f('low'), high: f('high'), promo: f('promo'),
    spanned: f('spanned'), present: f('present'), managed: f('managed'), cma: f('cma'),
    protection: r.protection, counters: counters(new Map([...r.stats, ['nr_free_pages', f('free')]])),
    startPfn: f('start_pfn'),
    pagesets: r.pagesets.map((p) => ({
      count: p.get('count') ?? 0, high: p.get('high') ?? 0, batch: p.get('batch') ?? 0,
      highMin: p.get('high_min') ?? 0, highMax: p.get('high_max') ?? 0, statThreshold: p.get('vm stats threshold') ?? 0,
    })),
  };
}

/** The formatter's nodes rebuilt from parsed zones. */
function nodesOf(zones: ZoneinfoRecord[]): ZoneinfoNode[] {
  return [...new Set(zones.map((z) => z.node))].map((node) => {
    const own = zones.filter((z) => z.node === node);
    return {
      node,
      counters: counters(own.find((z) => z.nodeStats.size > 0)?.nodeStats ?? new Map<string, number>()),
      unreclaimable: own.some((z) => z.fields.get('node_unreclaimable') === 1),
      zones: own.map(zoneOf),
    };
  });
}

test('formatZoneinfo reproduces /proc/zoneinfo byte for byte, unpopulated zones included', () => {
  const text = golden('proc-zoneinfo.txt');
  assert.equal(formatZoneinfo(nodesOf(parseZoneinfo(text))), text);
});

test('the model\'s single Normal zone carries the per-node stats and one pageset per CPU', () => {
  const zone: ZoneinfoZone = {
    zone: 'Normal', boost: 0, min: 10, low: 12, high: 14, promo: 16, spanned: 1024, present: 1024, managed: 1000,
    cma: 0, protection: [0, 0, 0, 0, 0], counters: counters(new Map([['nr_free_pages', 900]])), startPfn: 0,
    pagesets: [0, 1, 2].map(() => ({ count: 0, high: 0, batch: 63, highMin: 0, highMax: 0, statThreshold: 8 })),
  };
  const text = formatZoneinfo([{ node: 0, counters: new Float64Array(NR_VM_ITEMS), unreclaimable: false, zones: [zone] }]);
  assert.ok(text.startsWith('Node 0, zone   Normal\n  per-node stats\n      nr_inactive_anon 0\n'));
  assertLine(text, '  pages free     900');
  assert.equal(text.match(/^ {4}cpu: \d$/gm)?.length, 3);
  assertLine(text, '      nr_mapped    0');
  assert.ok(text.endsWith('  node_unreclaimable:  0\n  start_pfn:           0\n'));
});
