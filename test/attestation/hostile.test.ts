// Hostile and failing inputs against the real service over HTTPS: each gets a precise 4xx in MAA's
// error shape (the Azure client surfaces its code), no token, a denial reason in /metrics, and the
// service keeps serving everyone else.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import path from "node:path";
import { revokePck } from "../../src/sim/platform/reissue.js";
import { customPolicy } from "./policy-samples.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { decodeJwt, post, startRig, type Rig } from "./rig.js";

const runtime = Buffer.from("hostile-test runtime data");
type RestErr = { statusCode?: number; code?: string; message: string };

const rejectsWith = (p: Promise<unknown>, status: number, code: string, re: RegExp) =>
  assert.rejects(p, (e: RestErr) => {
    assert.equal(e.statusCode, status, e.message);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });

const attestBody = (quote: Buffer, data = runtime, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: data.toString("base64url"), dataType: "Binary" }, ...extra });

describe("hostile inputs", { timeout: 120_000 }, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig("hostile", { maxBodyBytes: 32 * 1024, rateLimitPerSecond: 0 });
  });
  after(async () => rig?.close());
  const denials = async (reason: string, service = rig.service) => {
    const text = await service.metrics.registry.getSingleMetricAsString("confcom_attestation_denials_total");
    return Number(new RegExp(`reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  test("malformed quotes: truncated, garbage, wrong version, a flipped signature bit", async () => {
    const good = rig.quote(runtime);
    const flipped = Buffer.from(good);
    flipped[500]! ^= 1;
    const wrongVersion = Buffer.from(good);
    wrongVersion.writeUInt16LE(9, 0);
    for (const [q, re] of [
      [good.subarray(0, 100), /malformed quote/],
      [Buffer.alloc(2000, 0x41), /malformed quote/],
      [wrongVersion, /version/],
      [flipped, /quote verification failed/],
    ] as const) {
      await rejectsWith(rig.client().attestSgxEnclave(q, { runTimeData: runtime }), 400, "InvalidParameter", re);
    }
    assert.ok((await denials("invalid-quote")) >= 3);
  });

  test("malformed requests: not JSON, not an object, bad base64, bad dataType, no api-version", async () => {
    const q = rig.quote(runtime);
    const cases: [string, string, RegExp][] = [
      ["/attest/SgxEnclave?api-version=2020-10-01", "{not json", /not JSON/],
      ["/attest/SgxEnclave?api-version=2020-10-01", "[1,2]", /JSON object/],
      ["/attest/SgxEnclave?api-version=2020-10-01", JSON.stringify({ quote: "***" }), /quote is not base64url/],
      ["/attest/SgxEnclave?api-version=2020-10-01", JSON.stringify({}), /quote is required/],
      ["/attest/SgxEnclave?api-version=2020-10-01", attestBody(q, runtime).replace('"Binary"', '"Text"'), /dataType must be/],
      ["/attest/SgxEnclave?api-version=2020-10-01", JSON.stringify({ quote: q.toString("base64url"), nonce: "x".repeat(5000) }), /nonce must be a string of at most/],
      ["/attest/SgxEnclave", attestBody(q), /api-version/],
    ];
    for (const [p, body, re] of cases) {
      const r = await post(rig, p, body);
      assert.equal(r.status, 400, `${body.slice(0, 40)}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, "InvalidParameter");
      assert.match(r.json.error.message, re);
    }
  });

  test("oversized bodies get 413 before being read in full, by length or by streaming", async () => {
    const big = Buffer.alloc(64 * 1024, 0x61);
    const declared = await post(rig, "/attest/SgxEnclave?api-version=2020-10-01", big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json.error.code, "RequestTooLarge");
    // Chunked, no content-length: cut off as it streams.
    const streamed = await new Promise<number>((resolve, reject) => {
      const u = new URL(rig.service.url);
      const req = https.request({ host: u.hostname, port: u.port, path: "/attest/SgxEnclave?api-version=1", method: "POST", ca: rig.caPem, agent: false, headers: { "transfer-encoding": "chunked" }, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(8 * 1024, 0x62));
      req.end();
    });
    assert.equal(streamed, 413);
    assert.ok((await denials("too-large")) >= 2, await rig.service.metrics.registry.getSingleMetricAsString("confcom_attestation_denials_total"));
    // Everyone else is still served.
    assert.ok((await rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime })).body.mrEnclave);
  });

  test("a debug enclave under the sample custom policy gets no token; a production one does", async () => {
    const id = simEnclaveIdentity();
    const s = await rig.restart({ policyText: customPolicy(id.isvProdId, id.mrSigner.toString("hex"), "mrsigner-copy") });
    const quoteDebug = rig.quote(runtime, { debug: true });
    await rejectsWith(rig.client(s.url).attestSgxEnclave(quoteDebug, { runTimeData: runtime }), 400, "PolicyEvaluationError", /did not permit/);
    const ok = await rig.client(s.url).attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime });
    assert.equal(decodeJwt(ok.token.serialize()).body["mrsigner-copy"], id.mrSigner.toString("hex"));
    // The custom policy issues no legacy claims.
    assert.equal(decodeJwt(ok.token.serialize()).body["sgx-mrsigner"], undefined);
  });

  test("draft policies: a syntax error is PolicyParsingError with line and column; a valid one gets an unsecured token", async () => {
    const q = rig.quote(runtime);
    const bad = await post(rig, "/attest/SgxEnclave?api-version=2020-10-01", attestBody(q, runtime, { draftPolicyForAttestation: "version=1.0;\nauthorizationrules { => permitt(); };" }));
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, "PolicyParsingError");
    assert.match(bad.json.error.message, /line 2, column 25: unknown action "permitt"/);
    const res = await rig.client().attestSgxEnclave(q, { runTimeData: runtime, draftPolicyForAttestation: 'version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type="draft", value=true); };' });
    const { header, body } = decodeJwt(res.token.serialize());
    assert.equal(header.alg, "none");
    assert.equal(body.draft, true);
    const denied = post(rig, "/attest/SgxEnclave?api-version=2020-10-01", attestBody(q, runtime, { draftPolicyForAttestation: "version=1.0; authorizationrules { => deny(); };" }));
    assert.equal((await denied).json.error.code, "PolicyEvaluationError");
  });

  test("expired collateral gets no token", async () => {
    rig.useCollateral({ issueDate: "2020-01-01T00:00:00Z", nextUpdate: "2020-02-01T00:00:00Z" });
    try {
      const s = await rig.restart({});
      await rejectsWith(rig.client(s.url).attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime }), 400, "InvalidParameter", /expired/);
      assert.equal(await denials("expired-collateral", s), 1);
    } finally {
      rig.useCollateral(undefined);
    }
  });

  test("TCB statuses the service does not accept get no token (OutOfDate by default; Revoked always)", async () => {
    for (const tcbStatus of ["OutOfDate", "Revoked"] as const) {
      rig.useCollateral({ tcbStatus });
      try {
        const s = await rig.restart({});
        await rejectsWith(rig.client(s.url).attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime }), 400, "InvalidParameter", new RegExp(`TCB status ${tcbStatus} is not accepted`));
      } finally {
        rig.useCollateral(undefined);
      }
    }
    // A policy on the verdict claim narrows what the service accepts.
    rig.useCollateral({ tcbStatus: "SWHardeningNeeded" });
    try {
      const s = await rig.restart({ policyText: 'version=1.0; authorizationrules { [type=="x-confcom-sgx-tcb-status", value=="UpToDate"] => permit(); };' });
      await rejectsWith(rig.client(s.url).attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime }), 400, "PolicyEvaluationError", /did not permit/);
      const s2 = await rig.restart({});
      const ok = await rig.client(s2.url).attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime });
      const body = decodeJwt(ok.token.serialize()).body;
      assert.equal(body["x-confcom-sgx-tcb-status"], "SWHardeningNeeded");
      assert.deepEqual(body["x-confcom-sgx-advisory-ids"], ["INTEL-SA-00615"]);
    } finally {
      rig.useCollateral(undefined);
    }
  });

  test("a revoked PCK gets no token once the PCCS serves the new CRL", async () => {
    await revokePck(path.join(rig.dir, "state"));
    await rig.pccs.reload();
    const s = await rig.restart({});
    await rejectsWith(rig.client(s.url).attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime }), 400, "InvalidParameter", /Revoked/);
  });

  test("unknown routes 404, wrong methods 405, in MAA's error shape", async () => {
    const r = await post(rig, "/nope", "{}");
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "NotFound");
    const m = await post(rig, "/certs", "{}");
    assert.equal(m.status, 405);
  });
});

describe("rate limits", { timeout: 60_000 }, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig("ratelimit", { rateLimitPerSecond: 1, rateLimitBurst: 3 });
  });
  after(async () => rig?.close());
  test("a client over its rate gets 429 with Retry-After; the burst passes", async () => {
    const q = rig.quote(runtime);
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 6; i++) {
      const r = await post(rig, "/attest/SgxEnclave?api-version=2020-10-01", attestBody(q));
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers["retry-after"];
    }
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429), statuses.join(","));
    assert.equal(retryAfter, "1");
  });
});
