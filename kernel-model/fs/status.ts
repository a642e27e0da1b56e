/**
 * /proc/PID/status (fs/proc/array.c `proc_pid_status`) as Linux 6.18 prints it for a user process on
 * x86-64: `Name:\tvalue` lines in a fixed order. The formats that are not plain decimals:
 *
 *   Name        comm with `\` and newline escaped (`\\`, `\n`)
 *   Umask       `%#04o` (0022)
 *   State       letter and word: `R (running)`
 *   Groups      each group followed by a space, so an empty list prints a lone space
 *   Vm*, Rss*   `%8lu kB`
 *   Sig*        64-signal sets as 16 hex digits, signal n is bit n-1
 *   Cap*        capability sets as 16 hex digits, capability n is bit n
 *   Cpus/Mems   `%*pb`: 32-bit hex chunks, most significant first, comma-separated, the first chunk only
 *               as wide as needed for the bitmap's size (nr_cpu_ids bits for CPUs, MAX_NUMNODES = 1024
 *               bits for nodes on this host's config), and `%*pbl` range lists (`0-1`)
 *
 * Fields the model does not track are optional and print 0 (or an empty set); the speculation lines print
 * `unknown` unless given, as Linux does on a CPU without the control.
 */
import { bitmapList, dec } from './seq-file.js';

/** Task state letters (`task_state_array`). */
export type TaskState = 'R' | 'S' | 'D' | 'T' | 't' | 'X' | 'Z' | 'P' | 'I';

const taskStateNames: Readonly<Record<TaskState, string>> = {
  R: 'R (running)', S: 'S (sleeping)', D: 'D (disk sleep)', T: 'T (stopped)', t: 't (tracing stop)',
  X: 'X (dead)', Z: 'Z (zombie)', P: 'P (parked)', I: 'I (idle)',
};

/** The kB lines of status, in order (`task_mem`, then `hugetlb_report_usage`). */
export const statusKbFields = [
  'VmPeak', 'VmSize', 'VmLck', 'VmPin', 'VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmData',
  'VmStk', 'VmExe', 'VmLib', 'VmPTE', 'VmSwap', 'HugetlbPages',
] as const;

/** A kB field of status. */
export type StatusKbField = (typeof statusKbFields)[number];

/** MAX_NUMNODES with CONFIG_NODES_SHIFT=10: the width of the Mems_allowed bitmap. */
export const MAX_NUMNODES = 1024;

