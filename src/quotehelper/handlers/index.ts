// One handler per AESM message the quote helper serves.
import type { QuoteExKind } from "../../aesm/kinds.js";
import type { Handler } from "./context.js";
import { getQuoteEx } from "./get-quote-ex.js";
import { getQuoteSizeEx } from "./get-quote-size-ex.js";
import { getSupportedAttKeyIdNum } from "./get-supported-att-key-id-num.js";
import { getSupportedAttKeyIds } from "./get-supported-att-key-ids.js";
import { initQuoteEx } from "./init-quote-ex.js";
import { selectAttKeyId } from "./select-att-key-id.js";

export type { Handler, HandlerContext } from "./context.js";
export { legacy } from "./legacy.js";

export const HANDLERS: { [K in QuoteExKind]: Handler<K> } = {
  initQuoteEx,
  getQuoteSizeEx,
  getQuoteEx,
  selectAttKeyId,
  getSupportedAttKeyIdNum,
  getSupportedAttKeyIds,
};
