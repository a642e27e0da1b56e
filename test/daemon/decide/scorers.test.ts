// Scorers: each stays in [0, 1] for any candidate; benefit-cost, HawkEye, Ingens and DAMOS order candidates
// as their models say; the combination's components add up to the score over the class weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePolicy } from '../../../daemon/config/policy.js';
import type { Candidate, MachineView, ProcessView, RegionFacts } from '../../../daemon/decide/candidate.js';
import {
  benefitNsPerSec,
  collapseCostNs,
  COLLAPSE_FIXED_NS,
  mmuNsSavedPerAccess,
  tlbMissProbability,
} from '../../../daemon/decide/scorers/benefit-model.js';
import { BenefitCostScorer } from '../../../daemon/decide/scorers/benefit-cost.js';
import { DamosScorer } from '../../../daemon/decide/scorers/damos.js';
import { HawkEyeScorer, mmuOverheadCpus } from '../../../daemon/decide/scorers/hawkeye.js';
import { IngensFairnessScorer } from '../../../daemon/decide/scorers/ingens-fairness.js';
import {
  beginScorersCycle,
  createScorers,
  forgetScorersProcess,
  scoreCandidate,
  type ScoreContext,
  type Scorer,
  type ScorerName,
} from '../../../daemon/decide/scorers/scorer.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const policy = parsePolicy(
  [
    'version: 1',
    'classes:',
    '  - name: db',
    '    match: { comm: [mysqld] }',
    '    weight: 3',
    '  - name: rest',
    '    match: {}',
    'scorers:',
    '  - { name: benefit-cost, weight: 2 }',
    '  - { name: hawkeye, weight: 1, smoothing: 25% }',
    '  - { name: ingens-fairness, weight: 0.5 }',
    '  - { name: damos, weight: 1, sizeWeight: 1, frequencyWeight: 2, ageWeight: 0 }',
    '',
  ].join('\n'),
  'p.yaml',
);
const [db, rest] = policy.classes;

const proc = (over: Partial<ProcessView> = {}): ProcessView => ({
  pid: 100,
  comm: 'app',
  cls: rest,
  cgroup: '/',
  cgroupHierarchy: 'v2',
  homeNode: 0,
  anonBytes: 8 * GiB,
  hugeBytes: 0,
  hotBytes: 4 * GiB,
  hotHugeBytes: 0,
  smallPageAccessesPerSec: 20e6,
  ...over,
});
const facts = (over: Partial<RegionFacts> = {}): RegionFacts => ({ present: 512, none: 0, swapped: 0, shared: 0, huge: false, nodePages: [512], ...over });
const cand = (over: Partial<Candidate> = {}): Candidate => ({ process: proc(), region: 0x4000_0000, accessRate: 10, ageMs: 30_000, ...over });
const machine: MachineView = { freeHugeBlocks: [64, 0], totalHugeBlocks: [4096, 4096] };
const ctx: ScoreContext = { machine, now: 0 };

// ---------------------------------------------------------------------------------------------------
// Arbitrary inputs: any doubles (NaN, infinities and negatives included), any facts and machine.

const anyNumber = fc.oneof(fc.double(), fc.double({ min: 0, max: 1e12, noNaN: true }), fc.integer({ min: 0, max: 1024 }));
const anyFacts = fc.record({
  present: anyNumber,
  none: anyNumber,
  swapped: anyNumber,
  shared: anyNumber,
  huge: fc.boolean(),
  nodePages: fc.array(anyNumber, { maxLength: 4 }),
});
const anyProcess = fc
  .record({
    pid: fc.integer({ min: 1, max: 8 }),
    weighted: fc.boolean(),
    homeNode: fc.integer({ min: 0, max: 3 }),
    anonBytes: anyNumber,
    hugeBytes: anyNumber,
    hotBytes: anyNumber,
    hotHugeBytes: anyNumber,
    smallPageAccessesPerSec: anyNumber,
  })
  .map(({ weighted, ...p }): ProcessView => ({ ...p, comm: 'x', cgroup: '/', cgroupHierarchy: 'v2', cls: weighted ? db : rest }));
