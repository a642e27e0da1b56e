/**
 * The subcommands that are registered in the program. A subcommand joins this list only when it works
 * end to end; unfinished features are never reachable from the command line.
 */
import type { Command } from 'commander';
import { benchCommand } from './bench-command.js';
import { checkCommand } from './check-command.js';
import { compareCommand } from './compare-command.js';
import { runCommand } from './run-command.js';
import { simulateCommand } from './simulate-command.js';
import { tuneCommand } from './tune-command.js';

/** The working subcommands, in the order `--help` lists them. */
export function registeredCommands(): Command[] {
  return [runCommand(), simulateCommand(), compareCommand(), checkCommand(), tuneCommand(), benchCommand()];
}
