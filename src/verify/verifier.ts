// The orchestrating verifier: QvE's order (PCK chain, collateral, quote) with QVL's checks. Results of
// checks that do not depend on the quote's own bytes are cached, so many quotes from one platform cost
// little more than their two ECDSA verifications; validity windows are still checked at every `now`.
import type { Collateral } from "../collateral/types.js";
import { BytesCache } from "../common/bytes-cache.js";
import { SgxCodecError } from "../sgx/index.js";
import { asCollateral, COLLATERAL_FIELDS, collateralContentKey, verifyCollateral, type VerifiedCollateral } from "./collateral.js";
import { revocationOf } from "./crl.js";
import { checkValidity, fail, VerificationError } from "./errors.js";
import { ParsedQuote } from "./parsed-quote.js";
import { pckChainBlocks, verifyPck, type PckCaType, type VerifiedPck } from "./pck.js";
import { attestationKeyOf, checkHeader, checkIsvSignature, checkQeIdentity, checkQeReportData, checkQeReportSignature } from "./quote-checks.js";
import type { VerificationResult } from "./result.js";
import { mergeTcbStatus, type TcbStatus } from "./tcb-status.js";
import { mergeAdvisories, selectPlatformLevel, selectQeLevel } from "./tcb-level.js";
import { loadTrustedRoot, type TrustedRoot } from "./trusted-root.js";
import type { TcbLevel } from "./tcb-info.js";
import type { Validity } from "./certs.js";
import type { KeyObject } from "node:crypto";

export type CollateralSource = (fmspc: string, caType: PckCaType) => Promise<Collateral>;

export interface QuoteVerifierOptions {
  /** PEM of the trust anchor; default the real Intel SGX Root CA. */
  trustedRootPem?: string;
  /** Where to get collateral when `verify` is not given any (e.g. a PCCS), cached per FMSPC and CA. */
  collateralSource?: CollateralSource;
  /** Accept ISV enclaves with the DEBUG attribute (default: reject them with a "policy" failure). */
  allowDebug?: boolean;
  /** Entries per cache (PCK chains, collateral). */
  cacheSize?: number;
  /** Largest collateral document accepted, given or fetched (default DEFAULT_MAX_COLLATERAL_BYTES, 4 MiB). */
  maxCollateralBytes?: number;
}

export interface VerifyOptions {
  collateral?: Collateral;
  /** Verification time; default the current time. */
  now?: Date;
}

/** What the PCK chain and the collateral say together: fixed for a (platform, collateral) pair. */
interface PlatformVerdict {
  level: TcbLevel | undefined;
  revocation: string | undefined;
  validity: Validity[];
  /** The intersection of all validity windows, so the common case is two comparisons. */
  validFrom: number;
  validUntil: number;
  /** Result fields fixed by the pair, formatted once. */
  reported: Pick<VerificationResult, "fmspc" | "pceId" | "caType" | "collateralExpiresAt">;
}

const DEBUG_FLAG = 0x2n;

/** A bounded insertion-ordered cache (oldest entry evicted first). */
class Cache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly size: number) {}
  get(key: K, make: () => V): V {
    let v = this.map.get(key);
    if (v === undefined) this.set(key, (v = make()));
    return v;
  }
  set(key: K, v: V): void {
    if (this.map.size >= this.size) this.map.delete(this.map.keys().next().value as K);
    this.map.set(key, v);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
}

export class QuoteVerifier {
  private readonly root: TrustedRoot;
  private readonly pcks: BytesCache<VerifiedPck>;
  // By object for speed, remembering the field values it was verified with: a caller that mutates the
  // object afterwards gets it verified again, never a stale verdict.
  private readonly collateralByObject = new WeakMap<Collateral, { fields: string[]; verified: VerifiedCollateral }>();
  private readonly collateralByContent: Cache<string, VerifiedCollateral>;
  private readonly fetched: Cache<string, Promise<Collateral>>;
  // Importing a P-256 point (with its on-curve check) costs as much as a signature verification, and a
  // QE signs every quote of its platform with the same attestation key.
  private readonly attestationKeys: BytesCache<KeyObject>;
  private readonly verdicts = new WeakMap<VerifiedCollateral, WeakMap<VerifiedPck, PlatformVerdict>>();

