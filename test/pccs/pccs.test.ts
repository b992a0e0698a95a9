import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createPublicKey } from "node:crypto";
import path from "node:path";
import { x509 } from "../../src/common/x509.js";
import { Registry } from "prom-client";
import { silentLogger } from "../../src/common/log.js";
import { HEADERS, openEnvelope } from "../../src/pccs/api.js";
import { fetchCollateral, PccsClientError } from "../../src/pccs/client.js";
import { startPccs, type PccsServer } from "../../src/pccs/server.js";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import { verifyBody } from "../../src/sim/collateral/documents.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import { loadPlatformState, type PlatformState } from "../../src/sim/platform/load.js";
import { revokePck } from "../../src/sim/platform/reissue.js";
import { cliEntry } from "../support/paths.js";
import { splitPem, tempDir } from "../sim-platform/fixtures.js";
import { within } from "../support/timeout.js";

const V4 = "/sgx/certification/v4";
const ISSUE = { issueDate: "2026-01-01T00:00:00Z", nextUpdate: "2036-01-01T00:00:00Z" };
const ppid = "ab".repeat(384);

describe("PCCS over HTTP", () => {
  const tmp = tempDir("pccs");
  const dir = path.join(tmp.dir, "p");
  let s: PlatformState;
  let pccs: PccsServer;
  let registry: Registry;
  const get = (p: string, init?: RequestInit) => fetch(`${pccs.url}${p}`, init);
  const chainOf = (res: Response, header: string) => splitPem(decodeURIComponent(res.headers.get(header) ?? ""));
  const pckcertQuery = (cpusvn: string, pcesvn: string, pceid = "0000") => `${V4}/pckcert?encrypted_ppid=${ppid}&cpusvn=${cpusvn}&pcesvn=${pcesvn}&pceid=${pceid}`;

  before(async () => {
    await initPlatform(dir, { seed: "pccs", collateral: { ...ISSUE, tcbStatus: "SWHardeningNeeded" } });
    s = await loadPlatformState(dir);
    registry = new Registry();
    pccs = await startPccs({ stateDir: dir, host: "127.0.0.1", port: 0, log: silentLogger(), registry });
  });
  after(async () => {
    await pccs.close();
    tmp.cleanup();
  });

  test("GET tcb: the exact signed TCB Info in Intel's envelope, issuer chain header", async () => {
    const res = await get(`${V4}/tcb?fmspc=00606a000000`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /application\/json/);
    assert.match(res.headers.get(HEADERS.requestId)!, /^[0-9a-f]{32}$/);
    const text = await res.text();
    assert.equal(text, `{"tcbInfo":${pccs.collateral().tcb_info},"signature":"${pccs.collateral().tcb_info_signature}"}`);
    const { body, signature } = openEnvelope("tcbInfo", text);
    const chain = chainOf(res, HEADERS.tcbInfoIssuerChain);
    assert.deepEqual(chain.map((c) => c.serialNumber), [s.certs.tcbSigning.serialNumber, s.certs.root.serialNumber]);
    assert.ok(verifyBody(body, signature, createPublicKey({ key: Buffer.from(chain[0]!.publicKey.rawData), format: "der", type: "spki" })));
  });

  test("GET qe/identity", async () => {
    const res = await get(`${V4}/qe/identity`);
    assert.equal(res.status, 200);
    const { body, signature } = openEnvelope("enclaveIdentity", await res.text());
    assert.equal(body, pccs.collateral().qe_identity);
    assert.equal(signature, pccs.collateral().qe_identity_signature);
    assert.equal(chainOf(res, HEADERS.enclaveIdentityIssuerChain)[0]!.serialNumber, s.certs.tcbSigning.serialNumber);
  });

  test("GET pckcrl in DER and PEM, with its issuer chain", async () => {
    const der = await get(`${V4}/pckcrl?ca=processor&encoding=der`);
    assert.equal(der.status, 200);
    assert.equal(der.headers.get("content-type"), "application/pkix-crl");
    const crl = new x509.X509Crl(new Uint8Array(await der.arrayBuffer()));
    assert.equal(crl.issuer, s.certs.pckCa.subject);
    const chain = chainOf(der, HEADERS.pckCrlIssuerChain);
    assert.deepEqual(chain.map((c) => c.serialNumber), [s.certs.pckCa.serialNumber, s.certs.root.serialNumber]);
    assert.equal(await crl.verify({ publicKey: chain[0]!.publicKey }), true);
    const pem = await get(`${V4}/pckcrl?ca=processor`);
    const text = await pem.text();
    assert.match(text, /^-----BEGIN X509 CRL-----\n/);
    assert.ok(Buffer.from(new x509.X509Crl(text).rawData).equals(Buffer.from(crl.rawData)));
    assert.ok(pem.headers.get(HEADERS.pckCrlIssuerChain));
  });

  test("GET rootcacrl: hex-encoded DER, as Intel's PCCS answers", async () => {
    const res = await get(`${V4}/rootcacrl`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^30[0-9a-f]+$/);
    const crl = new x509.X509Crl(Buffer.from(text, "hex"));
    assert.equal(await crl.verify({ publicKey: s.certs.root.publicKey }), true);
    // The root CA's CRL distribution point resolves against this PCCS, in DER.
    const dp = s.certs.root.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
    const dpPath = new URL(dp).pathname + new URL(dp).search;
    const der = await get(dpPath);
    assert.equal(der.headers.get("content-type"), "application/pkix-crl");
    assert.ok(Buffer.from(await der.arrayBuffer()).equals(Buffer.from(crl.rawData)));
  });

  test("GET pckcert: the PCK certificate with its chain, TCBm, FMSPC and CA type", async () => {
    const cpusvn = s.platform.cpuSvn.toString("hex");
    const res = await get(pckcertQuery(cpusvn, "0d00"));
    assert.equal(res.status, 200, await res.clone().text());
    const cert = new x509.X509Certificate(await res.text());
    assert.equal(cert.serialNumber, s.certs.pck.serialNumber);
    assert.deepEqual(chainOf(res, HEADERS.pckCertIssuerChain).map((c) => c.serialNumber), [s.certs.pckCa.serialNumber, s.certs.root.serialNumber]);
    assert.equal(res.headers.get(HEADERS.tcbm), `${cpusvn.toUpperCase()}0D00`);
    assert.equal(res.headers.get(HEADERS.fmspc), "00606A000000");
    assert.equal(res.headers.get(HEADERS.pckCaType), "processor");
    // A raw TCB above the certified one still gets it (PCS picks the best level not above the raw TCB).
    const higher = await get(pckcertQuery("ff".repeat(16), "ffff"));
    assert.equal(higher.status, 200);
  });

  test("404: unknown FMSPC, other CA type, TCB below the certificate, other PCE-ID, unknown path", async () => {
    const cases: [string, RegExp][] = [
      [`${V4}/tcb?fmspc=00906ED50000`, /no TCB info for FMSPC 00906ED50000/],
      [`${V4}/pckcrl?ca=platform`, /serves a PCK processor CA, not a platform CA/],
      [pckcertQuery("00".repeat(16), "0d00"), /no PCK certificate for a TCB this low/],
      [pckcertQuery(s.platform.cpuSvn.toString("hex"), "0c00"), /no PCK certificate for a TCB this low/],
      [pckcertQuery(s.platform.cpuSvn.toString("hex"), "0d00", "0100"), /no PCK certificate for PCE-ID 0100/],
      [`${V4}/fmspcs`, /no such endpoint/],
    ];
    for (const [p, msg] of cases) {
      const res = await get(p);
      assert.equal(res.status, 404, p);
      assert.equal(res.headers.get(HEADERS.errorCode), "NotFound");
      assert.match(decodeURIComponent(res.headers.get(HEADERS.errorMessage)!), msg);
      assert.match(((await res.json()) as { message: string }).message, msg);
    }
  });

  test("400: missing or malformed query parameters, with a clear message; 405 for POST", async () => {
    const cases: [string, RegExp][] = [
      [`${V4}/tcb`, /missing query parameter fmspc/],
      [`${V4}/tcb?fmspc=00606A0000`, /fmspc must be an FMSPC of 12 hex digits, got "00606A0000"/],
      [`${V4}/tcb?fmspc=00606A000000&color=blue`, /unknown query parameter color/],
      [`${V4}/pckcrl`, /missing query parameter ca/],
      [`${V4}/pckcrl?ca=cpu`, /ca must be processor or platform/],
      [`${V4}/pckcrl?ca=processor&encoding=base64`, /encoding must be der or pem/],
      [`${V4}/rootcacrl?encoding=pem`, /encoding must be der or hex/],
      [`${V4}/pckcert?cpusvn=00&pcesvn=0000&pceid=0000`, /missing query parameter encrypted_ppid/],
      [`${V4}/pckcert?encrypted_ppid=${ppid}&cpusvn=zz&pcesvn=0000&pceid=0000`, /cpusvn must be a CPUSVN of 32 hex digits/],
    ];
    for (const [p, msg] of cases) {
      const res = await get(p);
      assert.equal(res.status, 400, p);
      assert.equal(res.headers.get(HEADERS.errorCode), "InvalidRequestSyntax");
      assert.match(((await res.json()) as { message: string }).message, msg, p);
    }
    const post = await get(`${V4}/qe/identity`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  test("fetchCollateral reassembles exactly the collateral the PCCS serves, equal to buildCollateral's bodies", async () => {
    const fetched = await fetchCollateral(pccs.url, s.platform.fmspc, "processor");
    assert.deepEqual(fetched, pccs.collateral());
    const built = await buildCollateral(dir);
    // Same state and fixed dates: identical documents, chains and CRLs; signatures are randomized but verify.
    const { tcb_info_signature: _a, qe_identity_signature: _b, ...builtRest } = built;
    const { tcb_info_signature: _c, qe_identity_signature: _d, ...fetchedRest } = fetched;
    assert.deepEqual(fetchedRest, builtRest);
    const viaPrefix = await fetchCollateral(`${pccs.url}${V4}/`, "00606A000000", "processor");
    assert.deepEqual(viaPrefix, fetched);
  });

  test("fetchCollateral errors name the URL and the PCCS's message", async () => {
    await assert.rejects(fetchCollateral(pccs.url, "00906ED50000", "processor"), (e: Error) => e instanceof PccsClientError && /\/tcb\?fmspc=00906ED50000: HTTP 404: no TCB info for FMSPC/.test(e.message));
    await assert.rejects(fetchCollateral(pccs.url, "00606A000000", "platform"), /HTTP 404: this PCCS serves a PCK processor CA/);
    await assert.rejects(fetchCollateral(pccs.url, "0060", "processor"), /FMSPC must be 6 bytes/);
    await assert.rejects(fetchCollateral("http://127.0.0.1:1", "00606A000000", "processor"), /GET http:\/\/127\.0\.0\.1:1\/sgx\/certification\/v4\/.* failed/);
  });

  test("revocation shows after reload; requests are counted in the metrics", async () => {
    await revokePck(dir);
    await pccs.reload();
    const fetched = await fetchCollateral(pccs.url, "00606A000000", "processor");
    const crl = new x509.X509Crl(Buffer.from(fetched.pck_crl, "hex"));
    assert.deepEqual(crl.entries.map((e) => e.serialNumber.toLowerCase()), [s.certs.pck.serialNumber.toLowerCase()]);
    const metrics = await registry.metrics();
    assert.match(metrics, /confcom_pccs_requests_total\{endpoint="\/sgx\/certification\/v4\/tcb",status="200"\} \d+/);
    assert.match(metrics, /confcom_pccs_requests_total\{endpoint="\/sgx\/certification\/v4\/tcb",status="404"\} \d+/);
  });
});

describe("confcom pccs (process)", () => {
  const tmp = tempDir("pccs-cli");
  after(() => tmp.cleanup());

  test("serves, exposes /metrics and /healthz on --metrics-addr, reloads on SIGHUP, exits 0 on SIGTERM", async () => {
    const dir = path.join(tmp.dir, "p");
    await initPlatform(dir, { seed: "pccs-cli" });
    const child = spawn(process.execPath, [cliEntry, "pccs", "--state", dir, "--port", "0", "--metrics-addr", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/serving \/metrics/.test(stderr) || !stdout.includes("\n")) {
        if (Date.now() > deadline) throw new Error(`pccs did not start: ${stderr}`);
        if (child.exitCode !== null) throw new Error(`pccs exited ${child.exitCode}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = stdout.trim();
      const opsPort = /"port":(\d+),"msg":"serving \/metrics/.exec(stderr)![1];
      const col = await fetchCollateral(url, "00606A000000", "processor");
      assert.equal(JSON.parse(col.tcb_info).fmspc, "00606A000000");
      const health = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
      assert.equal(health.status, 200);
      await health.text();
      const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      assert.match(metrics, /confcom_pccs_requests_total\{endpoint="\/sgx\/certification\/v4\/qe\/identity",status="200"\} 1/);
      // SIGHUP reloads the state: a revocation made meanwhile shows up.
      await revokePck(dir);
      child.kill("SIGHUP");
      let entries = 0;
      for (let i = 0; i < 50 && entries === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        entries = new x509.X509Crl(Buffer.from((await fetchCollateral(url, "00606A000000", "processor")).pck_crl, "hex")).entries.length;
      }
      assert.equal(entries, 1, stderr);
      child.kill("SIGTERM");
      assert.equal(await within(exited, 30_000, "the PCCS to exit"), 0, stderr);
      assert.match(stderr, /stopped cleanly/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("PCCS collateral renewal (a simulated cluster's PCCS runs for months)", () => {
  const tmp = tempDir("pccs-renew");
  const dir = path.join(tmp.dir, "p");
  after(() => tmp.cleanup());
  const crlNumber = (hex: string) => {
    const crl = new x509.X509Crl(Buffer.from(hex, "hex"));
    return { entries: crl.entries.length, thisUpdate: crl.thisUpdate.getTime() };
  };

  test("renewal reissues the CRLs (revocations kept) and rebuilds the TCB Info window from now; /readyz's check sees it current", async () => {
    await initPlatform(dir, { seed: "pccs-renew" });
    await revokePck(dir);
    const pccs = await startPccs({ stateDir: dir, host: "127.0.0.1", port: 0, log: silentLogger(), renewMs: 300 });
    try {
      const before = pccs.collateral();
      assert.equal(pccs.expired(), false);
      // CRL and TCB Info times have one-second resolution: wait until a renewal lands past that.
      const issued = (c: typeof before) => Date.parse((JSON.parse(c.tcb_info) as { issueDate: string }).issueDate);
      let renewed = pccs.collateral();
      const deadline = Date.now() + 15_000;
      while (crlNumber(renewed.pck_crl).thisUpdate <= crlNumber(before.pck_crl).thisUpdate || issued(renewed) <= issued(before)) {
        assert.ok(Date.now() < deadline, "no renewal moved the CRLs and the TCB Info window within 15 s");
        await new Promise((r) => setTimeout(r, 100));
        renewed = pccs.collateral();
      }
      assert.notEqual(renewed.pck_crl, before.pck_crl, "the PCK CRL was never reissued");
      assert.ok(crlNumber(renewed.pck_crl).thisUpdate > crlNumber(before.pck_crl).thisUpdate);
      assert.equal(crlNumber(renewed.pck_crl).entries, 1, "the revocation was lost on renewal");
      // What the PCCS serves is the renewed collateral, signed and whole.
      const served = await fetchCollateral(pccs.url, JSON.parse(renewed.tcb_info).fmspc, "processor");
      assert.equal(crlNumber(served.pck_crl).entries, 1);
      assert.ok(issued(served) >= issued(renewed));
      assert.equal(pccs.expired(new Date(Date.now() + 40 * 86_400_000)), true, "40 days on, without renewal, the collateral is expired");
    } finally {
      await pccs.close();
    }
  });
});
