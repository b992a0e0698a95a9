// One attestation, independent of HTTP: decode, route to the platform's collateral, verify the quote
// with QuoteVerifier, bind the runtime and init-time data, apply the TCB baseline and the policy, and
// issue the token. Every refusal is an AttestationError with MAA's code and a metrics reason.
import { createHash } from "node:crypto";
import type { Collateral } from "../collateral/types.js";
import { QuoteVerifier, VerificationError, type VerificationResult, type VerificationStatus } from "../verify/index.js";
import { sgxClaims, withIssued } from "./claims.js";
import type { CollateralCache } from "./collateral-cache.js";
import { AttestationError, invalid } from "./errors.js";
import { PlatformResolver } from "./platform-of.js";
import { compilePolicy, PolicyEvaluationError, PolicyParseError, type CompiledPolicy } from "./policy/index.js";
import { decodeAttestRequest } from "./request.js";
import type { TokenIssuer } from "./token-issuer.js";

export interface AttesterOptions {
  verifier: QuoteVerifier;
  collateral: Pick<CollateralCache, "get">;
  issuer: TokenIssuer;
  /** The policy in force (it may be swapped by a reload between requests). */
  policy: () => CompiledPolicy;
  /** TCB statuses the service accepts at all; the policy may narrow them further. */
  acceptedStatuses: readonly VerificationStatus[];
  /** Observes each verification's duration (seconds). */
  onVerified?: (seconds: number) => void;
}

export interface Attestation {
  token: string;
  result: VerificationResult;
}

/** Statuses accepted unless configured otherwise: the platform is patched, maybe needs config or SW hardening. */
export const DEFAULT_ACCEPTED_STATUSES: readonly VerificationStatus[] = ["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"];

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest();

export class Attester {
  private readonly platforms = new PlatformResolver();
  constructor(private readonly opts: AttesterOptions) {}

  async attest(body: unknown, kind: "SgxEnclave" | "OpenEnclave", now = new Date()): Promise<Attestation> {
    const req = decodeAttestRequest(body, kind);
    let draft: CompiledPolicy | undefined;
    if (req.draftPolicyForAttestation !== undefined) {
      try {
        draft = compilePolicy(req.draftPolicyForAttestation);
      } catch (e) {
        if (e instanceof PolicyParseError) throw new AttestationError(400, "PolicyParsingError", "invalid-draft-policy", `draftPolicyForAttestation: ${e.message}`);
        throw e;
      }
    }
    const { parsed, platform } = this.platforms.resolve(req.quote);
    let collateral: Collateral;
    try {
      collateral = await this.opts.collateral.get(platform.fmspc, platform.caType);
    } catch (e) {
      throw new AttestationError(503, "ServiceUnavailable", "collateral-unavailable", `no collateral for FMSPC ${platform.fmspc} (${platform.caType} CA): ${(e as Error).message}`);
    }
    const started = process.hrtime.bigint();
    let result: VerificationResult;
    try {
      result = await this.opts.verifier.verify(parsed, { collateral, now });
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      const reason = e.failure === "invalid-quote" ? "invalid-quote" : e.failure === "expired" ? "expired-collateral" : "invalid-collateral";
      return invalid(reason, `quote verification failed (${e.failure}): ${e.message}`);
    } finally {
      this.opts.onVerified?.(Number(process.hrtime.bigint() - started) / 1e9);
    }

    const isv = parsed.quote.isvReport;
    if (req.runtimeData && !sha256(req.runtimeData.data).equals(isv.reportData.subarray(0, 32))) {
      invalid("runtime-data-mismatch", "the SHA-256 of runtimeData.data does not match the first 32 bytes of the quote's report data");
    }
    if (req.initTimeData && !sha256(req.initTimeData.data).equals(isv.configId.subarray(0, 32))) {
      invalid("init-time-data-mismatch", "the SHA-256 of initTimeData.data does not match the first 32 bytes of the quote's CONFIGID");
    }
    if (!this.opts.acceptedStatuses.includes(result.status)) {
      invalid("tcb-status", `the platform's TCB status ${result.status} is not accepted by this service (accepted: ${this.opts.acceptedStatuses.join(", ")})${result.advisoryIds.length ? `; advisories ${result.advisoryIds.join(", ")}` : ""}`);
    }

    const policy = draft ?? this.opts.policy();
    const claims = sgxClaims(req, isv, result, collateral, policy.hash);
    let outcome;
    try {
      outcome = policy.evaluate(claims.incoming);
    } catch (e) {
      if (e instanceof PolicyEvaluationError) throw new AttestationError(400, "PolicyEvaluationError", "policy", e.message);
      throw e;
    }
    if (!outcome.permitted) throw new AttestationError(400, "PolicyEvaluationError", "policy", `the attestation policy did not permit this enclave: ${outcome.reason}`);
    const tokenBody = withIssued(claims.body, outcome.issued);
    const token = draft ? this.opts.issuer.unsecured(tokenBody, now) : await this.opts.issuer.issue(tokenBody, now);
    return { token, result };
  }
}
