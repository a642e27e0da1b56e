// A tiny scenario for the compare tests: one 256 MiB node, one process named like a database (the shipped
// policy's first class) with a 64 MiB heap, written whole at start, that it reads uniformly over its first
// half only (32 MiB, 16 regions of 2 MiB, about 25 accesses/s per page: hot, and more than the TLB
// reaches with 4 KiB pages). The other half is never touched again (cold). No MADV_HUGEPAGE, so under
// enabled=madvise neither faults nor khugepaged give it THPs.
import { parseScenario } from '../../../sim/scenario/load.js';
import type { Scenario } from '../../../sim/scenario/schema.js';

export const TINY_YAML = `name: tiny
seed: 7
duration: 2m
sampleEvery: 10s
machine:
  nodes:
    - memory: 256MiB
workloads:
  - name: db
    comm: postgres
    mappings:
      - name: heap
        size: 64MiB
    streams:
      - name: lookups
        mapping: heap
        rate: 200k/s
        pattern: uniform
        hotFraction: 50%
`;

export const MiB = 1 << 20;

/** The tiny scenario, parsed. */
export function tinyScenario(): Scenario {
  return parseScenario(TINY_YAML, 'tiny.yaml');
}
