// (Re)issues the two CRLs of a platform state: the root CA CRL and the PCK CA CRL, optionally listing
// the platform's PCK certificate as revoked. CRL numbers increase with every reissue.
import { x509 } from "../../common/x509.js";
import type { KeyObject } from "node:crypto";
import { crlNumberOf, issueCrl } from "../pki/issue.js";
import { writeStateFile } from "./state-files.js";

export interface CrlWindow {
  thisUpdate: Date;
  nextUpdate: Date;
}

export interface CrlIssueOptions {
  /** Root CA CRL window; default now-1h .. now+1 year (Intel's root CRL is yearly). */
  root?: CrlWindow;
  /** PCK CRL window; default now-1h .. now+30 days (Intel's PCK CRL is monthly). */
  pck?: CrlWindow;
  /** List the PCK leaf's serial in the PCK CRL (true), or not (false); default: as the previous CRL did. */
  revokePck?: boolean;
  now?: Date;
}

export interface CrlIssuers {
  root: { cert: x509.X509Certificate; key: KeyObject };
  pckCa: { cert: x509.X509Certificate; key: KeyObject };
  pckSerial: string;
  /** Existing CRLs whose numbers the new ones must exceed. */
  previous?: { root?: x509.X509Crl; pck?: x509.X509Crl };
}

const DAY = 86_400_000;

export async function writeCrls(dir: string, issuers: CrlIssuers, opts: CrlIssueOptions = {}): Promise<{ root: x509.X509Crl; pck: x509.X509Crl }> {
  const now = opts.now ?? new Date();
  const from = new Date(now.getTime() - 3600_000);
  const next = (prev?: x509.X509Crl) => (prev ? (crlNumberOf(prev) ?? 0) + 1 : 1);
  const wasRevoked = issuers.previous?.pck?.entries.some((e) => e.serialNumber.toLowerCase() === issuers.pckSerial.toLowerCase()) ?? false;
  const revoked = opts.revokePck ?? wasRevoked;
  const root = await issueCrl(issuers.root.cert, issuers.root.key, {
    ...(opts.root ?? { thisUpdate: from, nextUpdate: new Date(now.getTime() + 365 * DAY) }),
    crlNumber: next(issuers.previous?.root),
    revokedSerials: [],
  });
  const pck = await issueCrl(issuers.pckCa.cert, issuers.pckCa.key, {
    ...(opts.pck ?? { thisUpdate: from, nextUpdate: new Date(now.getTime() + 30 * DAY) }),
    crlNumber: next(issuers.previous?.pck),
    revokedSerials: revoked ? [issuers.pckSerial] : [],
  });
  await writeStateFile(dir, "rootCrl", new Uint8Array(root.rawData));
  await writeStateFile(dir, "pckCrl", new Uint8Array(pck.rawData));
  return { root, pck };
}
