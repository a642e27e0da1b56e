/**
 * The model's CPUs. The model schedules no CPUs — a task's `node` is all it knows of where the task runs —
 * but several files name CPUs, and they must tell one story:
 *
 *   CPUs       max(2, nodes): a one-node machine has two CPUs (as the model always reported), a machine
 *              of n ≥ 2 nodes has n
 *   placement  CPU c is on node c % nodes, so node n holds CPUs n, n + nodes, ... (on one node: 0-1)
 *   a task     on node n runs on CPU n, the node's first CPU
 *
 * Who reads it: /proc/zoneinfo (one pageset per CPU), /proc/PID/status (Cpus_allowed: every CPU, and
 * nr_cpu_ids as the bitmap's width), /proc/PID/stat (field 39, processor) and
 * /sys/devices/system/node/nodeN/cpulist. So a reader can map a task's processor to its node exactly as
 * on Linux, through the cpulists.
 */

/** How many CPUs a machine of `nodeCount` nodes has. */
export function cpuCount(nodeCount: number): number {
  return Math.max(2, nodeCount);
}

/** The node CPU `cpu` is on. */
export function cpuNode(cpu: number, nodeCount: number): number {
  return cpu % nodeCount;
}

/** The CPUs of node `node`, ascending. */
export function nodeCpus(node: number, nodeCount: number): number[] {
  const cpus: number[] = [];
  for (let c = node; c < cpuCount(nodeCount); c += nodeCount) cpus.push(c);
  return cpus;
}

/** The CPU a task on node `node` runs on: the node's first. */
export function taskCpu(node: number): number {
  return node;
}
