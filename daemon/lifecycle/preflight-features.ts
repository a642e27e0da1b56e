/**
 * Start-up checks of the kernel's features, each found by trying it on the daemon's own process (see
 * preflight-host.ts for the probes) or by reading sysfs, never from the version string.
 */
import { readOptional, type Finding, type PreflightInput } from './preflight-finding.js';

/** The refusal level of a missing feature: a dry run makes no kernel call that needs it. */
const missing = (dryRun: boolean): Finding['level'] => (dryRun ? 'note' : 'refuse');

/**
 * MADV_COLLAPSE, probed on a written, 2 MiB-aligned region of the daemon's own anonymous memory, which
 * must collapse where the advice is known: 0 = supported, EINVAL = not known (before Linux 6.1). Other
 * errors (ENOMEM, EAGAIN, EBUSY) are of the moment and prove the advice is known.
 */
export function checkMadvCollapse({ host, dryRun }: PreflightInput): Finding[] {
  const outcome = host.probe('madv-collapse');
  if (outcome === 'ok') return [{ level: 'ok', check: 'madv-collapse', message: 'MADV_COLLAPSE collapsed a probe region of the daemon’s own memory' }];
  if (outcome === 'EINVAL') {
    // A process started with THP disabled (PR_SET_THP_DISABLE, inherited from its parent) gets EINVAL
    // on its own memory whatever the kernel knows; the collapses of other processes are not affected.
    const thpDisabled = /^THP_enabled:\s*0\s*$/m.test(readOptional(host, '/proc/self/status') ?? '');
    if (thpDisabled) {
      return [{
        level: 'note',
        check: 'madv-collapse',
        message: 'cannot tell whether this kernel knows MADV_COLLAPSE: the daemon was started with THP disabled (THP_enabled: 0 in /proc/self/status, prctl PR_SET_THP_DISABLE inherited from its parent), so its own probe region answers EINVAL either way',
        fix: 'start the daemon from a parent that has not disabled THP',
      }];
    }
    return [{
      level: missing(dryRun),
      check: 'madv-collapse',
      message: 'this kernel does not know MADV_COLLAPSE (madvise answered EINVAL on a region that must collapse where it is known); the daemon has no other way to make huge pages',
      fix: 'run on Linux 6.1 or later (or a kernel with MADV_COLLAPSE backported)',
    }];
  }
  return [{
    level: 'note',
    check: 'madv-collapse',
    message: `MADV_COLLAPSE is known but the probe region did not collapse now (${outcome}): memory is short or fragmented at the moment`,
  }];
}

/** process_madvise and pidfd_open, probed with vlen 0 on a pidfd of the daemon itself: 0 = present. */
export function checkProcessMadvise({ host, dryRun }: PreflightInput): Finding[] {
  const outcome = host.probe('process-madvise');
  if (outcome === 'ok') return [{ level: 'ok', check: 'process-madvise', message: 'pidfd_open and process_madvise answer' }];
  if (outcome === 'ENOSYS') {
    return [{
      level: missing(dryRun),
      check: 'process-madvise',
      message: 'pidfd_open or process_madvise is missing (ENOSYS): the daemon cannot advise another process’s memory',
      fix: 'run on Linux 6.1 or later, where process_madvise also accepts MADV_COLLAPSE',
    }];
  }
  return [{
    level: missing(dryRun),
    check: 'process-madvise',
    message: `process_madvise on the daemon itself failed with ${outcome}: ${outcome === 'EPERM' ? 'a seccomp filter forbids it' : 'it would fail on other processes too'}`,
    fix: outcome === 'EPERM' ? 'allow pidfd_open and process_madvise in the seccomp filter (under systemd: do not set a SystemCallFilter= that leaves them out)' : 'see process_madvise(2) for this errno',
  }];
}

/** PIDFD_SELF_THREAD_GROUP (Linux 6.13+): process_madvise on oneself without a pidfd. Only worth knowing. */
export function checkPidfdSelf({ host }: PreflightInput): Finding[] {
  const outcome = host.probe('pidfd-self');
  if (outcome === 'ok') return [{ level: 'ok', check: 'pidfd-self', message: 'PIDFD_SELF_THREAD_GROUP accepted (Linux 6.13+)' }];
  return [{
    level: 'note',
    check: 'pidfd-self',
    message: `PIDFD_SELF_THREAD_GROUP refused (${outcome}; EBADF before Linux 6.13): the daemon's own probes use a pidfd of itself instead, nothing is lost`,
  }];
}

const KDAMONDS = '/sys/kernel/mm/damon/admin/kdamonds';

/**
 * DAMON's sysfs interface, by reading only. The interface refuses to change `nr_kdamonds` while any
 * kdamond runs (EBUSY), so a running one — a platform agent's — means the daemon cannot add its own.
 * Writing `nr_kdamonds` to find out would tear down the others' kdamonds when none runs.
 */
export function checkDamon({ host }: PreflightInput): Finding[] {
  const nrText = readOptional(host, `${KDAMONDS}/nr_kdamonds`);
  if (nrText === undefined) {
    return [{ level: 'note', check: 'damon', message: 'DAMON sysfs is absent (CONFIG_DAMON_SYSFS, Linux 5.18+): access sampling falls back to clear_refs' }];
  }
  const nr = Number(nrText.trim());
  const running: string[] = [];
  for (let i = 0; i < nr; i++) {
    if (readOptional(host, `${KDAMONDS}/${i}/state`)?.trim() === 'on') {
      const pid = readOptional(host, `${KDAMONDS}/${i}/pid`)?.trim();
      running.push(`kdamond ${i}${pid ? ` (pid ${pid})` : ''}`);
    }
  }
  if (running.length > 0) {
    return [{
      level: 'note',
      check: 'damon',
      message: `DAMON sysfs is present but busy: ${running.join(', ')} already running, and DAMON refuses a new kdamond while one runs (EBUSY); access sampling falls back to clear_refs`,
      fix: 'to let the daemon use DAMON, stop the other DAMON user (write off to its kdamonds/N/state)',
    }];
  }
  if (!host.canOpen(`${KDAMONDS}/nr_kdamonds`, 'w')) {
    return [{
      level: 'note',
      check: 'damon',
      message: 'DAMON sysfs is present but not writable by the daemon: access sampling falls back to clear_refs',
      fix: 'run as root (the DAMON sysfs files are root-owned, mode 0600)',
    }];
  }
  return [{ level: 'ok', check: 'damon', message: 'DAMON sysfs is present and idle: access sampling can use it' }];
}

/**
 * The kernel's release, and where the daemon's reading of the calls' results was checked. Only a note:
 * features are probed above; this says what could read differently on an older kernel.
 */
export function checkSemantics({ host }: PreflightInput): Finding[] {
  const release = readOptional(host, '/proc/sys/kernel/osrelease')?.trim() ?? 'unknown';
  const m = /^(\d+)\.(\d+)/.exec(release);
  const older = m !== null && (Number(m[1]) < 6 || (Number(m[1]) === 6 && Number(m[2]) < 18));
  return [{
    level: 'note',
    check: 'semantics',
    message:
      `kernel ${release}: the daemon's reading of MADV_COLLAPSE results (which errno ends a call, process_madvise's partial byte count, EACCES where the man page says EPERM) was checked on Linux 6.18` +
      (older ? '; on this older kernel a region may fail with another errno than on 6.18 (for example EINVAL for a range inside one 2 MiB region), which the failure memory skips for a while rather than retrying' : ''),
  }];
}
