// Quote work off the event loop: a QuotingBackend whose operations run on worker threads, each with
// its own backend instance built from a factory module. Work waits in a bounded queue; past it the
// caller gets BUSY at once, which Intel's client maps to SGX_ERROR_BUSY (retry later).
// One worker starts with the pool (so a bad backend fails at start); more start only when work has
// to wait, up to `size`, and those beyond `minWorkers` retire after `idleMs` without work: each costs
// ~30 MiB of RSS, which on a many-core node would otherwise be held by a mostly idle service.
import { Worker } from "node:worker_threads";
import { AesmError } from "../../aesm/error-codes.js";
import type { Logger } from "../../common/log.js";
import { QuotingError, type InitQuoteResult, type QuoteResult, type QuotingBackend } from "../../quoting/backend.js";
import { batcher, pack, unpack, type BackendOp, type TaskMessage, type TaskOutcome, type WorkerInit, type WorkerMessage } from "./protocol.js";

export interface WorkerPoolOptions extends WorkerInit {
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
  msg: TaskMessage;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  /** Tasks posted to this worker and not yet answered, by id. */
  tasks: Map<number, Task>;
  post(msg: TaskMessage): void;
  retireTimer?: NodeJS.Timeout;
  retired?: boolean;
}

// Tasks a worker may hold at once. More than one keeps it busy while results and new tasks cross the
// thread boundary; a worker still runs them one after another.
const WORKER_PIPELINE_DEPTH = 4;

const WORKER_URL = new URL("./worker.js", import.meta.url);

