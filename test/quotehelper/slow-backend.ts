// A test double loaded by pool workers: quotes take `delayMs`, say which thread made them and for which
// report, and are `quoteBytes` long (default 8). A report starting 0xfd ends the worker's thread, as a crash.
import { threadId } from "node:worker_threads";
import { AesmError } from "../../src/aesm/error-codes.js";
import { QuotingError, type QuotingBackend } from "../../src/quoting/backend.js";

export function createBackend(options: { delayMs: number; fail?: boolean; quoteBytes?: number }): QuotingBackend {
  if (options.fail) throw new Error("no platform here");
  const busy = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    name: "slow",
    supportedAttKeyIds: async () => [Buffer.alloc(256, 1)],
    initQuote: async () => ({ targetInfo: Buffer.alloc(512), pubKeyId: Buffer.alloc(32) }),
    quoteSize: async () => 8,
    getQuote: async (report) => {
      if (report[0] === 0xff) throw new QuotingError(AesmError.INVALID_REPORT, "forged");
      if (report[0] === 0xfd) process.exit(3);
      if (report[0] === 0xfe) throw new Error(`no quote for report ${report.subarray(0, 4).toString("hex")}`);
      await busy(options.delayMs);
      const quote = Buffer.alloc(Math.max(8, options.quoteBytes ?? 8), report[1]);
      quote.writeUInt32LE(threadId, 0);
      quote.writeUInt32LE(report[0], 4);
      return { quote };
    },
    close: async () => {},
  };
}