/** The status of one process (its thread-group leader). */
export interface ProcStatus {
  /** comm, at most 15 bytes in Linux. */
  readonly name: string;
  /** File mode creation mask. */
  readonly umask?: number;
  /** Scheduler state. */
  readonly state: TaskState;
  /** Thread-group id (the pid of a single-threaded process). */
  readonly tgid: number;
  /** NUMA group id (0: NUMA balancing has not grouped the task). */
  readonly ngid?: number;
  /** Process id. */
  readonly pid: number;
  /** Parent's pid. */
  readonly ppid: number;
  /** Pid of the tracer, 0 when not traced. */
  readonly tracerPid?: number;
  /** Real, effective, saved and filesystem uid. */
  readonly uid?: readonly [number, number, number, number];
  /** Real, effective, saved and filesystem gid. */
  readonly gid?: readonly [number, number, number, number];
  /** Slots in the file descriptor table. */
  readonly fdSize?: number;
  /** Supplementary groups. */
  readonly groups?: readonly number[];
  /** Process group id (NSpgid). */
  readonly pgid: number;
  /** Session id (NSsid). */
  readonly sid: number;
  /** The task is a kernel thread. */
  readonly kthread?: boolean;
  /** Memory sizes in kB; a missing one prints 0. */
  readonly kb: Partial<Record<StatusKbField, number>>;
  /** A core dump is in progress. */
  readonly coreDumping?: boolean;
  /** THP is allowed for the process (not disabled with prctl(PR_SET_THP_DISABLE)). */
  readonly thpEnabled: boolean;
  /** Threads in the thread group. */
  readonly threads: number;
  /** Queued signals for the real uid, and its RLIMIT_SIGPENDING. */
  readonly sigQ?: readonly [number, number];
  /** Pending signals of the thread. */
  readonly sigPnd?: readonly number[];
  /** Pending signals of the thread group. */
  readonly shdPnd?: readonly number[];
  /** Blocked signals. */
  readonly sigBlk?: readonly number[];
  /** Ignored signals. */
  readonly sigIgn?: readonly number[];
  /** Caught signals. */
  readonly sigCgt?: readonly number[];
  /** Inheritable capabilities (capability numbers). */
  readonly capInh?: readonly number[];
  /** Permitted capabilities. */
  readonly capPrm?: readonly number[];
  /** Effective capabilities. */
  readonly capEff?: readonly number[];
  /** Bounding set. */
  readonly capBnd?: readonly number[];
  /** Ambient capabilities. */
  readonly capAmb?: readonly number[];
  /** The no_new_privs bit. */
  readonly noNewPrivs?: boolean;
  /** Seccomp mode (0 disabled, 1 strict, 2 filter). */
  readonly seccomp?: number;
  /** Attached seccomp filters. */
  readonly seccompFilters?: number;
  /** Speculation_Store_Bypass state as Linux words it (`vulnerable`, `thread mitigated`, ...). */
  readonly speculationStoreBypass?: string;
  /** SpeculationIndirectBranch state as Linux words it (`always enabled`, ...). */
  readonly speculationIndirectBranch?: string;
  /** CPUs the task may run on. */
  readonly cpusAllowed: readonly number[];
  /** nr_cpu_ids: the width of the Cpus_allowed bitmap. */
  readonly nrCpuIds: number;
  /** Nodes the task may allocate from. */
  readonly memsAllowed: readonly number[];
  /** Voluntary context switches. */
  readonly voluntaryCtxtSwitches?: number;
  /** Involuntary context switches. */
  readonly nonvoluntaryCtxtSwitches?: number;
}

/** `seq_escape_str(..., ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\")` of the comm. */
function escapeComm(name: string): string {
  return name.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** The 64-bit set with the given bits, as 16 hex digits. */
function mask64(bits: readonly number[], bitOffset: number): string {
  let mask = 0n;
  for (const b of bits) {
    const bit = b - bitOffset;
    if (!Number.isInteger(bit) || bit < 0 || bit > 63) throw new RangeError(`bit out of a 64-bit set: ${b}`);
    mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}

/** `%*pb`: the bitmap of `nbits` bits as comma-separated 32-bit hex chunks, most significant first. */
function bitmapMask(bits: readonly number[], nbits: number): string {
  let mask = 0n;
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0 || b >= nbits) throw new RangeError(`bit ${b} outside a ${nbits}-bit map`);
    mask |= 1n << BigInt(b);
  }
  const chunks = Math.ceil(nbits / 32);
  return Array.from({ length: chunks }, (_, k) => {
    const i = chunks - 1 - k;
    const width = k === 0 ? Math.ceil((nbits % 32 || 32) / 4) : 8;
    return ((mask >> BigInt(32 * i)) & 0xffffffffn).toString(16).padStart(width, '0');
  }).join(',');
}

