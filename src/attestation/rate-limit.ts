// A token bucket per client address, bounded in the number of clients it remembers: one tenant that
// floods the service gets 429s while the others keep their share.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxClients = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `client` may make a request now (and takes a token). */
  take(client: string): boolean {
    if (this.perSecond <= 0) return true;
    const t = this.now();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.burst, at: t };
    } else {
      this.buckets.delete(client);
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
      b.at = t;
    }
    // Re-inserted: the map's order is least recently seen first, so eviction drops idle clients.
    this.buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
