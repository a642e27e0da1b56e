// The goals of compare's report, judged on hand-made figures: each goal met and missed, the margin of a
// miss, and a goal not judged when the arm it compares with did not run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeGoals } from '../../../sim/compare/goals.js';
import type { ArmKind, ArmMetrics, ArmReport, ScenarioReport } from '../../../sim/compare/report-schema.js';

const GiB = 2 ** 30;

function arm(name: string, kind: ArmKind, m: Partial<ArmMetrics>): ArmReport {
  const zero = { ok: 0, EAGAIN: 0, ENOMEM: 0, EBUSY: 0, EINVAL: 0 };
  const metrics: ArmMetrics = {
    hotThpCoverage: 0, mmuOverheadPct: 10, mmuOverheadReductionPct: 0, throughputRel: 1, collapseCpuMs: 0, scanCpuMs: 0,
    compactStallMs: 0, thpSwapOutPages: 0, remoteThpFraction: 0, faultLatencyP99Us: null, collapses: zero,
    hotThpCoverageEnd: 0, throughputRelByWorkload: {}, remoteThpFractionByWorkload: {}, faultLatencyP50Us: null,
    cpuMs: { khugepaged: 0, daemonObserve: 0, daemonAct: 0, kcompactd: 0 }, swapOutPages: 0, thpBloatBytes: 0,
    thpBloatBytesEnd: 0, collapsesBy: { khugepaged: zero, daemon: zero }, thpFaultAlloc: 0, thpFaultFallback: 0, oomKills: 0,
    ...m,
  };
  return { name, kind, metrics, series: [] };
}

function scenario(arms: ArmReport[], nodes = 2): ScenarioReport {
  return {
    name: 's', durationMs: 60_000, seed: 1, arms,
    reference: { name: 'no-thp', mmuOverheadPct: 20, speedVs4k: 1, speedVs4kByWorkload: {}, swapOutPages: 0 },
    machine: { memoryBytes: 4 * GiB, nodes, workloadsFittingNode: ['fit'] },
  };
}

const goal = (s: ScenarioReport, g: string) => judgeGoals(s).find((v) => v.goal === g);

test('every goal met', () => {
  const s = scenario([
    arm('kernel-default', 'kernel', { hotThpCoverage: 0.1, throughputRel: 1.01, mmuOverheadReductionPct: 2 }),
    arm('kernel-aggressive', 'kernel', { hotThpCoverage: 0.5, throughputRel: 1.2, mmuOverheadReductionPct: 30, scanCpuMs: 9000 }),
    arm('uhugepaged', 'uhugepaged', { hotThpCoverage: 0.95, throughputRel: 1.5, mmuOverheadReductionPct: 60, collapseCpuMs: 300, scanCpuMs: 300, thpSwapOutPages: 100, remoteThpFractionByWorkload: { fit: 0, big: 0.4 } }),
    arm('oracle', 'oracle', { mmuOverheadReductionPct: 64 }),
  ]);
  const verdicts = judgeGoals(s);
  assert.deepEqual(verdicts.map((v) => [v.goal, v.met]), [
    ['oracle-share', true], ['kernel-default', true], ['cpu-per-reduction', true], ['no-swap-storm', true], ['local-thp', true],
  ]);
  assert.match(goal(s, 'oracle-share')!.detail, /^93\.8% of the oracle's/);
  assert.match(goal(s, 'cpu-per-reduction')!.detail, /10\.0 ms .* against kernel-aggressive's 300\.0 ms/);
});

test('missed goals say by how much', () => {
  const s = scenario([
    arm('kernel-default', 'kernel', { hotThpCoverage: 0.2, throughputRel: 1.1 }),
    arm('kernel-aggressive', 'kernel', { mmuOverheadReductionPct: 10, scanCpuMs: 100, throughputRel: 1.05 }),
    arm('uhugepaged', 'uhugepaged', { throughputRel: 1.1, mmuOverheadReductionPct: 40, scanCpuMs: 800, thpSwapOutPages: 20_000, remoteThpFractionByWorkload: { fit: 0.3 } }),
    arm('oracle', 'oracle', { mmuOverheadReductionPct: 50 }),
  ]);
  assert.equal(goal(s, 'oracle-share')!.met, false);
  assert.match(goal(s, 'oracle-share')!.detail, /10\.0 points short of 90\.0%/);
  assert.equal(goal(s, 'kernel-default')!.met, false, 'equal throughput is not enough where kernel-default leaves hot memory without THPs');
  assert.equal(goal(s, 'cpu-per-reduction')!.met, false);
  assert.equal(goal(s, 'no-swap-storm')!.met, false, '20 000 pages is over 1% of 4 GiB (10 486)');
  assert.equal(goal(s, 'local-thp')!.met, false);
  assert.match(goal(s, 'local-thp')!.detail, /fit 30\.0%/);
});

test('a goal is not judged without the arm it compares with, nor local-thp on one node', () => {
  const s = scenario([arm('uhugepaged', 'uhugepaged', { mmuOverheadReductionPct: 40 })], 1);
  assert.deepEqual(judgeGoals(s).map((v) => v.goal), ['no-swap-storm']);
  const full = scenario([arm('kernel-default', 'kernel', { hotThpCoverage: 1, throughputRel: 1.3 }), arm('uhugepaged', 'uhugepaged', { throughputRel: 1.3 })]);
  const storm = scenario([arm('kernel-aggressive', 'kernel', { mmuOverheadReductionPct: 60, throughputRel: 0.5, thpSwapOutPages: 1e6 }), arm('uhugepaged', 'uhugepaged', { mmuOverheadReductionPct: 5, scanCpuMs: 1000 })]);
  assert.equal(goal(storm, 'cpu-per-reduction'), undefined, 'a "reduction" that came with a swap storm and a slowdown is not one to match');
  assert.equal(goal(full, 'kernel-default')!.met, true, 'equal is enough where kernel-default covers all hot memory');
});
