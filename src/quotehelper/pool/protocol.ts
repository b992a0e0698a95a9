// Messages between the pool and its workers. Buffers cross as Uint8Arrays (structured clone). Tasks and
// results travel in batches: one postMessage (and one wake-up of the other thread) per event-loop turn,
// not per request, which under load was the main thread's largest cost.
export type BackendOp = "supportedAttKeyIds" | "initQuote" | "quoteSize" | "getQuote";

export interface WorkerInit {
  /** URL of a module exporting `createBackend(options): QuotingBackend | Promise<QuotingBackend>`. */
  module: string;
  options: unknown;
}

export interface TaskMessage {
  id: number;
  op: BackendOp;
  args: (Uint8Array | undefined)[];
}

export type TaskOutcome = { type: "result"; id: number; value: unknown } | { type: "error"; id: number; code: number; message: string };

export type WorkerMessage = { type: "ready" } | { type: "failed"; message: string } | { type: "outcomes"; items: TaskOutcome[] };

/** Collects items and hands them over in one call per event-loop turn (at setImmediate). */
export function batcher<T>(send: (items: T[]) => void): (item: T) => void {
  let items: T[] = [];
  const flush = () => {
    const out = items;
    items = [];
    send(out);
  };
  return (item) => {
    if (items.push(item) === 1) setImmediate(flush);
  };
}

/**
 * `value` made ready to move to the other thread: every Uint8Array in it (at the top, in arrays, in an
 * object's fields) becomes a copy with an exactly-sized ArrayBuffer of its own, listed for transfer. A
 * Buffer is often a view into a larger shared one (Node's pool, a socket's read buffer): structured clone
 * would copy that whole backing store, and transferring it would detach the pool.
 */
export function movable<T>(value: T): { value: T; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const own = (v: unknown): unknown => {
    if (v instanceof Uint8Array) {
      const copy = new Uint8Array(v);
      transfer.push(copy.buffer);
      return copy;
    }
    if (Array.isArray(v)) return v.map(own);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, own(x)]));
    return v;
  };
  return { value: own(value) as T, transfer };
}
