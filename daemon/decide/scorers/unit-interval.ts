/**
 * Bringing a scorer's measure into [0, 1]: every scorer returns a value there, so that policy weights
 * compare like with like. Both helpers are total: NaN, negative and infinite inputs land in [0, 1] too.
 */

/** `x` clamped to [0, 1]; NaN is 0. */
export function unitClamp(x: number): number {
  return x > 0 ? (x < 1 ? x : 1) : 0;
}

/**
 * `x / (x + half)` for x > 0: 0 at 0, ½ at `half`, 1 only at infinity, strictly increasing in between
 * (so it keeps every order of its inputs); 0 for x ≤ 0 or NaN.
 */
export function saturate(x: number, half: number): number {
  if (!(x > 0)) return 0;
  if (x === Infinity) return 1;
  return x / (x + half);
}
