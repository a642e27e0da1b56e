/**
 * /sys/devices/system/node (drivers/base/node.c), the files of it the model has, all read-only:
 *
 *   online          the online nodes as a `%*pbl` range list: `0` on one node, `0-1` on two
 *   nodeN/cpulist   node N's CPUs as a `%*pbl` range list (`node_read_cpumap`), here from cpu-topology.ts:
 *                   `0-1` on a one-node machine, `N` on a machine of two or more
 *   nodeN/meminfo   per-node memory (built in proc-machine.ts)
 *
 * Every node of the model is online and has memory and CPUs. Reading costs nothing (sysfs attributes
 * print a value they hold).
 */
import { nodeCpus } from '../cpu-topology.js';
import { nodeMeminfo } from './proc-machine.js';
import { bitmapList } from './seq-file.js';
import type { Kernel } from '../kernel.js';

/** Where the node files live. */
export const NODE_SYSFS_DIR = '/sys/devices/system/node';

/** The text of a file under /sys/devices/system/node, or undefined when the model has no such file. */
export function readNodeSysfs(k: Kernel, path: string): string | undefined {
  if (path === `${NODE_SYSFS_DIR}/online`) return `${bitmapList(k.zones.map((z) => z.node))}\n`;
  const m = /^\/sys\/devices\/system\/node\/node(0|[1-9]\d*)\/(cpulist|meminfo)$/.exec(path);
  if (m === null) return undefined;
  const node = Number(m[1]);
  if (node >= k.nodeCount) return undefined;
  return m[2] === 'cpulist' ? `${bitmapList(nodeCpus(node, k.nodeCount))}\n` : nodeMeminfo(k, node);
}
