// A pool worker: builds one backend from its factory module and runs operations on it, one at a time.
import { parentPort, workerData } from "node:worker_threads";
import { AesmError } from "../../aesm/error-codes.js";
import { QuotingError, type QuotingBackend } from "../../quoting/backend.js";
import { batcher, pack, unpack, type Packed, type TaskMessage, type TaskOutcome, type WorkerInit, type WorkerMessage } from "./protocol.js";

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => port.postMessage(m);
const buf = (u?: Uint8Array) => (u === undefined ? undefined : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

async function run(backend: QuotingBackend, t: TaskMessage): Promise<unknown> {
  const [a, b, c] = t.args.map(buf);
  switch (t.op) {
    case "supportedAttKeyIds":
      return backend.supportedAttKeyIds();
    case "initQuote":
      return backend.initQuote(a!);
    case "quoteSize":
      return backend.quoteSize(a!);
    case "getQuote":
      return backend.getQuote(a!, b!, c);
  }
}

try {
  const mod = (await import(init.module)) as { createBackend(options: unknown): QuotingBackend | Promise<QuotingBackend> };
  const backend = await mod.createBackend(init.options);
  const answer = batcher<TaskOutcome>((items) => {
    const { value, transfer } = pack(items);
    port.postMessage({ type: "outcomes", outcomes: value } satisfies WorkerMessage, transfer);
  });
  port.on("message", (packed: Packed) => {
    for (const t of unpack<TaskMessage[]>(packed)) {
      run(backend, t).then(
        (value) => answer({ type: "result", id: t.id, value }),
        (err: unknown) =>
          answer({ type: "error", id: t.id, code: err instanceof QuotingError ? err.code : AesmError.UNEXPECTED_ERROR, message: err instanceof Error ? err.message : String(err) }),
      );
    }
  });
  post({ type: "ready" });
} catch (err) {
  post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
}
