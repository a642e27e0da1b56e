/**
 * /proc/PID/stat (fs/proc/array.c `do_task_stat`): one line of 52 space-separated fields, numbered as in
 * proc_pid_stat(5):
 *
 *   17282 (bars-victim) R 17272 17272 1452 0 -1 4194304 2181 0 0 0 99 1 0 0 20 0 1 0 210073 ...
 *
 * The comm is printed raw inside parentheses (it may itself hold spaces and parentheses: readers split
 * at the last `)`). Times are in clock ticks of USER_HZ = 100 (`nsec_to_clock_t`, truncating); rss is
 * in pages; vsize in bytes. The four signal fields are the obsolete decimal masks of signals 1..31
 * (`sig[0] & 0x7fffffff`). itrealvalue (20), nswap (36) and cnswap (37) are always 0 in Linux.
 */
import { dec } from './seq-file.js';

/** Clock ticks per second of every tick-valued field (USER_HZ on x86-64). */
export const USER_HZ = 100;

/** RLIM_INFINITY, the rsslim of a process without RLIMIT_RSS. */
export const RLIM_INFINITY = 2n ** 64n - 1n;

/** SIGCHLD: the exit signal of every process created by fork(). */
const SIGCHLD = 17;

/** `nsec_to_clock_t` for a duration in milliseconds: whole USER_HZ ticks, truncated. */
export function clockTicks(ms: number): number {
  return Math.floor((ms * USER_HZ) / 1000);
}

/** The fields of /proc/PID/stat the caller must give. */
export interface ProcStatRequired {
  /** (1) Process id. */
  readonly pid: number;
  /** (2) comm, without the parentheses. */
  readonly comm: string;
  /** (3) State letter (R, S, D, T, t, X, Z, P, I). */
  readonly state: string;
  /** (4) Parent's pid. */
  readonly ppid: number;
  /** (5) Process group id. */
  readonly pgrp: number;
  /** (6) Session id. */
  readonly session: number;
  /** (10) Minor faults. */
  readonly minflt: number;
  /** (12) Major faults. */
  readonly majflt: number;
  /** (14) User time in clock ticks (see `clockTicks`). */
  readonly utime: number;
  /** (15) System time in clock ticks. */
  readonly stime: number;
  /** (18) Priority as the scheduler reports it (20 for nice 0 under CFS/EEVDF). */
  readonly priority: number;
  /** (19) Nice value. */
  readonly nice: number;
  /** (20) Threads in the group. */
  readonly numThreads: number;
  /** (22) Start time after boot, in clock ticks. */
  readonly starttime: number;
  /** (23) Virtual memory size in bytes. */
  readonly vsize: number;
  /** (24) Resident set size in pages. */
  readonly rss: number;
}

