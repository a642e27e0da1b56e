// `uhugepaged compare`'s engine on a tiny scenario (test/sim/compare/tiny.ts), checked by hand: what each
// arm's figures must be from the scenario's arithmetic and the kernel's counters; report.json against
// its schema; the same report for the same seed, and for --jobs 1 and 2; the plots well-formed, with one
// line per arm; the explanation and report.md from the numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shippedPolicyFile } from '../../../daemon/config/policy-store.js';
import { ArmError, builtInArmNames, parseArms } from '../../../sim/compare/arms.js';
import { compare } from '../../../sim/compare/compare.js';
import type { ArmReport, CompareReport } from '../../../sim/compare/report-schema.js';
import { renderReportMd } from '../../../sim/compare/report-md.js';
import { coveragePlot, overheadPlot } from '../../../sim/compare/write-report.js';
import { CompareReportSchema } from './report-check.js';
import { MiB, tinyScenario } from './tiny.js';
import { xmlElements } from './xml-check.js';

const ARMS = 'kernel-default,kernel-aggressive,thp-always,uhugepaged';
const arms = parseArms(ARMS, shippedPolicyFile, (f) => f);

let first: Promise<CompareReport> | undefined;
/** The tiny scenario under every arm, jobs 1 (run once, shared by the tests). */
const report = (): Promise<CompareReport> => (first ??= compare([tinyScenario()], { arms, jobs: 1 }));

const arm = (r: CompareReport, name: string): ArmReport => {
  const a = r.scenarios[0].arms.find((x) => x.name === name);
  assert.ok(a, `no arm ${name}`);
  return a;
};

test('compare: the figures of each arm, checked by hand on the tiny scenario', async () => {
  const r = await report();
  const s = r.scenarios[0];
  assert.equal(s.name, 'tiny');
  assert.equal(s.durationMs, 120_000);
  assert.equal(s.seed, 7);
  assert.deepEqual(s.arms.map((a) => [a.name, a.kind]), [['kernel-default', 'kernel'], ['kernel-aggressive', 'kernel'], ['thp-always', 'kernel'], ['uhugepaged', 'uhugepaged']]);
  // 32 MiB of hot memory on 4 KiB pages: the no-THP run pays page walks.
  assert.ok(s.reference.mmuOverheadPct > 1, `reference overhead ${s.reference.mmuOverheadPct}`);

  // madvise without MADV_HUGEPAGE: no THP from faults or khugepaged, whatever khugepaged's tuning. The
  // run is the no-THP run, so the relative figures are exactly neutral.
  for (const name of ['kernel-default', 'kernel-aggressive']) {
    const m = arm(r, name).metrics;
    assert.equal(m.hotThpCoverage, 0, name);
    assert.equal(m.thpFaultAlloc, 0, name);
    assert.equal(m.mmuOverheadPct, s.reference.mmuOverheadPct, name);
    assert.equal(m.mmuOverheadReductionPct, 0, name);
    assert.equal(m.throughputRel, 1, name);
    assert.deepEqual(m.collapses, { ok: 0, EAGAIN: 0, ENOMEM: 0, EBUSY: 0, EINVAL: 0 }, name);
    assert.equal(m.thpBloatBytes, 0, name);
    assert.equal(m.collapseCpuMs, 0, name);
  }

  // enabled=always: the 64 MiB heap is written at start, 32 THP faults; every hot page is on a THP and
  // the 16 THPs of the cold half are bloat (32 MiB) at every sample; no page walk cost is left.
  const always = arm(r, 'thp-always').metrics;
  assert.equal(always.thpFaultAlloc, 64 / 2);
  assert.equal(always.thpFaultFallback, 0);
  assert.equal(always.hotThpCoverage, 1);
  assert.equal(always.hotThpCoverageEnd, 1);
  assert.equal(always.thpBloatBytes, 32 * MiB);
  assert.equal(always.thpBloatBytesEnd, 32 * MiB);
  assert.equal(always.collapses.ok, 0);
  assert.equal(always.mmuOverheadPct, 0);
  assert.equal(always.mmuOverheadReductionPct, 100);
  assert.ok(always.throughputRel > 1.05, `throughput ${always.throughputRel}`);
  assert.equal(always.throughputRelByWorkload.db, always.throughputRel);

  // uhugepaged: collapses exactly the 16 hot regions (MADV_COLLAPSE on a process named postgres, the
  // shipped policy's databases class) and nothing cold: no bloat; it pays for the collapses itself.
  const daemon = arm(r, 'uhugepaged').metrics;
  assert.equal(daemon.collapses.ok, 16);
  assert.equal(daemon.collapsesBy.daemon.ok, 16);
  assert.equal(daemon.collapsesBy.khugepaged.ok, 0);
  assert.equal(daemon.hotThpCoverageEnd, 1);
  assert.equal(daemon.thpBloatBytes, 0);
  assert.ok(daemon.collapseCpuMs > 0 && daemon.collapseCpuMs === daemon.cpuMs.daemonAct);
  assert.equal(daemon.scanCpuMs, daemon.cpuMs.khugepaged + daemon.cpuMs.daemonObserve);
  // The reduction is the contract's formula over the two runs' overheads.
  assert.ok(Math.abs(daemon.mmuOverheadReductionPct - (100 * (s.reference.mmuOverheadPct - daemon.mmuOverheadPct)) / s.reference.mmuOverheadPct) < 1e-9);
  assert.ok(daemon.mmuOverheadReductionPct > 50 && daemon.mmuOverheadReductionPct <= 100);

  for (const a of s.arms) {
    assert.equal(a.metrics.thpSwapOutPages, 0, a.name);
    assert.equal(a.metrics.compactStallMs, 0, a.name);
    // Every fault of the process is a 4 KiB one (1.5 µs), or with thp-always a THP fault (0.18 ms):
    // both percentiles are that cost, within the histogram's 2.2%.
    const cost = a.name === 'thp-always' ? 180 : 1.5;
    for (const q of [a.metrics.faultLatencyP50Us, a.metrics.faultLatencyP99Us]) assert.ok(q !== null && Math.abs(q / cost - 1) < 0.025, `${a.name}: ${q} µs`);
    assert.deepEqual(a.series.map((p) => p.tMs), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120].map((x) => x * 1000), a.name);
  }
});

