/**
 * Start-up check of PID namespaces. The daemon reads pids from /proc and opens pidfds with them; the
 * two agree only when /proc was mounted for the daemon's own PID namespace. A container that keeps the
 * host's /proc while giving the daemon a PID namespace of its own makes every pid read there name
 * another process (or none) for pidfd_open.
 */
import { readOptional, type Finding, type PreflightInput } from './preflight-finding.js';

/** The inode of the initial PID namespace (PROC_PID_INIT_INO in include/linux/proc_ns.h): fixed by the kernel. */
const INIT_PID_NS = 'pid:[4026531836]';

/** /proc/self must be the daemon's own pid; a nested namespace is a note (it sees only its own processes). */
export function checkPidNamespace({ host }: PreflightInput): Finding[] {
  let self: string;
  try {
    self = host.readLink('/proc/self');
  } catch {
    return [{ level: 'refuse', check: 'pid-namespace', message: '/proc/self cannot be read: /proc is not mounted', fix: 'mount procfs on /proc' }];
  }
  if (self !== String(host.pid)) {
    return [{
      level: 'refuse',
      check: 'pid-namespace',
      message: `/proc/self is ${self} but the daemon's pid is ${host.pid}: /proc belongs to another PID namespace, so pids read there are not the ones pidfd_open takes`,
      fix: "mount a /proc of the daemon's own PID namespace, or run it in the host's PID namespace",
    }];
  }
  const nspid = /^NSpid:\s*(.+)$/m.exec(readOptional(host, '/proc/self/status') ?? '')?.[1]?.trim().split(/\s+/) ?? [];
  let ns: string | undefined;
  try {
    ns = host.readLink('/proc/self/ns/pid');
  } catch {
    ns = undefined;
  }
  if (nspid.length > 1 || (ns !== undefined && ns !== INIT_PID_NS)) {
    return [{
      level: 'note',
      check: 'pid-namespace',
      message: `the daemon runs in a nested PID namespace (${ns ?? 'namespace unknown'}${nspid.length > 1 ? `, NSpid ${nspid.join(' ')}` : ''}): pids and /proc agree, but it sees and serves only the processes of that namespace`,
      fix: "to serve the whole machine, run it in the host's PID namespace",
    }];
  }
  return [{ level: 'ok', check: 'pid-namespace', message: `/proc/self is the daemon (pid ${host.pid})${ns === INIT_PID_NS ? ', in the initial PID namespace' : ''}` }];
}
