/**
 * `uhugepaged simulate`: runs a scenario on the simulated kernel with the kernel's own mechanisms only
 * (no daemon) and prints the summary table (see docs/cli.md).
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { loadScenario, ScenarioError } from '../sim/scenario/load.js';
import { formatSummary, simulate } from '../sim/scenario/simulate.js';
import { parseDuration } from '../daemon/config/units.js';
import { resolveShipped } from '../sim/package-files.js';
import { ExitCode } from './program.js';
import { progressReporter } from './progress.js';

export const DEFAULT_SCENARIO = 'config/scenarios/default.yaml';

/** commander parser of `--duration`. */
export function durationOption(value: string): number {
  const d = parseDuration(value);
  if (!d.ok || d.value <= 0) throw new InvalidArgumentError(`expected ${d.ok ? 'a duration above 0' : d.expected}`);
  return d.value;
}

/** commander parser of `--seed`. */
export function seedOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new InvalidArgumentError('expected a whole number from 0 to 2147483647');
  return n;
}

interface SimulateOptions {
  scenario: string;
  duration?: number;
  seed?: number;
  json?: string;
}

/** The simulate subcommand. */
export function simulateCommand(): Command {
  return new Command('simulate')
    .description('run a scenario on the simulated kernel with no daemon (the kernel\'s own THP mechanisms only) and print a summary')
    .option('--scenario <file>', 'scenario file (YAML or JSON)', DEFAULT_SCENARIO)
    .option('--duration <d>', "simulated time to run, e.g. 90s, 10m, 2h (default: the scenario's)", durationOption)
    .option('--seed <n>', "PRNG seed (default: the scenario's)", seedOption)
    .option('--json <file>', 'also write the summary, per-process figures and the time series as JSON')
    // A malformed option ends in a CommanderError that main.ts turns into exit code 2, as check does.
    .exitOverride()
    .addHelpText(
      'after',
      '\nThe summary goes to stdout and depends only on the scenario and the seed; progress and the wall-clock\n' +
        'speed go to stderr. Exit code 2 when the scenario file is invalid.\n' +
        '\nExample:\n  $ uhugepaged simulate --scenario config/scenarios/numa-spanning.yaml --duration 10m --json out.json\n',
    )
    .action((opts: SimulateOptions) => {
      let scenario;
      try {
        scenario = loadScenario(resolveShipped(opts.scenario));
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exitCode = ExitCode.usage;
        return;
      }
      const memGiB = scenario.machine.nodes.reduce((s, n) => s + n.memory, 0) / 2 ** 30;
      process.stderr.write(`simulate ${scenario.name}: booting ${scenario.machine.nodes.length} node(s), ${memGiB} GiB${scenario.machine.age ? ', ageing the machine' : ''}, starting the workloads\n`);
      const progress = progressReporter(`simulate ${scenario.name}`);
      const result = simulate(scenario, { ...(opts.duration !== undefined ? { durationMs: opts.duration } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) }, progress.update);
      const wallMs = progress.stop();
      process.stdout.write(`${formatSummary(result)}\n`);
      process.stderr.write(`simulated ${(result.durationMs / 1000).toFixed(0)} s in ${(wallMs / 1000).toFixed(1)} s of wall time (${Math.round(result.durationMs / wallMs)}x real time)\n`);
      if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    });
}