const anyCandidate = fc
  .record({
    process: anyProcess,
    accessRate: anyNumber,
    ageMs: anyNumber,
    facts: fc.option(anyFacts, { nil: undefined }),
    targetNode: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  })
  .map((c): Candidate => ({ ...c, region: 0 }));
const anyMachine = fc.record({ freeHugeBlocks: fc.array(anyNumber, { maxLength: 4 }), totalHugeBlocks: fc.array(anyNumber, { maxLength: 4 }) });
const anyScorers = fc
  .array(
    fc.record({
      name: fc.constantFrom<ScorerName>('benefit-cost', 'hawkeye', 'ingens-fairness', 'damos'),
      weight: fc.double({ min: 0, max: 10, noNaN: true }),
      smoothing: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      sizeWeight: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
      frequencyWeight: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
      ageWeight: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map(createScorers);

test('every scorer stays in [0, 1] for any candidate, over cycles, and the score is class weight × Σ components', () => {
  fc.assert(
    fc.property(anyScorers, fc.array(fc.array(anyCandidate, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }), anyMachine, (scorers, cycles, m) => {
      cycles.forEach((cands, cycle) => {
        beginScorersCycle(scorers, cands.map((c) => c.process), cycle * 1000);
        for (const c of cands) {
          for (const s of scorers) {
            const v = s.score(c, { machine: m, now: cycle * 1000 });
            assert.ok(v >= 0 && v <= 1, `${s.name} gave ${v}`);
          }
          const { score, components } = scoreCandidate(c, scorers, { machine: m, now: cycle * 1000 });
          assert.deepEqual(Object.keys(components).sort(), [...new Set(scorers.map((s) => s.name))].sort());
          const sum = Object.values(components).reduce((a, b) => a + b, 0);
          assert.equal(score, c.process.cls.weight * sum);
        }
      });
    }),
  );
});

// ---------------------------------------------------------------------------------------------------
// The benefit model's figures against calibration.md.

test('benefit model: the MMU time saved per access follows the calibration bands', () => {
  assert.equal(tlbMissProbability(4 * MiB), 0, 'a hot set within the 4 KiB TLB reach never misses');
  assert.equal(mmuNsSavedPerAccess(4 * MiB), 0);
  assert.ok(mmuNsSavedPerAccess(32 * MiB) < 3, '32 MiB: 1.05–1.25x, a few ns at most');
  const at512 = mmuNsSavedPerAccess(512 * MiB);
  assert.ok(at512 > 5 && at512 < 27, `512 MiB: ~5–20 ns saved, got ${at512}`);
  const at4g = mmuNsSavedPerAccess(4 * GiB);
  assert.ok(at4g > 40 && at4g < 100, `4 GiB: 65–139 ns against 28–36 ns, got ${at4g}`);
  assert.ok((at4g + 32) / 32 >= 2 && (at4g + 32) / 32 <= 3.2, 'about 2–3x at 4 GiB');
});

test('benefit model: a full collapse costs 0.5–1.5 ms, absent pages and swapped ones more, a busy node more still', () => {
  const full = collapseCostNs(cand({ facts: facts(), targetNode: 0 }), { freeHugeBlocks: [1e6], totalHugeBlocks: [1e6] });
  assert.ok(full >= 0.5e6 && full <= 1.5e6, `got ${full} ns`);
  const withNone = collapseCostNs(cand({ facts: facts({ present: 448, none: 64 }), targetNode: 0 }), machine);
  const withSwap = collapseCostNs(cand({ facts: facts({ present: 448, swapped: 64 }), targetNode: 0 }), machine);
  assert.ok(withSwap > 3 * withNone, 'swap-in is much dearer than zero-filling');
  assert.ok(collapseCostNs(cand({ facts: facts({ present: 0, none: 0 }) }), machine) >= COLLAPSE_FIXED_NS);
  assert.equal(benefitNsPerSec(cand({ facts: facts({ huge: true }) })), 0, 'a huge region has nothing to gain');
  // Without facts: the prior (fully present) on the home node.
  assert.equal(collapseCostNs(cand(), machine), collapseCostNs(cand({ facts: facts(), targetNode: 0 }), machine));
  assert.ok(collapseCostNs(cand({ process: proc({ homeNode: 1 }) }), machine) > collapseCostNs(cand(), machine));
});

// ---------------------------------------------------------------------------------------------------
// benefit-cost

test('benefit-cost prefers a hotter region, a fuller one, a larger hot set and a node with free huge blocks', () => {
  const bc = new BenefitCostScorer(1);
  const s = (c: Candidate): number => bc.score(c, ctx);
  const base = cand({ facts: facts({ present: 480, none: 32 }), targetNode: 0 });
  assert.ok(s({ ...base, accessRate: 40 }) > s({ ...base, accessRate: 5 }), 'hotter');
  assert.ok(s({ ...base, facts: facts({ present: 512, none: 0 }) }) > s({ ...base, facts: facts({ present: 448, none: 64 }) }), 'fuller');
  assert.ok(s({ ...base, process: proc({ hotBytes: 4 * GiB }) }) > s({ ...base, process: proc({ hotBytes: 64 * MiB }) }), 'larger hot set');
  assert.equal(s({ ...base, process: proc({ hotBytes: 4 * MiB }) }), 0, 'a hot set within TLB reach gains nothing');
  assert.ok(s({ ...base, targetNode: 0 }) > s({ ...base, targetNode: 1, facts: facts({ nodePages: [0, 480] }) }), 'node with free blocks');
  const v = s(base);
  assert.ok(v > 0.5 && v < 1, `a hot region of a 4 GiB hot set pays back within a minute: ${v}`);
});

// ---------------------------------------------------------------------------------------------------
// hawkeye

test('hawkeye serves the process with the higher MMU overhead first, and its hottest regions first', () => {
  const h = new HawkEyeScorer(1, undefined);
  const heavy = proc({ pid: 1, smallPageAccessesPerSec: 30e6 });
  const light = proc({ pid: 2, smallPageAccessesPerSec: 5e6 });
  h.beginCycle([light, heavy], 0);
  const region = { accessRate: 50, facts: facts() };
  const sHeavy = h.score(cand({ process: heavy, ...region }));
  const sLight = h.score(cand({ process: light, ...region }));
  assert.equal(sHeavy, 1, 'the most overloaded process, fully covered region');
  assert.ok(Math.abs(sLight - 5 / 30) < 1e-12, `overhead share 5/30, got ${sLight}`);
  assert.ok(h.score(cand({ process: heavy, accessRate: 50 })) > h.score(cand({ process: heavy, accessRate: 2 })), 'hotter region first');
  assert.ok(h.score(cand({ process: heavy, accessRate: 50, facts: facts() })) > h.score(cand({ process: heavy, accessRate: 50, facts: facts({ present: 200, none: 312 }) })), 'wider coverage first');
  assert.equal(h.score(cand({ process: heavy, accessRate: 0 })), 0);
});

test('hawkeye smooths each process’s overhead as ema = (1 − s) × ema + s × overhead, per cycle', () => {
  const s = 0.25;
  const [h] = createScorers([{ name: 'hawkeye', weight: 1, smoothing: s }]) as [HawkEyeScorer];
  const rates = [10e6, 40e6, 0, 25e6, 25e6];
  let expected: number | undefined;
  rates.forEach((r, cycle) => {
    const p = proc({ pid: 7, smallPageAccessesPerSec: r });
    h.beginCycle([p], cycle * 1000);
    const v = mmuOverheadCpus(p);
    expected = expected === undefined ? v : (1 - s) * expected + s * v;
    assert.equal(h.smoothedOverhead(7), expected, `cycle ${cycle}`);
  });
  assert.ok(mmuOverheadCpus(proc({ smallPageAccessesPerSec: 10e6 })) > 0.5, 'a 4 GiB random-access process spends most of a CPU walking');
  // A spike in one process does not at once overtake a steadily heavy one.
  const spiky = proc({ pid: 8, smallPageAccessesPerSec: 1e6 });
  h.beginCycle([proc({ pid: 7, smallPageAccessesPerSec: 25e6 }), spiky], 10_000);
  h.beginCycle([proc({ pid: 7, smallPageAccessesPerSec: 25e6 }), { ...spiky, smallPageAccessesPerSec: 40e6 }], 11_000);
  assert.ok(h.smoothedOverhead(8)! < h.smoothedOverhead(7)!);
  forgetScorersProcess([h], 7);
  assert.equal(h.smoothedOverhead(7), undefined);
  h.beginCycle([proc({ pid: 7, smallPageAccessesPerSec: 1e6 })], 12_000);
  assert.equal(h.smoothedOverhead(7), mmuOverheadCpus(proc({ smallPageAccessesPerSec: 1e6 })), 'a forgotten pid starts afresh');
});

test('hawkeye: default smoothing is the policy schema’s 30%', () => {
  const h = new HawkEyeScorer(1, undefined);
  const a = proc({ smallPageAccessesPerSec: 10e6 });
  const b = proc({ smallPageAccessesPerSec: 20e6 });
  h.beginCycle([a], 0);
  h.beginCycle([b], 1);
  assert.equal(h.smoothedOverhead(100), 0.7 * mmuOverheadCpus(a) + 0.3 * mmuOverheadCpus(b));
});

// ---------------------------------------------------------------------------------------------------
// ingens-fairness

test('ingens prefers the process holding fewer huge pages at equal need, and honours the class weight', () => {
  const g = new IngensFairnessScorer(1);
  const few = proc({ pid: 1, hugeBytes: 2 * 2 * MiB, hotBytes: 1 * GiB, hotHugeBytes: 0 });
  const many = proc({ pid: 2, hugeBytes: 200 * 2 * MiB, hotBytes: 1 * GiB + 200 * 2 * MiB, hotHugeBytes: 200 * 2 * MiB });
  g.beginCycle([few, many], 0);
  const sFew = g.score(cand({ process: few }));
  const sMany = g.score(cand({ process: many }));
  assert.equal(sFew, 1);
  assert.ok(Math.abs(sMany - 3 / 201) < 1e-12, `equal need (512 regions): (2 + 1) / (200 + 1) of the leader's, got ${sMany}`);

  const light = proc({ pid: 3, cls: rest });
  const heavy = proc({ pid: 4, cls: db });
  g.beginCycle([light, heavy], 1);
  assert.equal(g.score(cand({ process: heavy })), 1);
  assert.ok(Math.abs(g.score(cand({ process: light })) - 1 / 3) < 1e-12, 'class weight 3 against 1');
  assert.equal(g.score(cand({ process: proc({ pid: 5, hotHugeBytes: 4 * GiB }) })), 0, 'no unmet need');
});

// ---------------------------------------------------------------------------------------------------
// damos

const distinct = (xs: number[]): number[] => [...new Set(xs)];

test('damos with only frequencyWeight orders by access rate, with only ageWeight by age', () => {
  const byRate = new DamosScorer(1, { size: 0, frequency: 1, age: 0 });
  const byAge = new DamosScorer(1, { size: 0, frequency: 0, age: 1 });
  fc.assert(
    fc.property(
      // Rates to a thousandth of an access per second: distinct rates get distinct scores.
      fc.array(fc.integer({ min: 0, max: 1e8 }).map((m) => m / 1000), { minLength: 2, maxLength: 20 }).map(distinct),
      fc.array(fc.integer({ min: 0, max: 3_600_000 }), { minLength: 2, maxLength: 20 }).map(distinct),
      (rates, ages) => {
        const rc = rates.map((accessRate) => cand({ accessRate, ageMs: 1000 }));
        const sortedRates = [...rc].sort((a, b) => byRate.score(b) - byRate.score(a)).map((c) => c.accessRate);
        assert.deepEqual(sortedRates, [...rates].sort((a, b) => b - a));
        const ac = ages.map((ageMs) => cand({ accessRate: 5, ageMs }));
        const sortedAges = [...ac].sort((a, b) => byAge.score(b) - byAge.score(a)).map((c) => c.ageMs);
        assert.deepEqual(sortedAges, [...ages].sort((a, b) => b - a));
      },
    ),
  );
  // Any rates and ages, however close: never out of order (floating point may tie what it cannot tell apart).
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e300, noNaN: true }), fc.double({ min: 0, max: 1e300, noNaN: true }), (a, b) => {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      assert.ok(byRate.score(cand({ accessRate: lo })) <= byRate.score(cand({ accessRate: hi })));
      assert.ok(byAge.score(cand({ ageMs: lo })) <= byAge.score(cand({ ageMs: hi })));
    }),
  );
  // As damon_hot_score: age makes an accessed region hotter and an idle one colder.
  assert.ok(byAge.score(cand({ accessRate: 0, ageMs: 60_000 })) < byAge.score(cand({ accessRate: 0, ageMs: 1000 })));
  assert.equal(byAge.score(cand({ accessRate: 1, ageMs: 3_600_000 })), 1);
  assert.equal(new DamosScorer(1, { size: 0, frequency: 0, age: 0 }).score(cand()), 0, 'no weights: 0');
  const bySize = new DamosScorer(1, { size: 1, frequency: 0, age: 0 });
  assert.equal(bySize.score(cand({ facts: facts({ present: 128, none: 384 }) })), 0.25);
});