/** Fields the model may leave out: 0, except tpgid -1 (no terminal), rsslim unlimited, exitSignal SIGCHLD. */
export interface ProcStatOptional {
  /** (7) Controlling terminal, 0 for none. */
  readonly ttyNr: number;
  /** (8) Foreground process group of the terminal, -1 for none. */
  readonly tpgid: number;
  /** (9) PF_* flags of the task. */
  readonly flags: number;
  /** (11) Minor faults of waited-for children. */
  readonly cminflt: number;
  /** (13) Major faults of waited-for children. */
  readonly cmajflt: number;
  /** (16) User time of waited-for children, clock ticks. */
  readonly cutime: number;
  /** (17) System time of waited-for children, clock ticks. */
  readonly cstime: number;
  /** (25) RLIMIT_RSS in bytes. */
  readonly rsslim: bigint;
  /** (26) Start of the text segment. */
  readonly startcode: number;
  /** (27) End of the text segment. */
  readonly endcode: number;
  /** (28) Start (bottom) of the stack. */
  readonly startstack: number;
  /** (29) Saved stack pointer (0 unless the task is a core-dumping or exiting one). */
  readonly kstkesp: number;
  /** (30) Saved instruction pointer. */
  readonly kstkeip: number;
  /** (31) Pending signals (signal numbers; only 1..31 show). */
  readonly signal: readonly number[];
  /** (32) Blocked signals. */
  readonly blocked: readonly number[];
  /** (33) Ignored signals. */
  readonly sigignore: readonly number[];
  /** (34) Caught signals. */
  readonly sigcatch: readonly number[];
  /** (35) 1 when the task sleeps in the kernel (a wchan exists). */
  readonly wchan: number;
  /** (38) Signal sent to the parent on exit. */
  readonly exitSignal: number;
  /** (39) CPU last run on. */
  readonly processor: number;
  /** (40) Real-time priority. */
  readonly rtPriority: number;
  /** (41) Scheduling policy (SCHED_*). */
  readonly policy: number;
  /** (42) Aggregated block I/O delay, clock ticks. */
  readonly delayacctBlkioTicks: number;
  /** (43) Guest time, clock ticks. */
  readonly guestTime: number;
  /** (44) Guest time of waited-for children, clock ticks. */
  readonly cguestTime: number;
  /** (45) Start of initialized and uninitialized data. */
  readonly startData: number;
  /** (46) End of data. */
  readonly endData: number;
  /** (47) Start of the heap (brk). */
  readonly startBrk: number;
  /** (48) Start of argv. */
  readonly argStart: number;
  /** (49) End of argv. */
  readonly argEnd: number;
  /** (50) Start of the environment. */
  readonly envStart: number;
  /** (51) End of the environment. */
  readonly envEnd: number;
  /** (52) Exit status as waitpid reports it. */
  readonly exitCode: number;
}

/** Everything /proc/PID/stat shows: the required fields and any of the optional ones. */
export type ProcStat = ProcStatRequired & Partial<ProcStatOptional>;

const defaults: ProcStatOptional = {
  ttyNr: 0, tpgid: -1, flags: 0, cminflt: 0, cmajflt: 0, cutime: 0, cstime: 0, rsslim: RLIM_INFINITY,
  startcode: 0, endcode: 0, startstack: 0, kstkesp: 0, kstkeip: 0, signal: [], blocked: [], sigignore: [],
  sigcatch: [], wchan: 0, exitSignal: SIGCHLD, processor: 0, rtPriority: 0, policy: 0, delayacctBlkioTicks: 0,
  guestTime: 0, cguestTime: 0, startData: 0, endData: 0, startBrk: 0, argStart: 0, argEnd: 0, envStart: 0,
  envEnd: 0, exitCode: 0,
};

/** The decimal mask of signals 1..31 of a set (`sig[0] & 0x7fffffff`). */
function legacySignalMask(signals: readonly number[]): number {
  return signals.filter((s) => s >= 1 && s <= 31).reduce((mask, s) => mask | (1 << (s - 1)), 0);
}

/** The text of /proc/PID/stat. */
export function formatStat(input: ProcStat): string {
  const s: ProcStatRequired & ProcStatOptional = { ...defaults, ...input };
  const fields: (number | bigint | string)[] = [
    s.state, s.ppid, s.pgrp, s.session, s.ttyNr, s.tpgid, s.flags, s.minflt, s.cminflt, s.majflt, s.cmajflt,
    s.utime, s.stime, s.cutime, s.cstime, s.priority, s.nice, s.numThreads, 0, s.starttime, s.vsize, s.rss,
    s.rsslim, s.startcode, s.endcode, s.startstack, s.kstkesp, s.kstkeip,
    legacySignalMask(s.signal), legacySignalMask(s.blocked), legacySignalMask(s.sigignore),
    legacySignalMask(s.sigcatch), s.wchan, 0, 0, s.exitSignal, s.processor, s.rtPriority, s.policy,
    s.delayacctBlkioTicks, s.guestTime, s.cguestTime, s.startData, s.endData, s.startBrk, s.argStart,
    s.argEnd, s.envStart, s.envEnd, s.exitCode,
  ];
  const rest = fields.map((f) => (typeof f === 'number' ? dec(f) : f.toString())).join(' ');
  return `${dec(s.pid)} (${s.comm}) ${rest}\n`;
}
