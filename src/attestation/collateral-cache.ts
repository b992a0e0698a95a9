// Collateral per (FMSPC, PCK CA) from a PCCS, kept until shortly before its nextUpdate or a maximum age
// (so new CRLs are picked up), refreshed in the background while the cached copy is still valid:
// quotes never wait on the PCCS except the first of a platform, or when a refresh came too late.
import type { Collateral } from "../collateral/types.js";
import { parseQeIdentity } from "../verify/qe-identity.js";
import { parseTcbInfo } from "../verify/tcb-info.js";

export type PckCa = "processor" | "platform";
export type CacheEvent = "hit" | "miss" | "refresh" | "refresh-error";

export interface CollateralCacheOptions {
  fetch: (fmspc: string, caType: PckCa) => Promise<Collateral>;
  /** Refetch at least this often (ms), whatever nextUpdate says. */
  maxAgeMs: number;
  maxEntries?: number;
  now?: () => number;
  onEvent?: (e: CacheEvent) => void;
  onRefreshError?: (key: string, err: unknown) => void;
}

interface Entry {
  collateral: Collateral;
  /** The earliest nextUpdate of its TCB Info and QE Identity. */
  expiresAt: number;
  refreshAt: number;
  refreshing?: Promise<Entry>;
}

/** How long before nextUpdate to refresh: a tenth of the window, at most an hour. */
const marginOf = (windowMs: number) => Math.max(0, Math.min(3600_000, windowMs / 10));

export class CollateralCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private readonly now: () => number;
  constructor(private readonly opts: CollateralCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** How many platforms' collateral is loaded. */
  get size(): number {
    return this.entries.size;
  }

  async get(fmspc: string, caType: PckCa): Promise<Collateral> {
    const key = `${fmspc.toUpperCase()}/${caType}`;
    const e = this.entries.get(key);
    const t = this.now();
    if (!e) {
      this.opts.onEvent?.("miss");
      return (await this.load(key, fmspc, caType)).collateral;
    }
    if (t >= e.expiresAt) {
      this.opts.onEvent?.("refresh");
      try {
        return (await this.load(key, fmspc, caType)).collateral;
      } catch (err) {
        // The verifier then reports the expired collateral precisely.
        this.opts.onRefreshError?.(key, err);
        return e.collateral;
      }
    }
    this.opts.onEvent?.("hit");
    if (t >= e.refreshAt && !e.refreshing) {
      this.opts.onEvent?.("refresh");
      e.refreshing = this.load(key, fmspc, caType);
      e.refreshing.catch((err: unknown) => {
        e.refreshing = undefined;
        e.refreshAt = this.now() + Math.min(60_000, this.opts.maxAgeMs);
        this.opts.onEvent?.("refresh-error");
        this.opts.onRefreshError?.(key, err);
      });
    }
    return e.collateral;
  }

  /** One fetch per key at a time, however many quotes ask. */
  private load(key: string, fmspc: string, caType: PckCa): Promise<Entry> {
    let p = this.pending.get(key);
    if (!p) {
      p = this.opts.fetch(fmspc, caType).then((collateral) => {
        const entry = this.entryOf(collateral);
        if (!this.entries.has(key) && this.entries.size >= (this.opts.maxEntries ?? 1024)) this.entries.delete(this.entries.keys().next().value as string);
        this.entries.set(key, entry);
        return entry;
      });
      const clear = () => this.pending.delete(key);
      p.then(clear, clear);
      this.pending.set(key, p);
    }
    return p;
  }

  private entryOf(collateral: Collateral): Entry {
    const t = this.now();
    let expiresAt = t + this.opts.maxAgeMs;
    try {
      expiresAt = Math.min(parseTcbInfo(collateral.tcb_info).nextUpdate.getTime(), parseQeIdentity(collateral.qe_identity).nextUpdate.getTime());
    } catch {
      // Malformed collateral: the verifier reports it; refetch at the normal pace.
    }
    const refreshAt = Math.min(t + this.opts.maxAgeMs, expiresAt - marginOf(expiresAt - t));
    return { collateral, expiresAt, refreshAt };
  }
}
