/**
 * `uhugepaged tune LOGFILE...`: reads decision logs (JSON lines from `--log-file`, rotated copies
 * included), prints findings with their evidence and the policy changes they call for, and with
 * `--write FILE` writes the policy with those changes applied (see docs/cli.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigFileError } from '../daemon/config/config-file.js';
import { loadPolicy } from '../daemon/config/policy.js';
import type { Policy } from '../daemon/config/policy-schema.js';
import { findingsOf, type ProposedChange } from '../daemon/tune/findings.js';
import { LogReadError, readLogRecords } from '../daemon/tune/log-reader.js';
import { LogStats } from '../daemon/tune/log-stats.js';
import { formatTuneReport } from '../daemon/tune/tune-report.js';
import { tunedPolicyText } from '../daemon/tune/tuned-policy.js';
import { ExitCode } from './program.js';

interface TuneOptions {
  config?: string;
  write?: string;
  json?: boolean;
}

/** The tune subcommand. */
export function tuneCommand(): Command {
  return new Command('tune')
    .description('read decision logs: success and failure rates, wasted work, budget saturation, guard trips; propose policy changes with the evidence for each')
    .argument('<logfile...>', 'JSON-lines logs written with --log-file (FILE.1, FILE.2 ... rotated copies are read too, oldest first)')
    .option('--config <file>', "the policy to check the logs against and to tune (default: the one named in the log's \"started\" record)")
    .option('--write <file>', 'write the policy with the proposed changes applied to FILE (validated first; FILE may be the input policy only when named explicitly)')
    .option('--json', 'print the findings as JSON instead of the report')
    .exitOverride()
    .addHelpText(
      'after',
      '\nThe report goes to stdout, findings ordered by severity, each with its evidence and, where the log\n' +
        'supports one, a change (policy path: old → new). Lines that are not JSON are counted and skipped.\n' +
        'Exit code 0; 2 for a log or policy file that cannot be read or is invalid; 1 when the tuned policy\n' +
        'would be invalid (nothing is written).\n' +
        '\nExample:\n  $ uhugepaged run --duration 10m --log-file decisions.jsonl\n  $ uhugepaged tune decisions.jsonl --write tuned.yaml\n' +
        '  [critical] budget-saturated: the collapse budget is the bottleneck: raise budgets.collapsesPerSec\n' +
        '      - 87.0% of 600 cycles stopped on the budget while nothing failed\n' +
        '      change: budgets.collapsesPerSec: "16/s" → "64/s"\n',
    )
    .action(async (files: string[], opts: TuneOptions) => {
      const stats = new LogStats();
      let read;
      try {
        read = await readLogRecords(files, (r) => stats.add(r));
      } catch (e) {
        if (!(e instanceof LogReadError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exitCode = ExitCode.usage;
        return;
      }
      const policyFile = opts.config ?? stats.policyFiles.at(-1);
      let policy: Policy | undefined;
      if (policyFile !== undefined) {
        try {
          policy = loadPolicy(policyFile);
        } catch (e) {
          if (!(e instanceof ConfigFileError)) throw e;
          process.stderr.write(`${e.message}\n`);
          if (opts.config !== undefined || opts.write !== undefined) {
            process.exitCode = ExitCode.usage;
            return;
          }
          process.stderr.write(`tune: going on without the policy named in the log (${policyFile})\n`);
        }
      }
      const findings = findingsOf(stats, policy, policy === undefined ? undefined : policyFile);
      process.stdout.write(opts.json ? `${JSON.stringify({ read, ...findings }, null, 2)}\n` : formatTuneReport(findings, read));
      if (opts.write === undefined) return;
      if (policy === undefined || policyFile === undefined) {
        process.stderr.write('tune: --write needs a policy: give --config FILE\n');
        process.exitCode = ExitCode.usage;
        return;
      }
      const changes: ProposedChange[] = findings.findings.flatMap((f) => (f.change ? [f.change] : []));
      try {
        const { text } = tunedPolicyText(readFileSync(policyFile, 'utf8'), opts.write, changes);
        writeFileSync(opts.write, text);
        loadPolicy(opts.write);
      } catch (e) {
        if (!(e instanceof ConfigFileError)) throw e;
        process.stderr.write(`tune: the tuned policy would be invalid, nothing written:\n${e.message}\n`);
        process.exitCode = ExitCode.failure;
        return;
      }
      process.stderr.write(`tune: wrote ${opts.write} with ${changes.length} change(s)${changes.map((c) => `\n  ${c.pathText}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join('')}\n`);
    });
}
