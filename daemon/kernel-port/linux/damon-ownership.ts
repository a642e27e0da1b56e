/**
 * Which kdamond is the daemon's, across crashes. DAMON's sysfs has no owner field: anyone with root can
 * start kdamonds there, and the platform may run its own (a `paddr` one from boot). So the daemon writes
 * down what it started — the kdamond's index, its thread's pid while on, and the pids it monitors — in a
 * state file, and a later start takes a kdamond for its own only if it still looks exactly like that:
 * the directory is there, its context's operations are `vaddr`, its targets are the recorded pids, and,
 * if it runs, its pid is the recorded one (a kdamond thread's pid changes each time it is turned on).
 * Anything else is left alone.
 */
import { KernelPortError } from '../kernel-port.js';
import type { FileAccess } from './file-access.js';

export const DAMON_ADMIN = '/sys/kernel/mm/damon/admin';
export const KDAMONDS = `${DAMON_ADMIN}/kdamonds`;

/** What the state file records. */
export interface DamonRecord {
  readonly kdamond: number;
  /** The kdamond thread's pid when last turned on (−1: off). */
  readonly kdamondPid: number;
  /** The pids of its targets, in target order. */
  readonly targets: readonly number[];
}

export const kdamondDir = (index: number): string => `${KDAMONDS}/${index}`;
export const contextDir = (index: number): string => `${kdamondDir(index)}/contexts/0`;

/** The state file's record, or undefined when there is none (or it is unreadable: then nothing is ours). */
export function readDamonRecord(files: FileAccess, stateFile: string): DamonRecord | undefined {
  if (!files.exists(stateFile)) return undefined;
  try {
    const r = JSON.parse(files.readFile(stateFile)) as Partial<DamonRecord>;
    if (!Number.isInteger(r.kdamond) || !Number.isInteger(r.kdamondPid) || !Array.isArray(r.targets)) return undefined;
    return { kdamond: r.kdamond as number, kdamondPid: r.kdamondPid as number, targets: r.targets.filter((p) => Number.isInteger(p)) };
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof KernelPortError) return undefined;
    throw e;
  }
}

export function writeDamonRecord(files: FileAccess, stateFile: string, record: DamonRecord): void {
  files.writeOwnFile(stateFile, `${JSON.stringify(record)}\n`);
}

/** The number of kdamond directories. */
export function nrKdamonds(files: FileAccess): number {
  return Number(files.readFile(`${KDAMONDS}/nr_kdamonds`).trim());
}

/** The pids a kdamond's context monitors, in target order ([] when it has no context). */
export function kdamondTargets(files: FileAccess, index: number): number[] {
  const ctx = contextDir(index);
  if (!files.exists(`${ctx}/targets/nr_targets`)) return [];
  const n = Number(files.readFile(`${ctx}/targets/nr_targets`).trim());
  return Array.from({ length: n }, (_, i) => Number(files.readFile(`${ctx}/targets/${i}/pid_target`).trim()));
}

/** Why the recorded kdamond is not (or no longer) ours, or undefined when it is. */
export function notOurs(files: FileAccess, record: DamonRecord): string | undefined {
  const dir = kdamondDir(record.kdamond);
  if (!files.exists(`${dir}/state`)) return `kdamond ${record.kdamond} is gone`;
  const ops = files.exists(`${contextDir(record.kdamond)}/operations`) ? files.readFile(`${contextDir(record.kdamond)}/operations`).trim() : '';
  if (ops !== 'vaddr') return `kdamond ${record.kdamond} has operations '${ops}', not vaddr`;
  const targets = kdamondTargets(files, record.kdamond);
  if (targets.join(',') !== record.targets.join(',')) return `kdamond ${record.kdamond} monitors pids [${targets.join(', ')}], not the recorded [${record.targets.join(', ')}]`;
  if (files.readFile(`${dir}/state`).trim() === 'on') {
    const pid = Number(files.readFile(`${dir}/pid`).trim());
    if (pid !== record.kdamondPid) return `kdamond ${record.kdamond} runs as pid ${pid}, not the recorded ${record.kdamondPid}`;
  }
  return undefined;
}

/**
 * Stops and removes the kdamond a previous run of the daemon left behind, if the state file names one
 * that is still ours; returns what it did, for the log. The directory is removed (nr_kdamonds lowered)
 * only when it is the last one: lowering the count removes every directory above it.
 */
export function cleanUpRecorded(files: FileAccess, stateFile: string): string | undefined {
  const record = readDamonRecord(files, stateFile);
  if (record === undefined) return undefined;
  const why = notOurs(files, record);
  if (why !== undefined) {
    files.removeOwnFile(stateFile);
    return `left the kdamond recorded by an earlier run alone: ${why}`;
  }
  const dir = kdamondDir(record.kdamond);
  if (files.readFile(`${dir}/state`).trim() === 'on') files.writeFile(`${dir}/state`, 'off');
  // Stopped, it is harmless; the record stays until its directory is gone, so a later run can finish.
  writeDamonRecord(files, stateFile, { ...record, kdamondPid: -1 });
  if (nrKdamonds(files) !== record.kdamond + 1) return `stopped kdamond ${record.kdamond}, left by an earlier run (not the last directory: kept)`;
  try {
    files.writeFile(`${KDAMONDS}/nr_kdamonds`, String(record.kdamond));
  } catch (e) {
    // EBUSY: another kdamond runs, and DAMON rebuilds no directory while one does.
    if (!(e instanceof KernelPortError && e.errno === 'EBUSY')) throw e;
    return `stopped kdamond ${record.kdamond}, left by an earlier run; its directory stays while another kdamond runs (EBUSY)`;
  }
  files.removeOwnFile(stateFile);
  return `stopped and removed kdamond ${record.kdamond}, left by an earlier run`;
}
