/**
 * /proc/vmstat (mm/vmstat.c `vmstat_show`): one `name value` line per item of `vmstatNames`, in that
 * table's order, values in decimal without padding. The caller passes the machine-wide sums of its counter
 * arrays, already in the units Linux prints (pages; nr_*_hugepages items in huge pages).
 */
import { NR_VM_ITEMS, vmstatNames } from '../mm/vmstat-items.js';
import { dec } from './seq-file.js';

/** The text of /proc/vmstat from `values`, indexed like `vmstatNames` (see `Vm`). */
export function formatVmstat(values: ArrayLike<number>): string {
  if (values.length !== NR_VM_ITEMS) {
    throw new RangeError(`vmstat needs ${NR_VM_ITEMS} values, got ${values.length}`);
  }
  return vmstatNames.map((name, i) => `${name} ${dec(values[i])}\n`).join('');
}
