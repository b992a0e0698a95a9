// From a request frame to a response frame: decode once, run the message's handler, encode the answer
// under the request's number with its errorCode. Unparseable frames get no answer, as from aesmd.
import { AesmError, aesmErrorName } from "../aesm/error-codes.js";
import { isLegacyKind } from "../aesm/kinds.js";
import { AesmDecodeError, decodeRequest, encodeResponseFrame, type AesmRequest, type AesmResponse } from "../aesm/messages.js";
import type { Logger } from "../common/log.js";
import { throttledLog } from "../common/throttled-log.js";
import { QuotingError } from "../quoting/backend.js";
import { HANDLERS, legacy, type Handler, type HandlerContext } from "./handlers/index.js";
import type { QuoteHelperMetrics } from "./metrics.js";
import type { FrameHandler } from "./transport.js";

export function createDispatcher(ctx: HandlerContext, log: Logger, metrics: QuoteHelperMetrics): FrameHandler {
  // Clients choose what fails: one line per kind of failure per interval, with a count.
  const unparseable = throttledLog(log, "warn", "unparseable request; closing the connection without a response");
  const refused = throttledLog(log, "warn", "request failed");
  const failed = throttledLog(log, "error", "request failed");
  return async (payload) => {
    let req: AesmRequest;
    try {
      req = decodeRequest(payload);
    } catch (err) {
      if (!(err instanceof AesmDecodeError)) throw err;
      unparseable.add("unparseable", { bytes: payload.length, err: err.message.slice(0, 200) });
      metrics.requests.inc({ type: "unparseable", result: "closed" });
      return undefined;
    }
    const stopTimer = metrics.latency.startTimer({ type: req.kind });
    metrics.inFlight.inc();
    let res: AesmResponse;
    try {
      const kind = req.kind;
      res = isLegacyKind(kind) ? await legacy({ kind }) : await (HANDLERS[kind] as Handler<typeof kind>)(req as never, ctx);
    } catch (err) {
      res = { kind: req.kind, errorCode: codeOf(err) } as AesmResponse;
      // A refused request (the backend's own answer) is a warning; anything else is our bug.
      const code = aesmErrorName(res.errorCode);
      if (err instanceof QuotingError) refused.add(`${req.kind} ${code}`, { type: req.kind, code, err: err.detail.slice(0, 200) });
      else failed.add(`${req.kind} ${code}`, { type: req.kind, code, err: (err as Error).message.slice(0, 200) });
    } finally {
      metrics.inFlight.dec();
      stopTimer();
    }
    metrics.requests.inc({ type: req.kind, result: aesmErrorName(res.errorCode) });
    return encodeResponseFrame(res);
  };
}

function codeOf(err: unknown): AesmError {
  return err instanceof QuotingError ? err.code : AesmError.UNEXPECTED_ERROR;
}
