// One attestation, as the sample's Job runs it: the enclave reports for the QE, the quote comes from
// src/quoting (out of process when SGX_AESM_ADDR is set), and the relying party checks it.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { configureQuoting, getQuote, getTargetInfo, type QuotingMode } from "../../src/quoting/index.js";
import { loadSimPlatform } from "../../src/sim/platform/load.js";
import type { VerificationResult } from "../../src/verify/index.js";
import { SampleEnclave } from "./enclave.js";
import type { AttestationOptions } from "./options.js";
import { AttestationFailure, verifyAttestation } from "./relying-party.js";
import { verifyWithService, type TokenVerdict } from "./service-client.js";

export interface AttestationOutcome {
  mode: QuotingMode;
  message: string;
  quoteBytes: number;
  result: VerificationResult | TokenVerdict;
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function attest(o: AttestationOptions, progress: (line: string) => void): Promise<AttestationOutcome> {
  if (!o.simState) {
    throw new AttestationFailure("this sample simulates its enclave and needs the simulated platform: set CONFCOM_SIM_STATE (or --sim-state) to a `confcom sim init` state directory");
  }
  const platform = await loadSimPlatform(o.simState).catch((e: unknown) => {
    throw new AttestationFailure(`cannot load the simulated platform: ${why(e)}`);
  });
  const mode = configureQuoting({ socketPath: o.aesmSocket, simulate: { stateDir: o.simState } });
  progress(`quoting ${mode}${mode === "out-of-proc" ? ` through ${o.aesmSocket}` : ""}`);
  const enclave = new SampleEnclave(platform, o.mrenclave, o.mrsigner);
  // The relying party's challenge: a nonce unless a message is given.
  const message = o.message ?? randomBytes(16).toString("hex");
  let quote: Buffer;
  try {
    const report = enclave.report(await getTargetInfo(), message);
    quote = await getQuote(report);
  } catch (e) {
    throw new AttestationFailure(`cannot get a quote (${mode}${mode === "out-of-proc" ? `, AESM socket ${o.aesmSocket}` : ""}): ${why(e)}`);
  }
  progress(`enclave ${o.mrenclave.toString("hex")} got a ${quote.length}-byte quote over SHA-256("${message}")`);
  progress(`relying party: collateral from ${o.pccsUrl ?? o.collateral}, trusted root ${o.rootCa ?? "Intel SGX Root CA"}`);
  const rootCaPem = o.rootCa
    ? await readFile(o.rootCa, "utf8").catch((e: unknown) => {
        throw new AttestationFailure(`cannot read the root CA ${o.rootCa}: ${why(e)}`);
      })
    : undefined;
  let result: VerificationResult | TokenVerdict;
  try {
    if (o.attestationUrl) return { mode, message, quoteBytes: quote.length, result: await verifyWithService(quote, message, o, { attestationUrl: o.attestationUrl, attestationCa: o.attestationCa }, progress) };
    result = await verifyAttestation(quote, message, o, { pccsUrl: o.pccsUrl, collateralFile: o.collateral, rootCaPem });
  } catch (e) {
    if (e instanceof AttestationFailure) throw e;
    throw new AttestationFailure(`cannot verify the quote: ${why(e)}`);
  }
  return { mode, message, quoteBytes: quote.length, result };
}

/** The Job's last log line on success. */
export function successLine(r: VerificationResult | TokenVerdict): string {
  return `attestation succeeded: MRENCLAVE ${r.enclave.mrEnclave}, MRSIGNER ${r.enclave.mrSigner}, TCB status ${r.status}`;
}
