// `sim collateral`: the quote verification collateral of a simulated platform, in the exact shape
// of collateral.json (the Collateral type): CRLs as hex DER, chains as PEM, signed JSON bodies.
import type { Collateral } from "../../collateral/types.js";
import { loadPlatformState, type PlatformState } from "../platform/load.js";
import { validateCollateralConfig, type CollateralConfig } from "./config.js";
import { qeIdentityJson, signBody, tcbInfoJson } from "./documents.js";
import { qeLevelsFor, tcbLevelsFor } from "./levels.js";

export interface BuildCollateralOptions {
  /** Overrides of the state's collateral-config.json for this build. */
  config?: Partial<CollateralConfig>;
  /** Build time when the config does not fix the dates; issueDate is an hour before it. */
  now?: Date;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const pem = (c: { toString(f: "pem"): string }) => c.toString("pem") + "\n";

export async function buildCollateral(source: string | PlatformState, opts: BuildCollateralOptions = {}): Promise<Collateral> {
  const s = typeof source === "string" ? await loadPlatformState(source) : source;
  const cfg = validateCollateralConfig({ ...s.collateralConfig, ...opts.config }, "collateral options");
  // Backdated by an hour, like the certificates: a verifier whose clock is a little behind must not
  // see freshly built collateral as issued in the future.
  const issueDate = cfg.issueDate ? new Date(cfg.issueDate) : new Date(Math.floor(((opts.now ?? new Date()).getTime() - HOUR) / 1000) * 1000);
  const nextUpdate = cfg.nextUpdate ? new Date(cfg.nextUpdate) : new Date(issueDate.getTime() + cfg.validityDays * DAY);
  const window = { issueDate, nextUpdate, tcbEvaluationDataNumber: cfg.tcbEvaluationDataNumber };
  const tcbInfo = tcbInfoJson({
    ...window,
    fmspc: s.platform.fmspc,
    pceId: s.platform.pceId,
    levels: tcbLevelsFor(s.platform.tcb, cfg.tcbStatus, cfg.advisoryIds),
  });
  const qeIdentity = qeIdentityJson({ ...window, levels: qeLevelsFor(s.platform.qe.isvSvn, cfg.qeStatus, cfg.qeAdvisoryIds) });
  const tcbChain = pem(s.certs.tcbSigning) + pem(s.certs.root);
  return {
    pck_crl_issuer_chain: pem(s.certs.pckCa) + pem(s.certs.root),
    root_ca_crl: Buffer.from(s.crls.root.rawData).toString("hex"),
    pck_crl: Buffer.from(s.crls.pck.rawData).toString("hex"),
    tcb_info_issuer_chain: tcbChain,
    tcb_info: tcbInfo,
    tcb_info_signature: signBody(tcbInfo, s.keys.tcbSigning),
    qe_identity_issuer_chain: tcbChain,
    qe_identity: qeIdentity,
    qe_identity_signature: signBody(qeIdentity, s.keys.tcbSigning),
  };
}
