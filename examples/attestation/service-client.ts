// The sample's `--attestation-url` mode: the relying party hands the quote and its runtime data (the
// nonce) to an MAA-compatible attestation service, then trusts only the token: its signature checked
// with the keys the service publishes at /certs, its issuer, and the claims below.
import https from "node:https";
import { readFile } from "node:fs/promises";
import { createLocalJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { EnclaveIdentity, VerificationResult } from "../../src/verify/index.js";
import { AttestationFailure, type Policy } from "./relying-party.js";

/** What the relying party takes from a validated token. */
export type TokenVerdict = Pick<VerificationResult, "status" | "advisoryIds" | "fmspc" | "reportData"> & {
  enclave: Pick<EnclaveIdentity, "mrEnclave" | "mrSigner" | "isvProdId" | "isvSvn" | "debug">;
};

const MAX_RESPONSE = 1024 * 1024;

function request(url: URL, ca: string | undefined, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: body ? "POST" : "GET", ca, timeout: 15_000, headers: body ? { "content-type": "application/json", accept: "application/json" } : { accept: "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
          if (text.length > MAX_RESPONSE) req.destroy(new Error(`response over ${MAX_RESPONSE} bytes`));
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out after 15 s")));
    req.on("error", reject);
    req.end(body);
  });
}

export async function verifyWithService(quote: Buffer, message: string, policy: Policy, o: { attestationUrl: string; attestationCa?: string }, progress: (line: string) => void): Promise<TokenVerdict> {
  const base = o.attestationUrl.replace(/\/+$/, "");
  const ca = o.attestationCa ? await readFile(o.attestationCa, "utf8") : undefined;
  const runtimeData = Buffer.from(message, "utf8");
  const body = JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: runtimeData.toString("base64url"), dataType: "Binary" } });
  let res;
  try {
    res = await request(new URL(`${base}/attest/SgxEnclave?api-version=2022-08-01`), ca, body);
  } catch (e) {
    throw new AttestationFailure(`cannot reach the attestation service ${base}: ${(e as Error).message}`);
  }
  if (res.status !== 200) {
    let why = `HTTP ${res.status}`;
    try {
      const err = (JSON.parse(res.text) as { error?: { code?: string; message?: string } }).error;
      if (err) why += ` ${err.code}: ${err.message}`;
    } catch {
      // not MAA's error shape
    }
    throw new AttestationFailure(`the attestation service refused the quote: ${why.slice(0, 600)}`);
  }
  const token = (JSON.parse(res.text) as { token?: unknown }).token;
  if (typeof token !== "string") throw new AttestationFailure("the attestation service answered without a token");
  const certs = await request(new URL(`${base}/certs`), ca);
  let claims: JWTPayload;
  try {
    claims = (await jwtVerify(token, createLocalJWKSet(JSON.parse(certs.text)), { issuer: base, algorithms: ["RS256", "ES256"] })).payload;
  } catch (e) {
    throw new AttestationFailure(`the token does not verify with the service's published keys: ${(e as Error).message}`);
  }
  progress(`token from ${base} verified with its /certs (kid and signature), issuer ${claims.iss}, expires ${new Date((claims.exp ?? 0) * 1000).toISOString()}`);
  const str = (k: string) => (typeof claims[k] === "string" ? (claims[k] as string) : "");
  const verdict: TokenVerdict = {
    status: str("x-confcom-sgx-tcb-status") as VerificationResult["status"],
    advisoryIds: Array.isArray(claims["x-confcom-sgx-advisory-ids"]) ? (claims["x-confcom-sgx-advisory-ids"] as string[]) : [],
    fmspc: str("x-confcom-sgx-fmspc"),
    reportData: str("x-ms-sgx-report-data"),
    enclave: {
      mrEnclave: str("x-ms-sgx-mrenclave"),
      mrSigner: str("x-ms-sgx-mrsigner"),
      isvProdId: Number(claims["x-ms-sgx-product-id"]),
      isvSvn: Number(claims["x-ms-sgx-svn"]),
      debug: claims["x-ms-sgx-is-debuggable"] === true,
    },
  };
  for (const k of ["x-ms-sgx-mrenclave", "x-ms-sgx-mrsigner", "x-ms-sgx-is-debuggable", "x-ms-sgx-ehd", "x-confcom-sgx-tcb-status"]) progress(`claim ${k}: ${JSON.stringify(claims[k])}`);
  if (claims["x-ms-sgx-ehd"] !== runtimeData.toString("base64url")) throw new AttestationFailure("the token's x-ms-sgx-ehd is not our nonce: the quote is not bound to this challenge");
  if (verdict.enclave.debug) throw new AttestationFailure("the token says the enclave is debuggable");
  if (!policy.acceptStatus.includes(verdict.status)) throw new AttestationFailure(`TCB status ${verdict.status} is not accepted (accepted: ${policy.acceptStatus.join(", ")})`);
  if (verdict.enclave.mrEnclave !== policy.expectedMrenclave.toString("hex")) throw new AttestationFailure(`MRENCLAVE ${verdict.enclave.mrEnclave} is not the expected ${policy.expectedMrenclave.toString("hex")}`);
  if (policy.expectedMrsigner && verdict.enclave.mrSigner !== policy.expectedMrsigner.toString("hex")) throw new AttestationFailure(`MRSIGNER ${verdict.enclave.mrSigner} is not the expected ${policy.expectedMrsigner.toString("hex")}`);
  return verdict;
}