  constructor(private readonly options: QuoteVerifierOptions = {}) {
    this.root = loadTrustedRoot(options.trustedRootPem);
    const size = options.cacheSize ?? 256;
    this.pcks = new BytesCache(size);
    this.collateralByContent = new Cache(size);
    this.fetched = new Cache(size);
    this.attestationKeys = new BytesCache(size);
  }

  /** `input` may be a ParsedQuote the caller decoded already (to route it), verified without decoding it again. */
  async verify(input: Buffer | ParsedQuote, opts: VerifyOptions = {}): Promise<VerificationResult> {
    const now = opts.now ?? new Date();
    const root = this.root;
    const { bytes: quote, quote: q } = input instanceof ParsedQuote ? input : parse(input);
    checkHeader(q);
    const certification = q.signatureData.certification;
    const pck = this.pcks.get(certification.data) ?? this.pcks.set(certification.data, verifyPck(pckChainBlocks(certification), root));
    const collateral = opts.collateral ?? (await this.fetch(pck, root, now));
    const coll = this.verifiedCollateral(collateral, root);
    const verdict = this.platformVerdict(pck, coll);
    const t = now.getTime();
    if (!(t >= verdict.validFrom && t <= verdict.validUntil)) checkValidity(verdict.validity, now);

    checkQeReportSignature(quote, q, pck.key);
    checkQeReportData(q);
    checkQeIdentity(q.signatureData.qeReport, coll.qeIdentity);
    const attKey = this.attestationKeys.get(q.signatureData.attestationKey) ?? this.attestationKeys.set(q.signatureData.attestationKey, attestationKeyOf(q));
    checkIsvSignature(quote, q, attKey);

    const qeLevel = selectQeLevel(coll.qeIdentity, q.signatureData.qeReport.isvSvn);
    const qeStatus = qeLevel?.tcbStatus;
    const platformStatus: TcbStatus | undefined = verdict.level?.tcbStatus;
    // Current QVL: a QE below every QE Identity level is "ISVSVN not supported", i.e. TCB not supported.
    const status = verdict.revocation ? "Revoked" : platformStatus && qeStatus ? mergeTcbStatus(platformStatus, qeStatus) : "TcbNotSupported";
    const isv = q.isvReport;
    const result: VerificationResult = {
      status,
      platformStatus,
      qeStatus,
      advisoryIds: mergeAdvisories(verdict.level?.advisoryIds ?? [], qeLevel?.advisoryIds ?? []),
      revocation: verdict.revocation,
      tcbDate: verdict.level?.tcbDate,
      ...verdict.reported,
      enclave: {
        mrEnclave: isv.mrEnclave.toString("hex"),
        mrSigner: isv.mrSigner.toString("hex"),
        isvProdId: isv.isvProdId,
        isvSvn: isv.isvSvn,
        miscSelect: isv.miscSelect,
        attributes: { flags: isv.attributes.flags.toString(16).padStart(16, "0"), xfrm: isv.attributes.xfrm.toString(16).padStart(16, "0") },
        debug: (isv.attributes.flags & DEBUG_FLAG) !== 0n,
      },
      reportData: isv.reportData.toString("hex"),
    };
    if (result.enclave.debug && !this.options.allowDebug) {
      throw new VerificationError("isv-enclave.debug", "policy", "the ISV enclave is a debug enclave (DEBUG attribute set); not trusted unless debug is allowed", result);
    }
    return result;
  }

