/**
 * The daemon's Prometheus metrics (prom-client, in a registry of its own rather than the process-wide
 * default, so that several daemons in one process — tests, compare arms — do not mix): what was
 * collapsed, with what outcome, for which class; the THP coverage of hot memory it sees per class; how
 * much of its budgets it uses; what observing and deciding cost; and which guards hold it back.
 */
import { injectable } from 'inversify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

@injectable()
export class DaemonMetrics {
  readonly registry = new Registry();

  /** Collapse calls by class, outcome (ok, partial, failed) and errno ('' when none). */
  readonly collapses = new Counter({ name: 'uhugepaged_collapses_total', help: 'process_madvise(MADV_COLLAPSE) calls by class, outcome and errno.', labelNames: ['class', 'outcome', 'errno'] as const, registers: [this.registry] });
  /** Bytes the calls reported collapsed, by class. */
  readonly bytesCollapsed = new Counter({ name: 'uhugepaged_collapsed_bytes_total', help: 'Bytes collapsed into huge pages, by class.', labelNames: ['class'] as const, registers: [this.registry] });
  /** Latency of collapse calls. */
  readonly collapseSeconds = new Histogram({ name: 'uhugepaged_collapse_seconds', help: 'Duration of process_madvise(MADV_COLLAPSE) calls.', labelNames: ['class'] as const, buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2], registers: [this.registry] });
  /** Share of the hot memory the daemon sees that THPs map, per class (0–1). */
  readonly hotThpCoverage = new Gauge({ name: 'uhugepaged_hot_thp_coverage_ratio', help: 'THP-mapped share of the hot memory the daemon sees, by class.', labelNames: ['class'] as const, registers: [this.registry] });
  /** Share of each budget used over the last cycle (0–1; above 1 when charged work overran it). */
  readonly budgetUse = new Gauge({ name: 'uhugepaged_budget_use_ratio', help: 'Share of each budget used in the last cycle.', labelNames: ['budget'] as const, registers: [this.registry] });
  /** Time spent observing and deciding, per cycle. */
  readonly cycleSeconds = new Histogram({ name: 'uhugepaged_cycle_phase_seconds', help: 'Time per cycle spent observing and deciding.', labelNames: ['phase'] as const, buckets: [0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5], registers: [this.registry] });
  /** 1 while a guard holds the daemon back (scope: 'global', 'node:N' or a cgroup), else 0. */
  readonly guardActive = new Gauge({ name: 'uhugepaged_guard_active', help: 'Whether a guard holds the daemon back, by guard and scope.', labelNames: ['guard', 'scope'] as const, registers: [this.registry] });
  /** 1 while the kill switch is on. */
  readonly killSwitch = new Gauge({ name: 'uhugepaged_kill_switch', help: 'Whether the kill switch stops every action.', registers: [this.registry] });

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
