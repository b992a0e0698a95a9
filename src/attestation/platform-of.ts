// Which platform a quote comes from (FMSPC and PCK CA type, from its PCK certificate), so the right
// collateral can be fetched before verification. Cached by the PCK chain bytes; the verifier checks
// the chain itself, this only routes.
import { BytesCache } from "../common/bytes-cache.js";
import { pckChainFromCertData, SgxCodecError } from "../sgx/index.js";
import { parsePemBlocks } from "../verify/certs.js";
import { parseSgxExtension } from "../verify/sgx-extension.js";
import { ParsedQuote, VerificationError } from "../verify/index.js";
import { invalid } from "./errors.js";
import type { PckCa } from "./collateral-cache.js";

export interface PlatformRef {
  fmspc: string;
  caType: PckCa;
}

const MAX_CACHED = 4096;

export class PlatformResolver {
  // Keyed by the certification data: the chain is split and parsed only for data not seen before.
  private readonly cache = new BytesCache<PlatformRef>(MAX_CACHED);

  /** The decoded quote (handed on to the verifier, so it is decoded once) and its platform. */
  resolve(quote: Buffer): { parsed: ParsedQuote; platform: PlatformRef } {
    let parsed: ParsedQuote;
    try {
      parsed = ParsedQuote.of(quote);
    } catch (e) {
      return malformed(e);
    }
    const certification = parsed.quote.signatureData.certification;
    let platform = this.cache.get(certification.data);
    if (!platform) {
      try {
        // As the verifier splits and parses it, so the verifier finds these parses in the certificate cache.
        const certs = parsePemBlocks("pck-chain", "PCK certificate chain", pckChainFromCertData(certification));
        if (certs.length < 2) invalid("invalid-quote", `the quote's PCK chain has ${certs.length} certificate(s); expected leaf, CA and root`);
        const sgx = parseSgxExtension(certs[0]!);
        platform = { fmspc: sgx.fmspc.toString("hex").toUpperCase(), caType: /Platform/.test(certs[1]!.cn) ? "platform" : "processor" };
      } catch (e) {
        if (e instanceof VerificationError) return invalid("invalid-quote", e.message);
        return malformed(e);
      }
      this.cache.set(certification.data, platform);
    }
    return { parsed, platform };
  }
}

/** A quote the codec refused is the client's error; anything else is ours. */
function malformed(e: unknown): never {
  if (e instanceof SgxCodecError) return invalid("invalid-quote", `malformed quote: ${e.message}`);
  throw e;
}
