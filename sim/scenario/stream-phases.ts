/**
 * A scenario stream at a point of its process's life: the kernel's AccessStreamSpec after the phases
 * that have begun and the periodic moves of the hot set. Pure functions of the stream, the mapping's
 * address and the process's age, so the runner, the presets' tests and later the oracle agree.
 */
import type { AccessStreamSpec } from '../../kernel-model/index.js';
import type { StreamSpec } from './schema.js';

/** The stream's parameters in effect `ageMs` after its process started. */
export function accessSpecAt(stream: StreamSpec, mappingStart: number, mappingLength: number, ageMs: number): AccessStreamSpec {
  let rate = stream.rate;
  let pattern = stream.pattern;
  let theta = stream.theta;
  let hotFraction = stream.hotFraction ?? 1;
  let hotOffset = stream.hotOffset ?? 0;
  let writeFraction = stream.writeFraction ?? 0;
  for (const p of [...(stream.phases ?? [])].sort((a, b) => a.at - b.at)) {
    if (p.at > ageMs) break;
    rate = p.rate ?? rate;
    pattern = p.pattern ?? pattern;
    theta = p.theta ?? theta;
    hotFraction = p.hotFraction ?? hotFraction;
    hotOffset = p.hotOffset ?? hotOffset;
    writeFraction = p.writeFraction ?? writeFraction;
  }
  if (stream.move && stream.move.every > 0) {
    const moves = Math.floor(ageMs / stream.move.every);
    hotOffset = movedOffset(hotOffset, hotFraction, stream.move.by * moves);
  }
  return {
    start: mappingStart,
    length: mappingLength,
    ratePerSec: rate,
    pattern,
    ...(pattern === 'zipf' && theta !== undefined ? { theta } : {}),
    ...(pattern === 'strided' ? { strideBytes: stream.stride ?? 4096 } : {}),
    hotFraction: Math.max(hotFraction, 4096 / mappingLength),
    hotOffset,
    writeFraction,
  };
}

/**
 * The times (process age, ms) at which the stream's spec changes, up to `untilMs`: phase starts and
 * hot-set moves, ascending, without duplicates.
 */
export function changeTimes(stream: StreamSpec, untilMs: number): number[] {
  const times = new Set<number>();
  for (const p of stream.phases ?? []) if (p.at > 0 && p.at <= untilMs) times.add(p.at);
  if (stream.move && stream.move.every > 0) for (let t = stream.move.every; t <= untilMs; t += stream.move.every) times.add(t);
  return [...times].sort((a, b) => a - b);
}

/**
 * hotOffset after the hot set moved forward by `by` of the mapping. The kernel's hotOffset places the
 * hot subset's start at hotOffset · (1 − hotFraction) of the mapping, so the start position is moved and
 * wrapped over the room the subset has, then converted back.
 */
function movedOffset(offset: number, hotFraction: number, by: number): number {
  const room = 1 - hotFraction;
  if (room <= 0) return 0;
  const startShare = offset * room;
  const moved = (startShare + by) % (room + Number.EPSILON);
  return Math.min(1, Math.max(0, moved / room));
}
