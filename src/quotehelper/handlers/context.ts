// What every message handler gets, and the shape of a handler. Handlers report failures by throwing
// QuotingError(code); the dispatcher turns that into the response's errorCode.
import type { QuoteExKind } from "../../aesm/kinds.js";
import type { RequestOf, ResponseOf } from "../../aesm/messages.js";
import type { QuotingBackend } from "../../quoting/backend.js";

export interface HandlerContext {
  backend: QuotingBackend;
  /** The backend's attestation key ids (256 B each), read once at start. */
  supportedKeyIds: readonly Buffer[];
}

export type Handler<K extends QuoteExKind> = (req: RequestOf<K>, ctx: HandlerContext) => Promise<ResponseOf<K>>;
