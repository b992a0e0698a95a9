// Collateral from C's PCCS: fetched per FMSPC and PCK CA type taken from the quote's PCK certificate.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Registry } from "prom-client";
import { silentLogger } from "../../src/common/log.js";
import { fetchCollateral } from "../../src/pccs/client.js";
import { startPccs, type PccsServer } from "../../src/pccs/server.js";
import { EXIT_CODES, QuoteVerifier } from "../../src/verify/index.js";
import { cliEntry } from "../support/paths.js";
import { simRig, type SimRig } from "./sim.js";

// The PCCS issues collateral at the real current time, so this platform lives in the present too.
let rig: SimRig;
let pccs: PccsServer;
before(async () => {
  rig = await simRig("pccs", { now: new Date() });
  pccs = await startPccs({ stateDir: rig.dir, host: "127.0.0.1", port: 0, log: silentLogger(), registry: new Registry() });
});
after(() => pccs?.close());

test("the verifier fetches collateral once per FMSPC and CA type", async () => {
  const asked: string[] = [];
  const v = new QuoteVerifier({
    trustedRootPem: rig.rootPem,
    collateralSource: (fmspc, caType) => {
      asked.push(`${fmspc}/${caType}`);
      return fetchCollateral(pccs.url, fmspc, caType);
    },
  });
  for (let i = 0; i < 3; i++) assert.equal((await v.verify(rig.quote({ reportData: Buffer.alloc(64, i) }))).status, "UpToDate");
  const key = `${rig.platform.fmspc.toString("hex").toUpperCase()}/processor`;
  assert.deepEqual(asked, [key]);
  // Past the collateral's nextUpdate it asks again (and, the PCCS serving the same documents, fails as expired).
  await assert.rejects(v.verify(rig.quote(), { now: new Date(Date.now() + 40 * 86_400_000) }), { failure: "expired" });
  assert.deepEqual(asked, [key, key]);
});

test("CLI --pccs: exit 0 against the PCCS, exit 24 when it is unreachable", async () => {
  const quote = path.join(rig.dir, "..", "q.bin");
  const root = path.join(rig.dir, "..", "root.pem");
  writeFileSync(quote, rig.quote());
  writeFileSync(root, rig.rootPem);
  // Asynchronously: the PCCS runs in this process and must keep serving while the CLI waits on it.
  const run = (url: string) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [cliEntry, "quote", "verify", quote, "--pccs", url, "--root", root], { encoding: "utf8", timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ status: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
  const ok = await run(pccs.url);
  assert.equal(ok.status, EXIT_CODES.UpToDate, ok.stderr);
  assert.match(ok.stdout, /^status: UpToDate$/m);
  const down = await run("http://127.0.0.1:9");
  assert.equal(down.status, EXIT_CODES["collateral-unavailable"], down.stderr);
  assert.match(down.stderr, /cannot fetch collateral/);
});
