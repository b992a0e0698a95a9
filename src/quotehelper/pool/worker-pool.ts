// Quote work off the event loop: a QuotingBackend whose operations run on worker threads, each with
// its own backend instance built from a factory module. Work waits in a bounded queue; past it the
// caller gets BUSY at once, which Intel's client maps to SGX_ERROR_BUSY (retry later).
// A bad backend fails at start: one worker starts with the pool, or, with `minWorkers` 0, the backend
// is built once in this thread and closed (a worker started only to check it and then retired leaves
// ~1.7 MiB of malloc arena in the idle daemon; the check here, nothing measurable). More workers start
// only when work has to wait, up to `size`, and those beyond `minWorkers` retire after `idleMs` without
// work: each costs ~30 MiB of RSS, which on a many-core node would otherwise be held by a mostly idle service.
import { Worker } from "node:worker_threads";
import { AesmError } from "../../aesm/error-codes.js";
import type { Logger } from "../../common/log.js";
import { QuotingError, type InitQuoteResult, type QuoteResult, type QuotingBackend } from "../../quoting/backend.js";
import { loadBackend, OK, OPS, partsSize, SlotState, SlotTable, resultValue, type BackendOp, type Parts, type WorkerInit, type WorkerMessage } from "./protocol.js";

export interface WorkerPoolOptions extends Omit<WorkerInit, "slots"> {
  name: string;
  size: number;
  /** Operations allowed to wait for a worker; more are refused with BUSY. */
  maxQueue: number;
  /** Workers kept when idle (default 1 here; the CLI uses 0: an idle node-wide service should hold no worker). */
  minWorkers?: number;
  /** How long a worker beyond `minWorkers` may stay idle before it exits; default 30 s. */
  idleMs?: number;
  log: Logger;
}

interface Task {
  op: BackendOp;
  args: Parts;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface PoolWorker {
  worker: Worker;
  table: SlotTable;
  /** The task in each slot of its table, until its result is read. */
  slots: (Task | undefined)[];
  /** Tasks in `slots`. */
  busy: number;
  /** Handed a task since the last wakeUp(). */
  handed?: boolean;
  retireTimer?: NodeJS.Timeout;
  retired?: boolean;
}

// Tasks a worker may hold at once (its slots); it still runs them one after another. Enough that under
// load it is refilled before it runs dry and neither thread sleeps: waking a sleeping thread costs the
// waker ~40 us here (a VM), as much as the quote's signature. 4 slots woke one side every ~2 quotes, 16
// every ~10.
const WORKER_PIPELINE_DEPTH = 8;
/** Bytes of arguments or result a slot holds: a quote with its PCK chain is ~5 KiB. Larger results travel in a message. */
const SLOT_CAPACITY = 16 * 1024;
const NO_ARGS: Parts = { bytes: [], int: 0 };
/** Tasks an awake worker takes before a sleeping one is woken for more. */
const SHARE = 4;

const WORKER_URL = new URL("./worker.js", import.meta.url);
const MAX_CACHED_SIZES = 64;

export class WorkerPoolBackend implements QuotingBackend {
  readonly name: string;
  private readonly members: PoolWorker[] = [];
  private readonly queue: Task[] = [];
  private starting = 0;
  private warming: Promise<void> | undefined;
  private closed = false;
  private wakeScheduled = false;
  // Constant for a given backend and key: cached so these cheap calls never wait behind quotes.
  private keyIds: Promise<Buffer[]> | undefined;
  private readonly sizes = new Map<string, Promise<number>>();

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.name = opts.name;
  }