test('compare: report.json matches the schema of report-schema.ts', async () => {
  const r = JSON.parse(JSON.stringify(await report())) as unknown;
  const parsed = CompareReportSchema.safeParse(r);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 5)));
});

test('compare: the same seed gives the same report; --jobs 2 gives the same report as --jobs 1', async () => {
  const once = JSON.stringify(await report());
  const again = JSON.stringify(await compare([tinyScenario()], { arms, jobs: 1 }));
  assert.equal(again, once);
  const progress: number[] = [];
  const parallel = JSON.stringify(await compare([tinyScenario()], { arms, jobs: 2, onProgress: (d, t) => progress.push(d / t) }));
  assert.equal(parallel, once);
  assert.equal(progress.at(-1), 1);
  // Another seed is another run.
  const other = await compare([tinyScenario()], { arms: arms.slice(0, 1), seed: 8, jobs: 1 });
  assert.equal(other.scenarios[0].seed, 8);
});

test('compare: the plots are well-formed SVG with one line per arm', async () => {
  const s = (await report()).scenarios[0];
  for (const svg of [coveragePlot(s), overheadPlot(s)]) {
    const els = xmlElements(svg);
    assert.equal(els[0].name, 'svg');
    assert.equal(els[0].attrs.xmlns, 'http://www.w3.org/2000/svg');
    const lines = els.filter((e) => e.name === 'polyline');
    assert.deepEqual(lines.map((l) => l.attrs['data-series']), s.arms.map((a) => a.name));
    for (const l of lines) assert.equal(l.attrs.points.trim().split(/\s+/).length, s.arms[0].series.length);
    // The legend names every arm.
    for (const a of s.arms) assert.ok(els.some((e) => e.name === 'text' && e.text === a.name), `legend lacks ${a.name}`);
  }
});

