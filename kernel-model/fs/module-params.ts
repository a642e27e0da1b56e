/**
 * /sys/module/<module>/parameters/* files of the built-in code the model has: page_reporting's
 * `page_reporting_order` (mm/page_reporting.c).
 *
 * `page_reporting_order`: mode 0644. Read with param_get_int, so it shows -1 until a reporting device
 * registers (the model's `balloon: true` registers one at boot, which sets pageblock order, 9, unless
 * the order was set already). A write is param_set_uint_minmax(0, MAX_PAGE_ORDER): kstrtouint in base 0
 * (an optional `+`, decimal, `0x` hex or `0` octal digits, at most one trailing newline), then 0–10, else
 * EINVAL; a writer other than root cannot open it for writing (EACCES). Free blocks of that order and up
 * are reported from then on.
 */
import { MAX_ORDER } from '../mm/constants.js';
import type { Task } from '../mm/mm-types.js';
import { SyscallError } from '../syscall-error.js';
import type { Kernel } from '../kernel.js';

/** The one module parameter file the model serves. */
export const PAGE_REPORTING_ORDER_PATH = '/sys/module/page_reporting/parameters/page_reporting_order';

/** kstrtouint(text, 0): the value, or undefined where Linux fails the write. */
export function parseKstrtouintBase0(text: string): number | undefined {
  const m = /^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\n?$/.exec(text);
  if (!m) return undefined;
  const digits = m[1];
  const value = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return value <= 0xffffffffn ? Number(value) : undefined;
}

/** /sys/module/*\/parameters/*. */
export class ModuleParams {
  constructor(private readonly k: Kernel) {}

  has(path: string): boolean {
    return path === PAGE_REPORTING_ORDER_PATH;
  }

  read(path: string): string {
    if (!this.has(path)) throw new SyscallError('ENOENT', 'open', path);
    return `${this.k.pageReporting.reportingOrder}\n`;
  }

  write(path: string, text: string, writer: Task | undefined): void {
    if (!this.has(path)) throw new SyscallError('ENOENT', 'open', path);
    if (writer && writer.uid !== 0) throw new SyscallError('EACCES', 'open', `${path} is writable by root only`);
    const v = parseKstrtouintBase0(text);
    if (v === undefined || v > MAX_ORDER) throw new SyscallError('EINVAL', 'write', `${path}: ${JSON.stringify(text)}`);
    this.k.pageReporting.setReportingOrder(v);
  }
}
