/**
 * Wall-clock measurement of the daemon's own code, for its metrics and logs only (what observing and
 * deciding cost on this machine). Decisions never depend on it — they run on the injected Clock — so a
 * simulated run decides the same however fast the host is.
 */
import { performance } from 'node:perf_hooks';

/** Starts a stopwatch; the returned function gives the milliseconds elapsed since. */
export function startStopwatch(): () => number {
  const t0 = performance.now();
  return () => performance.now() - t0;
}
