/**
 * The start-up checks on this machine: its /proc and /sys through node:fs, and the kernel features
 * probed through the Linux port's system calls. `preflightThisHost` is the one entry the Linux run path
 * calls before it builds the daemon.
 */
import { closeSync, constants, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { probeMadvCollapse, probePidfdSelf, probeProcessMadvise } from '../kernel-port/linux/feature-probes.js';
import { loadPolicy } from '../config/policy.js';
import { runPreflight, type Finding, type PreflightHost, type ProbedFeature } from './preflight.js';

const probes: Record<ProbedFeature, () => string> = {
  'madv-collapse': probeMadvCollapse,
  'process-madvise': probeProcessMadvise,
  'pidfd-self': probePidfdSelf,
};

/** This machine as a {@link PreflightHost}. */
export function linuxPreflightHost(): PreflightHost {
  return {
    readFile: (path) => readFileSync(path, 'utf8'),
    readLink: (path) => readlinkSync(path),
    stat: (path) => statSync(path),
    canOpen(path, mode) {
      // Opening is the true test (mode bits, capabilities, a read-only mount); nothing is read or written.
      try {
        closeSync(openSync(path, mode === 'r' ? constants.O_RDONLY : constants.O_WRONLY));
        return true;
      } catch {
        return false;
      }
    },
    probe: (feature) => probes[feature](),
    pid: process.pid,
    euid: process.geteuid?.() ?? -1,
  };
}

/**
 * Every start-up check on this machine, for the policy in `policyFile` (its `kernelSettings` are the
 * knobs checked for writing; a policy that does not load is left to its own loader's report).
 */
export function preflightThisHost(policyFile: string, dryRun: boolean): Finding[] {
  let kernelSettings: string[] = [];
  try {
    kernelSettings = Object.keys(loadPolicy(policyFile).kernelSettings);
  } catch {
    // The run path loads the policy itself and reports its problems with file, line and path.
  }
  return runPreflight({ host: linuxPreflightHost(), policyFile, kernelSettings, dryRun });
}
