// A simulated platform for verifier tests: C's platform state and collateral, B's QE3, one app enclave.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/index.js";
import { initPlatform, type InitOptions } from "../../src/sim/platform/init.js";
import { loadPlatformState } from "../../src/sim/platform/load.js";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import type { CollateralConfig } from "../../src/sim/collateral/config.js";
import { signBody } from "../../src/sim/collateral/documents.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import type { Collateral } from "../../src/collateral/types.js";

/** A fixed time: the simulated PKI, CRLs and collateral are all issued at it. */
export const SIM_NOW = new Date("2026-03-01T12:00:00Z");

export interface SimRig {
  dir: string;
  platform: SimPlatform;
  rootPem: string;
  quote(opts?: { debug?: boolean; reportData?: Buffer }): Buffer;
  collateral(config?: Partial<CollateralConfig>): Promise<Collateral>;
  /** Collateral whose TCB Info / QE Identity JSON is edited, then re-signed with the platform's TCB Signing key. */
  resigned(edit: { tcbInfo?: (s: string) => string; qeIdentity?: (s: string) => string }): Promise<Collateral>;
}

export async function simRig(name: string, opts: InitOptions = {}): Promise<SimRig> {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), `verify-${name}-`)), "state");
  const platform = await initPlatform(dir, { seed: `verify-test-${name}`, now: SIM_NOW, ...opts });
  const qe = new SimulatedQuotingEnclave(platform);
  const rig: SimRig = {
    dir,
    platform,
    rootPem: platform.rootCaPem,
    quote: ({ debug = false, reportData = Buffer.alloc(64, 0x5a) } = {}) =>
      qe.getQuoteSync(ereportBytes(platform, simEnclaveIdentity({ debug }), qe.identity, reportData), DEFAULT_ECDSA_ATT_KEY_ID).quote,
    collateral: (config) => buildCollateral(dir, { config, now: SIM_NOW }),
    async resigned(edit) {
      const c = await rig.collateral();
      const key = (await loadPlatformState(dir)).keys.tcbSigning;
      if (edit.tcbInfo) {
        c.tcb_info = edit.tcbInfo(c.tcb_info);
        c.tcb_info_signature = signBody(c.tcb_info, key);
      }
      if (edit.qeIdentity) {
        c.qe_identity = edit.qeIdentity(c.qe_identity);
        c.qe_identity_signature = signBody(c.qe_identity, key);
      }
      return c;
    },
  };
  return rig;
}
