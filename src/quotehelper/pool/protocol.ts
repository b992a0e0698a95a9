// What the pool and a worker share: a table of task slots in one SharedArrayBuffer per worker. A task's
// arguments and its result are written into its slot; the only messages are wake-ups (`null`): to a
// worker only once it has said it is going to sleep, to the pool only when it has not been woken since
// it last looked. Under load, postMessage was the main thread's largest cost: byte arrays (each cloned
// or transferred ArrayBuffer is allocated, registered and swept on both sides), and waking the other
// thread, which on a VM costs a hypercall. A slot is written in place and reused.
//
// A slot belongs to one side at a time, handed over by an atomic store of its state (which orders the
// plain writes of its bytes before it): the pool FREE -> TASK, the worker TASK -> RUNNING -> DONE (or
// POSTED: a result too large for the slot travels in a message instead), the pool DONE -> FREE.
import type { QuotingBackend } from "../../quoting/backend.js";

export type BackendOp = "supportedAttKeyIds" | "initQuote" | "quoteSize" | "getQuote";
export const OPS: readonly BackendOp[] = ["supportedAttKeyIds", "initQuote", "quoteSize", "getQuote"];

/** What `WorkerInit.module` exports. */
interface BackendModule {
  createBackend(options: unknown): QuotingBackend | Promise<QuotingBackend>;
}

/** Imports a BackendModule and builds its backend: what each worker does, and the pool's check at start. */
export async function loadBackend(module: string, options: unknown): Promise<QuotingBackend> {
  return ((await import(module)) as BackendModule).createBackend(options);
}

export interface WorkerInit {
  /** URL of a BackendModule. */
  module: string;
  options: unknown;
  /** The slot table (SlotTable.allocate). */
  slots: SharedArrayBuffer;
}

/** From a worker: `null` wakes the pool to read the slots that are DONE. */
export type WorkerMessage = null | { type: "ready" } | { type: "failed"; message: string } | { type: "posted"; slot: number; parts: Parts };

/** Byte strings and one integer: what a task's arguments, or a result, are made of. */
export interface Parts {
  bytes: (Uint8Array | undefined)[];
  int: number;
}

export const enum SlotState {
  FREE = 0,
  TASK = 1,
  RUNNING = 2,
  DONE = 3,
  POSTED = 4,
}

/** Results carry 0 (success) or the AESM error code of a QuotingError; tasks carry their op's index. */
export const OK = 0;
export const MAX_PARTS = 8;
/** An error's message in a slot is cut to this many bytes. */
export const MAX_ERROR_MESSAGE = 512;

