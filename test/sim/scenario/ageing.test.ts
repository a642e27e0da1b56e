// Ageing a machine: the kernel's allocations end up scattered over the requested share of pageblocks
// (read back from the frames), only on the nodes asked for, with the slab and page cache the shares
// say, and the knobs the ageing turns while it works read the same afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimKernel } from '../../../kernel-model/index.js';
import { ageMachine, pageblockPollution } from '../../../sim/scenario/ageing.js';
import { parseScenario } from '../../../sim/scenario/load.js';
import { cachedPages, ScenarioRun } from '../../../sim/scenario/runner.js';
import type { MachineSpec } from '../../../sim/scenario/schema.js';

type AgeSpec = NonNullable<MachineSpec['age']>;

const PAGE = 4096;
const KNOBS = ['/sys/kernel/mm/transparent_hugepage/enabled', '/proc/sys/vm/min_free_kbytes', '/proc/sys/vm/watermark_scale_factor', '/proc/sys/vm/watermark_boost_factor'];

function machine(nodesMiB: number[], seed = 1): SimKernel {
  return new SimKernel({ nodes: nodesMiB.map((memoryMiB) => ({ memoryMiB })), seed });
}

function kb(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  assert.ok(m, `no ${name} line`);
  return Number(m[1]) * 1024;
}

function vmstat(sim: SimKernel, name: string): number {
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(sim.readFile('/proc/vmstat'))![1]);
}

const nodeMeminfo = (sim: SimKernel, n: number, field: string): number => kb(sim.readFile(`/sys/devices/system/node/node${n}/meminfo`), `Node ${n} ${field}`);

/** Asserts the polluted share of a node's pageblocks is within ±15% of `want`. */
function assertPollution(sim: SimKernel, node: number, want: number): void {
  const p = pageblockPollution(sim)[node];
  const share = p.polluted / p.pageblocks;
  assert.ok(Math.abs(share - want) <= 0.15 * want, `node ${node}: ${p.polluted} of ${p.pageblocks} pageblocks polluted (${share.toFixed(3)}), asked ${want}`);
}

test('ageing: a fresh machine has no polluted pageblock', () => {
  const sim = machine([256, 256]);
  assert.deepEqual(pageblockPollution(sim), [
    { node: 0, pageblocks: 128, polluted: 0 },
    { node: 1, pageblocks: 128, polluted: 0 },
  ]);
});

const cases: { name: string; mib: number; age: AgeSpec; want: number }[] = [
  { name: '0.5% unmovable and 0.5% reclaimable over 40% of the pageblocks', mib: 512, age: { unmovable: 0.005, reclaimable: 0.005, pollutedBlocks: 0.4 }, want: 0.4 },
  { name: '0.3% + 0.3% with the default spread (16 times the kernel share: 9.6%)', mib: 1024, age: { unmovable: 0.003, reclaimable: 0.003 }, want: 0.096 },
  { name: '2% + 1% over 92% of the pageblocks (the fragmented scenario)', mib: 1024, age: { unmovable: 0.02, reclaimable: 0.01, pollutedBlocks: 0.92 }, want: 0.92 },
  { name: 'reclaimable slab alone over half the pageblocks', mib: 256, age: { reclaimable: 0.01, pollutedBlocks: 0.5 }, want: 0.5 },
];

for (const c of cases) {
  test(`ageing: ${c.name}: pageblockPollution within ±15% of the share asked`, () => {
    for (const seed of [1, 2]) {
      const sim = machine([c.mib], seed);
      ageMachine(sim, c.age);
      assertPollution(sim, 0, c.want);
    }
  });
}

test('ageing: the kernel allocations are the shares asked, and nothing else stays', () => {
  const sim = machine([512]);
  const total = kb(sim.readFile('/proc/meminfo'), 'MemTotal') / PAGE;
  const free0 = kb(sim.readFile('/proc/meminfo'), 'MemFree') / PAGE;
  ageMachine(sim, { unmovable: 0.01, reclaimable: 0.005, pollutedBlocks: 0.5 });
  const near = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) <= 0.01 * want + 1, `${what}: ${got} pages, expected ${want}`);
  near(vmstat(sim, 'nr_slab_unreclaimable'), 0.01 * total, 'unmovable');
  near(vmstat(sim, 'nr_slab_reclaimable'), 0.005 * total, 'reclaimable');
  // The filler process is gone and its memory free again.
  assert.deepEqual(sim.listPids(), []);
  assert.equal(vmstat(sim, 'nr_anon_pages'), 0);
  const free = kb(sim.readFile('/proc/meminfo'), 'MemFree') / PAGE;
  near(free, free0 - 0.015 * total, 'free');
});

