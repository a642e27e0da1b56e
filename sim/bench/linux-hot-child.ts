/**
 * The workload of the Linux benchmarks (linux-benchmarks.ts): a Node process — a language runtime, as the
 * shipped policy's `runtimes` class expects — that holds one hot anonymous region and never madvises it,
 * so with THP `enabled=madvise` it stays in 4 KiB pages until something collapses it.
 *
 *   node linux-hot-child.js MIB READ_MS PAUSE_MS
 *
 * It maps MIB MiB (a power of two) on a 2 MiB boundary between two PROT_NONE guard pages — the guards
 * keep the kernel from merging the region's VMA with a neighbour, so that its smaps entry is the region
 * and nothing else — writes every page once, and prints one JSON line `{"addr","bytes"}`. Then, in
 * rounds: it writes one word of every page (every page stays hot and dirty), times READ_MS ms of
 * random 4-byte reads (xorshift32 indices, as the calibration program does) and prints
 * `{"nsPerRead"}` when READ_MS > 0, and waits PAUSE_MS ms. It exits when its stdin closes, so that it
 * does not outlive a benchmark that died.
 */
import { hrtime } from 'node:process';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { mmapAnonymous, mmapAnonymousViewAt, protectNone } from '../../daemon/kernel-port/linux/syscalls.js';

const MiB = 1 << 20;
const HUGE = 2 * MiB;
const PAGE = 4096;
/** Random reads between two clock reads: enough that the clock's own cost is lost in them. */
const READS_PER_CHECK = 1 << 16;

function argument(i: number, name: string): number {
  const n = Number(process.argv[2 + i]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`linux-hot-child: ${name} must be a whole number, got ${process.argv[2 + i]}`);
  return n;
}

/** The region: MIB MiB on a 2 MiB boundary, a PROT_NONE guard before and after it. */
function mapRegion(bytes: number): { addr: number; words: Uint32Array } {
  const slack = 2 * HUGE;
  const reserved = mmapAnonymous(bytes + slack);
  const addr = Math.ceil((reserved + PAGE) / HUGE) * HUGE;
  const region = mmapAnonymousViewAt(addr, bytes);
  protectNone(reserved, addr - reserved);
  protectNone(addr + bytes, reserved + bytes + slack - (addr + bytes));
  return { addr, words: new Uint32Array(region.buffer) };
}

/** Writes one word of every 4 KiB page. */
function touchEveryPage(words: Uint32Array, round: number): void {
  for (let i = 0; i < words.length; i += PAGE / 4) words[i] = round;
}

/** Random reads for about `ms` ms; ns per read. */
function timeRandomReads(words: Uint32Array, ms: number, seed: number): { nsPerRead: number; sum: number } {
  const mask = words.length - 1;
  let x = seed | 1;
  let sum = 0;
  let reads = 0;
  const t0 = hrtime.bigint();
  const until = t0 + BigInt(ms) * 1_000_000n;
  let now = t0;
  while (now < until) {
    for (let i = 0; i < READS_PER_CHECK; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      sum = (sum + words[x & mask]) | 0;
    }
    reads += READS_PER_CHECK;
    now = hrtime.bigint();
  }
  return { nsPerRead: Number(now - t0) / reads, sum };
}

async function main(): Promise<void> {
  const mib = argument(0, 'MIB');
  const readMs = argument(1, 'READ_MS');
  const pauseMs = argument(2, 'PAUSE_MS');
  if (mib < 2 || (mib & (mib - 1)) !== 0) throw new Error(`linux-hot-child: MIB must be a power of two ≥ 2, got ${mib}`);
  let stop = false;
  process.stdin.on('end', () => (stop = true)).on('close', () => (stop = true)).resume();
  const { addr, words } = mapRegion(mib * MiB);
  touchEveryPage(words, 1);
  process.stdout.write(`${JSON.stringify({ addr, bytes: mib * MiB })}\n`);
  for (let round = 2; !stop; round++) {
    touchEveryPage(words, round);
    if (readMs > 0) {
      const r = timeRandomReads(words, readMs, round * 2654435761);
      // The sum is printed so that the reads cannot be optimised away.
      process.stdout.write(`${JSON.stringify({ nsPerRead: r.nsPerRead, sum: r.sum })}\n`);
    }
    await (pauseMs > 0 ? sleep(pauseMs) : yieldToLoop());
  }
  process.exit(0);
}

await main();