  private verifiedCollateral(c: Collateral, root: TrustedRoot): VerifiedCollateral {
    const seen = this.collateralByObject.get(c);
    if (seen && COLLATERAL_FIELDS.every((f, i) => c[f] === seen.fields[i])) return seen.verified;
    // Size first: the content key below concatenates every document.
    asCollateral(c, this.options.maxCollateralBytes);
    const verified = this.collateralByContent.get(collateralContentKey(c), () => verifyCollateral(c, root, this.options.maxCollateralBytes));
    this.collateralByObject.set(c, { fields: COLLATERAL_FIELDS.map((f) => c[f]), verified });
    return verified;
  }

  private async fetch(pck: VerifiedPck, root: TrustedRoot, now: Date): Promise<Collateral> {
    const source = this.options.collateralSource ?? fail("collateral", "no collateral given and no collateral source configured");
    const fmspc = pck.sgx.fmspc.toString("hex").toUpperCase();
    const key = `${fmspc}/${pck.caType}`;
    const load = () => {
      const p = source(fmspc, pck.caType);
      p.catch(() => this.fetched.delete(key));
      return p;
    };
    const c = await this.fetched.get(key, load);
    // Past a nextUpdate the source should have newer collateral: ask once more before failing on it.
    if (this.verifiedCollateral(c, root).validity.some((w) => now.getTime() > w.notAfter.getTime())) {
      this.fetched.delete(key);
      return this.fetched.get(key, load);
    }
    return c;
  }

  /** Checks 4.1.2.4.6/.7/.10 and the TCB level: they depend on the PCK chain and the collateral only. */
  private platformVerdict(pck: VerifiedPck, coll: VerifiedCollateral): PlatformVerdict {
    let byPck = this.verdicts.get(coll);
    if (!byPck) this.verdicts.set(coll, (byPck = new WeakMap()));
    let v = byPck.get(pck);
    if (!v) {
      if (!coll.pckCrl.issuerDer.equals(pck.leaf.issuerDer)) fail("pck-crl.issuer", `PCK CRL issuer "${coll.pckCrl.issuer.subject}" is not the PCK certificate's issuer "${pck.leaf.issuer}"`);
      const revocation = revocationOf("pck-chain.revocation", coll.rootCrl, pck.intermediate) ?? revocationOf("pck-chain.revocation", coll.pckCrl, pck.leaf);
      const { tcbInfo } = coll;
      if (!pck.sgx.fmspc.equals(tcbInfo.fmspc)) fail("tcb-info.fmspc", `PCK FMSPC ${pck.sgx.fmspc.toString("hex")} is not the TCB Info's ${tcbInfo.fmspc.toString("hex")}`);
      if (!pck.sgx.pceId.equals(tcbInfo.pceId)) fail("tcb-info.pce-id", `PCK PCE-ID ${pck.sgx.pceId.toString("hex")} is not the TCB Info's ${tcbInfo.pceId.toString("hex")}`);
      const validity = [...coll.validity, ...pck.validity];
      const validUntil = Math.min(...validity.map((w) => w.notAfter.getTime()));
      v = {
        level: selectPlatformLevel(tcbInfo, pck.sgx),
        revocation,
        validity,
        validFrom: Math.max(...validity.map((w) => w.notBefore.getTime())),
        validUntil,
        reported: {
          fmspc: pck.sgx.fmspc.toString("hex").toUpperCase(),
          pceId: pck.sgx.pceId.toString("hex").toUpperCase(),
          caType: pck.caType,
          collateralExpiresAt: new Date(validUntil).toISOString(),
        },
      };
      byPck.set(pck, v);
    }
    return v;
  }
}

function parse(quote: Buffer): ParsedQuote {
  try {
    return ParsedQuote.borrowing(quote);
  } catch (e) {
    if (e instanceof SgxCodecError) throw new VerificationError("quote.parse", "invalid-quote", e.message);
    throw e;
  }
}

/** One-shot verification; use a long-lived QuoteVerifier to benefit from its caches. */
export async function verifyQuote(
  quote: Buffer,
  collateral: Collateral,
  opts: { trustedRootPem?: string; now?: Date; allowDebug?: boolean } = {},
): Promise<VerificationResult> {
  return new QuoteVerifier(opts).verify(quote, { collateral, now: opts.now });
}
