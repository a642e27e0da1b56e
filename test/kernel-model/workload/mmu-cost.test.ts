import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccessPattern } from '../../../kernel-model/workload/access-pattern.js';
import {
  type MappingSplit,
  type MmuCostInput,
  defaultMmuCostParams,
  mmuCostPerAccess,
} from '../../../kernel-model/workload/mmu-cost.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SMALL: MappingSplit = { thpLocal: 0, thpRemote: 0, smallLocal: 1, smallRemote: 0 };
const THP: MappingSplit = { thpLocal: 1, thpRemote: 0, smallLocal: 0, smallRemote: 0 };

function cost(
  mapping: MappingSplit,
  workingSetBytes: number,
  pattern: AccessPattern = 'uniform',
  extra: Partial<MmuCostInput> = {},
): number {
  return mmuCostPerAccess({ mapping, remoteDistance: 20, workingSetBytes, pattern, ...extra }).cyclesPerAccess;
}

/** 4 KiB cycles, THP cycles and the speed-up, for one calibration shape. */
function shape(workingSetBytes: number, pattern: AccessPattern = 'uniform'): { small: number; thp: number; speedup: number } {
  const small = cost(SMALL, workingSetBytes, pattern);
  const thp = cost(THP, workingSetBytes, pattern);
  return { small, thp, speedup: small / thp };
}

function within(value: number, [lo, hi]: readonly [number, number], what: string): void {
  assert.ok(value >= lo && value <= hi, `${what}: ${value.toFixed(3)} not in [${lo}, ${hi}]`);
}

test('calibration: random reads reproduce the measured THP speed-ups (calibration.md)', (t) => {
  const sizes = [32 * MiB, 64 * MiB, 128 * MiB, 512 * MiB, GiB, 2 * GiB, 4 * GiB, 8 * GiB];
  const rows = sizes.map((ws) => ({ ws, ...shape(ws), seq: shape(ws, 'sequential') }));
  t.diagnostic('working set | 4 KiB cyc | THP cyc | speed-up | sequential 4 KiB / THP');
  for (const r of rows) {
    t.diagnostic(
      `${(r.ws / MiB).toString().padStart(6)} MiB | ${r.small.toFixed(1).padStart(6)} | ${r.thp.toFixed(1).padStart(6)} | ` +
        `${r.speedup.toFixed(2)}x | ${r.seq.small.toFixed(2)} / ${r.seq.thp.toFixed(2)}`,
    );
  }
  const at = (ws: number) => rows.find((r) => r.ws === ws)!;
  for (const ws of [32 * MiB, 64 * MiB, 128 * MiB]) within(at(ws).speedup, [1.05, 1.25], `${ws / MiB} MiB speed-up`);
  within(at(4 * GiB).speedup, [2, 3], '4 GiB speed-up (2–3x typical)');
  within(at(8 * GiB).speedup, [1.3, 1.8], '8 GiB speed-up');
  within(at(512 * MiB).speedup, [1.0, 2.0], '512 MiB speed-up');
  within(at(2 * GiB).speedup, [0.7, 2.3], '2 GiB speed-up');
  const small = Math.max(...[32, 64, 128].map((m) => at(m * MiB).speedup));
  for (const ws of [512 * MiB, GiB, 2 * GiB]) {
    within(at(ws).speedup, [small, at(4 * GiB).speedup], `${ws / MiB} MiB lies between the small sets and 4 GiB`);
  }
  for (const ws of [32 * MiB, 64 * MiB]) {
    within(at(ws).small, [14, 23], `${ws / MiB} MiB 4 KiB ns`);
    within(at(ws).thp, [12, 21], `${ws / MiB} MiB THP ns`);
  }
  within(at(4 * GiB).small, [65, 139], '4 GiB 4 KiB ns');
  within(at(4 * GiB).thp, [28, 36], '4 GiB THP ns');
  within(at(8 * GiB).small, [80, 92], '8 GiB 4 KiB ns');
  within(at(8 * GiB).thp, [45, 71], '8 GiB THP ns');
  for (const r of rows) {
    within(r.seq.speedup, [1, 1.05], `sequential ${r.ws / MiB} MiB speed-up`);
    within(r.seq.small, [2, 3], 'sequential ns per line');
    within(r.seq.thp, [2, 3], 'sequential ns per line');
  }
});