test('compare: report.md has a table with the arms side by side, the plots and the explanation', async () => {
  const md = renderReportMd(await report());
  assert.match(md, /^\| {2}\| kernel-default \| kernel-aggressive \| thp-always \| uhugepaged \|$/m);
  assert.match(md, /^\| hot memory THP coverage \(avg\) \| 0\.0% \| 0\.0% \| 100\.0% \| 100\.0% \|$/m);
  assert.match(md, /^\| THP bloat \(avg\) \| 0 B \| 0 B \| 32 MiB \| 0 B \|$/m);
  assert.match(md, /^\| fault latency p50 \/ p99 \| 1\.51 µs \/ 1\.51 µs \| 1\.51 µs \/ 1\.51 µs \| 177 µs \/ 177 µs \| 1\.51 µs \/ 1\.51 µs \|$/m);
  assert.match(md, /!\[hot memory THP coverage over time\]\(tiny-coverage\.svg\)/);
  assert.match(md, /!\[MMU overhead over time\]\(tiny-mmu-overhead\.svg\)/);
  assert.match(md, /^- thp-always held 32 MiB of THPs without a hot page on average \(bloat\), kernel-default 0 B\.$/m);
  assert.match(md, /^- thp-always mapped 100\.0% of the hot memory with THPs on average/m);
  assert.match(md, /Fault latency p50\/p99 is over the page faults of the workload processes/);
  assert.match(md, /^- uhugepaged, no THP-caused swap storm: met — 0 pages swapped out/m);
});

test('arms: names, the uhugepaged policy, the oracle', () => {
  assert.deepEqual(builtInArmNames(), ['kernel-default', 'kernel-aggressive', 'thp-always', 'uhugepaged', 'oracle']);
  const [a, b] = parseArms('uhugepaged, uhugepaged:my.yaml', '/shipped.yaml', (f) => `/abs/${f}`);
  assert.deepEqual([a.policyFile, b.policyFile, b.kind], ['/shipped.yaml', '/abs/my.yaml', 'uhugepaged']);
  assert.throws(() => parseArms('uhugepaged:', '/s.yaml'), (e: unknown) => e instanceof ArmError);
  assert.equal(parseArms('oracle', '/s.yaml')[0].kind, 'oracle');
  assert.throws(() => parseArms('kernel-default,kernel-default', '/s.yaml'), /listed twice/);
  assert.throws(() => parseArms('thp-never', '/s.yaml'), /unknown arm "thp-never"; expected one of kernel-default/);
  const aggressive = parseArms('kernel-aggressive', '/s.yaml')[0].knobs;
  assert.equal(aggressive['/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan'], '65536');
  assert.equal(aggressive['/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs'], '1000');
  assert.equal(aggressive['/sys/kernel/mm/transparent_hugepage/defrag'], 'always');
});

test('the XML checker itself rejects what is not well-formed', () => {
  assert.doesNotThrow(() => xmlElements('<svg a="1"><g><text>x &amp; y</text></g><line/></svg>'));
  for (const bad of ['<svg><g></svg>', '<svg></svg><svg></svg>', '<svg a=1></svg>', '<svg a="1" a="2"></svg>', '<svg><text>a & b</text></svg>', '<svg>', 'x<svg></svg>']) {
    assert.throws(() => xmlElements(bad), Error, bad);
  }
});

test('compare: the oracle arm runs beside the others, and no arm beats its overhead reduction or throughput', async () => {
  const withOracle = await compare([tinyScenario()], { arms: parseArms(`${ARMS},oracle`, shippedPolicyFile), jobs: 1 });
  const oracle = arm(withOracle, 'oracle');
  assert.equal(oracle.kind, 'oracle');
  assert.equal(oracle.metrics.collapseCpuMs, 0);
  assert.ok(oracle.series !== undefined && oracle.series.length > 0);
  for (const a of withOracle.scenarios[0].arms) {
    if (a.name === 'oracle') continue;
    assert.ok(oracle.metrics.mmuOverheadReductionPct >= a.metrics.mmuOverheadReductionPct - 1e-9, `${a.name}: ${a.metrics.mmuOverheadReductionPct}% > oracle ${oracle.metrics.mmuOverheadReductionPct}%`);
    assert.ok(oracle.metrics.throughputRel >= a.metrics.throughputRel - 1e-9, `${a.name}: ${a.metrics.throughputRel} > oracle ${oracle.metrics.throughputRel}`);
  }
});