test('ageing: nodes: [1] ages node 1 only', () => {
  const sim = machine([512, 512]);
  ageMachine(sim, { unmovable: 0.01, reclaimable: 0.005, pollutedBlocks: 0.9, pageCache: 0.2, nodes: [1] });
  assert.equal(pageblockPollution(sim)[0].polluted, 0);
  assertPollution(sim, 1, 0.9);
  assert.equal(nodeMeminfo(sim, 0, 'FilePages'), 0);
  assert.equal(nodeMeminfo(sim, 0, 'Slab'), 0);
  const managed1 = nodeMeminfo(sim, 1, 'MemTotal');
  assert.ok(Math.abs(nodeMeminfo(sim, 1, 'FilePages') - 0.2 * managed1) <= 0.01 * managed1);
  assert.ok(nodeMeminfo(sim, 1, 'Slab') > 0);
});

test('ageing: the THP enabled knob and the watermark sysctls read the same before and after', () => {
  const sim = machine([512]);
  sim.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', 'madvise');
  sim.writeFile('/proc/sys/vm/min_free_kbytes', '16384');
  sim.writeFile('/proc/sys/vm/watermark_scale_factor', '20');
  sim.writeFile('/proc/sys/vm/watermark_boost_factor', '5000');
  const before = KNOBS.map((k) => sim.readFile(k));
  const zoneinfo = sim.readFile('/proc/zoneinfo');
  ageMachine(sim, { unmovable: 0.01, reclaimable: 0.01, pageCache: 0.1 });
  assert.deepEqual(
    KNOBS.map((k) => sim.readFile(k)),
    before,
  );
  assert.match(before[0], /\[madvise\]/);
  // The watermarks themselves are back where they were.
  const marks = (text: string): string[] => text.split('\n').filter((l) => /^\s+(min|low|high)\s+\d+$/.test(l));
  assert.deepEqual(marks(sim.readFile('/proc/zoneinfo')), marks(zoneinfo));
});

test('ageing: the defaults are restored too', () => {
  const sim = machine([256, 256]);
  const before = KNOBS.map((k) => sim.readFile(k));
  ageMachine(sim, { unmovable: 0.005 });
  assert.deepEqual(
    KNOBS.map((k) => sim.readFile(k)),
    before,
  );
});

test('ageing: the page cache share lands in Cached, on every node', () => {
  const sim = machine([512, 512]);
  ageMachine(sim, { pageCache: 0.25 });
  const total = kb(sim.readFile('/proc/meminfo'), 'MemTotal');
  const cached = kb(sim.readFile('/proc/meminfo'), 'Cached');
  assert.ok(Math.abs(cached - 0.25 * total) <= 0.01 * total, `Cached ${cached} of ${total}`);
  assert.equal(cachedPages(sim) * PAGE, cached);
  for (const n of [0, 1]) {
    const managed = nodeMeminfo(sim, n, 'MemTotal');
    assert.ok(Math.abs(nodeMeminfo(sim, n, 'FilePages') - 0.25 * managed) <= 0.01 * managed);
  }
  // No kernel share: nothing polluted.
  assert.deepEqual(
    pageblockPollution(sim).map((p) => p.polluted),
    [0, 0],
  );
});

test('ageing: a scenario ages its machine before time 0', () => {
  const run = new ScenarioRun(
    parseScenario(
      `
duration: 10s
machine:
  nodes:
    - memory: 512MiB
  knobs:
    /sys/kernel/mm/transparent_hugepage/enabled: never
  age:
    unmovable: 0.5%
    reclaimable: 0.5%
    pollutedBlocks: 40%
    pageCache: 10%
workloads:
  - name: app
    mappings:
      - name: heap
        size: 8MiB
`,
      'ageing-test.yaml',
    ),
  );
  assert.ok(run.bootMs > 0);
  assert.equal(run.elapsedMs, 0);
  assert.deepEqual(run.sim.listPids(), []);
  assertPollution(run.sim, 0, 0.4);
  assert.match(run.sim.readFile('/sys/kernel/mm/transparent_hugepage/enabled'), /\[never\]/);
  assert.ok(cachedPages(run.sim) > 0);
});

test('ageing: a small kernel share still spreads over the pageblocks asked', () => {
  const sim = machine([512]);
  ageMachine(sim, { unmovable: 0.002, pollutedBlocks: 0.4 });
  assertPollution(sim, 0, 0.4);
});