test('the speed-up is a continuous curve: no jump between neighbouring working sets', () => {
  let previous = shape(16 * MiB).speedup;
  for (let e = 4.125; e <= 14; e += 0.125) {
    const current = shape(2 ** e * MiB).speedup;
    assert.ok(Math.abs(current - previous) < 0.35, `at ${(2 ** e).toFixed(0)} MiB: ${previous} → ${current}`);
    previous = current;
  }
});

test('costs are positive, the walk is part of them, and a mix lies between its pure mappings', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1 * MiB, max: 64 * GiB, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom<AccessPattern>('uniform', 'zipf', 'sequential', 'strided'),
      fc.integer({ min: 1, max: 1 << 22 }),
      (ws, thpShare, pattern, strideBytes) => {
        const mapping = { thpLocal: thpShare, thpRemote: 0, smallLocal: 1 - thpShare, smallRemote: 0 };
        const c = mmuCostPerAccess({ mapping, remoteDistance: 10, workingSetBytes: ws, pattern, strideBytes });
        assert.ok(c.cyclesPerAccess > 0 && Number.isFinite(c.cyclesPerAccess));
        assert.ok(c.walkCyclesPerAccess >= 0 && c.walkCyclesPerAccess <= c.cyclesPerAccess);
        assert.ok(Math.abs(c.dataCyclesPerAccess + c.walkCyclesPerAccess + c.faultCyclesPerAccess - c.cyclesPerAccess) < 1e-9 * c.cyclesPerAccess);
        assert.ok(c.stlbMissesPerAccess >= 0 && c.stlbMissesPerAccess <= 1);
        const [small, thp] = [cost(SMALL, ws, pattern, { strideBytes }), cost(THP, ws, pattern, { strideBytes })];
        // Rounding in the cache model: pure mappings can differ by less than this when THPs do not help.
        const slack = 1e-4 * small;
        assert.ok(c.cyclesPerAccess <= Math.max(small, thp) + slack && c.cyclesPerAccess >= Math.min(small, thp) - slack);
      },
    ),
    { numRuns: 150 },
  );
});

test('remote memory costs distance/10 times local, for data and walks alike', () => {
  for (const ws of [64 * MiB, 4 * GiB]) {
    for (const [local, remote] of [
      [SMALL, { thpLocal: 0, thpRemote: 0, smallLocal: 0, smallRemote: 1 }],
      [THP, { thpLocal: 0, thpRemote: 1, smallLocal: 0, smallRemote: 0 }],
    ] as const) {
      const near = mmuCostPerAccess({ mapping: local, remoteDistance: 20, workingSetBytes: ws, pattern: 'uniform' });
      const far = mmuCostPerAccess({ mapping: remote, remoteDistance: 20, workingSetBytes: ws, pattern: 'uniform' });
      assert.ok(Math.abs(far.cyclesPerAccess / near.cyclesPerAccess - 2) < 1e-12);
      assert.ok(Math.abs(far.walkCyclesPerAccess - 2 * near.walkCyclesPerAccess) < 1e-9);
      const slit10 = mmuCostPerAccess({ mapping: remote, remoteDistance: 10, workingSetBytes: ws, pattern: 'uniform' });
      assert.ok(Math.abs(slit10.cyclesPerAccess - near.cyclesPerAccess) < 1e-12);
    }
  }
});

test('accesses to swapped-out pages pay a major fault each', () => {
  const partly = mmuCostPerAccess({
    mapping: { thpLocal: 0, thpRemote: 0, smallLocal: 0.99, smallRemote: 0, swapped: 0.01 },
    remoteDistance: 20,
    workingSetBytes: GiB,
    pattern: 'uniform',
  });
  assert.equal(partly.faultCyclesPerAccess, 0.01 * defaultMmuCostParams.majorFaultCycles);
  assert.ok(partly.cyclesPerAccess > 0.01 * defaultMmuCostParams.majorFaultCycles + 0.99 * 10);
  const all = mmuCostPerAccess({
    mapping: { thpLocal: 0, thpRemote: 0, smallLocal: 0, smallRemote: 0, swapped: 1 },
    remoteDistance: 20,
    workingSetBytes: GiB,
    pattern: 'uniform',
  });
  assert.equal(all.cyclesPerAccess, defaultMmuCostParams.majorFaultCycles);
  const p = defaultMmuCostParams;
  assert.ok(p.majorFaultCycles > p.minorFaultFirstTouchCycles && p.minorFaultFirstTouchCycles > p.minorFaultCycles);
  assert.ok(p.thpFaultFirstTouchCycles > p.thpFaultCycles);
});

