// A pool worker: builds one backend from its factory module and runs the tasks of its slot table on it,
// one at a time, each result written back into its slot.
import { parentPort, workerData } from "node:worker_threads";
import { AesmError } from "../../aesm/error-codes.js";
import { QuotingError, type QuotingBackend } from "../../quoting/backend.js";
import { OK, OPS, SlotState, SlotTable, loadBackend, resultParts, type Parts, type WorkerInit, type WorkerMessage } from "./protocol.js";

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => port.postMessage(m);

function run(backend: QuotingBackend, op: number, args: Parts): Promise<unknown> {
  const [a, b, c] = args.bytes as (Buffer | undefined)[];
  switch (OPS[op]) {
    case "supportedAttKeyIds":
      return backend.supportedAttKeyIds();
    case "initQuote":
      return backend.initQuote(a!);
    case "quoteSize":
      return backend.quoteSize(a!);
    case "getQuote":
      return backend.getQuote(a!, b!, c);
    default:
      return Promise.reject(new Error(`unknown op ${op}`));
  }
}

function serve(backend: QuotingBackend, slots: SlotTable): void {
  let draining = false;
  // The pool is woken when this worker is about to run out of tasks (a quarter of its slots left), not
  // after each one: under load it then collects several results and refills the slots while the last
  // tasks run, so that this worker finds them without going to sleep. A lone task is answered at once.
  const lowWater = Math.max(1, slots.count >> 2);
  const finish = (slot: number, state: SlotState) => {
    slots.setState(slot, state);
    if (slots.countIn(SlotState.TASK) <= lowWater && slots.wakePool()) post(null);
  };
  const runSlot = async (slot: number) => {
    slots.setState(slot, SlotState.RUNNING);
    const op = slots.code(slot);
    try {
      const parts = resultParts(OPS[op], await run(backend, op, slots.read(slot)));
      if (slots.write(slot, OK, parts)) return finish(slot, SlotState.DONE);
      // Too large for the slot: the rare result that is cloned into a message.
      slots.setState(slot, SlotState.POSTED);
      post({ type: "posted", slot, parts });
    } catch (err) {
      slots.writeError(slot, err instanceof QuotingError ? err.code : AesmError.UNEXPECTED_ERROR, err instanceof Error ? err.message : String(err));
      finish(slot, SlotState.DONE);
    }
  };
  const drain = async () => {
    draining = true;
    for (;;) {
      let ran = false;
      for (let i = 0; i < slots.count; i++) {
        if (slots.state(i) !== SlotState.TASK) continue;
        ran = true;
        await runSlot(i);
      }
      if (ran) continue;
      slots.workerSleeping();
      if (slots.countIn(SlotState.TASK) === 0) break;
      slots.workerAwake();
    }
    // No await between the last look and here: a wake-up sent after it starts the next drain.
    draining = false;
  };
  port.on("message", () => {
    if (!draining) void drain();
  });
}

try {
  serve(await loadBackend(init.module, init.options), new SlotTable(init.slots));
  post({ type: "ready" });
} catch (err) {
  post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
}