/** Name through Kthread (`task_state`). */
function identityLines(s: ProcStatus): string {
  const uid = s.uid ?? [0, 0, 0, 0];
  const gid = s.gid ?? [0, 0, 0, 0];
  const umask = s.umask ?? 0;
  return (
    `Name:\t${escapeComm(s.name)}\n` +
    `Umask:\t0${umask.toString(8).padStart(3, '0')}\n` +
    `State:\t${taskStateNames[s.state]}\n` +
    `Tgid:\t${dec(s.tgid)}\nNgid:\t${dec(s.ngid ?? 0)}\nPid:\t${dec(s.pid)}\nPPid:\t${dec(s.ppid)}\n` +
    `TracerPid:\t${dec(s.tracerPid ?? 0)}\n` +
    `Uid:\t${uid.map((u) => dec(u)).join('\t')}\nGid:\t${gid.map((g) => dec(g)).join('\t')}\n` +
    `FDSize:\t${dec(s.fdSize ?? 0)}\n` +
    `Groups:\t${(s.groups ?? []).map((g) => dec(g)).join(' ')} \n` +
    `NStgid:\t${dec(s.tgid)}\nNSpid:\t${dec(s.pid)}\nNSpgid:\t${dec(s.pgid)}\nNSsid:\t${dec(s.sid)}\n` +
    `Kthread:\t${s.kthread ? 1 : 0}\n`
  );
}

/** Vm* through untag_mask (`task_mem` and the lines after it). */
function memoryLines(s: ProcStatus): string {
  return (
    statusKbFields.map((f) => `${f}:\t${dec(s.kb[f] ?? 0, 8)} kB\n`).join('') +
    `CoreDumping:\t${s.coreDumping ? 1 : 0}\n` +
    `THP_enabled:\t${s.thpEnabled ? 1 : 0}\n` +
    // x86-64 without LAM: every address bit is kept.
    'untag_mask:\t0xffffffffffffffff\n'
  );
}

/** Threads through Seccomp_filters and the speculation lines (`task_sig`, `task_cap`, `task_seccomp`). */
function signalAndCapabilityLines(s: ProcStatus): string {
  const [queued, limit] = s.sigQ ?? [0, 0];
  const sig = (label: string, set: readonly number[] | undefined) => `${label}:\t${mask64(set ?? [], 1)}\n`;
  const cap = (label: string, set: readonly number[] | undefined) => `${label}:\t${mask64(set ?? [], 0)}\n`;
  return (
    `Threads:\t${dec(s.threads)}\nSigQ:\t${dec(queued)}/${dec(limit)}\n` +
    sig('SigPnd', s.sigPnd) + sig('ShdPnd', s.shdPnd) + sig('SigBlk', s.sigBlk) +
    sig('SigIgn', s.sigIgn) + sig('SigCgt', s.sigCgt) +
    cap('CapInh', s.capInh) + cap('CapPrm', s.capPrm) + cap('CapEff', s.capEff) +
    cap('CapBnd', s.capBnd) + cap('CapAmb', s.capAmb) +
    `NoNewPrivs:\t${s.noNewPrivs ? 1 : 0}\nSeccomp:\t${dec(s.seccomp ?? 0)}\n` +
    `Seccomp_filters:\t${dec(s.seccompFilters ?? 0)}\n` +
    `Speculation_Store_Bypass:\t${s.speculationStoreBypass ?? 'unknown'}\n` +
    `SpeculationIndirectBranch:\t${s.speculationIndirectBranch ?? 'unknown'}\n`
  );
}

/** Cpus_allowed through the context-switch counts. */
function placementLines(s: ProcStatus): string {
  return (
    `Cpus_allowed:\t${bitmapMask(s.cpusAllowed, s.nrCpuIds)}\n` +
    `Cpus_allowed_list:\t${bitmapList(s.cpusAllowed)}\n` +
    `Mems_allowed:\t${bitmapMask(s.memsAllowed, MAX_NUMNODES)}\n` +
    `Mems_allowed_list:\t${bitmapList(s.memsAllowed)}\n` +
    `voluntary_ctxt_switches:\t${dec(s.voluntaryCtxtSwitches ?? 0)}\n` +
    `nonvoluntary_ctxt_switches:\t${dec(s.nonvoluntaryCtxtSwitches ?? 0)}\n`
  );
}

/** The text of /proc/PID/status. */
export function formatStatus(s: ProcStatus): string {
  return identityLines(s) + memoryLines(s) + signalAndCapabilityLines(s) + placementLines(s);
}
