/**
 * simSpeedupKernelOnly: how much faster than real time the default scenario runs on the simulated kernel
 * with the kernel's own mechanisms only — simulated time over wall time, boot and ageing included.
 * A run simulates the scenario's first `simulatedMs` (the whole hour would take minutes per run).
 */
import { performance } from 'node:perf_hooks';
import { loadScenario } from '../scenario/load.js';
import { simulate } from '../scenario/simulate.js';
import { packageFile } from '../package-files.js';

/** The scenario the figure is measured on (the one `npm start` runs). */
export const BENCH_SCENARIO = packageFile('config/scenarios/default.yaml');
/** Simulated time per run. */
export const BENCH_SIMULATED_MS = 10 * 60_000;

/** Simulated ms per wall ms of one run of the default scenario. */
export function kernelOnlySpeedup(file: string = BENCH_SCENARIO, simulatedMs: number = BENCH_SIMULATED_MS): number {
  const scenario = loadScenario(file);
  const t0 = performance.now();
  const result = simulate(scenario, { durationMs: simulatedMs });
  return result.durationMs / (performance.now() - t0);
}
