// `confcom attestation-service` as a real process: started from the CLI against a simulated node's
// PCCS, attested by Microsoft's client, policy reloaded on SIGHUP (a malformed one refused and the old
// one kept), stopped by SIGTERM with exit 0; its logs hold neither tokens nor report data.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { once } from "node:events";
import { AttestationClient } from "@azure/attestation";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { silentLogger } from "../../src/common/log.js";
import { startPccs, type PccsServer } from "../../src/pccs/server.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/index.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";
import { cliEntry } from "../support/paths.js";
import { customPolicy } from "./policy-samples.js";
import { sha256 } from "./rig.js";

const waitFor = async (what: string, cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("confcom attestation-service (a real process)", { timeout: 120_000 }, () => {
  let dir: string;
  let platform: SimPlatform;
  let pccs: PccsServer;
  let child: ChildProcess;
  let stdout = "";
  let stderr = "";
  let caPem: string;
  let url: string;
  let metricsAddr = "";
  const policyFile = () => path.join(dir, "policy.txt");
  const runtime = Buffer.from("runtime data of the process test");
  let quote: (debug: boolean) => Buffer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "confcom-attest-proc-"));
    platform = await initPlatform(path.join(dir, "sim"), { seed: "attest-process" });
    const qe = new SimulatedQuotingEnclave(platform);
    quote = (debug) => qe.getQuoteSync(ereportBytes(platform, simEnclaveIdentity({ debug }), qe.identity, Buffer.concat([sha256(runtime), Buffer.alloc(32)])), DEFAULT_ECDSA_ATT_KEY_ID).quote;
    pccs = await startPccs({ stateDir: path.join(dir, "sim"), host: "127.0.0.1", port: 0, log: silentLogger() });
    const tls = await issueWebhookTls({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    caPem = tls.caPem;
    writeFileSync(path.join(dir, "tls.crt"), tls.certPem);
    writeFileSync(path.join(dir, "tls.key"), tls.keyPem);
    writeFileSync(path.join(dir, "root.pem"), platform.rootCaPem);
    writeFileSync(policyFile(), "version=1.0; authorizationrules { => permit(); };");
    child = spawn(process.execPath, [cliEntry, "attestation-service", "--pccs", pccs.url, "--root", path.join(dir, "root.pem"), "--host", "127.0.0.1", "--port", "0", "--tls-cert", path.join(dir, "tls.crt"), "--tls-key", path.join(dir, "tls.key"), "--state-dir", path.join(dir, "keys"), "--policy", policyFile(), "--metrics-addr", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /serving \/metrics, \/healthz, \/readyz on ([\d.]+:\d+)/.exec(stderr);
      if (m) metricsAddr = m[1]!;
    });
    await waitFor("the service URL on stdout", () => /^https:\/\/\S+\n/.test(stdout) && metricsAddr !== "");
    url = stdout.trim();
  });
  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await pccs?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = () => new AttestationClient(url, { tlsOptions: { ca: caPem } } as never);

  test("ready once the PCCS answers; a quote gets a token the client validates; keys persisted 0600", async () => {
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`http://${metricsAddr}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200);
    const res = await client().attestSgxEnclave(quote(true), { runTimeData: runtime });
    assert.equal(res.body.isDebuggable, true);
    assert.equal(res.body.issuer, url);
    assert.equal(statSync(path.join(dir, "keys", "signing-keys.json")).mode & 0o777, 0o600);
    const metrics = await (await fetch(`http://${metricsAddr}/metrics`)).text();
    assert.match(metrics, /confcom_attestation_tokens_issued_total\{type="SgxEnclave",draft="false"\} 1/);
    assert.match(metrics, /confcom_attestation_verification_duration_seconds_count 1/);
    assert.match(metrics, /confcom_attestation_collateral_cache_total\{event="miss"\} 1/);
  });

  test("SIGHUP reloads the policy: the sample custom policy then denies the debug enclave", async () => {
    const id = simEnclaveIdentity();
    writeFileSync(policyFile(), customPolicy(id.isvProdId, id.mrSigner.toString("hex")));
    child.kill("SIGHUP");
    await waitFor("the reload log line", () => stderr.includes("policy reloaded"));
    await assert.rejects(client().attestSgxEnclave(quote(true), { runTimeData: runtime }), (e: { statusCode?: number; code?: string }) => e.statusCode === 400 && e.code === "PolicyEvaluationError");
    const ok = await client().attestSgxEnclave(quote(false), { runTimeData: runtime });
    assert.equal(ok.body.isDebuggable, false);
  });

  test("a malformed policy on SIGHUP is refused with line and column; the previous one stays in force", async () => {
    writeFileSync(policyFile(), "version=1.0;\nauthorizationrules { => permit() };");
    child.kill("SIGHUP");
    await waitFor("the refusal log line", () => stderr.includes("policy reload refused"));
    assert.match(stderr, /policy line 2, column 34/);
    await assert.rejects(client().attestSgxEnclave(quote(true), { runTimeData: runtime }), (e: { code?: string }) => e.code === "PolicyEvaluationError");
  });

  test("SIGTERM stops it with exit 0; the logs never held a token or report data", async () => {
    child.kill("SIGTERM");
    const [code] = (await Promise.race([once(child, "exit"), new Promise((_, rej) => setTimeout(() => rej(new Error("no exit within 15 s")), 15_000))])) as [number];
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /eyJ[A-Za-z0-9_-]{20,}\.eyJ/);
    assert.ok(!stderr.includes(sha256(runtime).toString("hex")), "report data in the logs");
    assert.ok(!stderr.includes(runtime.toString("base64url")), "runtime data in the logs");
  });
});