  /** Resolves once the backend is known to build (in a first worker, or here with `minWorkers` 0), else rejects. */
  static async start(opts: WorkerPoolOptions): Promise<WorkerPoolBackend> {
    const pool = new WorkerPoolBackend(opts);
    try {
      if ((opts.minWorkers ?? 1) > 0) await pool.spawn();
      else pool.keyIds = Promise.resolve(await checkBackend(opts));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Requests waiting: queued here, or handed to a worker that is still busy with an earlier one. */
  queueDepth(): number {
    let waiting = this.queue.length;
    for (const m of this.members) waiting += Math.max(0, m.busy - 1);
    return waiting;
  }

  workers(): number {
    return this.members.length;
  }

  /** Resolves once a worker is ready, starting one if none is: for traffic that should not wait for one. */
  warm(): Promise<void> {
    if (this.members.length > 0 || this.closed) return Promise.resolve();
    return (this.warming ??= this.startWorker().finally(() => (this.warming = undefined)));
  }

  supportedAttKeyIds(): Promise<Buffer[]> {
    if (!this.keyIds) {
      this.keyIds = this.submit<Buffer[]>("supportedAttKeyIds", NO_ARGS);
      this.keyIds.catch(() => (this.keyIds = undefined));
    }
    return this.keyIds;
  }

  async initQuote(attKeyId: Buffer): Promise<InitQuoteResult> {
    return this.submit<InitQuoteResult>("initQuote", { bytes: [attKeyId], int: 0 });
  }

  quoteSize(attKeyId: Buffer): Promise<number> {
    const key = attKeyId.toString("latin1");
    let size = this.sizes.get(key);
    if (!size) {
      // Clients choose the key id bytes: the cache is bounded.
      if (this.sizes.size >= MAX_CACHED_SIZES) this.sizes.clear();
      size = this.submit<number>("quoteSize", { bytes: [attKeyId], int: 0 });
      size.catch(() => this.sizes.delete(key));
      this.sizes.set(key, size);
    }
    return size;
  }

  getQuote(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): Promise<QuoteResult> {
    return this.submit<QuoteResult>("getQuote", { bytes: [report, attKeyId, qeReportInfo], int: 0 });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new QuotingError(AesmError.SERVICE_STOPPED, "quoting pool closed"));
    for (const m of this.members) clearTimeout(m.retireTimer);
    await Promise.all(this.members.map((m) => m.worker.terminate()));
  }

  private submit<T>(op: BackendOp, args: Parts): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(new QuotingError(AesmError.SERVICE_STOPPED, "quoting pool closed"));
      const size = partsSize(args);
      if (size > SLOT_CAPACITY) return reject(new QuotingError(AesmError.PARAMETER_ERROR, `arguments of ${size} bytes exceed ${SLOT_CAPACITY}`));
      const task: Task = { op, args, resolve: resolve as (v: unknown) => void, reject };
      const member = this.leastLoaded();
      if (member && member.busy === 0) return this.assign(member, task);
      const canGrow = this.hasRoom();
      if (canGrow) this.grow();
      const waiting = this.queueDepth();
      if (waiting >= this.opts.maxQueue)
        return reject(new QuotingError(AesmError.BUSY, `all ${this.members.length} quoting workers busy and ${waiting} requests waiting`));
      if (!canGrow && member && member.busy < WORKER_PIPELINE_DEPTH) this.assign(member, task);
      else this.queue.push(task);
    });
  }

  /**
   * Where the next task goes: the least-loaded worker, except that one already awake (or already to be
   * woken this turn) takes up to SHARE tasks first. Waking a sleeping worker costs about as much as the
   * quote; the workers are mostly idle, so one awake worker doing a few tasks in a row is cheaper.
   */
  private leastLoaded(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    let awake: PoolWorker | undefined;
    for (const m of this.members) {
      if (!best || m.busy < best.busy) best = m;
      if (m.busy < SHARE && (m.handed || !m.table.asleep()) && (!awake || m.busy < awake.busy)) awake = m;
    }
    return awake ?? best;
  }

  /** Writes the task into a free slot of `m` (it has one: busy < WORKER_PIPELINE_DEPTH). */
  private assign(m: PoolWorker, task: Task): void {
    clearTimeout(m.retireTimer);
    const slot = m.slots.indexOf(undefined);
    m.slots[slot] = task;
    m.busy++;
    m.table.write(slot, OPS.indexOf(task.op), task.args);
    task.args = NO_ARGS;
    m.table.setState(slot, SlotState.TASK);
    // An awake worker takes the task now; a sleeping one is woken once per event-loop turn, for all the
    // tasks this turn handed it.
    m.handed = true;
    if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(this.wakeUp);
    }
  }

  private readonly wakeUp = (): void => {
    this.wakeScheduled = false;
    for (const m of this.members) {
      if (!m.handed) continue;
      m.handed = false;
      if (m.table.wakeWorker()) m.worker.postMessage(null);
    }
  };

  /** Settles the task in `slot` from its result and frees the slot. */
  private settle(m: PoolWorker, slot: number, parts?: Parts): void {
    const task = m.slots[slot];
    const code = parts ? OK : m.table.code(slot);
    if (!parts && code === OK) parts = m.table.read(slot);
    const message = code === OK ? "" : m.table.readError(slot);
    m.table.setState(slot, SlotState.FREE);
    m.slots[slot] = undefined;
    m.busy--;
    if (!task) return;
    if (code === OK) task.resolve(resultValue(task.op, parts!));
    else task.reject(new QuotingError(code, message));
  }

  /** Reads every finished slot of `m`, then hands it queued work. */
  private collect(m: PoolWorker): void {
    // Cleared before looking: a result finished after this point sends a new wake-up.
    m.table.poolAwake();
    for (let i = 0; i < m.slots.length; i++) if (m.slots[i] && m.table.state(i) === SlotState.DONE) this.settle(m, i);
    this.pump(m);
  }

  /** Fewer workers running and starting than `size`. */
  private hasRoom(): boolean {
    return this.members.length + this.starting < this.opts.size;
  }

  /** One more worker; it takes queued work once ready. */
  private grow(): void {
    this.startWorker().catch((err: Error) => this.opts.log.error({ err: err.message }, "could not start another quoting worker"));
  }

  private startWorker(): Promise<void> {
    this.starting++;
    return this.spawn().finally(() => this.starting--);
  }

  private spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const slots = SlotTable.allocate(WORKER_PIPELINE_DEPTH, SLOT_CAPACITY);
      const worker = new Worker(WORKER_URL, { workerData: { module: this.opts.module, options: this.opts.options, slots } satisfies WorkerInit });
      const member: PoolWorker = { worker, table: new SlotTable(slots), slots: new Array<Task | undefined>(WORKER_PIPELINE_DEPTH).fill(undefined), busy: 0 };
      let ready = false;
      worker.on("message", (m: WorkerMessage) => {
        if (m === null) return this.collect(member);
        if (m.type === "ready") {
          ready = true;
          // A worker that finished starting after close() is not kept.
          if (this.closed) return void worker.terminate().then(() => resolve());
          this.members.push(member);
          this.pump(member);
          resolve();
        } else if (m.type === "failed") {
          reject(new QuotingError(AesmError.ENCLAVE_LOAD_ERROR, `quoting worker could not build its backend: ${m.message}`));
          void worker.terminate();
        } else if (member.table.state(m.slot) === SlotState.POSTED) {
          this.settle(member, m.slot, { bytes: m.parts.bytes.map((b) => b && toBuffer(b)), int: m.parts.int });
          this.pump(member);
        }
      });
      worker.on("error", (err) => this.opts.log.error({ err: err.message }, "quoting worker failed"));
      worker.on("exit", (code) => {
        if (!ready) return reject(new QuotingError(AesmError.ENCLAVE_LOAD_ERROR, `quoting worker exited (${code}) while starting`));
        const i = this.members.indexOf(member);
        if (i >= 0) this.members.splice(i, 1);
        clearTimeout(member.retireTimer);
        for (const t of member.slots) t?.reject(new QuotingError(AesmError.ENCLAVE_LOST, "quoting worker exited during the request"));
        member.slots.fill(undefined);
        member.busy = 0;
        // Its queued work goes to the others (or to its replacement once that is ready).
        for (const m of this.members) this.pump(m);
        if (!this.closed && !member.retired) {
          this.opts.log.warn({ code }, "quoting worker exited; starting a new one");
          // Counted as starting, so that work arriving meanwhile does not grow the pool past its size.
          if (this.hasRoom()) this.startWorker().catch((err: Error) => this.opts.log.error({ err: err.message }, "could not replace a quoting worker"));
        }
      });
    });
  }

  /** Hands queued work to the least-loaded workers; `m`, if that leaves it idle, retires after idleMs. */
  private pump(m: PoolWorker): void {
    while (this.queue.length > 0) {
      const to = this.leastLoaded();
      if (!to || to.busy >= WORKER_PIPELINE_DEPTH) break;
      this.assign(to, this.queue.shift()!);
    }
    if (m.busy > 0) return;
    const min = this.opts.minWorkers ?? 1;
    if (this.members.length > min) {
      clearTimeout(m.retireTimer);
      m.retireTimer = setTimeout(() => {
        if (m.busy > 0 || this.members.length <= min) return;
        m.retired = true;
        this.members.splice(this.members.indexOf(m), 1);
        void m.worker.terminate();
      }, this.opts.idleMs ?? 30_000);
      m.retireTimer.unref();
    }
  }
}

/**
 * Builds the workers' backend in this thread, what a worker's start would prove, and closes it again.
 * Returns its supported key ids (constant per backend), so that asking for them starts no worker either.
 */
async function checkBackend(opts: WorkerPoolOptions): Promise<Buffer[]> {
  let backend: QuotingBackend;
  try {
    backend = await loadBackend(opts.module, opts.options);
  } catch (err) {
    throw new QuotingError(AesmError.ENCLAVE_LOAD_ERROR, `quoting backend could not be built: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return await backend.supportedAttKeyIds();
  } finally {
    await backend.close();
  }
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