test('zipf streams cost less than uniform ones (their hot pages stay cached) and gain less where THPs matter most', () => {
  for (const ws of [64 * MiB, GiB, 4 * GiB, 8 * GiB]) {
    const zipf = shape(ws, 'zipf');
    const uniform = shape(ws);
    assert.ok(zipf.small < uniform.small && zipf.thp < uniform.thp, `${ws / GiB} GiB`);
    if (ws >= 4 * GiB) assert.ok(zipf.speedup < uniform.speedup, `${ws / GiB} GiB: zipf ${zipf.speedup} vs uniform ${uniform.speedup}`);
  }
  assert.ok(cost(SMALL, 4 * GiB, 'zipf', { theta: 1.4 }) < cost(SMALL, 4 * GiB, 'zipf', { theta: 0.6 }));
});

test('strides: a 64-byte stride is the sequential stream, and page-sized strides walk on every access', () => {
  for (const ws of [256 * MiB, 4 * GiB]) {
    assert.equal(cost(SMALL, ws, 'strided', { strideBytes: 64 }), cost(SMALL, ws, 'sequential'));
    const pageStride = mmuCostPerAccess({ mapping: SMALL, remoteDistance: 20, workingSetBytes: ws, pattern: 'strided', strideBytes: 4096 });
    assert.ok(Math.abs(pageStride.stlbMissesPerAccess - (1 - 1536 / (ws / 4096))) < 1e-9);
    assert.ok(cost(THP, ws, 'strided', { strideBytes: 4096 }) < pageStride.cyclesPerAccess);
  }
});

test('parameters can be overridden: bare metal, a bigger STLB', () => {
  const input: MmuCostInput = { mapping: SMALL, remoteDistance: 20, workingSetBytes: 8 * GiB, pattern: 'uniform' };
  const bareMetal = mmuCostPerAccess(input, { ...defaultMmuCostParams, nestedWalkCycles: 0 });
  const virtualised = mmuCostPerAccess(input);
  const nested = defaultMmuCostParams.nestedWalkCycles / (1 + (2.75 / 8) ** 6);
  const extra = virtualised.walkCyclesPerAccess - bareMetal.walkCyclesPerAccess;
  assert.ok(Math.abs(extra - virtualised.stlbMissesPerAccess * nested) < 1e-9, 'the nested walk is paid once per STLB miss');
  const small = { ...input, workingSetBytes: 16 * MiB };
  assert.ok(mmuCostPerAccess(small, { ...defaultMmuCostParams, stlbEntries: 8192 }).walkCyclesPerAccess === 0);
  assert.ok(mmuCostPerAccess(small).walkCyclesPerAccess > 0);
});

test('input validation names the problem', () => {
  const base: MmuCostInput = { mapping: SMALL, remoteDistance: 20, workingSetBytes: GiB, pattern: 'uniform' };
  assert.throws(() => mmuCostPerAccess({ ...base, mapping: { ...SMALL, smallLocal: 0.5 } }), /must sum to 1/);
  assert.throws(() => mmuCostPerAccess({ ...base, mapping: { ...SMALL, thpLocal: -0.1, smallLocal: 1.1 } }), /finite and ≥ 0/);
  assert.throws(() => mmuCostPerAccess({ ...base, remoteDistance: 5 }), /SLIT distance ≥ 10/);
  assert.throws(() => mmuCostPerAccess({ ...base, workingSetBytes: 0 }), /workingSetBytes must be a positive number/);
  assert.throws(() => mmuCostPerAccess({ ...base, pattern: 'strided' }), /needs a positive strideBytes/);
  assert.throws(() => mmuCostPerAccess({ ...base, pattern: 'zipf', theta: 9 }), /theta must be in/);
});
