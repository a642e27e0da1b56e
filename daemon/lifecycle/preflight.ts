/**
 * Start-up checks for running on a real Linux kernel: what the kernel can do, what the daemon is allowed
 * to do, and whether its surroundings can be trusted. Each check gives findings; a `refuse` finding
 * means the daemon must not start, because it would run half-working (collapses failing with EPERM,
 * page facts read as zeros) or unsafely (a policy file someone else can rewrite, steering a privileged
 * process). Everything is asked of a {@link PreflightHost}, so the checks run on fake /proc and /sys
 * trees in tests; `preflight-host.ts` is the real one.
 *
 * Kernel features are detected by trying them (a probe), never from the version string: distribution
 * kernels backport features, and the version says nothing about a seccomp filter in the way.
 *
 *   runPreflight(input) ──► thp ─ madv-collapse ─ process-madvise ─ pidfd-self ─ damon ─ semantics
 *                           capabilities ─ ptrace ─ kernel-settings ─ policy-file ─ pid-namespace
 *                      ◄── Finding[]  (refusals first in formatFindings)
 */
import { checkCapabilities, checkPolicyFile, checkPtraceScope } from './preflight-privileges.js';
import { checkDamon, checkMadvCollapse, checkPidfdSelf, checkProcessMadvise, checkSemantics } from './preflight-features.js';
import { checkKernelSettings, checkThp } from './preflight-thp.js';
import { checkPidNamespace } from './preflight-namespace.js';
import type { Logger } from 'winston';
import type { Finding, FindingLevel, PreflightInput } from './preflight-finding.js';

export type { Finding, FindingLevel, HostStat, PreflightHost, PreflightInput, ProbedFeature, ProbeOutcome } from './preflight-finding.js';

/**
 * The exit status of a start refused by the checks: EX_CONFIG of sysexits.h. The systemd unit lists it
 * in RestartPreventExitStatus=, since restarting cannot cure a refusal.
 */
export const PREFLIGHT_REFUSED_EXIT = 78;

/** Runs every start-up check; the findings in check order. */
export function runPreflight(input: PreflightInput): Finding[] {
  return [
    ...checkThp(input),
    ...checkMadvCollapse(input),
    ...checkProcessMadvise(input),
    ...checkPidfdSelf(input),
    ...checkDamon(input),
    ...checkSemantics(input),
    ...checkCapabilities(input),
    ...checkPtraceScope(input),
    ...checkKernelSettings(input),
    ...checkPolicyFile(input),
    ...checkPidNamespace(input),
  ];
}

/** The findings that forbid starting. */
export function preflightRefusals(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.level === 'refuse');
}

/**
 * Logs each finding at a level that matches it: a refusal as an error, a note at info, a passed check at
 * verbose; the fields are the finding's own.
 */
export function logFindings(log: Logger, findings: readonly Finding[]): void {
  for (const f of findings) {
    const level = f.level === 'refuse' ? 'error' : f.level === 'note' ? 'info' : 'verbose';
    log.log(level, `start-up check ${f.check}: ${f.message}`, { check: f.check, finding: f.level, ...(f.fix ? { fix: f.fix } : {}) });
  }
}

/** The findings as lines for a terminal or the journal: refusals first, each with its fix. */
export function formatFindings(findings: readonly Finding[]): string {
  const order: Record<FindingLevel, number> = { refuse: 0, note: 1, ok: 2 };
  return [...findings]
    .sort((a, b) => order[a.level] - order[b.level])
    .map((f) => `${f.level.padEnd(6)} ${f.check}: ${f.message}${f.fix ? `\n       fix: ${f.fix}` : ''}`)
    .join('\n');
}
