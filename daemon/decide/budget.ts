/**
 * Budgets (policy `budgets`): token buckets refilled at a rate per second of the daemon's clock, holding
 * at most one second's worth, so that an idle minute does not become a burst. A class with a
 * `budgetShare` has that share of each global bucket reserved: it draws from its reserve first and then
 * from the unreserved part, which every class shares. Pure state: times come from the caller.
 */

/** A token bucket: `ratePerSec` tokens a second, at most `capacity` held. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private ratePerSec: number,
    private capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Tokens available at `now`. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Takes `n` tokens if that many are available at `now`; returns whether it did. */
  take(now: number, n: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Takes `n` tokens even when fewer are available (work already done: the bucket goes into debt). */
  charge(now: number, n: number): void {
    this.refill(now);
    this.tokens -= n;
  }

  /** New rate and capacity (a reloaded policy); what is held is kept, up to the new capacity. */
  reconfigure(ratePerSec: number, capacity: number, now: number): void {
    this.refill(now);
    this.ratePerSec = ratePerSec;
    this.capacity = capacity;
    this.tokens = Math.min(this.tokens, capacity);
  }

  private refill(now: number): void {
    if (now > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = Math.max(this.last, now);
  }
}

/** A global budget split into class reserves (by `budgetShare`) and an unreserved part. */
export class SharedBudget {
  private readonly reserves = new Map<string, TokenBucket>();
  private readonly unreserved: TokenBucket;

  /** `shares`: class name → budgetShare (classes without a share are left out); Σ ≤ 1. */
  constructor(ratePerSec: number, shares: ReadonlyMap<string, number>, now: number) {
    let reserved = 0;
    for (const [name, share] of shares) {
      this.reserves.set(name, new TokenBucket(ratePerSec * share, ratePerSec * share, now));
      reserved += share;
    }
    const rest = ratePerSec * Math.max(0, 1 - reserved);
    this.unreserved = new TokenBucket(rest, rest, now);
  }

  /** Takes `n` for class `cls` if its reserve and the unreserved part hold that much together, the reserve first. */
  take(now: number, cls: string, n: number): boolean {
    const reserve = this.reserves.get(cls);
    const own = Math.max(0, reserve?.available(now) ?? 0);
    if (own + this.unreserved.available(now) < n) return false;
    const fromReserve = Math.min(own, n);
    if (fromReserve > 0) reserve!.take(now, fromReserve);
    if (n > fromReserve) this.unreserved.take(now, n - fromReserve);
    return true;
  }

  /** Charges work already done to class `cls` (its reserve when it has one, else the unreserved part). */
  charge(now: number, cls: string, n: number): void {
    (this.reserves.get(cls) ?? this.unreserved).charge(now, n);
  }

  /** Available to all classes together at `now`: every reserve plus the unreserved part. */
  total(now: number): number {
    let sum = this.unreserved.available(now);
    for (const reserve of this.reserves.values()) sum += reserve.available(now);
    return sum;
  }

  /** Available to class `cls` at `now`: its reserve plus the unreserved part. */
  available(now: number, cls: string): number {
    return (this.reserves.get(cls)?.available(now) ?? 0) + this.unreserved.available(now);
  }
}
