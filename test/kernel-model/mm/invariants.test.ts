// Property test: whatever a sequence of processes does (map, touch, advise, protect, fork, exit, and the
// kernel's own consumers and threads running in between), the machine-wide invariants hold — no frame is
// both free and mapped, mapcounts equal the PTEs that map each frame, and counters match page tables.
import { test } from 'node:test';
import fc from 'fast-check';
import { SimKernel, SyscallError } from '../../../kernel-model/index.js';
import { kernelOf } from '../../../kernel-model/evaluation.js';
import { checkKernelInvariants } from '../../support/kernel-invariants.js';

const MiB = 1 << 20;

type Op =
  | { op: 'mmap'; mib: number; huge: boolean }
  | { op: 'touch'; m: number; offMiB: number; lenKiB: number; write: boolean }
  | { op: 'dontneed'; m: number; offKiB: number; lenKiB: number }
  | { op: 'munmap'; m: number; offMiB: number; lenMiB: number }
  | { op: 'mprotect'; m: number; offMiB: number }
  | { op: 'fork' }
  | { op: 'exit'; p: number }
  | { op: 'kernel'; pages: number; lifetime: boolean }
  | { op: 'cache'; pages: number }
  | { op: 'pin'; m: number }
  | { op: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('mmap' as const), mib: fc.integer({ min: 1, max: 12 }), huge: fc.boolean() }),
  fc.record({ op: fc.constant('touch' as const), m: fc.nat(), offMiB: fc.nat(8), lenKiB: fc.integer({ min: 4, max: 6000 }), write: fc.boolean() }),
  fc.record({ op: fc.constant('dontneed' as const), m: fc.nat(), offKiB: fc.nat(4000), lenKiB: fc.integer({ min: 4, max: 3000 }) }),
  fc.record({ op: fc.constant('munmap' as const), m: fc.nat(), offMiB: fc.nat(6), lenMiB: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('mprotect' as const), m: fc.nat(), offMiB: fc.nat(6) }),
  fc.record({ op: fc.constant('fork' as const) }),
  fc.record({ op: fc.constant('exit' as const), p: fc.nat() }),
  fc.record({ op: fc.constant('kernel' as const), pages: fc.integer({ min: 1, max: 600 }), lifetime: fc.boolean() }),
  fc.record({ op: fc.constant('cache' as const), pages: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ op: fc.constant('pin' as const), m: fc.nat() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5000 }) }),
);

function apply(k: SimKernel, pids: number[], maps: { pid: number; addr: number; len: number }[], o: Op): void {
  const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
  switch (o.op) {
    case 'mmap': {
      const pid = pick(pids, maps.length)!;
      const addr = k.mmap(pid, o.mib * MiB);
      if (o.huge) k.madvise(pid, addr, o.mib * MiB, 'MADV_HUGEPAGE');
      maps.push({ pid, addr, len: o.mib * MiB });
      return;
    }
    case 'touch': {
      const m = pick(maps, o.m);
      if (m) k.touch(m.pid, m.addr + Math.min(o.offMiB * MiB, m.len - 4096), Math.min(o.lenKiB * 1024, m.len), { write: o.write });
      return;
    }
    case 'dontneed': {
      const m = pick(maps, o.m);
      if (m) k.madvise(m.pid, m.addr + Math.min(o.offKiB * 1024, m.len - 4096), o.lenKiB * 1024, 'MADV_DONTNEED');
      return;
    }
    case 'munmap': {
      const m = pick(maps, o.m);
      if (m) k.munmap(m.pid, m.addr + Math.min(o.offMiB * MiB, m.len - 4096), o.lenMiB * MiB);
      return;
    }
    case 'mprotect': {
      const m = pick(maps, o.m);
      if (m) k.mprotect(m.pid, m.addr + Math.min(o.offMiB * MiB, m.len - 4096), 4096, 'r');
      return;
    }
    case 'fork': {
      const parent = pick(pids, pids.length);
      if (parent !== undefined) {
        const child = k.fork(parent);
        pids.push(child);
        for (const m of maps.filter((x) => x.pid === parent)) maps.push({ ...m, pid: child });
      }
      return;
    }
    case 'exit': {
      const pid = pick(pids, o.p);
      if (pid !== undefined && pids.length > 1) {
        k.exit(pid);
        pids.splice(pids.indexOf(pid), 1);
        for (let i = maps.length - 1; i >= 0; i--) if (maps[i].pid === pid) maps.splice(i, 1);
      }
      return;
    }
    case 'kernel':
      k.kernelAlloc(0, o.pages, 'unmovable', o.lifetime ? 1000 : undefined);
      return;
    case 'cache':
      k.pageCacheAdd(0, o.pages, o.pages % 2 === 0);
      return;
    case 'pin': {
      const m = pick(maps, o.m);
      if (m) k.pin(m.pid, m.addr, 8192);
      return;
    }
    case 'advance':
      k.advance(o.ms);
      return;
  }
}

test('machine-wide invariants hold after any sequence of process and kernel activity', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.constantFrom('always', 'madvise', 'never'), (ops, enabled) => {
      const k = new SimKernel({ nodes: [{ memoryMiB: 48 }], swapMiB: 32, seed: 11 });
      k.writeFile('/sys/kernel/mm/transparent_hugepage/enabled', enabled);
      k.writeFile('/sys/kernel/mm/transparent_hugepage/defrag', 'always');
      const pids = [k.spawn({ comm: 'a' }), k.spawn({ comm: 'b' })];
      const maps: { pid: number; addr: number; len: number }[] = [];
      for (const o of ops) {
        try {
          apply(k, pids, maps, o);
        } catch (e) {
          if (!(e instanceof SyscallError)) throw e;
        }
        for (let i = pids.length - 1; i >= 0; i--) if (!k.listPids().includes(pids[i])) pids.splice(i, 1);
        for (let i = maps.length - 1; i >= 0; i--) if (!pids.includes(maps[i].pid)) maps.splice(i, 1);
        if (pids.length === 0) pids.push(k.spawn());
      }
      checkKernelInvariants(kernelOf(k));
    }),
    { numRuns: 60, seed: 20261122 },
  );
});
