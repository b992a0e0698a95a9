// Changes to the revocation state of an existing platform: revoke its PCK certificate, or reissue the
// CRLs with other windows (e.g. expired ones).
import { writeCrls, type CrlIssueOptions } from "./crls.js";
import { loadPlatformState } from "./load.js";

/** Reissues both CRLs of the platform in `dir` (numbers increase); `revokePck` lists the PCK leaf. */
export async function reissueCrls(dir: string, opts: CrlIssueOptions = {}): Promise<void> {
  const s = await loadPlatformState(dir);
  await writeCrls(
    s.dir,
    {
      root: { cert: s.certs.root, key: s.keys.root },
      pckCa: { cert: s.certs.pckCa, key: s.keys.pckCa },
      pckSerial: s.certs.pck.serialNumber,
      previous: s.crls,
    },
    opts,
  );
}

/** Puts the platform's PCK certificate on its PCK CRL. */
export async function revokePck(dir: string, opts: Omit<CrlIssueOptions, "revokePck"> = {}): Promise<void> {
  await reissueCrls(dir, { ...opts, revokePck: true });
}
