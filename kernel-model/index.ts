/**
 * The simulated Linux kernel's public API (see docs/kernel-model-api.md). This is the only module of the
 * model that code outside it imports; evaluation tooling may also use ./evaluation.ts.
 */
export { SyscallError, errnoNumbers, type Errno } from './syscall-error.js';