export class WorkerPoolBackend implements QuotingBackend {
  readonly name: string;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private starting = 0;
  private closed = false;
  // Constant for a given backend and key: cached so these cheap calls never wait behind quotes.
  private keyIds: Promise<Buffer[]> | undefined;
  private readonly sizes = new Map<string, Promise<number>>();

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.name = opts.name;
  }

  /** Starts `size` workers and resolves once every backend is built, or rejects with the first failure. */
  static async start(opts: WorkerPoolOptions): Promise<WorkerPoolBackend> {
    const pool = new WorkerPoolBackend(opts);
    try {
      await pool.spawn();
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Requests waiting: queued here, or handed to a worker that is still busy with an earlier one. */
  queueDepth(): number {
    let waiting = this.queue.length;
    for (const s of this.slots) waiting += Math.max(0, s.tasks.size - 1);
    return waiting;
  }

  workers(): number {
    return this.slots.length;
  }

  supportedAttKeyIds(): Promise<Buffer[]> {
    if (!this.keyIds) {
      this.keyIds = this.submit<Uint8Array[]>("supportedAttKeyIds", []).then((ids) => ids.map(toBuffer));
      this.keyIds.catch(() => (this.keyIds = undefined));
    }
    return this.keyIds;
  }

  async initQuote(attKeyId: Buffer): Promise<InitQuoteResult> {
    const r = await this.submit<{ targetInfo: Uint8Array; pubKeyId: Uint8Array }>("initQuote", [attKeyId]);
    return { targetInfo: toBuffer(r.targetInfo), pubKeyId: toBuffer(r.pubKeyId) };
  }

  quoteSize(attKeyId: Buffer): Promise<number> {
    const key = attKeyId.toString("hex");
    let size = this.sizes.get(key);
    if (!size) {
      size = this.submit<number>("quoteSize", [attKeyId]);
      size.catch(() => this.sizes.delete(key));
      this.sizes.set(key, size);
    }
    return size;
  }

  async getQuote(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): Promise<QuoteResult> {
    const r = await this.submit<{ quote: Uint8Array; qeReportInfo?: Uint8Array }>("getQuote", [report, attKeyId, qeReportInfo]);
    return r.qeReportInfo ? { quote: toBuffer(r.quote), qeReportInfo: toBuffer(r.qeReportInfo) } : { quote: toBuffer(r.quote) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new QuotingError(AesmError.SERVICE_STOPPED, "quoting pool closed"));
    for (const s of this.slots) clearTimeout(s.retireTimer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private submit<T>(op: BackendOp, args: (Buffer | undefined)[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(new QuotingError(AesmError.SERVICE_STOPPED, "quoting pool closed"));
      const task: Task = { msg: { id: this.nextId++, op, args }, resolve: resolve as (v: unknown) => void, reject };
      const slot = this.leastLoaded();
      if (slot && slot.tasks.size === 0) return this.assign(slot, task);
      const canGrow = this.slots.length + this.starting < this.opts.size;
      if (canGrow) this.grow();
      const waiting = this.queueDepth();
      if (waiting >= this.opts.maxQueue)
        return reject(new QuotingError(AesmError.BUSY, `all ${this.slots.length} quoting workers busy and ${waiting} requests waiting`));
      if (!canGrow && slot && slot.tasks.size < WORKER_PIPELINE_DEPTH) this.assign(slot, task);
      else this.queue.push(task);
    });
  }

  private leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.tasks.size < best.tasks.size) best = s;
    return best;
  }

  private assign(slot: Slot, task: Task): void {
    clearTimeout(slot.retireTimer);
    slot.tasks.set(task.msg.id, task);
    slot.post(task.msg);
  }

  /** One more worker; it takes queued work once ready. */
  private grow(): void {
    this.starting++;
    this.spawn()
      .catch((err: Error) => this.opts.log.error({ err: err.message }, "could not start another quoting worker"))
      .finally(() => this.starting--);
  }

  private spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(WORKER_URL, { workerData: { module: this.opts.module, options: this.opts.options } satisfies WorkerInit });
      const post = batcher<TaskMessage>((msgs) => {
        const { value, transfer } = pack(msgs);
        worker.postMessage(value, transfer);
      });
      const slot: Slot = { worker, tasks: new Map(), post };
      let ready = false;
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "ready") {
          ready = true;
          this.slots.push(slot);
          this.pump(slot);
          resolve();
        } else if (m.type === "failed") {
          reject(new QuotingError(AesmError.ENCLAVE_LOAD_ERROR, `quoting worker could not build its backend: ${m.message}`));
          void worker.terminate();
        } else {
          for (const o of unpack<TaskOutcome[]>(m.outcomes)) {
            const task = slot.tasks.get(o.id);
            slot.tasks.delete(o.id);
            if (task) {
              if (o.type === "result") task.resolve(o.value);
              else task.reject(new QuotingError(o.code, o.message));
            }
          }
          this.pump(slot);
        }
      });
      worker.on("error", (err) => this.opts.log.error({ err: err.message }, "quoting worker failed"));
      worker.on("exit", (code) => {
        if (!ready) return reject(new QuotingError(AesmError.ENCLAVE_LOAD_ERROR, `quoting worker exited (${code}) while starting`));
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        clearTimeout(slot.retireTimer);
        for (const t of slot.tasks.values()) t.reject(new QuotingError(AesmError.ENCLAVE_LOST, "quoting worker exited during the request"));
        slot.tasks.clear();
        if (!this.closed && !slot.retired) {
          this.opts.log.warn({ code }, "quoting worker exited; starting a new one");
          this.spawn().catch((err: Error) => this.opts.log.error({ err: err.message }, "could not replace a quoting worker"));
        }
      });
    });
  }

  private pump(slot: Slot): void {
    while (slot.tasks.size < WORKER_PIPELINE_DEPTH && this.queue.length > 0) this.assign(slot, this.queue.shift()!);
    if (slot.tasks.size > 0) return;
    const min = this.opts.minWorkers ?? 1;
    if (this.slots.length > min) {
      slot.retireTimer = setTimeout(() => {
        if (slot.tasks.size > 0 || this.slots.length <= min) return;
        slot.retired = true;
        this.slots.splice(this.slots.indexOf(slot), 1);
        void slot.worker.terminate();
      }, this.opts.idleMs ?? 30_000);
      slot.retireTimer.unref();
    }
  }
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
