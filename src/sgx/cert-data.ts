// Payloads of the certification data types 1-5. Type 5, the one Intel's QE3 emits, is the PCK chain as
// PEM (leaf, intermediate CA, root) followed by one NUL that is counted in the declared size.
import { ByteReader } from "./bytes.js";
import { CertDataType } from "./constants.js";
import { SgxCodecError } from "./errors.js";
import type { CertificationData } from "./types.js";

const STRUCTURE = "certification data";
// Greedy body: its class has no "-", so it stops where the END line starts (a lazy one tests END at every byte).
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?/gy;

/** The PEM certificates of a type-5 certification data, in order, each ending with its END line. */
export function pckChainFromCertData(cert: CertificationData): string[] {
  if (cert.type !== CertDataType.PCK_CERT_CHAIN) throw new SgxCodecError(STRUCTURE, "type", 0, `is ${cert.type}, a PCK certificate chain is type 5`);
  const data = cert.data;
  if (data.length === 0 || data[data.length - 1] !== 0) {
    throw new SgxCodecError(STRUCTURE, "data", Math.max(0, data.length - 1), "does not end with the NUL terminator that type 5 counts in its size");
  }
  const inner = data.indexOf(0);
  if (inner !== data.length - 1) throw new SgxCodecError(STRUCTURE, "data", inner, "has a NUL before its end");
  const text = data.toString("latin1", 0, data.length - 1);
  const certs: string[] = [];
  PEM_BLOCK.lastIndex = 0;
  let at = skipSpace(text, 0);
  while (at < text.length) {
    PEM_BLOCK.lastIndex = at;
    const m = PEM_BLOCK.exec(text);
    if (!m) throw new SgxCodecError(STRUCTURE, `data (certificate ${certs.length + 1})`, at, "is not a PEM CERTIFICATE block");
    certs.push(m[0].trimEnd() + "\n");
    at = skipSpace(text, PEM_BLOCK.lastIndex);
  }
  if (certs.length === 0) throw new SgxCodecError(STRUCTURE, "data", 0, "holds no PEM certificate");
  return certs;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && /\s/.test(text[at])) at++;
  return at;
}

/** Types 1-3: the PPID (clear or RSA-OAEP encrypted) and the platform's CPUSVN, PCESVN and PCE id. */
export interface PpidCertData {
  /** 16 bytes in clear (type 1), 256 (type 2) or 384 (type 3) encrypted. */
  ppid: Buffer;
  cpuSvn: Buffer; // 16
  pceSvn: number; // u16
  pceId: number; // u16
}

const PPID_SIZES: Record<number, number> = {
  [CertDataType.PPID_CLEARTEXT]: 16,
  [CertDataType.PPID_RSA2048_ENCRYPTED]: 256,
  [CertDataType.PPID_RSA3072_ENCRYPTED]: 384,
};

export function ppidFromCertData(cert: CertificationData): PpidCertData {
  const ppidSize = PPID_SIZES[cert.type];
  if (ppidSize === undefined) throw new SgxCodecError(STRUCTURE, "type", 0, `is ${cert.type}, PPID data is type 1, 2 or 3`);
  const r = new ByteReader(cert.data, STRUCTURE);
  const out = { ppid: r.bytes("ppid", ppidSize), cpuSvn: r.bytes("cpu_svn", 16), pceSvn: r.u16("pce_svn"), pceId: r.u16("pce_id") };
  r.expectEnd();
  return out;
}
