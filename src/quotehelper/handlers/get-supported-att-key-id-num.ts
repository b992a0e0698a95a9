// GetSupportedAttKeyIDNum (21). aesmd answers SERVICE_UNAVAILABLE when it has no key to offer.
import { AesmError } from "../../aesm/error-codes.js";
import { QuotingError } from "../../quoting/backend.js";
import type { Handler } from "./context.js";

export const getSupportedAttKeyIdNum: Handler<"getSupportedAttKeyIdNum"> = async (_req, ctx) => {
  const num = ctx.supportedKeyIds.length;
  if (num === 0) throw new QuotingError(AesmError.SERVICE_UNAVAILABLE, "the backend supports no attestation key");
  return { kind: "getSupportedAttKeyIdNum", errorCode: AesmError.SUCCESS, attKeyIdNum: num };
};
