// EPID quoting, launch tokens, white lists and platform services (requests 1-4, 10-14, 18): this
// service only does DCAP ECDSA quoting. They get their own response sub-message, so Intel's client
// does not dereference a missing one, with SERVICE_UNAVAILABLE: libsgx_uae_service maps it to
// SGX_ERROR_SERVICE_UNAVAILABLE, which callers already treat as "no AESM can do this here" and
// handle (fall back, or report a missing service) rather than as an internal fault (UNEXPECTED_ERROR).
import { AesmError } from "../../aesm/error-codes.js";
import type { LegacyKind } from "../../aesm/kinds.js";
import type { LegacyResponse } from "../../aesm/messages.js";

export async function legacy(req: { kind: LegacyKind }): Promise<LegacyResponse> {
  return { kind: req.kind, errorCode: AesmError.SERVICE_UNAVAILABLE } as LegacyResponse;
}
