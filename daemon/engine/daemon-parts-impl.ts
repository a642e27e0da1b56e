/**
 * The real parts of the collapse daemon: the region inspector (pagemap, kpageflags, zoneinfo), the
 * policy's scorers, and the home node of a process (the CPU it last ran on, by the nodes' cpulists).
 */
import { ScorerRanker } from '../decide/policy-ranker.js';
import type { KernelPort } from '../kernel-port/kernel-port.js';
import { HomeNodes } from '../observe/home-node.js';
import { isGone } from '../observe/process-table.js';
import { fingerprint, RegionInspector } from '../observe/region-inspector.js';
import type { DaemonParts } from './daemon-parts.js';

export const daemonParts: DaemonParts = {
  regionReader(port: KernelPort) {
    const inspector = new RegionInspector(port);
    return { inspect: (pid, region, sharedLimit) => inspector.inspect(pid, [region], sharedLimit)[0], fingerprint };
  },
  ranker: (policy) => new ScorerRanker(policy),
  homeNode(port: KernelPort) {
    const nodes = new HomeNodes(port);
    return (pid) => {
      try {
        return nodes.homeNode(pid) ?? 0;
      } catch (e) {
        // A process that just exited: node 0 until the next cycle forgets it.
        if (isGone(e)) return 0;
        throw e;
      }
    };
  },
};
