// GetQuoteSizeEx (16).
import { AesmError } from "../../aesm/error-codes.js";
import type { Handler } from "./context.js";
import { requireSupportedKeyId } from "./key-ids.js";

export const getQuoteSizeEx: Handler<"getQuoteSizeEx"> = async (req, ctx) => {
  const attKeyId = requireSupportedKeyId(req.attKeyId, ctx.supportedKeyIds);
  return { kind: "getQuoteSizeEx", errorCode: AesmError.SUCCESS, quoteSize: await ctx.backend.quoteSize(attKeyId) };
};
