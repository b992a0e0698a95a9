// `confcom quote verify QUOTE --collateral FILE | --pccs URL [--root PEM] [--now ISO] [--allow-debug] [--json]`
import { readFile, stat } from "node:fs/promises";
import { CommanderError, Option, type Command } from "commander";
import { CliError } from "../cli/errors.js";
import { fetchCollateral } from "../pccs/client.js";
import type { Collateral } from "../collateral/types.js";
import { asCollateral, COLLATERAL_FIELDS } from "./collateral.js";
import { DEFAULT_MAX_COLLATERAL_BYTES } from "./limits.js";
import { VerificationError } from "./errors.js";
import { EXIT_CODES, EXIT_CODES_HELP, exitCodeForFailure, exitCodeForStatus } from "./exit-codes.js";
import type { VerificationResult } from "./result.js";
import { QuoteVerifier, type CollateralSource } from "./verifier.js";

interface VerifyCliOptions {
  collateral?: string;
  pccs?: string;
  root?: string;
  now?: string;
  allowDebug?: boolean;
  json?: boolean;
}

async function readInput(file: string, what: string, encoding?: "utf8"): Promise<Buffer | string> {
  try {
    return encoding ? await readFile(file, encoding) : await readFile(file);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as Error).message}`, EXIT_CODES.usage);
  }
}

function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new CliError(`--now must be an ISO 8601 date, got "${value}"`, EXIT_CODES.usage);
  return d;
}

async function loadCollateralFile(file: string): Promise<Collateral> {
  // Every document at its limit, hex ones doubled: anything larger is refused before it is read.
  const maxFile = 2 * COLLATERAL_FIELDS.length * DEFAULT_MAX_COLLATERAL_BYTES;
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  if (size > maxFile) throw new VerificationError("collateral.size", "invalid-signature-or-collateral", `${file} is ${size} bytes, above the limit of ${maxFile}`);
  const text = (await readInput(file, "collateral", "utf8")) as string;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VerificationError("collateral.parse", "invalid-signature-or-collateral", `${file} is not JSON: ${(e as Error).message}`);
  }
  return asCollateral(json);
}

function pccsSource(url: string): CollateralSource {
  return async (fmspc, caType) => {
    try {
      return await fetchCollateral(url, fmspc, caType);
    } catch (e) {
      throw new CliError(`cannot fetch collateral for FMSPC ${fmspc} (${caType} CA) from ${url}: ${(e as Error).message}`, EXIT_CODES["collateral-unavailable"]);
    }
  };
}

const printable = (hex: string): string | undefined => {
  const text = Buffer.from(hex, "hex").toString("latin1").replace(/\0+$/, "");
  return /^[\x20-\x7e]+$/.test(text) ? text : undefined;
};

export function formatResult(r: VerificationResult): string {
  const e = r.enclave;
  const text = printable(r.reportData);
  return [
    `status: ${r.status}`,
    `advisories: ${r.advisoryIds.length ? r.advisoryIds.join(", ") : "none"}`,
    `platform TCB: ${r.platformStatus ?? "no matching TCB level"}${r.tcbDate ? ` (TCB date ${r.tcbDate})` : ""}; QE TCB: ${r.qeStatus ?? "below every QE Identity level"}`,
    ...(r.revocation ? [`revoked: ${r.revocation}`] : []),
    `FMSPC: ${r.fmspc}  PCE-ID: ${r.pceId}  PCK CA: ${r.caType}`,
    `collateral valid until: ${r.collateralExpiresAt}`,
    `MRENCLAVE: ${e.mrEnclave}`,
    `MRSIGNER: ${e.mrSigner}`,
    `ISVPRODID: ${e.isvProdId}  ISVSVN: ${e.isvSvn}`,
    `attributes: flags 0x${e.attributes.flags} xfrm 0x${e.attributes.xfrm}  MISCSELECT: 0x${e.miscSelect.toString(16).padStart(8, "0")}  debug: ${e.debug ? "YES" : "no"}`,
    `report data: ${r.reportData}`,
    ...(text ? [`report data (text): ${JSON.stringify(text)}`] : []),
  ].join("\n") + "\n";
}

export function registerQuoteVerify(quote: Command): void {
  quote
    .command("verify")
    .description("verify a DCAP v3 quote with Intel QVL's algorithm against its collateral")
    .argument("<quote>", "quote file (binary)")
    .addOption(new Option("--collateral <file>", "collateral JSON (PCS/PCCS shape: tcb_info, qe_identity, CRLs, issuer chains)").conflicts("pccs"))
    .addOption(new Option("--pccs <url>", "fetch collateral from this PCCS (FMSPC and CA type from the PCK certificate)").conflicts("collateral"))
    .option("--root <pem>", "trusted root CA certificate (PEM file); default the embedded Intel SGX Root CA")
    .option("--now <iso>", "verification time (ISO 8601); default the current time")
    .option("--allow-debug", "accept a debug ISV enclave (reported either way)")
    .option("--json", "print the result (or the failure) as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_CODES.usage, err.code, err.message);
    })
    .action(async (file: string, opts: VerifyCliOptions) => {
      if (!opts.collateral && !opts.pccs) throw new CliError("one of --collateral FILE or --pccs URL is required", EXIT_CODES.usage);
      const now = parseNow(opts.now);
      const quoteBytes = (await readInput(file, "quote")) as Buffer;
      const trustedRootPem = opts.root ? ((await readInput(opts.root, "root certificate", "utf8")) as string) : undefined;
      try {
        const verifier = new QuoteVerifier({ trustedRootPem, allowDebug: opts.allowDebug, collateralSource: opts.pccs ? pccsSource(opts.pccs) : undefined });
        const collateral = opts.collateral ? await loadCollateralFile(opts.collateral) : undefined;
        const result = await verifier.verify(quoteBytes, { collateral, now });
        process.stdout.write(opts.json ? JSON.stringify({ ok: true, ...result }, null, 2) + "\n" : formatResult(result));
        process.exitCode = exitCodeForStatus(result.status);
      } catch (e) {
        if (!(e instanceof VerificationError)) throw e;
        const result = e.result as VerificationResult | undefined;
        if (opts.json) process.stdout.write(JSON.stringify({ ok: false, step: e.step, failure: e.failure, message: e.message, result }, null, 2) + "\n");
        else if (result) process.stdout.write(formatResult(result));
        throw new CliError(`quote verification failed (${e.failure}): ${e.message}`, exitCodeForFailure(e.failure));
      }
    });
}
