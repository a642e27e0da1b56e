// A long simulated run of the daemon, reporting its heap as it goes, to show it stays flat:
//   node --expose-gc scripts/soak.mjs [scenario] [hours] [policy]
// (after `npm run build`). Defaults: config/scenarios/priority-mix.yaml, 24 hours, its example policy.
// Prints one line per simulated hour: live heap after a full collection, RSS, the daemon's figures.
import { performance } from 'node:perf_hooks';
import { loadScenario } from '../dist/sim/scenario/load.js';
import { packageFile } from '../dist/sim/package-files.js';
import { runWithDaemon } from '../dist/sim/daemon/daemon-run.js';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc, so that the heap is measured after a full collection');
  process.exit(2);
}
const scenarioFile = process.argv[2] ?? packageFile('config/scenarios/priority-mix.yaml');
const hours = Number(process.argv[3] ?? 24);
const policyFile = process.argv[4] ?? packageFile('config/policies/priority-mix.yaml');
const scenario = loadScenario(scenarioFile);
const HOUR = 3_600_000;
const t0 = performance.now();
let nextHour = 0;
const MiB = 1024 * 1024;
console.log(`soak: ${scenario.name}, ${hours} h simulated, policy ${policyFile}`);
console.log('hour  heap MiB  rss MiB  wall s  daemon state (entries)');
let daemon;
const result = await runWithDaemon(scenario, { durationMs: hours * HOUR, daemon: { logLevel: 'error', policyFile }, started: (d) => (daemon = d) }, (elapsed) => {
  if (elapsed < nextHour) return;
  globalThis.gc();
  const m = process.memoryUsage();
  console.log(`${String(nextHour / HOUR).padStart(4)}  ${(m.heapUsed / MiB).toFixed(1).padStart(8)}  ${(m.rss / MiB).toFixed(0).padStart(7)}  ${((performance.now() - t0) / 1000).toFixed(0).padStart(6)}  ${JSON.stringify(daemon?.stateSizes ?? {})}`);
  nextHour += HOUR;
});
const d = result.daemon;
console.log(`done: ${d.cycles} cycles, ${d.collapsed} collapsed, failed ${JSON.stringify(d.failed)}, hot THP coverage ${(100 * result.metrics.machine.hotThpCoverage).toFixed(1)}%`);
