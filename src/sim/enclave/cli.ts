// `confcom sim report`: a simulated enclave's EREPORT on a simulated platform, written as the 432-byte
// sgx_report_t an app would hand to AESM's GetQuoteEx.
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError, parseCount } from "../../cli/errors.js";
import { TARGET_INFO_SIZE } from "../../sgx/constants.js";
import { SgxCodecError } from "../../sgx/errors.js";
import { decodeTargetInfo, encodeReport } from "../../sgx/report.js";
import type { TargetInfo } from "../../sgx/types.js";
import { loadSimPlatform } from "../platform/load.js";
import { qe3Identity } from "../qe3/identity.js";
import { ereport } from "./ereport.js";
import { simEnclaveIdentity, targetInfoOf } from "./identity.js";

const hexBytes = (name: string, exact?: number, max?: number) => (v: string): Buffer => {
  const s = v.trim().replace(/^0x/i, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new CliError(`${name} must be hex bytes, got "${v}"`, 2);
  const b = Buffer.from(s, "hex");
  if (exact !== undefined && b.length !== exact) throw new CliError(`${name} must be ${exact} bytes, got ${b.length}`, 2);
  if (max !== undefined && b.length > max) throw new CliError(`${name} must be at most ${max} bytes, got ${b.length}`, 2);
  return b;
};

interface ReportOptions {
  state: string;
  targetInfo: string;
  reportData: Buffer;
  mrenclave?: Buffer;
  mrsigner?: Buffer;
  isvprodid?: number;
  isvsvn?: number;
  debug?: boolean;
  out: string;
}

export function registerSimReport(sim: Command): void {
  sim
    .command("report")
    .description("EREPORT of a simulated enclave: write a 432-byte report targeted at an enclave (e.g. the QE)")
    .requiredOption("--state <dir>", "simulated platform state directory (from `sim init`)")
    .requiredOption("--target-info <file|qe>", "512-byte sgx_target_info_t of the target, or `qe` for this platform's simulated QE3")
    .requiredOption("--report-data <hex>", "up to 64 bytes of report data, zero-padded", hexBytes("--report-data", undefined, 64))
    .option("--mrenclave <hex>", "MRENCLAVE of the reporting enclave (32 bytes)", hexBytes("--mrenclave", 32))
    .option("--mrsigner <hex>", "MRSIGNER of the reporting enclave (32 bytes)", hexBytes("--mrsigner", 32))
    .option("--isvprodid <n>", "ISVPRODID", parseCount("--isvprodid", 0xffff))
    .option("--isvsvn <n>", "ISVSVN", parseCount("--isvsvn", 0xffff))
    .option("--debug", "set the DEBUG attribute")
    .requiredOption("--out <file>", "where to write the report")
    .action(async (o: ReportOptions) => {
      const platform = await loadSimPlatform(o.state).catch((err: Error) => {
        throw new CliError(`cannot load the simulated platform in ${o.state}: ${err.message}`);
      });
      const target = o.targetInfo === "qe" ? targetInfoOf(qe3Identity(platform)) : await readTargetInfo(o.targetInfo);
      const enclave = simEnclaveIdentity({
        debug: o.debug,
        ...(o.mrenclave && { mrEnclave: o.mrenclave }),
        ...(o.mrsigner && { mrSigner: o.mrsigner }),
        ...(o.isvprodid !== undefined && { isvProdId: o.isvprodid }),
        ...(o.isvsvn !== undefined && { isvSvn: o.isvsvn }),
      });
      await writeFile(o.out, encodeReport(ereport(platform, enclave, target, o.reportData)));
    });
}

async function readTargetInfo(file: string): Promise<TargetInfo> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read --target-info ${file}: ${(err as Error).message}`);
  }
  try {
    return decodeTargetInfo(buf);
  } catch (err) {
    if (err instanceof SgxCodecError) throw new CliError(`--target-info ${file} is not a ${TARGET_INFO_SIZE}-byte target info: ${err.message}`, 2);
    throw err;
  }
}
