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

/** From a worker; `outcomes` is a packed TaskOutcome[]. The pool sends a packed TaskMessage[]. */
export type WorkerMessage = { type: "ready" } | { type: "failed"; message: string } | { type: "outcomes"; outcomes: Packed };

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

/** A message whose byte arrays travel as one transferred buffer; `shape` holds `{ [BYTES]: [offset, length] }` in their place. */
export interface Packed {
  shape: unknown;
  bytes: Uint8Array;
}

const BYTES = "$bytes";

/**
 * `value` made ready to move to the other thread: every Uint8Array in it (at the top, in arrays, in an
 * object's fields) is copied into one exactly-sized buffer, transferred. Each typed array costs
 * postMessage several microseconds, a plain number almost nothing. And a Buffer is often a view into a
 * larger shared one (Node's pool, a socket's read buffer): structured clone would copy that whole backing
 * store, and transferring it would detach the pool.
 */
export function pack(value: unknown): { value: Packed; transfer: ArrayBuffer[] } {
  const parts: Uint8Array[] = [];
  let size = 0;
  const walk = (v: unknown): unknown => {
    if (v instanceof Uint8Array) {
      parts.push(v);
      size += v.length;
      return { [BYTES]: [size - v.length, v.length] };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const shape = walk(value);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { value: { shape, bytes }, transfer: [bytes.buffer] };
}

/** The value `pack` was given, its byte arrays as Buffers over the one received buffer. */
export function unpack<T>(msg: Packed): T {
  const { bytes } = msg;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const ref = (v as Record<string, unknown>)[BYTES] as [number, number] | undefined;
      if (ref) return Buffer.from(bytes.buffer, bytes.byteOffset + ref[0], ref[1]);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(msg.shape) as T;
}
