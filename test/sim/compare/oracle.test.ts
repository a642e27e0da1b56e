// The oracle arm (sim/compare/oracle.ts): on tiny scenarios it is at least as good as every kernel mode
// and the daemon under the shipped policy, on the figures it bounds; on a fully populated hot heap its
// figures are the cost model's own numbers for "every region a local THP"; it is deterministic; and the
// model properties the bound rests on (walk cycles non-increasing in the THP share, remote THPs never
// cheaper than local ones) hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { streamAccessCost, streamAccessCostLocal, type AccessStreamSpec } from '../../../kernel-model/evaluation.js';
import { oracleArm, stepHull } from '../../../sim/compare/oracle.js';
import { runWithDaemon } from '../../../sim/daemon/daemon-run.js';
import { parseScenario } from '../../../sim/scenario/load.js';
import type { Scenario } from '../../../sim/scenario/schema.js';
import { simulate } from '../../../sim/scenario/simulate.js';

const MiB = 1 << 20;

function scenario(text: string): Scenario {
  return parseScenario(text, 'oracle-test.yaml');
}

function withThp(s: Scenario, enabled: 'never' | 'madvise' | 'always'): Scenario {
  return { ...s, machine: { ...s.machine, knobs: { ...(s.machine.knobs ?? {}), '/sys/kernel/mm/transparent_hugepage/enabled': enabled } } };
}

/**
 * One hot heap, fully populated, random access: every 2 MiB region holds its 512 pages already, so a THP
 * there needs no memory beyond what the app holds and the oracle maps all of it at every sample. 4 GiB,
 * beyond the 3 GiB the STLB reaches with 2 MiB entries, so THP walks are not free either.
 */
const HOT_HEAP = `
duration: 30s
sampleEvery: 10s
machine:
  nodes: [{ memory: 6GiB }]
workloads:
  - name: app
    mappings:
      - { name: heap, size: 4GiB, populate: 100%, madvise: [MADV_HUGEPAGE] }
    streams:
      - { name: lookups, mapping: heap, rate: 2M/s, pattern: uniform }
`;

/**
 * Memory is short: a filler holds 400 MiB of a 1 GiB node, the app writes a 768 MiB zipf heap sparsely
 * (the fault path takes ≤ 512 pages a second), so THPs for all its regions would need more than is free;
 * the machine is aged (60% of pageblocks polluted), so the kernel's THP faults find few free 2 MiB blocks.
 */
const SHORT = `
duration: 60s
sampleEvery: 10s
machine:
  nodes: [{ memory: 1GiB }]
  knobs:
    /sys/kernel/mm/transparent_hugepage/defrag: never
  age: { unmovable: 1%, pollutedBlocks: 60% }
workloads:
  - name: filler
    mappings:
      - { name: heap, size: 400MiB, populate: 100% }
  - name: app
    mappings:
      - { name: heap, size: 768MiB, populate: 0, madvise: [MADV_HUGEPAGE] }
    streams:
      - { name: lookups, mapping: heap, rate: 2M/s, pattern: zipf, theta: 0.9, writeFraction: 100% }
`;

/** Two nodes; node 0 is mostly taken by a filler, so the app's THPs must partly come from node 1. */
const TWO_NODES = `
duration: 60s
sampleEvery: 10s
machine:
  nodes: [{ memory: 512MiB }, { memory: 512MiB }]
workloads:
  - name: filler
    node: 0
    mappings:
      - { name: heap, size: 320MiB, populate: 100% }
  - name: app
    node: 0
    mappings:
      - { name: heap, size: 384MiB, populate: 0, madvise: [MADV_HUGEPAGE] }
    streams:
      - { name: lookups, mapping: heap, rate: 2M/s, pattern: zipf, theta: 0.9, writeFraction: 100% }
`;

/** A phase change (sequential writes, then random reads at a higher rate) at a step boundary. */
const PHASES = `
duration: 30s
sampleEvery: 10s
machine:
  nodes: [{ memory: 1GiB }]
workloads:
  - name: app
    mappings:
      - { name: heap, size: 256MiB, populate: 100%, madvise: [MADV_HUGEPAGE] }
    streams:
      - name: job
        mapping: heap
        rate: 1M/s
        pattern: sequential
        writeFraction: 100%
        phases: [{ at: 10s, pattern: uniform, rate: 20M/s, writeFraction: 0 }]
`;

interface Figures {
  reductionPct: number;
  throughputRel: number;
  swapOut: number;
  oomKills: number;
}

