/**
 * The model's one source of randomness: xoshiro128** seeded through splitmix32, so a run is a pure
 * function of its seed. Every mechanism that needs chance draws from the PRNG the kernel passes it;
 * nothing calls Math.random().
 */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const splitmix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 bits of precision. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform integer in [0, n); n ≤ 2^32. */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A new generator whose sequence depends only on this one's state and `salt` (for sub-streams). */
  fork(salt: number): Prng {
    return new Prng((this.nextU32() ^ Math.imul(salt >>> 0, 0x9e3779b1)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
