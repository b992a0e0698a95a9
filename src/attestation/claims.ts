// The claims of an SGX attestation: MAA's x-ms-* claims (with the encodings its clients decode), the
// legacy names MAA still emits, and the TCB verdict of our verifier. The scalar ones are also the
// incoming claims the policy sees; what the policy issues is merged in without overriding them.
import { createHash } from "node:crypto";
import type { Collateral } from "../collateral/types.js";
import type { ReportBody } from "../sgx/index.js";
import type { VerificationResult } from "../verify/index.js";
import type { Claim, ClaimValue } from "./policy/index.js";
import { jsonOf, type AttestRequest } from "./request.js";

/**
 * Names of the TCB verdict claims. MAA's SGX tokens have none (x-ms-sgx-tcbidentifier names the policy's
 * TCB baseline, not a status), so they carry our own prefix.
 */
export const VERDICT_CLAIMS = {
  status: "x-confcom-sgx-tcb-status",
  advisoryIds: "x-confcom-sgx-advisory-ids",
  tcbDate: "x-confcom-sgx-tcb-date",
  fmspc: "x-confcom-sgx-fmspc",
  pceId: "x-confcom-sgx-pceid",
  collateralExpiresAt: "x-confcom-sgx-collateral-expires-at",
} as const;

const sha256hex = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const KSS_FLAG = 0x80n;
const ZEROS_64 = Buffer.alloc(64);
const ZEROS_16 = Buffer.alloc(16);

const hashesOf = new WeakMap<Collateral, Record<string, string>>();

/** x-ms-sgx-collateral: hex SHA-256 of each collateral item (chains as PEM text, CRLs as DER). */
export function collateralHashes(quote: Buffer, c: Collateral): Record<string, string> {
  let h = hashesOf.get(c);
  if (!h) hashesOf.set(c, (h = itemHashes(c)));
  return { ...h, quotehash: sha256hex(quote) };
}

function itemHashes(c: Collateral): Record<string, string> {
  const rootCrl = sha256hex(Buffer.from(c.root_ca_crl, "hex"));
  return {
    qeidcertshash: sha256hex(c.qe_identity_issuer_chain),
    qeidcrlhash: rootCrl,
    qeidhash: sha256hex(c.qe_identity),
    tcbinfocertshash: sha256hex(c.tcb_info_issuer_chain),
    tcbinfocrlhash: rootCrl,
    tcbinfohash: sha256hex(c.tcb_info),
    pckcrlcertshash: sha256hex(c.pck_crl_issuer_chain),
    pckcrlhash: sha256hex(Buffer.from(c.pck_crl, "hex")),
  };
}

export interface SgxClaims {
  /** The token body before the policy's claims. */
  body: Record<string, unknown>;
  /** The scalar claims the policy evaluates. */
  incoming: Claim[];
}

export function sgxClaims(req: AttestRequest, isv: ReportBody, r: VerificationResult, collateral: Collateral, policyHash: string): SgxClaims {
  const hashes = collateralHashes(req.quote, collateral);
  const scalar: Record<string, ClaimValue> = {
    "x-ms-attestation-type": "sgx",
    "x-ms-ver": "1.0",
    "x-ms-sgx-is-debuggable": r.enclave.debug,
    "x-ms-sgx-product-id": r.enclave.isvProdId,
    "x-ms-sgx-svn": r.enclave.isvSvn,
    "x-ms-sgx-mrenclave": r.enclave.mrEnclave,
    "x-ms-sgx-mrsigner": r.enclave.mrSigner,
    "x-ms-sgx-report-data": r.reportData,
    [VERDICT_CLAIMS.status]: r.status,
    [VERDICT_CLAIMS.fmspc]: r.fmspc,
    [VERDICT_CLAIMS.pceId]: r.pceId,
    [VERDICT_CLAIMS.collateralExpiresAt]: r.collateralExpiresAt,
    ...(r.tcbDate ? { [VERDICT_CLAIMS.tcbDate]: r.tcbDate } : {}),
  };
  // KSS fields, as MAA emits them for enclaves that use Key Separation and Sharing.
  const kss = (isv.attributes.flags & KSS_FLAG) !== 0n || !isv.configId.equals(ZEROS_64) || !isv.isvExtProdId.equals(ZEROS_16) || !isv.isvFamilyId.equals(ZEROS_16);
  if (kss) {
    scalar["x-ms-sgx-config-id"] = isv.configId.toString("hex");
    scalar["x-ms-sgx-config-svn"] = isv.configSvn;
    scalar["x-ms-sgx-isv-extended-product-id"] = isv.isvExtProdId.toString("hex");
    scalar["x-ms-sgx-isv-family-id"] = isv.isvFamilyId.toString("hex");
  }
  const body: Record<string, unknown> = {
    ...scalar,
    "x-ms-policy-hash": policyHash,
    "x-ms-sgx-collateral": hashes,
    "maa-attestationcollateral": hashes,
    [VERDICT_CLAIMS.advisoryIds]: r.advisoryIds,
  };
  if (req.runtimeData?.dataType === "Binary") {
    const ehd = req.runtimeData.data.toString("base64url");
    Object.assign(body, { "x-ms-sgx-ehd": ehd, "maa-ehd": ehd, "aas-ehd": ehd });
  } else if (req.runtimeData) {
    body["x-ms-runtime"] = jsonOf(req.runtimeData, "runtimeData");
  }
  if (req.initTimeData?.dataType === "JSON") body["x-ms-inittime"] = jsonOf(req.initTimeData, "initTimeData");
  if (req.nonce !== undefined) body.nonce = req.nonce;

  const incoming: Claim[] = Object.entries(scalar).map(([type, value]) => ({ type, value, issuer: "AttestationService" }));
  for (const id of r.advisoryIds) incoming.push({ type: VERDICT_CLAIMS.advisoryIds, value: id, issuer: "AttestationService" });
  return { body, incoming };
}

/** Adds the policy's issued claims to the body: one value stays a value, several become an array; service claims win. */
export function withIssued(body: Record<string, unknown>, issued: readonly Claim[]): Record<string, unknown> {
  const out = { ...body };
  const grouped = new Map<string, ClaimValue[]>();
  for (const c of issued) {
    if (c.type in body || c.type === "iss" || c.type === "iat" || c.type === "nbf" || c.type === "exp" || c.type === "jti") continue;
    grouped.set(c.type, [...(grouped.get(c.type) ?? []), c.value]);
  }
  for (const [type, values] of grouped) out[type] = values.length === 1 ? values[0] : values;
  return out;
}
