/**
 * Start-up checks of what the daemon is allowed to do: its effective capabilities (CapEff of
 * /proc/self/status), Yama's ptrace_scope, and whether its policy file can be trusted by a privileged
 * process.
 */
import { dirname } from 'node:path';
import { hostErrno, readOptional, type Finding, type PreflightInput } from './preflight-finding.js';

/** A capability the daemon needs, and why. */
export interface NeededCapability {
  readonly name: string;
  /** Bit numbers that each satisfy the need (CAP_DAC_READ_SEARCH's need is also met by CAP_DAC_OVERRIDE). */
  readonly bits: readonly number[];
  /** Needed only to act (so only a note with --dry-run), or also to observe. */
  readonly forWriting: boolean;
  readonly why: string;
}

/**
 * What the daemon needs beyond a plain root uid, as the systemd unit grants it
 * (config/systemd/uhugepaged.service, whose test checks the two agree).
 */
export const neededCapabilities: readonly NeededCapability[] = [
  { name: 'CAP_SYS_NICE', bits: [23], forWriting: true, why: 'process_madvise on another process (EPERM without it) and move_pages of its pages' },
  { name: 'CAP_SYS_PTRACE', bits: [19], forWriting: false, why: 'ptrace read access to processes of other users: process_madvise, /proc/PID/pagemap and smaps_rollup' },
  { name: 'CAP_SYS_ADMIN', bits: [21], forWriting: false, why: 'real page frame numbers in /proc/PID/pagemap (zeros without it), which kpageflags and the node of each page are read by' },
  { name: 'CAP_DAC_OVERRIDE', bits: [1], forWriting: false, why: "opening other users' /proc/PID/pagemap (mode 0400 of the process's owner) and writing their clear_refs for access sampling" },
];

/** The effective capability set from /proc/self/status, as a bigint bit mask. */
export function effectiveCapabilities(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

const has = (caps: bigint, bit: number): boolean => ((caps >> BigInt(bit)) & 1n) === 1n;

/** Whether the daemon runs privileged: euid 0 or any capability it would use. */
export function isPrivileged(euid: number, caps: bigint | undefined): boolean {
  return euid === 0 || (caps !== undefined && neededCapabilities.some((c) => c.bits.some((b) => has(caps, b))));
}

const grantHow = (name: string): string =>
  `grant ${name}: in the systemd unit AmbientCapabilities=${name} (and keep it in CapabilityBoundingSet=), or run as root with it in the bounding set; setcap ${name.toLowerCase()}+ep on the node binary works too but grants it to every script that node runs`;

/** Each needed capability, present or missing; missing is a refusal unless only acting needs it and this is a dry run. */
export function checkCapabilities({ host, dryRun }: PreflightInput): Finding[] {
  const caps = effectiveCapabilities(readOptional(host, '/proc/self/status') ?? '');
  if (caps === undefined) {
    return [{ level: 'refuse', check: 'capabilities', message: 'no CapEff line in /proc/self/status: the daemon cannot tell what it may do', fix: 'mount /proc (the daemon needs it for everything it reads)' }];
  }
  const present = neededCapabilities.filter((c) => c.bits.some((b) => has(caps, b)));
  const findings: Finding[] = [];
  if (present.length > 0) findings.push({ level: 'ok', check: 'capabilities', message: `effective: ${present.map((c) => c.name).join(', ')}` });
  for (const c of neededCapabilities) {
    if (present.includes(c)) continue;
    const level = dryRun && c.forWriting ? 'note' : 'refuse';
    findings.push({ level, check: 'capabilities', message: `${c.name} is missing (CapEff ${caps.toString(16)}): needed for ${c.why}${level === 'note' ? '; a dry run does not act' : ''}`, fix: grantHow(c.name) });
  }
  return findings;
}

/**
 * Yama's ptrace_scope restricts PTRACE_ATTACH only; process_madvise and pagemap ask for PTRACE_MODE_READ,
 * which it leaves alone. Said because operators who meet "ptrace" in the requirements look there first.
 */
export function checkPtraceScope({ host }: PreflightInput): Finding[] {
  const scope = readOptional(host, '/proc/sys/kernel/yama/ptrace_scope')?.trim();
  const message =
    scope === undefined
      ? 'Yama is not active: ptrace read access is the plain rule (same uid and a dumpable target, or CAP_SYS_PTRACE)'
      : `Yama ptrace_scope=${scope} restricts attaching only; process_madvise and pagemap need ptrace read access (same uid and a dumpable target, or CAP_SYS_PTRACE), which it does not change`;
  return [{ level: 'ok', check: 'ptrace', message }];
}

/**
 * A privileged daemon acts on what its policy file says, so whoever can write the file (or replace it
 * in its directory) steers the daemon: the file must not be writable by group or others, nor owned by
 * another non-root user, and its directory not writable by others unless sticky.
 */
export function checkPolicyFile({ host, policyFile }: PreflightInput): Finding[] {
  const caps = effectiveCapabilities(readOptional(host, '/proc/self/status') ?? '');
  const privileged = isPrivileged(host.euid, caps);
  let file;
  try {
    file = host.stat(policyFile);
  } catch (e) {
    return [{ level: 'refuse', check: 'policy-file', message: `cannot stat the policy file ${policyFile} (${hostErrno(e)})`, fix: 'give the path of a readable policy file with --config' }];
  }
  const problems: string[] = [];
  if ((file.mode & 0o022) !== 0) problems.push(`it is writable by ${(file.mode & 0o002) !== 0 ? 'anyone' : 'its group'} (mode ${(file.mode & 0o777).toString(8)})`);
  if (file.uid !== 0 && file.uid !== host.euid) problems.push(`it is owned by uid ${file.uid}, neither root nor the daemon`);
  try {
    const dir = host.stat(dirname(policyFile));
    if ((dir.mode & 0o002) !== 0 && (dir.mode & 0o1000) === 0) problems.push(`its directory ${dirname(policyFile)} is writable by anyone, who can replace the file`);
  } catch {
    // The file was stat'ed, so its directory exists; an error here leaves only the file's own checks.
  }
  if (problems.length === 0) return [{ level: 'ok', check: 'policy-file', message: `${policyFile}: owner and mode are safe` }];
  return [{
    level: privileged ? 'refuse' : 'note',
    check: 'policy-file',
    message: `${policyFile}: ${problems.join('; ')}${privileged ? ': whoever can change it steers a privileged daemon' : ''}`,
    fix: `chown root:root ${policyFile} && chmod 0644 ${policyFile} (and its directory 0755)`,
  }];
}
