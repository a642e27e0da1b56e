/**
 * Human units in scenario and policy files: sizes (`512MiB`, `2GiB`), durations (`90s`, `10m`, `2h`), rates
 * (`500k`, `2M/s`) and fractions (`0.3`, `30%`). Each parser returns the value in the model's units
 * (bytes, milliseconds, per second, 0–1) or a message saying what was expected; the schema turns that
 * message into a validation issue at the value's path.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  KB: 1024,
  KiB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  GiB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
  TiB: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

const RATE_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const SIZE_RE = new RegExp(String.raw`^${NUMBER}\s*([A-Za-z]*)$`);
const DURATION_RE = new RegExp(String.raw`^${NUMBER}\s*([a-z]+)$`);
const RATE_RE = new RegExp(String.raw`^${NUMBER}\s*([kKMG]?)\s*(?:/\s*s)?$`);
const PERCENT_RE = new RegExp(String.raw`^${NUMBER}\s*%$`);

const SIZE_EXPECTED = 'a size such as 4096, 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB)';
const DURATION_EXPECTED = 'a duration such as 500ms, 90s, 10m, 2h or 1d';
const RATE_EXPECTED = 'a rate per second such as 1000, 500k or 2M/s';
const FRACTION_EXPECTED = 'a fraction from 0 to 1, such as 0.3 or 30%';

/** Bytes from `512MiB`, `2GiB`, `4096` (whole bytes; binary units, K/M/G/T read as KiB/MiB/GiB/TiB). */
export function parseSize(input: unknown): Parsed<number> {
  let bytes: number;
  if (typeof input === 'number') bytes = input;
  else if (typeof input === 'string') {
    const m = SIZE_RE.exec(input.trim());
    const unit = m ? SIZE_UNITS[m[2]] : undefined;
    if (!m || unit === undefined) return { ok: false, expected: SIZE_EXPECTED };
    bytes = Number(m[1]) * unit;
  } else return { ok: false, expected: SIZE_EXPECTED };
  if (!Number.isFinite(bytes) || bytes < 0) return { ok: false, expected: `${SIZE_EXPECTED}, not negative` };
  if (!Number.isInteger(bytes)) return { ok: false, expected: `${SIZE_EXPECTED} that is a whole number of bytes` };
  return { ok: true, value: bytes };
}

/** Milliseconds from `500ms`, `90s`, `10m`, `2h`, `1d`; a bare 0 is allowed (no other unitless number). */
export function parseDuration(input: unknown): Parsed<number> {
  if (input === 0) return { ok: true, value: 0 };
  if (typeof input !== 'string') return { ok: false, expected: DURATION_EXPECTED };
  const m = DURATION_RE.exec(input.trim());
  const unit = m ? DURATION_UNITS[m[2]] : undefined;
  if (!m || unit === undefined) return { ok: false, expected: DURATION_EXPECTED };
  const ms = Number(m[1]) * unit;
  if (!Number.isFinite(ms)) return { ok: false, expected: DURATION_EXPECTED };
  return { ok: true, value: Math.round(ms) };
}

/** Events per second from `1000`, `500k`, `2M/s`. */
export function parseRate(input: unknown): Parsed<number> {
  let rate: number;
  if (typeof input === 'number') rate = input;
  else if (typeof input === 'string') {
    const m = RATE_RE.exec(input.trim());
    if (!m) return { ok: false, expected: RATE_EXPECTED };
    rate = Number(m[1]) * RATE_UNITS[m[2]];
  } else return { ok: false, expected: RATE_EXPECTED };
  if (!Number.isFinite(rate) || rate < 0) return { ok: false, expected: `${RATE_EXPECTED}, not negative` };
  return { ok: true, value: rate };
}

/** A fraction in [0, 1] from `0.3` or `30%`. */
export function parseFraction(input: unknown): Parsed<number> {
  let f: number;
  if (typeof input === 'number') f = input;
  else if (typeof input === 'string') {
    const m = PERCENT_RE.exec(input.trim());
    if (!m) return { ok: false, expected: FRACTION_EXPECTED };
    f = Number(m[1]) / 100;
  } else return { ok: false, expected: FRACTION_EXPECTED };
  if (!(f >= 0 && f <= 1)) return { ok: false, expected: FRACTION_EXPECTED };
  return { ok: true, value: f };
}

/** `4 GiB`, `512 MiB`, `12 KiB`, `100 B`: the largest binary unit that keeps the number ≥ 1. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || Number.isInteger(v) ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[i]}`;
}

/** `90 s`, `10 min`, `2 h` style rendering of milliseconds (the largest unit that divides evenly). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}
