/**
 * The counters of a memory cgroup, in Linux 6.18's print order: the memory.events items (enum
 * memcg_memory_event, the ones cgroup v2 prints) and the VM events a memcg counts (memcg_vm_event_stat),
 * which memory.stat prints after its state items under their /proc/vmstat names. Each table gives a
 * counter its index and its name; a counter is added here and nowhere else.
 */

/** memory.events items (enum memcg_memory_event, the ones cgroup v2 prints), in print order. */
export const MemcgMemoryEvent = { low: 0, high: 1, max: 2, oom: 3, oom_kill: 4, oom_group_kill: 5 } as const;
export type MemcgMemoryEvent = (typeof MemcgMemoryEvent)[keyof typeof MemcgMemoryEvent];
/** The count sentinel of {@link MemcgMemoryEvent}. */
export const NR_MEMCG_MEMORY_EVENTS = 6;
/** memory.events names, in print order. */
export const memcgMemoryEventNames = Object.keys(MemcgMemoryEvent) as (keyof typeof MemcgMemoryEvent)[];

/**
 * VM events a memcg counts (memcg_vm_event_stat of Linux 6.18), in memory.stat's print order; names are
 * the /proc/vmstat names. This one table gives each its index and its name.
 */
export const MemcgEvent = {
  pswpin: 0,
  pswpout: 1,
  pgscan_kswapd: 2,
  pgscan_direct: 3,
  pgscan_khugepaged: 4,
  pgscan_proactive: 5,
  pgsteal_kswapd: 6,
  pgsteal_direct: 7,
  pgsteal_khugepaged: 8,
  pgsteal_proactive: 9,
  pgfault: 10,
  pgmajfault: 11,
  pgrefill: 12,
  pgactivate: 13,
  pgdeactivate: 14,
  pglazyfree: 15,
  pglazyfreed: 16,
  swpin_zero: 17,
  swpout_zero: 18,
  zswpin: 19,
  zswpout: 20,
  zswpwb: 21,
  thp_fault_alloc: 22,
  thp_collapse_alloc: 23,
  thp_swpout: 24,
  thp_swpout_fallback: 25,
  numa_pages_migrated: 26,
  numa_pte_updates: 27,
  numa_hint_faults: 28,
} as const;
export type MemcgEvent = (typeof MemcgEvent)[keyof typeof MemcgEvent];
/** The count sentinel of {@link MemcgEvent}. */
export const NR_MEMCG_EVENTS = 29;
/** memory.stat names of the events, in print order. */
export const memcgEventNames = Object.keys(MemcgEvent) as (keyof typeof MemcgEvent)[];
