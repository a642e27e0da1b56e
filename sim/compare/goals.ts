/**
 * The goals uhugepaged is judged by (issue "Evaluation"), checked for each uhugepaged arm of a scenario
 * against the other arms of the same run. Each verdict says met or missed and by how much, from the
 * report's own figures, so report.md can state it and report.json keeps it:
 *
 *   oracle-share      reaches ≥ 90% of the oracle's MMU-overhead reduction;
 *   kernel-default    never slower than kernel-default, and strictly faster wherever kernel-default
 *                     leaves hot memory without THPs (coverage below 99%);
 *   cpu-per-reduction where kernel-aggressive achieves a reduction (at least one point, and it is faster
 *                     than no THPs: a swap storm also "reduces" page walks, of the pages it swapped out),
 *                     spends less collapse + scan CPU per point of reduction than it does;
 *   no-swap-storm     THP-caused swap-outs (beyond the no-THP run) stay under 1% of the machine's memory;
 *   local-thp         workloads that fit their home node get no remote huge pages (under 1% of their hot
 *                     THP memory remote), on machines with more than one node.
 *
 * A goal whose comparison arm did not run is not judged (absent), never guessed. Pure: the same report
 * gives the same verdicts.
 */
import type { ArmReport, ScenarioReport } from './report-schema.js';

/** One goal for one uhugepaged arm. */
export interface GoalVerdict {
  /** The uhugepaged arm judged. */
  arm: string;
  goal: 'oracle-share' | 'kernel-default' | 'cpu-per-reduction' | 'no-swap-storm' | 'local-thp';
  met: boolean;
  /** What was measured, and by how much a missed goal was missed. */
  detail: string;
}

/** Share of the oracle's reduction an arm must reach. */
export const ORACLE_SHARE_GOAL = 0.9;
/** Hot-memory coverage below which kernel-default "leaves hot memory without THPs". */
const FULL_COVERAGE = 0.99;
/** Relative throughput within which two arms count as equal (rounding of the modelled cycles). */
const SAME_THROUGHPUT = 0.001;
/** Points of MMU-overhead reduction below which kernel-aggressive "achieves" none. */
const MIN_REDUCTION = 1;
/** Swap-outs beyond the no-THP run that make a storm: this share of the machine's memory. */
const STORM_SHARE = 0.01;
/** Remote share of a node-fitting workload's hot THP memory that counts as none. */
const NO_REMOTE = 0.01;
const PAGE = 4096;

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Collapse and scan CPU per percentage point of MMU-overhead reduction, ms (Infinity with no reduction). */
export function cpuPerReduction(a: ArmReport): number {
  const cpu = a.metrics.collapseCpuMs + a.metrics.scanCpuMs;
  return a.metrics.mmuOverheadReductionPct > 0 ? cpu / a.metrics.mmuOverheadReductionPct : Infinity;
}

/** The verdicts for every uhugepaged arm of `s`, in arm order. */
export function judgeGoals(s: ScenarioReport): GoalVerdict[] {
  const byName = new Map(s.arms.map((a) => [a.name, a]));
  const oracle = s.arms.find((a) => a.kind === 'oracle');
  const kd = byName.get('kernel-default');
  const ka = byName.get('kernel-aggressive');
  const out: GoalVerdict[] = [];
  for (const u of s.arms.filter((a) => a.kind === 'uhugepaged')) {
    const m = u.metrics;
    if (oracle && oracle.metrics.mmuOverheadReductionPct > 0) {
      const share = m.mmuOverheadReductionPct / oracle.metrics.mmuOverheadReductionPct;
      const met = share >= ORACLE_SHARE_GOAL;
      out.push({
        arm: u.name,
        goal: 'oracle-share',
        met,
        detail: `${pct(share)} of the oracle's MMU-overhead reduction (${m.mmuOverheadReductionPct.toFixed(1)}% against ${oracle.metrics.mmuOverheadReductionPct.toFixed(1)}%)${met ? '' : `: ${(100 * (ORACLE_SHARE_GOAL - share)).toFixed(1)} points short of ${pct(ORACLE_SHARE_GOAL)}`}${m.thpSwapOutPages > 0 || m.oomKills > 0 ? '; this arm swapped or lost processes, so the oracle does not bound its overhead share (docs/oracle.md)' : ''}`,
      });
    }
    if (kd) {
      const d = m.throughputRel - kd.metrics.throughputRel;
      const leavesHot = kd.metrics.hotThpCoverage < FULL_COVERAGE;
      const met = leavesHot ? d > SAME_THROUGHPUT : d >= -SAME_THROUGHPUT;
      out.push({
        arm: u.name,
        goal: 'kernel-default',
        met,
        detail: `throughput ${m.throughputRel.toFixed(3)}x against kernel-default's ${kd.metrics.throughputRel.toFixed(3)}x${leavesHot ? ` (which leaves ${pct(1 - kd.metrics.hotThpCoverage)} of the hot memory without THPs, so strictly better is asked)` : ''}`,
      });
    }
    if (ka && ka.metrics.mmuOverheadReductionPct >= MIN_REDUCTION && ka.metrics.throughputRel > 1) {
      const mine = cpuPerReduction(u);
      const theirs = cpuPerReduction(ka);
      out.push({
        arm: u.name,
        goal: 'cpu-per-reduction',
        met: mine < theirs,
        detail: `${mine.toFixed(1)} ms of collapse + scan CPU per point of reduction against kernel-aggressive's ${theirs.toFixed(1)} ms (${(m.collapseCpuMs + m.scanCpuMs).toFixed(0)} ms for ${m.mmuOverheadReductionPct.toFixed(1)} points; ${(ka.metrics.collapseCpuMs + ka.metrics.scanCpuMs).toFixed(0)} ms for ${ka.metrics.mmuOverheadReductionPct.toFixed(1)})`,
      });
    }
    if (s.machine) {
      const limit = (STORM_SHARE * s.machine.memoryBytes) / PAGE;
      const met = m.thpSwapOutPages <= limit;
      out.push({
        arm: u.name,
        goal: 'no-swap-storm',
        met,
        detail: `${m.thpSwapOutPages} pages swapped out beyond the no-THP run (a storm is over ${Math.round(limit)}, 1% of memory)`,
      });
      if (s.machine.nodes > 1 && s.machine.workloadsFittingNode.length > 0) {
        const remote = s.machine.workloadsFittingNode.map((w) => [w, m.remoteThpFractionByWorkload?.[w] ?? 0] as const);
        const worst = remote.reduce((a, b) => (b[1] > a[1] ? b : a));
        out.push({
          arm: u.name,
          goal: 'local-thp',
          met: worst[1] < NO_REMOTE,
          detail: `remote share of the hot THP memory of the workloads that fit their node: ${remote.map(([w, r]) => `${w} ${pct(r)}`).join(', ')}`,
        });
      }
    }
  }
  return out;
}
