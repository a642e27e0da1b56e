/**
 * The generated explanation under each scenario's table: the largest differences between the arms, in
 * words, from the numbers alone. Each finding is a spread between the best and the worst arm on one
 * figure; findings are ranked by how large the spread is relative to its scale (percentage points of
 * coverage, relative throughput, CPU and stall time over the run's length, ...) and the largest few are
 * told, each with the arms and the figures behind it. Pure: the same report gives the same words.
 */
import { formatBytes } from '../../daemon/config/units.js';
import type { ArmReport, ScenarioReport } from './report-schema.js';

/** One difference worth telling. */
interface Finding {
  /** Size on a common scale (roughly: 1 = a large difference). */
  weight: number;
  text: string;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

/** The arms with the largest and the smallest value of `f` (first in arm order on ties). */
function extremes(arms: readonly ArmReport[], f: (a: ArmReport) => number): { hi: ArmReport; lo: ArmReport } {
  let hi = arms[0];
  let lo = arms[0];
  for (const a of arms) {
    if (f(a) > f(hi)) hi = a;
    if (f(a) < f(lo)) lo = a;
  }
  return { hi, lo };
}

/** Up to `max` sentences on the largest differences between the arms of `s`. */
export function explainScenario(s: ScenarioReport, max = 4): string[] {
  const arms = s.arms;
  if (arms.length < 2) return arms.length === 1 ? [`Only one arm ran (${arms[0].name}); there is nothing to compare it with but the no-THP reference.`] : [];
  const findings: Finding[] = [];
  const minutes = Math.max(1, s.durationMs / 60_000);

  const cov = extremes(arms, (a) => a.metrics.hotThpCoverage);
  const dCov = cov.hi.metrics.hotThpCoverage - cov.lo.metrics.hotThpCoverage;
  if (dCov > 0.005) {
    findings.push({
      weight: dCov * 4,
      text: `${cov.hi.name} mapped ${pct(cov.hi.metrics.hotThpCoverage)} of the hot memory with THPs on average (${pct(cov.hi.metrics.hotThpCoverageEnd)} at the end), ${cov.lo.name} ${pct(cov.lo.metrics.hotThpCoverage)}; page walks took ${cov.hi.metrics.mmuOverheadPct.toFixed(1)}% of the modelled cycles against ${cov.lo.metrics.mmuOverheadPct.toFixed(1)}% (${s.reference.mmuOverheadPct.toFixed(1)}% with no THPs).`,
    });
  }
  const thr = extremes(arms, (a) => a.metrics.throughputRel);
  const dThr = thr.hi.metrics.throughputRel - thr.lo.metrics.throughputRel;
  if (dThr > 0.001) {
    findings.push({ weight: dThr * 10, text: `Throughput relative to no THPs ranged from ${thr.lo.metrics.throughputRel.toFixed(3)}x (${thr.lo.name}) to ${thr.hi.metrics.throughputRel.toFixed(3)}x (${thr.hi.name}).` });
  }
  // The workload whose throughput depends most on the arm.
  let best: { w: string; d: number; hi: ArmReport; lo: ArmReport } | undefined;
  for (const w of Object.keys(arms[0].metrics.throughputRelByWorkload)) {
    const e = extremes(arms, (a) => a.metrics.throughputRelByWorkload[w] ?? 1);
    const d = (e.hi.metrics.throughputRelByWorkload[w] ?? 1) - (e.lo.metrics.throughputRelByWorkload[w] ?? 1);
    if (best === undefined || d > best.d) best = { w, d, ...e };
  }
  if (best && best.d > 0.005) {
    findings.push({ weight: best.d * 5, text: `The workload that depends most on the arm is ${best.w}: ${(best.hi.metrics.throughputRelByWorkload[best.w] ?? 1).toFixed(3)}x with ${best.hi.name}, ${(best.lo.metrics.throughputRelByWorkload[best.w] ?? 1).toFixed(3)}x with ${best.lo.name}.` });
  }
  const cpu = (a: ArmReport): number => a.metrics.collapseCpuMs + a.metrics.scanCpuMs;
  const c = extremes(arms, cpu);
  if (cpu(c.hi) - cpu(c.lo) > 100) {
    findings.push({ weight: (cpu(c.hi) - cpu(c.lo)) / (minutes * 600), text: `${c.hi.name} spent the most CPU on scanning and collapsing: ${ms(cpu(c.hi))} (${ms(c.hi.metrics.scanCpuMs)} scanning, ${ms(c.hi.metrics.collapseCpuMs)} collapsing) against ${ms(cpu(c.lo))} for ${c.lo.name}.` });
  }
  const st = extremes(arms, (a) => a.metrics.compactStallMs);
  if (st.hi.metrics.compactStallMs - st.lo.metrics.compactStallMs > 10) {
    findings.push({ weight: (st.hi.metrics.compactStallMs - st.lo.metrics.compactStallMs) / (minutes * 300), text: `Processes stalled ${ms(st.hi.metrics.compactStallMs)} in direct compaction under ${st.hi.name}, ${ms(st.lo.metrics.compactStallMs)} under ${st.lo.name}.` });
  }
  const sw = extremes(arms, (a) => a.metrics.thpSwapOutPages);
  if (sw.hi.metrics.thpSwapOutPages > 0) {
    findings.push({ weight: Math.min(2, sw.hi.metrics.thpSwapOutPages / (minutes * 2560)), text: `${sw.hi.name} swapped out ${sw.hi.metrics.thpSwapOutPages} pages (${formatBytes(sw.hi.metrics.thpSwapOutPages * 4096)}) more than the no-THP run; ${sw.lo.name} ${sw.lo.metrics.thpSwapOutPages}.` });
  }
  const bl = extremes(arms, (a) => a.metrics.thpBloatBytes);
  if (bl.hi.metrics.thpBloatBytes - bl.lo.metrics.thpBloatBytes >= 2 << 20) {
    findings.push({ weight: 0.2 + Math.min(1, (bl.hi.metrics.thpBloatBytes - bl.lo.metrics.thpBloatBytes) / 2 ** 30), text: `${bl.hi.name} held ${formatBytes(Math.round(bl.hi.metrics.thpBloatBytes / 4096) * 4096)} of THPs without a hot page on average (bloat), ${bl.lo.name} ${formatBytes(Math.round(bl.lo.metrics.thpBloatBytes / 4096) * 4096)}.` });
  }
  const rm = extremes(arms, (a) => a.metrics.remoteThpFraction);
  if (rm.hi.metrics.remoteThpFraction - rm.lo.metrics.remoteThpFraction > 0.02) {
    findings.push({ weight: (rm.hi.metrics.remoteThpFraction - rm.lo.metrics.remoteThpFraction) * 2, text: `${pct(rm.hi.metrics.remoteThpFraction)} of ${rm.hi.name}'s hot THP memory was on a remote node, against ${pct(rm.lo.metrics.remoteThpFraction)} for ${rm.lo.name}.` });
  }
  if (findings.length === 0) return ['The arms did not differ measurably on this scenario.'];
  // Stable sort: equal weights keep the order above.
  return findings.sort((a, b) => b.weight - a.weight).slice(0, max).map((f) => f.text);
}
