/**
 * `uhugepaged run`: the daemon. With `--kernel sim` (the default, and for now the only kernel: the
 * Linux port has its own issue) it plays a scenario on the embedded simulated kernel with the daemon
 * running in it, on virtual time, and prints a summary table at the end — or when SIGINT/SIGTERM
 * arrives, with the figures so far (see docs/cli.md).
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigFileError } from '../daemon/config/config-file.js';
import { loadPolicy } from '../daemon/config/policy.js';
import { shippedPolicyFile } from '../daemon/config/policy-store.js';
import { formatDaemonSummary, runWithDaemon } from '../sim/daemon/daemon-run.js';
import { loadScenario, ScenarioError } from '../sim/scenario/load.js';
import { resolveShipped } from '../sim/package-files.js';
import { ExitCode } from './program.js';
import { progressReporter } from './progress.js';
import { DEFAULT_SCENARIO, durationOption, seedOption } from './simulate-command.js';

interface RunOptions {
  kernel: 'sim';
  config?: string;
  scenario: string;
  duration?: number;
  seed?: number;
  once?: boolean;
  dryRun?: boolean;
  logFile?: string;
  logLevel: string;
  metricsPort: number;
  json?: string;
  baseline: boolean;
}

const logLevels = ['error', 'warn', 'info', 'verbose', 'debug'];

function portOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a TCP port from 0 (off) to 65535');
  return n;
}

/** Loads a file the run needs; a bad one is reported (file, line, path) and gives exit code 2. */
function loadOrReport<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch (e) {
    if (!(e instanceof ConfigFileError) && !(e instanceof ScenarioError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = ExitCode.usage;
    return undefined;
  }
}

/** The run subcommand. */
export function runCommand(): Command {
  return new Command('run')
    .description('run the daemon: observe processes, rank their hot 2 MiB regions under a policy, collapse the ones that pay off')
    .addOption(new Option('--kernel <kind>', 'which kernel: sim, the embedded simulated kernel on virtual time (the Linux port is not built yet)').choices(['sim']).default('sim'))
    .option('--config <file>', 'policy file (YAML or JSON)', 'config/uhugepaged.yaml')
    .option('--scenario <file>', 'scenario the simulated machine plays (sim only)', DEFAULT_SCENARIO)
    .option('--duration <d>', "simulated time to run, e.g. 90s, 10m, 2h (default: the scenario's)", durationOption)
    .option('--seed <n>', "PRNG seed (default: the scenario's)", seedOption)
    .option('--once', 'one observe-decide-act cycle, then exit')
    .option('--dry-run', 'decide and log, never act (no process_madvise, no move_pages)')
    .option('--log-file <file>', 'write the logs as JSON lines to this file, rotated by size (default: readable lines on stderr)')
    .addOption(new Option('--log-level <level>', 'log level').choices(logLevels).default('info'))
    .option('--metrics-port <n>', 'serve Prometheus metrics on 127.0.0.1:N (0 = off)', portOption, 0)
    .option('--json <file>', 'also write the summary as JSON')
    .option('--no-baseline', 'do not also run the scenario with the kernel alone for comparison')
    .exitOverride()
    .addHelpText(
      'after',
      '\nThe summary table goes to stdout at the end of the scenario (or on SIGINT/SIGTERM); progress and the\n' +
        'wall-clock speed go to stderr, and so do the logs unless --log-file is given. Exit code 2 when the\n' +
        'policy or scenario file is invalid.\n' +
        '\nExamples:\n  $ uhugepaged run\n  $ uhugepaged run --scenario config/scenarios/priority-mix.yaml --duration 10m --log-file decisions.jsonl\n  $ uhugepaged run --config my-policy.yaml --dry-run --log-level debug\n',
    )
    .action(async (opts: RunOptions) => {
      const policyFile = opts.config === undefined ? shippedPolicyFile : resolveShipped(opts.config);
      if (loadOrReport(() => loadPolicy(policyFile)) === undefined) return;
      const scenario = loadOrReport(() => loadScenario(resolveShipped(opts.scenario)));
      if (scenario === undefined) return;
      let interrupted = false;
      const onSignal = (): void => {
        interrupted = true;
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.stderr.write(`run ${scenario.name}: booting the simulated machine, starting the workloads and uhugepaged\n`);
      const progress = progressReporter(`run ${scenario.name}`);
      try {
        const result = await runWithDaemon(
          scenario,
          {
            ...(opts.duration !== undefined ? { durationMs: opts.duration } : {}),
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            daemon: { policyFile, dryRun: opts.dryRun ?? false, once: opts.once ?? false, logLevel: opts.logLevel, logFile: opts.logFile, metricsPort: opts.metricsPort },
            baseline: opts.baseline,
            interrupted: () => interrupted,
          },
          progress.update,
        );
        const wallMs = progress.stop();
        process.stdout.write(`${formatDaemonSummary(result)}\n`);
        process.stderr.write(`simulated ${(result.durationMs / 1000).toFixed(0)} s in ${(wallMs / 1000).toFixed(1)} s of wall time${opts.baseline ? ' (with the kernel-alone baseline)' : ''}\n`);
        if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
