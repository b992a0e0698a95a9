// The signed collateral documents, serialized exactly like Intel's PCS: TCB Info v3 and QE Identity
// v2 with Intel's key order, hex in upper case, advisoryIDs omitted when empty, and an ECDSA P-256
// SHA-256 signature (hex r||s) over the exact UTF-8 bytes of the serialized JSON value.
import crypto, { type KeyObject } from "node:crypto";
import type { QeLevel, TcbLevel } from "./levels.js";

/** Intel's QE3 identity: MRSIGNER of the production QE3, ISVPRODID 1, attributes/masks as in PCS. */
export const INTEL_QE3 = {
  mrsigner: "8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF",
  isvprodid: 1,
  miscselect: "00000000",
  miscselectMask: "FFFFFFFF",
  attributes: "11000000000000000000000000000000",
  attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
} as const;

export interface Window {
  issueDate: Date;
  nextUpdate: Date;
}

/** ISO 8601 without milliseconds, as Intel writes it. */
export const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

const withAdvisories = <T extends object>(o: T, ids: string[]) => (ids.length > 0 ? { ...o, advisoryIDs: ids } : o);

export function tcbInfoJson(p: { fmspc: Buffer; pceId: Buffer; tcbEvaluationDataNumber: number; levels: TcbLevel[] } & Window): string {
  return JSON.stringify({
    id: "SGX",
    version: 3,
    issueDate: isoSeconds(p.issueDate),
    nextUpdate: isoSeconds(p.nextUpdate),
    fmspc: p.fmspc.toString("hex").toUpperCase(),
    pceId: p.pceId.toString("hex").toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    tcbLevels: p.levels.map((l) =>
      withAdvisories(
        { tcb: { sgxtcbcomponents: l.components.map((svn) => ({ svn })), pcesvn: l.pceSvn }, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus },
        l.advisoryIds,
      ),
    ),
  });
}

export function qeIdentityJson(p: { tcbEvaluationDataNumber: number; levels: QeLevel[] } & Window): string {
  return JSON.stringify({
    id: "QE",
    version: 2,
    issueDate: isoSeconds(p.issueDate),
    nextUpdate: isoSeconds(p.nextUpdate),
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    miscselect: INTEL_QE3.miscselect,
    miscselectMask: INTEL_QE3.miscselectMask,
    attributes: INTEL_QE3.attributes,
    attributesMask: INTEL_QE3.attributesMask,
    mrsigner: INTEL_QE3.mrsigner,
    isvprodid: INTEL_QE3.isvprodid,
    tcbLevels: p.levels.map((l) => withAdvisories({ tcb: { isvsvn: l.isvSvn }, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus }, l.advisoryIds)),
  });
}

/** ECDSA P-256 SHA-256 over the UTF-8 bytes of `body`, as 64-byte r||s hex (randomized k). */
export function signBody(body: string, key: KeyObject): string {
  return crypto.sign("sha256", Buffer.from(body, "utf8"), { key, dsaEncoding: "ieee-p1363" }).toString("hex");
}

export function verifyBody(body: string, signatureHex: string, publicKey: crypto.KeyObject): boolean {
  const sig = Buffer.from(signatureHex, "hex");
  if (sig.length !== 64) return false;
  return crypto.verify("sha256", Buffer.from(body, "utf8"), { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);
}
