/**
 * The file namespace of the simulated kernel: which path is which file, who may read or write it, and
 * what reading costs. Texts are built by the formatters of this folder from the mechanisms' state.
 *
 *   /proc/{vmstat,meminfo,buddyinfo,pagetypeinfo,zoneinfo,pressure/memory}
 *   /proc/PID/{maps,smaps,smaps_rollup,numa_maps,status,stat,cgroup}  /proc/PID/clear_refs (write)
 *   /proc/PID/pagemap, /proc/kpageflags (binary)          /dev/kmsg
 *   /proc/sys/vm/*                                         /sys/kernel/mm/transparent_hugepage/**
 *   /proc/sys/kernel/numa_balancing                        /sys/module/page_reporting/parameters/*
 *   /proc/PID/{ksm_stat,ksm_merging_pages}                 /sys/kernel/mm/ksm/* (ksm-sysfs.ts)
 *   /sys/devices/system/node/{online,nodeN/cpulist,nodeN/meminfo} (node-sysfs.ts)
 *   /sys/fs/cgroup/** (cgroupfs.ts)
 */
import { Cost } from '../mm/costs.js';
import { CgroupFs } from './cgroupfs.js';
import type { Task } from '../mm/mm-types.js';
import { SyscallError } from '../syscall-error.js';
import { readKpageflags, readPagemap } from './pagemap.js';
import { readNodeSysfs } from './node-sysfs.js';
import { procBuddyinfo, procMeminfo, procPagetypeinfo, procPressure, procVmstat, procZoneinfo } from './proc-machine.js';
import { clearRefs, procMaps, procNumaMaps, procSmaps, procSmapsRollup, procStat, procStatus } from './proc-pid.js';
import { KSM_KNOB_DIR, THP_KNOB_DIR } from './sysfs-knob.js';
import { formatKsmStat } from './ksm-stat.js';
import { KsmSysfs } from './ksm-sysfs.js';
import { ThpSysfs, VmSysctl } from './sysfs.js';
import { KERNEL_SYSCTL_DIR, KernelSysctl } from './kernel-sysctl.js';
import { ModuleParams } from './module-params.js';
import type { Kernel } from '../kernel.js';

const machineFiles: Record<string, (k: Kernel) => string> = {
  '/proc/vmstat': procVmstat,
  '/proc/meminfo': procMeminfo,
  '/proc/buddyinfo': procBuddyinfo,
  '/proc/pagetypeinfo': procPagetypeinfo,
  '/proc/zoneinfo': procZoneinfo,
  '/proc/pressure/memory': procPressure,
  '/dev/kmsg': (k) => k.log.kmsg(),
};

type PidReader = (k: Kernel, task: Task, reader: Task | undefined) => string;

/** Per-process files, and whether reading them needs PTRACE_MODE_READ on the target. */
const pidFiles: Record<string, { read: PidReader; ptrace: boolean }> = {
  // Mode 0444, but opening it checks PTRACE_MODE_READ_FSCREDS as smaps does; no page walk, so cheap.
  maps: { read: (_k, t) => procMaps(t), ptrace: true },
  smaps: { read: procSmaps, ptrace: true },
  smaps_rollup: { read: procSmapsRollup, ptrace: true },
  numa_maps: { read: procNumaMaps, ptrace: true },
  status: { read: (k, t) => procStatus(k, t), ptrace: false },
  stat: { read: (k, t) => procStat(k, t), ptrace: false },
  // The unified (v2) hierarchy only, as on a host booted with cgroup v2: one line, hierarchy 0.
  cgroup: { read: (_k, t) => `0::${t.cgroup}\n`, ptrace: false },
  // Mode 0400 in Linux: the owner (of a dumpable process) or root; the ptrace check stands in for that.
  ksm_stat: { read: (k, t) => formatKsmStat(k.ksm.stat(t)), ptrace: true },
  ksm_merging_pages: { read: (k, t) => `${k.ksm.stat(t).mergingPages}\n`, ptrace: true },
};

/** The kernel's files. */
export class ProcFs {
  private readonly thp: ThpSysfs;
  private readonly sysctl: VmSysctl;
  private readonly kernelSysctl: KernelSysctl;
  private readonly moduleParams: ModuleParams;
  private readonly cgroups: CgroupFs;
  private readonly ksm: KsmSysfs;

  constructor(private readonly k: Kernel) {
    this.thp = new ThpSysfs(k);
    this.sysctl = new VmSysctl(k);
    this.kernelSysctl = new KernelSysctl(k);
    this.moduleParams = new ModuleParams(k);
    this.cgroups = new CgroupFs(k);
    this.ksm = new KsmSysfs(k);
  }

