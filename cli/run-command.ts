/**
 * `uhugepaged run`: the daemon. With `--kernel sim` (the default) it plays a scenario on the embedded
 * simulated kernel with the daemon running in it, on virtual time, and prints a summary table at the
 * end — or when SIGINT/SIGTERM arrives, with the figures so far. With `--kernel linux` it runs on this
 * host's kernel, on wall-clock time, until `--duration` passes, `--once` finishes or a signal arrives,
 * and prints what it did (see docs/cli.md).
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigFileError } from '../daemon/config/config-file.js';
import { loadPolicy } from '../daemon/config/policy.js';
import { shippedPolicyFile } from '../daemon/config/policy-store.js';
import type { DaemonOptions } from '../daemon/config/daemon-options.js';
import { formatLinuxSummary, PreflightRefused, runOnLinux } from '../daemon/lifecycle/linux-run.js';
import { PREFLIGHT_REFUSED_EXIT } from '../daemon/lifecycle/preflight.js';
import { formatDaemonSummary, runWithDaemon } from '../sim/daemon/daemon-run.js';
import { loadScenario, ScenarioError } from '../sim/scenario/load.js';
import { resolveShipped } from '../sim/package-files.js';
import { ExitCode } from './program.js';
import { progressReporter } from './progress.js';
import { DEFAULT_SCENARIO, durationOption, seedOption } from './simulate-command.js';

interface RunOptions {
  kernel: 'sim' | 'linux';
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
  stateDir?: string;
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

/** Options that only mean something for the simulated kernel. */
const simOnlyOptions = ['scenario', 'seed', 'baseline'];

/** `run --kernel linux`: the daemon on this host until --duration, --once or SIGINT/SIGTERM. */
async function runLinux(opts: RunOptions, cmd: Command, daemon: Partial<DaemonOptions>): Promise<void> {
  const given = simOnlyOptions.filter((o) => cmd.getOptionValueSource(o) === 'cli');
  if (given.length > 0) {
    const names = given.map((o) => (o === 'baseline' ? '--no-baseline' : `--${o}`)).join(', ');
    process.stderr.write(`error: ${names} ${given.length > 1 ? 'are' : 'is'} for the simulated kernel only: with --kernel linux the daemon watches this host's real processes\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  if (process.platform !== 'linux') {
    process.stderr.write(`error: --kernel linux needs a Linux host (this is ${process.platform})\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await runOnLinux({
      daemon,
      signal: stop.signal,
      ...(opts.duration !== undefined ? { durationMs: opts.duration } : {}),
      ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
    });
    process.stdout.write(`${formatLinuxSummary(result)}\n`);
    if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
  } catch (e) {
    if (!(e instanceof PreflightRefused)) throw e;
    process.stderr.write(`uhugepaged: ${e.message}\n`);
    process.exitCode = PREFLIGHT_REFUSED_EXIT;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The run subcommand. */
export function runCommand(): Command {
  return new Command('run')
    .description('run the daemon: observe processes, rank their hot 2 MiB regions under a policy, collapse the ones that pay off')
    .addOption(new Option('--kernel <kind>', "which kernel: sim, the embedded simulated kernel on virtual time; linux, this host's kernel on wall-clock time").choices(['sim', 'linux']).default('sim'))
    .option('--config <file>', 'policy file (YAML or JSON)', 'config/uhugepaged.yaml')
    .option('--scenario <file>', 'scenario the simulated machine plays (sim only)', DEFAULT_SCENARIO)
    .option('--duration <d>', "time to run, e.g. 90s, 10m, 2h: simulated with sim (default: the scenario's), wall-clock with linux (default: until SIGINT/SIGTERM)", durationOption)
    .option('--seed <n>', "PRNG seed (default: the scenario's)", seedOption)
    .option('--once', 'one observe-decide-act cycle, then exit')
    .option('--dry-run', 'decide and log, never act (no process_madvise, no move_pages)')
    .option('--log-file <file>', 'write the logs as JSON lines to this file, rotated by size (default: readable lines on stderr)')
    .addOption(new Option('--log-level <level>', 'log level').choices(logLevels).default('info'))
    .option('--metrics-port <n>', 'serve Prometheus metrics on 127.0.0.1:N (0 = off)', portOption, 0)
    .option('--json <file>', 'also write the summary as JSON')
    .option('--no-baseline', 'do not also run the scenario with the kernel alone for comparison (sim only)')
    .option('--state-dir <dir>', 'where the daemon records the kdamond it started, to clean it up after a crash (linux only)', '/run/uhugepaged')
    .exitOverride()
    .addHelpText(
      'after',
      '\nThe summary table goes to stdout at the end of the scenario (or on SIGINT/SIGTERM); progress and the\n' +
        'wall-clock speed go to stderr, and so do the logs unless --log-file is given. Exit code 2 when the\n' +
        'policy or scenario file is invalid, or a sim-only option is given with --kernel linux.\n' +
        '\nWith --kernel linux the daemon acts on this host (run it as root): access sampling is DAMON when it\n' +
        'can have a kdamond of its own, else the accessed bits through /proc/PID/clear_refs (the log says\n' +
        'which and why). It stops on SIGINT/SIGTERM, after --duration, or after one cycle with --once, and\n' +
        'removes what it set up on the way out.\n' +
        '\nExamples:\n  $ uhugepaged run\n  $ uhugepaged run --scenario config/scenarios/priority-mix.yaml --duration 10m --log-file decisions.jsonl\n  $ uhugepaged run --config my-policy.yaml --dry-run --log-level debug\n' +
        '  $ sudo uhugepaged run --kernel linux --dry-run --once\n  $ sudo uhugepaged run --kernel linux --config my-policy.yaml --log-file /var/log/uhugepaged.jsonl\n',
    )
    .action(async (opts: RunOptions, cmd: Command) => {
      const policyFile = opts.config === undefined ? shippedPolicyFile : resolveShipped(opts.config);
      if (loadOrReport(() => loadPolicy(policyFile)) === undefined) return;
      const daemon: Partial<DaemonOptions> = { policyFile, dryRun: opts.dryRun ?? false, once: opts.once ?? false, logLevel: opts.logLevel, logFile: opts.logFile, metricsPort: opts.metricsPort };
      if (opts.kernel === 'linux') {
        await runLinux(opts, cmd, daemon);
        return;
      }
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
            daemon,
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
