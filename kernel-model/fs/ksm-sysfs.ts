/**
 * /sys/kernel/mm/ksm/ (mm/ksm.c's attribute group): every file of `ksmKnobs` bound to the KSM mechanism.
 * Writes are validated as the store handlers parse them (fs/sysfs-knob.ts: EINVAL without a change),
 * then the state rules apply: `max_page_sharing` and `merge_across_nodes` are EBUSY while KSM pages
 * exist, `pages_to_scan` is EINVAL while `advisor_mode` is scan-time, `run` 2 unmerges everything
 * (ENOMEM if a copy cannot be had). Read-only counters refuse writes with EACCES.
 */
import { KSM_KNOB_DIR, formatKnob, ksmKnobs, parseKnobWrite, type KnobSpec } from './sysfs-knob.js';
import type { KsmAdvisorMode } from '../mm/ksm.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** A binding of a knob file to the mechanism. */
interface Binding {
  get(): string | number;
  set?(v: string | number): void;
}

/** The KSM sysfs directory. */
export class KsmSysfs {
  private readonly specs = new Map<string, KnobSpec>();
  private readonly bindings: Record<string, Binding>;

  constructor(k: Kernel) {
    for (const spec of ksmKnobs) this.specs.set(spec.path, spec);
    const ksm = k.ksm;
    const stable = ksm.stable;
    this.bindings = {
      sleep_millisecs: { get: () => ksm.sleepMs, set: (v) => ksm.setSleepMs(Number(v)) },
      pages_to_scan: { get: () => ksm.pagesToScan, set: (v) => ksm.setPagesToScan(Number(v)) },
      run: { get: () => ksm.run, set: (v) => ksm.setRun(Number(v)) },
      pages_scanned: { get: () => ksm.pagesScanned },
      pages_shared: { get: () => ksm.pagesShared },
      pages_sharing: { get: () => ksm.pagesSharing },
      pages_unshared: { get: () => ksm.pagesUnshared },
      pages_volatile: { get: () => ksm.pagesVolatile },
      pages_skipped: { get: () => ksm.pagesSkipped },
      ksm_zero_pages: { get: () => ksm.zeroPages },
      full_scans: { get: () => ksm.fullScans },
      merge_across_nodes: { get: () => (ksm.mergeAcrossNodes ? 1 : 0), set: (v) => ksm.setMergeAcrossNodes(v === 1) },
      max_page_sharing: { get: () => stable.maxPageSharing, set: (v) => ksm.setMaxPageSharing(Number(v)) },
      stable_node_chains: { get: () => stable.chains },
      stable_node_dups: { get: () => stable.dups },
      stable_node_chains_prune_millisecs: { get: () => stable.pruneMs, set: (v) => void (stable.pruneMs = Number(v)) },
      use_zero_pages: { get: () => (ksm.useZeroPages ? 1 : 0), set: (v) => void (ksm.useZeroPages = v === 1) },
      general_profit: { get: () => ksm.generalProfit },
      smart_scan: { get: () => (ksm.smartScan ? 1 : 0), set: (v) => void (ksm.smartScan = v === 1) },
      advisor_mode: { get: () => ksm.advisorMode, set: (v) => ksm.setAdvisorMode(v as KsmAdvisorMode) },
      advisor_max_cpu: { get: () => ksm.advisorMaxCpu, set: (v) => void (ksm.advisorMaxCpu = Number(v)) },
      advisor_min_pages_to_scan: { get: () => ksm.advisorMinPagesToScan, set: (v) => void (ksm.advisorMinPagesToScan = Number(v)) },
      advisor_max_pages_to_scan: { get: () => ksm.advisorMaxPagesToScan, set: (v) => void (ksm.advisorMaxPagesToScan = Number(v)) },
      advisor_target_scan_time: { get: () => ksm.advisorTargetScanTime, set: (v) => void (ksm.advisorTargetScanTime = Number(v)) },
    };
    for (const spec of ksmKnobs) {
      if (!this.bindings[spec.path]) throw new Error(`ksm sysfs: no binding for ${spec.path}`);
    }
  }

  /** Paths (relative to the KSM directory) of every file. */
  files(): string[] {
    return [...this.specs.keys()];
  }

  read(rel: string): string {
    const spec = this.specs.get(rel);
    if (!spec) throw new SyscallError('ENOENT', 'open', `${KSM_KNOB_DIR}/${rel}`);
    return formatKnob(spec, this.bindings[rel].get());
  }

  write(rel: string, text: string): void {
    const spec = this.specs.get(rel);
    if (!spec) throw new SyscallError('ENOENT', 'open', `${KSM_KNOB_DIR}/${rel}`);
    if (!spec.writable) throw new SyscallError('EACCES', 'open', `${KSM_KNOB_DIR}/${rel} is read-only`);
    const v = parseKnobWrite(spec, text);
    if (v === undefined) throw new SyscallError('EINVAL', 'write', `${KSM_KNOB_DIR}/${rel}: ${JSON.stringify(text)}`);
    this.bindings[rel].set!(v);
  }
}
