// A test double loaded by pool workers: quotes take `delayMs` and say which thread made them.
import { threadId } from "node:worker_threads";
import { AesmError } from "../../src/aesm/error-codes.js";
import { QuotingError, type QuotingBackend } from "../../src/quoting/backend.js";

export function createBackend(options: { delayMs: number; fail?: boolean }): QuotingBackend {
  if (options.fail) throw new Error("no platform here");
  const busy = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    name: "slow",
    supportedAttKeyIds: async () => [Buffer.alloc(256, 1)],
    initQuote: async () => ({ targetInfo: Buffer.alloc(512), pubKeyId: Buffer.alloc(32) }),
    quoteSize: async () => 8,
    getQuote: async (report) => {
      if (report[0] === 0xff) throw new QuotingError(AesmError.INVALID_REPORT, "forged");
      await busy(options.delayMs);
      return { quote: Buffer.from(Uint32Array.of(threadId, report[0]).buffer) };
    },
    close: async () => {},
  };
}
