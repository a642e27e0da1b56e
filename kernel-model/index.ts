/**
 * The simulated Linux kernel's public API (docs/kernel-model-api.md). This is the only module of the
 * model that code outside it imports; evaluation tooling may also use ./evaluation.ts.
 */
export { allCapabilityNames } from './capabilities.js';
export { SimKernel, type SimKernelConfig, type SpawnOptions, type StallTimes } from './sim-kernel.js';
export { SyscallError, errnoNumbers, type Errno } from './syscall-error.js';
export type { Mempolicy } from './mm/mempolicy.js';
export type { Prot } from './mm/mmap.js';
export type { Advice } from './mm/madvise.js';
export type { MovePagesFlags } from './mm/migrate-syscalls.js';
export type { AccessStreamSpec, AccessPattern } from './workload/access-pattern.js';
export type { PerfCounters } from './workload/streams.js';
export { FaultLatency } from './mm/fault-latency.js';
export type { DamonAttrs, DamonRegion } from './workload/damon.js';
export { PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, type Iovec } from './mm/pidfd.js';