// ---------------------------------------------------------------------------------------------------
// The combination

test('createScorers builds exactly the configured scorers, in order, with their weights and options', () => {
  const scorers = createScorers(policy.scorers);
  assert.deepEqual(
    scorers.map((s) => [s.name, s.weight]),
    [['benefit-cost', 2], ['hawkeye', 1], ['ingens-fairness', 0.5], ['damos', 1]],
  );
  assert.ok(scorers[0] instanceof BenefitCostScorer && scorers[1] instanceof HawkEyeScorer && scorers[2] instanceof IngensFairnessScorer && scorers[3] instanceof DamosScorer);
  const defaults = parsePolicy('version: 1\nclasses:\n  - name: all\n    match: {}\n', 'p.yaml');
  assert.deepEqual(createScorers(defaults.scorers).map((s) => [s.name, s.weight]), [['benefit-cost', 1]]);
  // damos got sizeWeight 1, frequencyWeight 2, ageWeight 0: (1 × size + 2 × frequency) / 3.
  const damos: Scorer = scorers[3];
  const c = cand({ accessRate: 10, facts: facts({ present: 256, none: 256 }) });
  assert.ok(Math.abs(damos.score(c, ctx) - (0.5 + 2 * 0.5) / 3) < 1e-12);
});

test('scoreCandidate: components are scorer weight × value, and score = class weight × Σ components', () => {
  const scorers = createScorers(policy.scorers);
  const heavy = proc({ pid: 1, cls: db, smallPageAccessesPerSec: 30e6 });
  const light = proc({ pid: 2, smallPageAccessesPerSec: 10e6, hugeBytes: 100 * MiB });
  beginScorersCycle(scorers, [heavy, light], 0);
  for (const c of [cand({ process: heavy, facts: facts() }), cand({ process: light, accessRate: 3 })]) {
    const { score, components } = scoreCandidate(c, scorers, ctx);
    for (const s of scorers) assert.equal(components[s.name], s.weight * s.score(c, ctx));
    const sum = components['benefit-cost'] + components.hawkeye + components['ingens-fairness'] + components.damos;
    assert.ok(Math.abs(score / c.process.cls.weight - sum) < 1e-12);
  }
  // A name configured twice adds both parts under that name.
  const twice = createScorers([{ name: 'damos', weight: 1 }, { name: 'damos', weight: 2 }]);
  const c = cand();
  const { score, components } = scoreCandidate(c, twice, ctx);
  assert.ok(Math.abs(components.damos - 3 * twice[0].score(c, ctx)) < 1e-12);
  assert.equal(score, rest.weight * components.damos);
});
