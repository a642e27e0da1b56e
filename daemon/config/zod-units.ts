/**
 * zod types for the human units of config files (daemon/config/units.ts): each accepts a number or a
 * string with a unit, turns it into the model's unit (bytes, ms, per second, 0–1), and says what it
 * expected, with the value it got, when it cannot. Shared by the scenario and policy schemas.
 */
import { z } from 'zod';
import { parseDuration, parseFraction, parseRate, parseSize, type Parsed } from './units.js';

/** How a value that is neither a number nor a string reads in a message. */
function found(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value (null)';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return Array.isArray(v) ? 'a list' : 'a mapping';
}

function unit(parse: (v: unknown) => Parsed<number>, description: string, pattern: string, examples: (string | number)[]) {
  // The parsers' own wording of what they take (asked with a value none accepts), for values of the
  // wrong type, which the union rejects before the transform sees them.
  const none = parse(undefined);
  const expected = none.ok ? description : none.expected;
  return z
    .union([z.number(), z.string().meta({ pattern })], { error: (issue) => `expected ${expected}, got ${found(issue.input)}` })
    .transform((v, ctx) => {
      const p = parse(v);
      if (p.ok) return p.value;
      ctx.issues.push({ code: 'custom', message: `expected ${p.expected}, got ${JSON.stringify(v)}`, input: v });
      return z.NEVER;
    })
    .meta({ description, examples });
}

/** Bytes. */
export const Size = unit(parseSize, 'A size: bytes, or a number with a binary unit (B, KiB, MiB, GiB, TiB).', String.raw`^\s*(\d+(\.\d+)?|\.\d+)\s*([KMGT](iB|B)?|B)?\s*$`, ['512MiB', '2GiB', 4096]);
/** Milliseconds. */
export const Duration = unit(parseDuration, 'A duration with a unit (ms, s, m, min, h, d), or 0.', String.raw`^\s*(\d+(\.\d+)?|\.\d+)\s*(ms|s|m|min|h|d)\s*$`, ['90s', '10m', '2h']);
/** Per second. */
export const Rate = unit(parseRate, 'A rate per second: a number, optionally with k, M or G and /s.', String.raw`^\s*(\d+(\.\d+)?|\.\d+)\s*[kKMG]?\s*(/\s*s)?\s*$`, [1000, '500k', '2M/s']);
/** 0–1. */
export const Fraction = unit(parseFraction, 'A fraction from 0 to 1, or a percentage.', String.raw`^\s*(\d+(\.\d+)?|\.\d+)\s*%\s*$`, [0.25, '30%']);