/** The arms' figures as compare defines them, against the same no-THP run. */
async function arms(s: Scenario): Promise<Record<string, Figures>> {
  const ref = simulate(withThp(s, 'never')).metrics.machine;
  const fig = (m: typeof ref): Figures => ({
    reductionPct: (100 * (ref.mmuOverheadPct - m.mmuOverheadPct)) / ref.mmuOverheadPct,
    throughputRel: m.speedVs4k / ref.speedVs4k,
    swapOut: m.vmstat.pswpout,
    oomKills: m.vmstat.oom_kill,
  });
  const out: Record<string, Figures> = {};
  for (const mode of ['never', 'madvise', 'always'] as const) out[mode] = fig(simulate(withThp(s, mode)).metrics.machine);
  out.daemon = fig((await runWithDaemon(s, { daemon: { logLevel: 'error' } })).metrics.machine);
  return out;
}

async function checkBound(name: string, text: string): Promise<ReturnType<typeof oracleArm>> {
  const s = scenario(text);
  const o = oracleArm(s);
  const others = await arms(s);
  const rows = Object.entries(others).map(([arm, f]) => `${arm}: reduction ${f.reductionPct.toFixed(2)}%, throughput ${f.throughputRel.toFixed(4)}`);
  console.log(`${name}: oracle reduction ${o.metrics.mmuOverheadReductionPct.toFixed(2)}%, throughput ${o.metrics.throughputRel.toFixed(4)}, coverage ${o.metrics.hotThpCoverage.toFixed(3)}, remote ${o.metrics.remoteThpFraction.toFixed(3)}; ${rows.join('; ')}`);
  for (const [arm, f] of Object.entries(others)) {
    // The share bound assumes no swap-outs and no kills (see the oracle's file comment); these scenarios have none.
    assert.equal(f.swapOut, 0, `${name}/${arm} swapped`);
    assert.equal(f.oomKills, 0, `${name}/${arm} OOM-killed`);
    assert.ok(o.metrics.mmuOverheadReductionPct >= f.reductionPct - 1e-9, `${name}: ${arm} reduction ${f.reductionPct} > oracle ${o.metrics.mmuOverheadReductionPct}`);
    assert.ok(o.metrics.throughputRel >= f.throughputRel - 1e-9, `${name}: ${arm} throughput ${f.throughputRel} > oracle ${o.metrics.throughputRel}`);
  }
  return o;
}

test('oracle: the hot heap gets every region as a local THP, and its figures are the cost model’s', () => {
  const s = scenario(HOT_HEAP);
  const o = oracleArm(s);
  const spec: AccessStreamSpec = { start: 0, length: 4096 * MiB, ratePerSec: 2e6, pattern: 'uniform', writeFraction: 0 };
  const c0 = streamAccessCostLocal(spec, 0);
  const c1 = streamAccessCostLocal(spec, 1);
  // Every region is fully populated (populate: 100%) so a THP needs no memory beyond what the app holds:
  // f = 1 at every sample. The reference is all local 4 KiB pages, so its overhead is w0 / (w0 + d0).
  const refShare = c0.walkCyclesPerAccess / c0.cyclesPerAccess;
  const share = c1.walkCyclesPerAccess / (c1.walkCyclesPerAccess + Math.max(c0.dataCyclesPerAccess, c1.dataCyclesPerAccess));
  const throughput = c0.cyclesPerAccess / (c1.walkCyclesPerAccess + Math.min(c0.dataCyclesPerAccess, c1.dataCyclesPerAccess));
  console.log(`hot heap: w0 ${c0.walkCyclesPerAccess.toFixed(3)} d0 ${c0.dataCyclesPerAccess.toFixed(3)} w1 ${c1.walkCyclesPerAccess.toFixed(3)} d1 ${c1.dataCyclesPerAccess.toFixed(3)}; oracle`, o.metrics);
  assert.ok(Math.abs(o.metrics.mmuOverheadPct - 100 * share) < 1e-6);
  assert.ok(Math.abs(o.metrics.mmuOverheadReductionPct - (100 * (refShare - share)) / refShare) < 1e-6);
  assert.ok(Math.abs(o.metrics.throughputRel - throughput) < 1e-6);
  assert.equal(o.metrics.hotThpCoverage, 1);
  assert.equal(o.metrics.remoteThpFraction, 0);
  assert.deepEqual(
    [o.metrics.collapseCpuMs, o.metrics.scanCpuMs, o.metrics.compactStallMs, o.metrics.thpSwapOutPages, o.metrics.faultLatencyP99Us],
    [0, 0, 0, 0, null],
  );
  assert.deepEqual(o.series.map((x) => x.t), [10_000, 20_000, 30_000]);
  assert.deepEqual(oracleArm(s), o, 'deterministic');
});

test('oracle: at least as good as never, madvise, always and the daemon — hot heap', async () => {
  await checkBound('hot heap', HOT_HEAP);
});

