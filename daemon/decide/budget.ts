/**
 * Budgets (policy `budgets`): token buckets refilled at a rate per second of the daemon's clock, holding
 * at most one second's worth, so that an idle minute does not become a burst. A class with a
 * `budgetShare` has that share of each global bucket reserved: it draws from its reserve first and then
 * from the unreserved part, which every class shares. A reserve is held for its class only while the
 * class has work: the caller names the classes that have none (`lend`), and their reserves go to the
 * others after the unreserved part — a reservation for a class that is absent from the host would
 * otherwise leave that share of the daemon's budget unspent for ever. Pure state: times come from the
 * caller.
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
  /** Classes whose reserves are lent to the others (they have nothing to spend them on). */
  private lenders: ReadonlySet<string> = new Set();
  /** Each class's sources in order, as of the last `lend` (asked for once per candidate a plan walks). */
  private readonly sourcesOf = new Map<string, TokenBucket[]>();

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

  /** From now on the reserves of `classes` (and only theirs) are lent to the other classes. */
  lend(classes: ReadonlySet<string>): void {
    this.lenders = classes;
    this.sourcesOf.clear();
  }

  /** The buckets class `cls` draws from, in order: its reserve, the unreserved part, the reserves lent to it. */
  private sources(cls: string): TokenBucket[] {
    let sources = this.sourcesOf.get(cls);
    if (sources === undefined) {
      const own = this.reserves.get(cls);
      sources = own === undefined ? [this.unreserved] : [own, this.unreserved];
      for (const [name, reserve] of this.reserves) if (name !== cls && this.lenders.has(name)) sources.push(reserve);
      this.sourcesOf.set(cls, sources);
    }
    return sources;
  }

  /** Takes `n` for class `cls` if its sources hold that much together, in their order. */
  take(now: number, cls: string, n: number): boolean {
    if (this.available(now, cls) < n) return false;
    this.spread(now, cls, n);
    return true;
  }

  /**
   * Charges work already done to class `cls`, from its sources in their order; what they do not hold
   * goes into debt on the first (its reserve when it has one, else the unreserved part).
   */
  charge(now: number, cls: string, n: number): void {
    const first = this.sources(cls)[0];
    first.charge(now, this.spread(now, cls, n));
  }

  /** Takes up to `n` from the sources of `cls` in order, each down to zero; returns what is left of `n`. */
  private spread(now: number, cls: string, n: number): number {
    let left = n;
    for (const bucket of this.sources(cls)) {
      const part = Math.min(left, Math.max(0, bucket.available(now)));
      if (part > 0) bucket.take(now, part);
      left -= part;
      if (left <= 0) break;
    }
    return Math.max(0, left);
  }

  /** Available to all classes together at `now`: every reserve plus the unreserved part. */
  total(now: number): number {
    let sum = this.unreserved.available(now);
    for (const reserve of this.reserves.values()) sum += reserve.available(now);
    return sum;
  }

  /** Available to class `cls` at `now`: its reserve, the unreserved part and the reserves lent to it (debts count against it). */
  available(now: number, cls: string): number {
    const sources = this.sources(cls);
    let sum = sources[0].available(now);
    for (let i = 1; i < sources.length; i++) sum += Math.max(0, sources[i].available(now));
    return sum;
  }
}
