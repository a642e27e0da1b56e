/**
 * /proc/pressure/memory (kernel/sched/psi.c `psi_show`): two lines, `some` then `full`, each with the
 * running averages over 10 s, 60 s and 300 s as percentages with two decimals and the total stall time
 * in microseconds:
 *
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=611
 *
 * Linux keeps the averages in 11-bit fixed point and prints `%lu.%02lu`, truncating; the model's averages
 * are plain numbers, so they are rounded to the nearest hundredth, the faithful two-decimal rendering of
 * an exact value.
 */
import { dec } from './seq-file.js';

/** One line of a pressure file. */
export interface PressureLine {
  /** Share of the last 10 s stalled, in percent (0..100). */
  readonly avg10: number;
  /** Share of the last 60 s stalled, in percent. */
  readonly avg60: number;
  /** Share of the last 300 s stalled, in percent. */
  readonly avg300: number;
  /** Total stall time since boot, in microseconds. */
  readonly totalUs: number;
}

/** Memory pressure: `some` (at least one task stalled) and `full` (all non-idle tasks stalled). */
export interface MemoryPressure {
  /** Time at least one task stalled on memory. */
  readonly some: PressureLine;
  /** Time every non-idle task stalled on memory at once. */
  readonly full: PressureLine;
}

/** `%lu.%02lu` of a percentage. */
function percent(value: number): string {
  const hundredths = Math.round(value * 100);
  return `${dec(Math.trunc(hundredths / 100))}.${dec(hundredths % 100).padStart(2, '0')}`;
}

/** One `some`/`full` line. */
function pressureLine(kind: 'some' | 'full', p: PressureLine): string {
  return `${kind} avg10=${percent(p.avg10)} avg60=${percent(p.avg60)} avg300=${percent(p.avg300)} total=${dec(p.totalUs)}\n`;
}

/** The text of /proc/pressure/memory. */
export function formatPressure(p: MemoryPressure): string {
  return pressureLine('some', p.some) + pressureLine('full', p.full);
}
