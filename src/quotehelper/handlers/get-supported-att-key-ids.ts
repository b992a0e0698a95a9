// GetSupportedAttKeyIDs (22): buf_size must be exactly num x 256, as aesmd requires.
import { AesmError } from "../../aesm/error-codes.js";
import { ATT_KEY_ID_SIZE } from "../../aesm/sizes.js";
import { QuotingError } from "../../quoting/backend.js";
import type { Handler } from "./context.js";

export const getSupportedAttKeyIds: Handler<"getSupportedAttKeyIds"> = async (req, ctx) => {
  const expected = ctx.supportedKeyIds.length * ATT_KEY_ID_SIZE;
  if (req.bufSize !== expected) throw new QuotingError(AesmError.PARAMETER_ERROR, `buf_size is ${req.bufSize}, must be ${expected}`);
  return { kind: "getSupportedAttKeyIds", errorCode: AesmError.SUCCESS, attKeyIds: Buffer.concat(ctx.supportedKeyIds) };
};
