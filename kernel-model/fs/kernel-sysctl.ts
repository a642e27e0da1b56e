/**
 * /proc/sys/kernel/* files the model honours: `numa_balancing` only. Linux 6.18 keeps just
 * `numa_balancing` (and the memory-tiering `numa_balancing_promote_rate_limit_MBps`, not modelled) here;
 * the scan_delay/scan_period/scan_size tunables moved to debugfs in 5.13 and are constants of
 * mm/numa-balancing.ts.
 *
 * `numa_balancing`: mode 0644, sysctl_numa_balancing → proc_dointvec_minmax with [0, 4] (SYSCTL_FOUR):
 * 0 off, 1 normal balancing, 2 memory tiering, 3 both; a write needs CAP_SYS_ADMIN (EPERM), and a
 * writer other than root cannot open it for writing (EACCES). Like the /proc/sys/vm files, the text is
 * optional blanks, a decimal with an optional sign, optional blanks and newline.
 */
import type { Task } from '../mm/mm-types.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** The directory of these files. */
export const KERNEL_SYSCTL_DIR = '/proc/sys/kernel';

const NUMA_BALANCING_MAX = 4;

/** /proc/sys/kernel/*. */
export class KernelSysctl {
  constructor(private readonly k: Kernel) {}

  has(name: string): boolean {
    return name === 'numa_balancing';
  }

  read(name: string): string {
    if (!this.has(name)) throw new SyscallError('ENOENT', 'open', `${KERNEL_SYSCTL_DIR}/${name}`);
    return `${this.k.tunables.numaBalancing}\n`;
  }

  write(name: string, text: string, writer: Task | undefined): void {
    const path = `${KERNEL_SYSCTL_DIR}/${name}`;
    if (!this.has(name)) throw new SyscallError('ENOENT', 'open', path);
    if (writer && writer.uid !== 0) throw new SyscallError('EACCES', 'open', `${path} is writable by root only`);
    if (writer && !writer.hasCap('CAP_SYS_ADMIN')) throw new SyscallError('EPERM', 'write', `${path} needs CAP_SYS_ADMIN`);
    const m = /^\s*([+-]?\d+)\s*$/.exec(text);
    const v = m ? Number(m[1]) : NaN;
    if (!Number.isInteger(v) || v < 0 || v > NUMA_BALANCING_MAX) throw new SyscallError('EINVAL', 'write', `${path}: ${JSON.stringify(text)}`);
    this.k.tunables.numaBalancing = v;
    this.k.numaBalancing.modeChanged();
  }
}
