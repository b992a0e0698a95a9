// Reading one request body within the webhook's limits: at most `max` bytes, the part beyond the free
// allowance taken from the shared budget (waiting, with the socket paused, while it is empty); a body
// over `max` is discarded as it arrives, up to `discard` bytes, so the client can still read our 413.
import type http from "node:http";
import type { BodyBudget } from "./limits.js";

export interface BodyLimits {
  max: number;
  free: number;
  budget: BodyBudget;
  /** Bytes of an oversized body read and thrown away before the connection is cut. */
  discard: number;
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; size: number };

/**
 * Resolves with the body, or with `ok: false` as soon as it exceeds `max` (the rest is then drained in
 * the background, up to `discard`, and the socket destroyed past that). Rejects if the request aborts.
 */
export function readBody(req: http.IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let reserved = 0;
    let settled = false;
    const releaseAll = () => {
      if (reserved > 0) limits.budget.release(reserved);
      reserved = 0;
    };
    const settle = (r: BodyResult | Error) => {
      if (settled) return;
      settled = true;
      releaseAll();
      chunks.length = 0;
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const overflow = () => {
      const over = { ok: false as const, size };
      settle(over);
      req.removeListener("data", onData);
      discardBody(req, limits.discard);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limits.max) return overflow();
      chunks.push(c);
      const need = Math.max(0, size - limits.free) - reserved;
      if (need <= 0) return;
      const wait = limits.budget.reserve(need);
      if (!wait) {
        reserved += need;
        return;
      }
      req.pause();
      void wait.then(() => {
        // A request that ended while it waited hands the grant straight back.
        if (settled) return limits.budget.release(need);
        reserved += need;
        req.resume();
      });
    };
    req.on("data", onData);
    req.once("end", () => settle({ ok: true, body: Buffer.concat(chunks, size) }));
    req.once("error", (err) => settle(err));
    req.once("close", () => {
      if (!req.complete) settle(new Error("request closed before its body was complete"));
    });
  });
}

/** Reads the rest of the body and throws it away; past `bound` bytes the connection is cut. */
export function discardBody(req: http.IncomingMessage, bound: number): void {
  let discarded = 0;
  req.on("data", (c: Buffer) => {
    discarded += c.length;
    if (discarded > bound) req.socket.destroy();
  });
  req.resume();
}
