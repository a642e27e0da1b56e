/**
 * Writes a comparison to a directory: report.json (the contract's shape, report-schema.ts), report.md,
 * and per scenario the two plots (hot-memory THP coverage and MMU overhead over time, one line per arm).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotFiles, renderReportMd } from './report-md.js';
import type { CompareReport, ScenarioReport } from './report-schema.js';
import { renderLinePlot } from './svg-plot.js';

/** The coverage plot of a scenario. */
export function coveragePlot(s: ScenarioReport): string {
  return renderLinePlot({
    title: `${s.name}: hot memory mapped by THPs`,
    xLabel: 'simulated time (min)',
    yLabel: 'THP coverage of hot memory (%)',
    yMin: 0,
    yMax: 100,
    series: s.arms.map((a) => ({ name: a.name, points: a.series.map((p) => [p.tMs / 60_000, 100 * p.hotThpCoverage] as const) })),
  });
}

/** The MMU overhead plot of a scenario. */
export function overheadPlot(s: ScenarioReport): string {
  return renderLinePlot({
    title: `${s.name}: MMU overhead (page walks)`,
    xLabel: 'simulated time (min)',
    yLabel: 'share of modelled cycles (%)',
    series: s.arms.map((a) => ({ name: a.name, points: a.series.map((p) => [p.tMs / 60_000, p.mmuOverheadPct] as const) })),
  });
}

/** Writes the report's files into `dir` (created if needed); returns the paths written. */
export function writeReport(dir: string, report: CompareReport): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, text: string): void => {
    const path = join(dir, name);
    writeFileSync(path, text);
    written.push(path);
  };
  put('report.json', `${JSON.stringify(report, null, 2)}\n`);
  put('report.md', renderReportMd(report));
  for (const s of report.scenarios) {
    const files = plotFiles(s);
    put(files.coverage, coveragePlot(s));
    put(files.overhead, overheadPlot(s));
  }
  return written;
}
