/**
 * Start-up checks of the THP settings: how the kernel's own huge-page paths are set (which changes what
 * the daemon adds, never whether it can work), and whether the knobs the policy holds can be written.
 */
import { knobValue } from '../act/kernel-settings.js';
import { readOptional, type Finding, type PreflightInput } from './preflight-finding.js';

const THP = '/sys/kernel/mm/transparent_hugepage';

/** `enabled` and `defrag`, and khugepaged's settings, as notes: the daemon works under each of them. */
export function checkThp({ host, dryRun }: PreflightInput): Finding[] {
  const enabledText = readOptional(host, `${THP}/enabled`);
  if (enabledText === undefined) {
    return [{
      level: dryRun ? 'note' : 'refuse',
      check: 'thp',
      message: `${THP}/enabled cannot be read: this kernel has no transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE), so there is nothing to collapse into`,
      fix: 'run on a kernel built with CONFIG_TRANSPARENT_HUGEPAGE=y',
    }];
  }
  const enabled = knobValue(enabledText);
  const defrag = knobValue(readOptional(host, `${THP}/defrag`) ?? 'unknown');
  const findings: Finding[] = [];
  if (enabled === 'never') {
    findings.push({
      level: 'note',
      check: 'thp',
      message: 'enabled=never: faults never get huge pages and khugepaged idles, but MADV_COLLAPSE ignores this setting, so the daemon still collapses; it is then the only source of huge pages',
    });
  } else {
    findings.push({ level: 'ok', check: 'thp', message: `enabled=${enabled}, defrag=${defrag}` });
  }
  const khugepaged = ['defrag', 'pages_to_scan', 'scan_sleep_millisecs', 'max_ptes_none']
    .map((k) => `${k}=${readOptional(host, `${THP}/khugepaged/${k}`)?.trim() ?? '?'}`)
    .join(', ');
  findings.push({ level: 'note', check: 'thp', message: `khugepaged: ${khugepaged} (MADV_COLLAPSE ignores the max_ptes_* limits and khugepaged's defrag)` });
  return findings;
}

/**
 * The knobs the policy holds must be writable, or the daemon would run without the protection the
 * policy asked for (a `defrag` left at a value that lets faults stall in compaction). With --dry-run
 * nothing is written.
 */
export function checkKernelSettings({ host, kernelSettings, dryRun }: PreflightInput): Finding[] {
  if (kernelSettings.length === 0) return [];
  const blocked = kernelSettings.filter((path) => !host.canOpen(path, 'w'));
  if (blocked.length === 0) return [{ level: 'ok', check: 'kernel-settings', message: `the policy's knobs are writable: ${kernelSettings.join(', ')}` }];
  return [{
    level: dryRun ? 'note' : 'refuse',
    check: 'kernel-settings',
    message: `the policy holds ${blocked.join(', ')} but the daemon cannot write ${blocked.length === 1 ? 'it' : 'them'} (${dryRun ? 'a dry run writes nothing' : 'it would run without the setting'})`,
    fix: 'run as root (the knobs are root-owned, mode 0644); under systemd do not set ProtectKernelTunables=, which makes /sys read-only; or drop the knob from kernelSettings',
  }];
}
