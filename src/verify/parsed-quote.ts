// A quote decoded once, so a caller that must read it before verification (the attestation service
// routes each quote to its platform's collateral) hands the verifier the same decoding. It holds its
// own copy of the bytes (its fields are views into that copy): the signatures are checked over exactly
// the bytes that were decoded.
import { parseQuote, type QuoteV3 } from "../sgx/index.js";

export class ParsedQuote {
  private constructor(
    readonly bytes: Buffer,
    readonly quote: QuoteV3,
  ) {}

  /** Throws SgxCodecError if `bytes` is not a quote. */
  static of(bytes: Buffer): ParsedQuote {
    const own = Buffer.from(bytes);
    return new ParsedQuote(own, parseQuote(own, { views: true }));
  }

  /** For the verifier's own callers, who keep their buffer unchanged while it runs. */
  static borrowing(bytes: Buffer): ParsedQuote {
    return new ParsedQuote(bytes, parseQuote(bytes, { views: true }));
  }
}
