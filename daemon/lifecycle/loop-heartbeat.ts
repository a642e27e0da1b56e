import type { Observable } from 'rxjs';

/** What the loop says at the end of a cycle. */
export interface CycleEnd {
  readonly cycle: number;
  /** The pacer's delay before the next cycle starts, ms. */
  readonly nextIntervalMs: number;
  /** Processes the daemon watches. */
  readonly processes: number;
  /** Regions collapsed since the start. */
  readonly collapsed: number;
}

/** One beat of the loop, stamped with the daemon's clock. */
export type LoopBeat = ({ readonly kind: 'start' } | ({ readonly kind: 'end' } & CycleEnd)) & { readonly at: number };

/**
 * The collapse loop's sign of life: it beats when a cycle starts and when one ends, so that a watcher
 * (the systemd watchdog, sd-notify.ts) can tell a loop that is alive from one that hangs in a cycle or
 * has stopped scheduling them. `beats$` replays the latest beat to a late subscriber.
 */
export interface LoopHeartbeat {
  cycleStarted(): void;
  cycleEnded(end: CycleEnd): void;
  readonly beats$: Observable<LoopBeat>;
}

/** Token of {@link LoopHeartbeat}. */
export const LoopHeartbeat = Symbol.for('uhugepaged.LoopHeartbeat');
