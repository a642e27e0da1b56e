/**
 * The lines of a run's summary that say what the daemon did — the same on either kernel, so that a
 * simulated run and one on a real host read alike. The callers add what only they know (the scenario's
 * metrics and baseline in simulation; the host's huge-page figures on Linux).
 */
import { formatBytes } from '../config/units.js';
import type { DaemonTotals } from './collapse-daemon.js';

/** What the daemon did over a run, with the CPU its process used and how it ran. */
export interface DaemonRunTotals extends DaemonTotals {
  readonly cpuMs: number;
  readonly policyFile: string;
  readonly dryRun: boolean;
}

/** Its actions and failures, and its CPU; `cpuLabel` says whose CPU time it is ('simulated' or 'measured'). */
export function formatDaemonTotals(d: DaemonTotals, cpuLabel: string): string[] {
  const failed = Object.entries(d.failed).map(([errno, n]) => `${n} ${errno}`);
  return [
    `uhugepaged: ${d.cycles} cycles; ${d.collapsed} regions collapsed (${formatBytes(d.collapsedBytes)})${d.migrated > 0 ? `, ${d.migrated} migrated first` : ''}${d.dryRunDecisions > 0 ? `, ${d.dryRunDecisions} dry-run decisions` : ''}; failed: ${failed.length > 0 ? failed.join(', ') : 'none'}`,
    `uhugepaged CPU (${cpuLabel}): ${Math.round(d.observeCpuMs)} ms observing and deciding, ${Math.round(d.actCpuMs)} ms acting; its own logic took ${(d.decideWallMs / Math.max(1, d.cycles)).toFixed(2)} ms of wall time per cycle`,
  ];
}