// Int32 words: the worker's SLEEPING flag and the pool's WOKEN flag, then per slot STATE, CODE, INT,
// NPARTS and NPARTS lengths (-1 = absent).
const SLEEPING = 0;
const WOKEN = 1;
const CONTROL_WORDS = 4;
const STATE = 0;
const CODE = 1;
const INT = 2;
const NPARTS = 3;
const LENGTHS = 4;
const SLOT_WORDS = LENGTHS + MAX_PARTS;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SlotTable {
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly dataStart: number;

  /** A table of `count` slots holding up to `capacity` bytes each (untouched pages cost no memory). */
  static allocate(count: number, capacity: number): SharedArrayBuffer {
    const sab = new SharedArrayBuffer((CONTROL_WORDS + count * SLOT_WORDS) * 4 + count * capacity);
    new Int32Array(sab, 0, 3).set([count, capacity, 1]); // the worker starts asleep
    return sab;
  }

  readonly count: number;
  readonly capacity: number;

  constructor(sab: SharedArrayBuffer) {
    const [count, capacity] = new Int32Array(sab, 0, 2);
    this.count = count;
    this.capacity = capacity;
    this.words = new Int32Array(sab, 8, CONTROL_WORDS - 2 + count * SLOT_WORDS);
    this.dataStart = (CONTROL_WORDS + count * SLOT_WORDS) * 4;
    this.bytes = new Uint8Array(sab);
  }

  state(slot: number): SlotState {
    return Atomics.load(this.words, this.base(slot) + STATE);
  }

  setState(slot: number, state: SlotState): void {
    Atomics.store(this.words, this.base(slot) + STATE, state);
  }

  code(slot: number): number {
    return this.words[this.base(slot) + CODE];
  }

  /** Writes `parts` under `code`; false (nothing written) when they do not fit. Does not change the state. */
  write(slot: number, code: number, parts: Parts): boolean {
    const n = parts.bytes.length;
    if (n > MAX_PARTS || partsSize(parts) > this.capacity) return false;
    const w = this.base(slot);
    this.words[w + CODE] = code;
    this.words[w + INT] = parts.int;
    this.words[w + NPARTS] = n;
    let at = this.dataStart + slot * this.capacity;
    for (let i = 0; i < n; i++) {
      const b = parts.bytes[i];
      this.words[w + LENGTHS + i] = b === undefined ? -1 : b.length;
      if (b === undefined) continue;
      this.bytes.set(b, at);
      at += b.length;
    }
    return true;
  }

  /** The slot's parts, copied out into one Buffer allocation. */
  read(slot: number): Parts {
    const w = this.base(slot);
    const n = this.words[w + NPARTS];
    let size = 0;
    for (let i = 0; i < n; i++) size += Math.max(0, this.words[w + LENGTHS + i]);
    const start = this.dataStart + slot * this.capacity;
    const copy = Buffer.allocUnsafe(size);
    copy.set(this.bytes.subarray(start, start + size));
    const bytes: (Buffer | undefined)[] = new Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const len = this.words[w + LENGTHS + i];
      bytes[i] = len < 0 ? undefined : copy.subarray(at, (at += len));
    }
    return { bytes, int: this.words[w + INT] };
  }

  writeError(slot: number, code: number, message: string): void {
    const text = encoder.encode(message.slice(0, MAX_ERROR_MESSAGE));
    this.write(slot, code, { bytes: [text.subarray(0, Math.min(text.length, MAX_ERROR_MESSAGE, this.capacity))], int: 0 });
  }

  readError(slot: number): string {
    const b = this.read(slot).bytes[0];
    return b === undefined ? "" : decoder.decode(b);
  }

  /**
   * After handing the worker a task: true when it must be sent a wake-up. A worker says it is going to
   * sleep before its last look at the slots, so either it sees the task or this sees it asleep.
   */
  wakeWorker(): boolean {
    return Atomics.exchange(this.words, SLEEPING, 0) === 1;
  }

  /** The worker, before its last look for tasks; then `workerAwake` if it found one. */
  workerSleeping(): void {
    Atomics.store(this.words, SLEEPING, 1);
  }

  /** Whether the worker has said it is going to sleep (and not been woken since). */
  asleep(): boolean {
    return Atomics.load(this.words, SLEEPING) === 1;
  }

  workerAwake(): void {
    Atomics.store(this.words, SLEEPING, 0);
  }

  /** After finishing a task: true when the pool must be sent a wake-up (it was not woken since it looked). */
  wakePool(): boolean {
    return Atomics.exchange(this.words, WOKEN, 1) === 0;
  }

  /** The pool, before it looks for results. */
  poolAwake(): void {
    Atomics.store(this.words, WOKEN, 0);
  }

  /** Slots in `state`. */
  countIn(state: SlotState): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.state(i) === state) n++;
    return n;
  }

  private base(slot: number): number {
    return CONTROL_WORDS - 2 + slot * SLOT_WORDS;
  }
}

/** The bytes `parts` take in a slot. */
export function partsSize(parts: Parts): number {
  let size = 0;
  for (const b of parts.bytes) size += b?.length ?? 0;
  return size;
}

/** A backend call's value as parts, and back: one case per op. */
export function resultParts(op: BackendOp, value: unknown): Parts {
  switch (op) {
    case "supportedAttKeyIds":
      return { bytes: value as Uint8Array[], int: 0 };
    case "initQuote": {
      const v = value as { targetInfo: Uint8Array; pubKeyId: Uint8Array };
      return { bytes: [v.targetInfo, v.pubKeyId], int: 0 };
    }
    case "quoteSize":
      return { bytes: [], int: value as number };
    case "getQuote": {
      const v = value as { quote: Uint8Array; qeReportInfo?: Uint8Array };
      return { bytes: [v.quote, v.qeReportInfo], int: 0 };
    }
  }
}

export function resultValue(op: BackendOp, parts: Parts): unknown {
  const b = parts.bytes as Buffer[];
  switch (op) {
    case "supportedAttKeyIds":
      return b;
    case "initQuote":
      return { targetInfo: b[0], pubKeyId: b[1] };
    case "quoteSize":
      return parts.int;
    case "getQuote":
      return b[1] === undefined ? { quote: b[0] } : { quote: b[0], qeReportInfo: b[1] };
  }
}
