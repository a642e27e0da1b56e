/**
 * The node a process runs on, as a real Linux shows it: field 39 of /proc/PID/stat (`processor`, the
 * CPU it last ran on) mapped to a node through /sys/devices/system/node/nodeN/cpulist, for each node of
 * /sys/devices/system/node/online. The CPU → node table is read once per kernel port and kept (CPUs do
 * not change nodes); a CPU it does not know (hot-added, or onlined since) rebuilds it once per lookup.
 *
 * A kernel without NUMA support (no /sys/devices/system/node) has one node: every CPU is on node 0.
 * A CPU still in no node's cpulist — a cpulist lists online CPUs only, and a task that last ran on a
 * CPU taken offline since keeps that number until it runs again — gives undefined: the caller decides.
 * A process that is gone gives the KernelPortError of the stat read (ENOENT, ESRCH).
 */
import { KernelPortError, type KernelPort } from '../kernel-port/kernel-port.js';
import { parseRangeList, parseStat } from '../kernel-port/procfs-parsers.js';

const NODE_DIR = '/sys/devices/system/node';

/** CPU → node of one kernel, read lazily and kept. */
export class HomeNodes {
  /** undefined until read; null on a kernel without NUMA (every CPU on node 0). */
  private cpuNodes: Map<number, number> | null | undefined;

  constructor(private readonly port: KernelPort) {}

  /** The node process `pid` runs on, or undefined when its CPU is in no node's cpulist. */
  homeNode(pid: number): number | undefined {
    const cpu = parseStat(this.port.readFile(`/proc/${pid}/stat`)).processor;
    return this.nodeOfCpu(cpu);
  }

  /** The node of a CPU, or undefined when no online node lists it. */
  nodeOfCpu(cpu: number): number | undefined {
    if (this.cpuNodes === undefined) this.refresh();
    if (this.cpuNodes === null) return 0;
    const node = this.cpuNodes?.get(cpu);
    if (node !== undefined) return node;
    this.refresh();
    return this.cpuNodes === null ? 0 : this.cpuNodes?.get(cpu);
  }

  /** Re-reads the nodes' cpulists. */
  refresh(): void {
    let online: number[];
    try {
      online = parseRangeList(this.port.readFile(`${NODE_DIR}/online`));
    } catch (e) {
      if (e instanceof KernelPortError && e.errno === 'ENOENT') {
        this.cpuNodes = null;
        return;
      }
      throw e;
    }
    const map = new Map<number, number>();
    for (const node of online) {
      for (const cpu of parseRangeList(this.port.readFile(`${NODE_DIR}/node${node}/cpulist`))) map.set(cpu, node);
    }
    this.cpuNodes = map;
  }
}

/** The table of each port, for `homeNode`. */
const perPort = new WeakMap<KernelPort, HomeNodes>();

/** The node process `pid` runs on (see HomeNodes), with the CPU table cached per port instance. */
export function homeNode(port: KernelPort, pid: number): number | undefined {
  let nodes = perPort.get(port);
  if (nodes === undefined) {
    nodes = new HomeNodes(port);
    perPort.set(port, nodes);
  }
  return nodes.homeNode(pid);
}