  /** The text of a file; ENOENT when there is no such file. */
  read(path: string, reader: Task | undefined): string {
    const machine = machineFiles[path];
    if (machine) {
      reader?.chargeSys(Cost.procfsRead);
      return machine(this.k);
    }
    const pid = /^\/proc\/(\d+)\/([a-z_]+)$/.exec(path);
    if (pid) {
      const target = this.target(Number(pid[1]), path);
      const file = pidFiles[pid[2]];
      if (!file) throw noent(path);
      if (file.ptrace) this.checkPtraceRead(reader, target, path);
      reader?.chargeSys(Cost.procfsRead);
      return file.read(this.k, target, reader);
    }
    if (path.startsWith(`${THP_KNOB_DIR}/`)) return this.thp.read(path.slice(THP_KNOB_DIR.length + 1));
    if (path.startsWith(`${KSM_KNOB_DIR}/`)) return this.ksm.read(path.slice(KSM_KNOB_DIR.length + 1));
    if (CgroupFs.owns(path)) return this.cgroups.read(path, reader);
    const sysctl = /^\/proc\/sys\/vm\/([a-z_]+)$/.exec(path);
    if (sysctl) return this.sysctl.read(sysctl[1]);
    if (path.startsWith(`${KERNEL_SYSCTL_DIR}/`)) return this.kernelSysctl.read(path.slice(KERNEL_SYSCTL_DIR.length + 1));
    if (this.moduleParams.has(path)) return this.moduleParams.read(path);
    const node = readNodeSysfs(this.k, path);
    if (node !== undefined) return node;
    throw noent(path);
  }

  /** A write; EINVAL or EBUSY where Linux refuses it, ENOENT for no such file, EACCES if read-only. */
  write(path: string, text: string, writer: Task | undefined): void {
    if (path.startsWith(`${THP_KNOB_DIR}/`)) return this.thp.write(path.slice(THP_KNOB_DIR.length + 1), text);
    if (path.startsWith(`${KSM_KNOB_DIR}/`)) return this.ksm.write(path.slice(KSM_KNOB_DIR.length + 1), text);
    if (CgroupFs.owns(path)) return this.cgroups.write(path, text, writer);
    const sysctl = /^\/proc\/sys\/vm\/([a-z_]+)$/.exec(path);
    if (sysctl) return this.sysctl.write(sysctl[1], text, writer);
    if (path.startsWith(`${KERNEL_SYSCTL_DIR}/`)) return this.kernelSysctl.write(path.slice(KERNEL_SYSCTL_DIR.length + 1), text, writer);
    if (this.moduleParams.has(path)) return this.moduleParams.write(path, text, writer);
    const clear = /^\/proc\/(\d+)\/clear_refs$/.exec(path);
    if (clear) {
      const target = this.target(Number(clear[1]), path);
      this.checkPtraceRead(writer, target, path);
      return clearRefs(this.k, target, text, writer);
    }
    if (this.exists(path)) throw new SyscallError('EACCES', 'open', `${path} is not writable`);
    throw noent(path);
  }

  /** Bytes of a binary file (pagemap, kpageflags); offsets must be multiples of 8. */
  readBinary(path: string, offset: number, length: number, reader: Task | undefined): Uint8Array {
    if (!(Number.isInteger(offset) && offset >= 0 && offset % 8 === 0 && Number.isInteger(length) && length >= 0)) {
      throw new SyscallError('EINVAL', 'pread', `offset ${offset} and length ${length} must be whole multiples of 8`);
    }
    const cost = (): void => reader?.chargeSys(Cost.procfsRead + (length / 8) * Cost.procfsPerPage);
    if (path === '/proc/kpageflags') {
      if (reader && !reader.hasCap('CAP_SYS_ADMIN')) throw new SyscallError('EACCES', 'open', path);
      cost();
      return readKpageflags(this.k, offset, length);
    }
    const pagemap = /^\/proc\/(\d+)\/pagemap$/.exec(path);
    if (pagemap) {
      const target = this.target(Number(pagemap[1]), path);
      this.checkPtraceRead(reader, target, path);
      cost();
      return readPagemap(this.k, target, offset, length, !reader || reader.hasCap('CAP_SYS_ADMIN'));
    }
    throw noent(path);
  }

  /** Whether a file exists. */
  exists(path: string): boolean {
    try {
      this.read(path, undefined);
      return true;
    } catch (e) {
      return !(e instanceof SyscallError && e.errno === 'ENOENT');
    }
  }

  /** The files of a directory-like prefix (for listings). */
  thpFiles(): string[] {
    return this.thp.files().map((f) => `${THP_KNOB_DIR}/${f}`);
  }

  /** The files of /sys/kernel/mm/ksm/. */
  ksmFiles(): string[] {
    return this.ksm.files().map((f) => `${KSM_KNOB_DIR}/${f}`);
  }

  private target(pid: number, path: string): Task {
    const t = this.k.task(pid);
    if (!t) throw noent(path);
    return t;
  }

  /** PTRACE_MODE_READ: oneself, CAP_SYS_PTRACE, or the same uid with a dumpable target. */
  private checkPtraceRead(reader: Task | undefined, target: Task, path: string): void {
    if (!reader || this.k.ptraceMayRead(reader, target)) return;
    throw new SyscallError('EACCES', 'open', path);
  }
}

function noent(path: string): SyscallError {
  return new SyscallError('ENOENT', 'open', path);
}
