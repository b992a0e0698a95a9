// Phala's dcap-qvl (an independent, pure-JS port of Intel's QVL logic) given our root: it must accept
// quotes from the simulated QE3 with our PKI and collateral, fetched directly or through our PCCS,
// and report every configured outcome.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { x509 } from "../../src/common/x509.js";
import { getCollateral, QuoteVerifier } from "@phala/dcap-qvl";
import { silentLogger } from "../../src/common/log.js";
import { startPccs } from "../../src/pccs/server.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import type { CollateralConfig } from "../../src/sim/collateral/config.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity, targetInfoOf } from "../../src/sim/enclave/identity.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import { revokePck } from "../../src/sim/platform/reissue.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import type { PckCaType } from "../../src/sim/pki/names.js";
import { qe3Identity } from "../../src/sim/qe3/identity.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";
import { tempDir } from "../sim-platform/fixtures.js";

async function quoteFrom(p: SimPlatform): Promise<Buffer> {
  const qe = new SimulatedQuotingEnclave(p);
  const report = ereportBytes(p, simEnclaveIdentity(), targetInfoOf(qe3Identity(p)), Buffer.alloc(64, 7));
  return (await qe.getQuote(report, Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID))).quote;
}

describe("independent verifier (@phala/dcap-qvl) with our root", () => {
  const tmp = tempDir("qvl");
  after(() => tmp.cleanup());
  const setups = new Map<PckCaType, { dir: string; quote: Buffer; verifier: QuoteVerifier }>();
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    for (const ca of ["processor", "platform"] as const) {
      const dir = path.join(tmp.dir, ca);
      const p = await initPlatform(dir, { seed: "qvl", caType: ca });
      const rootDer = Buffer.from(new x509.X509Certificate(p.rootCaPem).rawData);
      setups.set(ca, { dir, quote: await quoteFrom(p), verifier: QuoteVerifier.newWithRootCa(rootDer) });
    }
  });

  const verifyWith = async (ca: PckCaType, config: Partial<CollateralConfig>) => {
    const s = setups.get(ca)!;
    return s.verifier.verify(s.quote, await buildCollateral(s.dir, { config }), now());
  };

  test("every accepted TCB status comes out as configured, with its advisory IDs (processor and platform CA)", async () => {
    for (const ca of ["processor", "platform"] as const) {
      for (const tcbStatus of ["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"] as const) {
        const r = await verifyWith(ca, { tcbStatus, advisoryIds: tcbStatus === "UpToDate" ? [] : [`INTEL-SA-0${tcbStatus.length}`] });
        assert.equal(r.status, tcbStatus, `${ca} ${tcbStatus}`);
        assert.deepEqual(r.advisory_ids, tcbStatus === "UpToDate" ? [] : [`INTEL-SA-0${tcbStatus.length}`]);
      }
    }
  });

  test("Revoked and unsupported TCBs, a revoked or out-of-date QE, expired collateral", async () => {
    await assert.rejects(verifyWith("processor", { tcbStatus: "Revoked" }), /TCB status is invalid: Revoked/);
    await assert.rejects(verifyWith("processor", { tcbStatus: "NotSupported" }), /No matching TCB level/);
    await assert.rejects(verifyWith("processor", { qeStatus: "Revoked" }), /Revoked/);
    assert.equal((await verifyWith("processor", { qeStatus: "OutOfDate" })).status, "OutOfDate");
    await assert.rejects(verifyWith("processor", { issueDate: "2020-01-01T00:00:00Z", nextUpdate: "2020-02-01T00:00:00Z" }), /TCBInfo expired/);
  });

  test("Intel's real root does not accept our chain", async () => {
    const s = setups.get("processor")!;
    const collateral = await buildCollateral(s.dir);
    await assert.rejects(async () => QuoteVerifier.newProd().verify(s.quote, collateral, now()));
  });

  test("its PCCS client fetches working collateral from our PCCS; a revoked PCK is then rejected", async () => {
    const s = setups.get("processor")!;
    const pccs = await startPccs({ stateDir: s.dir, host: "127.0.0.1", port: 0, log: silentLogger() });
    try {
      const collateral = await getCollateral(pccs.url, s.quote);
      assert.equal(s.verifier.verify(s.quote, collateral, now()).status, "UpToDate");
      await revokePck(s.dir);
      await pccs.reload();
      const revoked = await getCollateral(pccs.url, s.quote);
      assert.throws(() => s.verifier.verify(s.quote, revoked, now()), /revoked/i);
    } finally {
      await pccs.close();
    }
  });
});
