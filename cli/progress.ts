/**
 * Progress of long simulations on stderr: a bar on a terminal (cli-progress), and otherwise — CI logs,
 * pipes — one plain line every few seconds of wall time, so a long run is never silent.
 */
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';

/** Seconds of wall time between two plain progress lines. */
const PLAIN_EVERY_MS = 5000;

export interface ProgressReporter {
  /** Simulated time reached out of the total, ms. */
  update: (doneMs: number, totalMs: number) => void;
  /** Ends the display; returns the wall time since the reporter was made, ms. */
  stop: () => number;
}

const minutes = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;

/** A reporter for a task named `label`. */
export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const t0 = performance.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${label} [{bar}] {percentage}% | {sim} simulated | {eta_formatted} left`, hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, 0, { sim: minutes(0) });
          started = true;
        }
        bar.update(done, { sim: minutes(done) });
      },
      stop() {
        if (started) bar.stop();
        return performance.now() - t0;
      },
    };
  }
  let last = t0;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < PLAIN_EVERY_MS && done < total) return;
      last = now;
      stream.write(`${label}: ${minutes(done)} of ${minutes(total)} simulated (${Math.round((100 * done) / total)}%), ${((now - t0) / 1000).toFixed(0)} s elapsed\n`);
    },
    stop: () => performance.now() - t0,
  };
}
