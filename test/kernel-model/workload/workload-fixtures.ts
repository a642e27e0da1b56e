/**
 * Fixtures shared by the workload tests: a small seeded PRNG with the engine's `next`/`nextInt` shape
 * (so these tests do not depend on the engine), and the access oracle the kernel builds from streams.
 */
import { type AccessStreamSpec, PAGE_BYTES, type RandomSource, pageAccessRate } from '../../../kernel-model/workload/access-pattern.js';
import type { AccessOracle } from '../../../kernel-model/workload/damon.js';

/** mulberry32: a 32-bit seeded generator, plenty for tests. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, nextInt: (n: number) => Math.floor(next() * n) };
}

/** The oracle the kernel derives from its streams: P(page accessed in a window) = 1 − e^(−Σλ·window). */
export function streamOracle(streams: readonly AccessStreamSpec[]): AccessOracle {
  return {
    probabilityAccessed(addr: number, windowMs: number): number {
      const page = Math.floor(addr / PAGE_BYTES);
      const rate = streams.reduce((sum, s) => sum + pageAccessRate(s, page), 0);
      return -Math.expm1((-rate * windowMs) / 1000);
    },
  };
}

/** Mean and standard error of the mean of a sample. */
export function meanAndStandardError(xs: readonly number[]): { mean: number; standardError: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, standardError: Math.sqrt(variance / xs.length) };
}