test('oracle: at least as good as never, madvise, always and the daemon — short of memory', async () => {
  const o = await checkBound('short', SHORT);
  // The memory does not stretch to every region: the oracle had to choose (hot regions unmapped).
  assert.ok(o.metrics.hotThpCoverage < 0.9, `coverage ${o.metrics.hotThpCoverage}`);
  assert.ok(o.series.every((x) => x.mmuOverheadPct > 0));
});

test('oracle: at least as good as never, madvise, always and the daemon — two nodes', async () => {
  const o = await checkBound('two nodes', TWO_NODES);
  // Node 0 cannot hold the app's THPs: the oracle takes memory from node 1 (priced as if local).
  assert.ok(o.metrics.remoteThpFraction > 0.3, `remote ${o.metrics.remoteThpFraction}`);
});

test('oracle: at least as good as the others across a phase change (the accesses priced under the spec they ran with)', async () => {
  await checkBound('phases', PHASES);
});

test('oracle: the model properties the bound rests on', () => {
  const GiB = 1024 * MiB;
  for (const pattern of ['uniform', 'zipf', 'sequential', 'strided'] as const) {
    for (const length of [32 * MiB, 512 * MiB, 4 * GiB, 8 * GiB]) {
      const spec: AccessStreamSpec = { start: 0, length, ratePerSec: 1e6, pattern, writeFraction: 0, ...(pattern === 'strided' ? { strideBytes: 8192 } : {}) };
      let last = Infinity;
      for (let i = 0; i <= 64; i++) {
        const w = streamAccessCostLocal(spec, i / 64).walkCyclesPerAccess;
        assert.ok(w <= last + 1e-9, `${pattern} ${length}: walk rises at f = ${i / 64}`);
        last = w;
      }
    }
  }
});

test('oracle: a THP on another node never walks cheaper than a local one, but can beat local 4 KiB pages', () => {
  let beatsSmall = false;
  for (const pattern of ['uniform', 'zipf', 'sequential'] as const) {
    for (const length of [64 * MiB, 1024 * MiB, 4096 * MiB]) {
      const spec: AccessStreamSpec = { start: 0, length, ratePerSec: 1e6, pattern, writeFraction: 0 };
      for (const f of [0.25, 0.5, 1]) {
        for (const d of [12, 20, 32]) {
          const local = streamAccessCost(spec, { thpLocal: f, thpRemote: 0, smallLocal: 1 - f, smallRemote: 0 }, d);
          const remote = streamAccessCost(spec, { thpLocal: 0, thpRemote: f, smallLocal: 1 - f, smallRemote: 0 }, d);
          assert.ok(remote.walkCyclesPerAccess >= local.walkCyclesPerAccess - 1e-12);
          assert.ok(remote.cyclesPerAccess >= local.cyclesPerAccess - 1e-12);
          if (remote.walkCyclesPerAccess < streamAccessCostLocal(spec, 0).walkCyclesPerAccess) beatsSmall = true;
        }
      }
    }
  }
  // So the oracle must count THPs on other nodes: it pools the nodes' capacity and prices them local.
  assert.ok(beatsSmall);
});

test('oracle: the saving hull is concave, non-decreasing and above every monotone curve through the grid', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true })), { minLength: 1, maxLength: 20 }), fc.double({ min: 0, max: 10, noNaN: true }), (steps, s0) => {
      const grid = [0];
      const values = [s0];
      for (const [dc, ds] of steps) {
        grid.push(grid[grid.length - 1] + dc);
        values.push(values[values.length - 1] + ds);
      }
      const h = stepHull(grid, values);
      const at = (c: number): number => {
        for (let i = 1; i < h.c.length; i++) if (c <= h.c[i]) return h.s[i - 1] + ((h.s[i] - h.s[i - 1]) * (c - h.c[i - 1])) / (h.c[i] - h.c[i - 1]);
        return h.s[h.s.length - 1];
      };
      assert.equal(h.c[0], 0);
      for (let i = 1; i < h.c.length; i++) assert.ok(h.c[i] > h.c[i - 1] && h.s[i] >= h.s[i - 1] - 1e-9);
      for (let i = 2; i < h.c.length; i++) {
        const a = (h.s[i - 1] - h.s[i - 2]) / (h.c[i - 1] - h.c[i - 2]);
        const b = (h.s[i] - h.s[i - 1]) / (h.c[i] - h.c[i - 1]);
        assert.ok(b <= a + 1e-9, 'concave');
      }
      // Above the step: on (grid[j−1], grid[j]] any non-decreasing curve through the points is ≤ values[j].
      for (let j = 1; j < grid.length; j++) {
        for (const u of [0.001, 0.5, 1]) {
          const c = grid[j - 1] + u * (grid[j] - grid[j - 1]);
          assert.ok(at(c) >= values[j] - 1e-6 * (1 + values[j]), `hull below the step at ${c}`);
        }
      }
      assert.ok(at(0) >= s0 - 1e-9);
    }),
  );
});
