/**
 * The parts of the collapse daemon that are built from the kernel port or the policy at run time: the
 * region inspector, the ranker (the policy's scorers) and the process-to-node lookup. Bound as one
 * factory object (engine-module.ts) so that the daemon never reaches for the container, and so a test
 * can put fakes in their place.
 */
import type { Policy } from '../config/policy-schema.js';
import type { PolicyRanker, RegionReader } from '../decide/planner.js';
import type { KernelPort } from '../kernel-port/kernel-port.js';

export interface DaemonParts {
  regionReader(port: KernelPort): RegionReader;
  ranker(policy: Policy): PolicyRanker;
  /** The node a process runs on (its home node), looked up through the port. */
  homeNode(port: KernelPort): (pid: number) => number;
}

/** Token of {@link DaemonParts}. */
export const DaemonParts = Symbol.for('uhugepaged.DaemonParts');
