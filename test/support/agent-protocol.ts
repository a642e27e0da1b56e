/**
 * The line protocol of the workload agent (test/real-kernel/agent/workload-agent.c, whose header lists
 * the commands) and of its simulated twin (sim-agent.ts): what both agree to print, so a test can run
 * one script on either kernel and compare the replies field by field. Kept in one place so the two
 * sides cannot drift apart in what they count or how they read a number.
 */

/** The /proc/vmstat counters whose change during a command each reply reports (the agent's `tracked`). */
export const TRACKED_VMSTAT = [
  'thp_fault_alloc', 'thp_collapse_alloc', 'thp_collapse_alloc_failed', 'thp_split_pmd',
  'thp_split_page', 'thp_split_page_failed', 'cow_ksm',
] as const;

/** The machine-wide KSM counters a report carries (/sys/kernel/mm/ksm/), in the agent's order. */
export const KSM_COUNTERS = [
  'pages_shared', 'pages_sharing', 'pages_unshared', 'pages_volatile', 'ksm_zero_pages',
  'stable_node_chains', 'stable_node_dups', 'full_scans', 'general_profit',
] as const;

/** One region of a report: AnonHugePages over it and, per 2 MiB, whether one huge page backs it. */
export interface RegionReport {
  anonHugeKb: number;
  huge: number[];
}

/** One reply line. `usage` means the script itself was wrong (not a kernel answer). */
export interface AgentReply {
  cmd: string;
  ret?: number;
  errno?: string | null;
  usage?: string;
  vmstat?: Record<string, number>;
  /** map: where the region landed. */
  addr?: string;
  /** ready, fork: a pid. */
  pid?: number;
  /** pidfd_open: the descriptor. */
  fd?: number;
  release?: string;
  regions?: Record<string, RegionReport>;
  ksm_stat?: Record<string, number> | null;
  ksm_merging_pages?: number;
  ksm?: Record<string, number>;
  zero_page?: boolean | null;
}

/** The fields that differ between two kernels by nature (addresses, pids, descriptors, release). */
const incidental = new Set(['addr', 'pid', 'fd', 'release']);

/** A reply without its incidental fields: what the two kernels must agree on. */
export function comparable(reply: AgentReply): AgentReply {
  return Object.fromEntries(Object.entries(reply).filter(([key]) => !incidental.has(key))) as unknown as AgentReply;
}

/**
 * A number as the agent reads one: decimal or 0x-hex with an optional K or M suffix, terms summed with
 * '+' ("2M+4K"). Undefined when the text is not one.
 */
export function parseAgentNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  let sum = 0;
  for (const term of text.split('+')) {
    const m = /^(-?(?:0x[0-9a-fA-F]+|\d+))([KM]?)$/.exec(term);
    if (!m) return undefined;
    sum += Number(m[1]) * (m[2] === 'K' ? 1024 : m[2] === 'M' ? 1 << 20 : 1);
  }
  return sum;
}
