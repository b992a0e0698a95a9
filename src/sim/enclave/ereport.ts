// The simulated EREPORT instruction and the MAC check a targeted enclave (e.g. the QE) performs.
import { REPORT_BODY_SIZE, REPORT_SIZE } from "../../sgx/constants.js";
import { SgxCodecError } from "../../sgx/errors.js";
import { decodeReportBody, encodeReport, encodeReportBody } from "../../sgx/report.js";
import type { Report, ReportBody } from "../../sgx/types.js";
import type { SimPlatform } from "../platform/types.js";
import type { ReportKeyTarget, SimEnclaveIdentity } from "./identity.js";
import { bootKeyId, reportKeyCmac, ReportKeyring } from "./report-key.js";

const KEY_ID_OFFSET = REPORT_BODY_SIZE;
const MAC_OFFSET = REPORT_BODY_SIZE + 32;

/** The body hardware writes for `enclave` on `platform`: its identity, the CPUSVN, and report data. */
export function reportBodyFor(platform: SimPlatform, enclave: SimEnclaveIdentity, reportData: Buffer): ReportBody {
  if (reportData.length > 64) throw new RangeError(`report data is at most 64 bytes, got ${reportData.length}`);
  const data = Buffer.alloc(64);
  reportData.copy(data);
  return {
    cpuSvn: Buffer.from(platform.cpuSvn),
    miscSelect: enclave.miscSelect,
    reserved1: Buffer.alloc(12),
    isvExtProdId: Buffer.from(enclave.isvExtProdId),
    attributes: { ...enclave.attributes },
    mrEnclave: Buffer.from(enclave.mrEnclave),
    reserved2: Buffer.alloc(32),
    mrSigner: Buffer.from(enclave.mrSigner),
    reserved3: Buffer.alloc(32),
    configId: Buffer.from(enclave.configId),
    isvProdId: enclave.isvProdId,
    isvSvn: enclave.isvSvn,
    configSvn: enclave.configSvn,
    reserved4: Buffer.alloc(42),
    isvFamilyId: Buffer.from(enclave.isvFamilyId),
    reportData: data,
  };
}

/** MACs an already-built body for `target`: the half of EREPORT that needs the platform secret. */
export function macReportBody(platform: SimPlatform, body: ReportBody | Buffer, target: ReportKeyTarget): Report {
  const keyId = bootKeyId(platform);
  const bodyBytes = Buffer.isBuffer(body) ? body : encodeReportBody(body);
  const mac = reportKeyCmac(platform, target, keyId).mac(bodyBytes);
  return { body: Buffer.isBuffer(body) ? decodeReportBody(body) : body, keyId: Buffer.from(keyId), mac };
}

/** EREPORT: a report by `enclave` for `target` carrying up to 64 bytes of report data (zero-padded). */
export function ereport(platform: SimPlatform, enclave: SimEnclaveIdentity, target: ReportKeyTarget, reportData: Buffer): Report {
  return macReportBody(platform, reportBodyFor(platform, enclave, reportData), target);
}

export function ereportBytes(platform: SimPlatform, enclave: SimEnclaveIdentity, target: ReportKeyTarget, reportData: Buffer): Buffer {
  return encodeReport(ereport(platform, enclave, target, reportData));
}

/**
 * Whether `report`'s MAC verifies under the report key of `asTarget`: true only for reports made on this
 * platform and targeted at that identity. A 432-byte buffer is checked without decoding it; pass a
 * ReportKeyring of the target (made for this platform) to skip the key derivation.
 */
export function verifyReportMac(platform: SimPlatform, report: Buffer | Report, asTarget: ReportKeyTarget | ReportKeyring): boolean {
  const cmacFor = (buf: Buffer, offset: number) =>
    asTarget instanceof ReportKeyring ? asTarget.cmac(buf, offset) : reportKeyCmac(platform, asTarget, buf.subarray(offset, offset + 32));
  if (Buffer.isBuffer(report)) {
    if (report.length !== REPORT_SIZE) throw new SgxCodecError("report", "whole structure", 0, report.length < REPORT_SIZE ? "truncated" : "has the wrong size", REPORT_SIZE, report.length);
    return cmacFor(report, KEY_ID_OFFSET).verify(report, report, 0, REPORT_BODY_SIZE, MAC_OFFSET);
  }
  return cmacFor(report.keyId, 0).verify(encodeReportBody(report.body), report.mac);
}
