// Hardening: hostile clients (garbage quotes, oversized and truncated bodies, stalled uploads) hammer
// the real service while honest clients attest; every honest request gets a validated token, every
// hostile one a 4xx or a closed connection, and the service's memory stays bounded. Small counts in
// `npm test`, full ones with SOAK_SCALE=full.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { scale, summary, mib } from "../soak/scale.js";
import { post, startRig, type Rig } from "./rig.js";

const runtime = Buffer.from("soak runtime data");

describe("attestation service under hostile load", { timeout: scale(120_000, 1_800_000) }, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig("soak", { rateLimitPerSecond: 0, maxBodyBytes: 64 * 1024, requestTimeoutMs: 2_000 });
  });
  after(async () => rig?.close());

  test("honest clients all get tokens while hostile ones are refused; memory stays bounded", async () => {
    const honest = scale(40, 2000);
    const hostile = scale(60, 3000);
    const quote = rig.quote(runtime);
    const good = JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: runtime.toString("base64url"), dataType: "Binary" } });
    const bad = [
      JSON.stringify({ quote: Buffer.alloc(3000, 7).toString("base64url") }),
      JSON.stringify({ quote: quote.subarray(0, 1200).toString("base64url") }),
      Buffer.alloc(100 * 1024, 0x7b),
      good.slice(0, 200),
      JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: "AAAA", dataType: "Binary" } }),
    ];
    const stall = () =>
      new Promise<string>((resolve) => {
        const u = new URL(rig.service.url);
        const req = https.request({ host: u.hostname, port: u.port, path: "/attest/SgxEnclave?api-version=1", method: "POST", ca: rig.caPem, agent: false, headers: { "content-length": "5000" } }, (res) => {
          res.resume();
          resolve(`status ${res.statusCode}`);
        });
        req.on("error", () => resolve("closed"));
        req.write("{");
      });
    const rss0 = process.memoryUsage().rss;
    let tokens = 0;
    const refusals = new Map<string, number>();
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < honest; i++) {
      tasks.push(
        post(rig, "/attest/SgxEnclave?api-version=2022-08-01", good).then((r) => {
          assert.equal(r.status, 200, JSON.stringify(r.json));
          tokens++;
        }),
      );
    }
    for (let i = 0; i < hostile; i++) {
      tasks.push(
        (i % 10 === 9 ? stall() : post(rig, "/attest/SgxEnclave?api-version=2022-08-01", bad[i % bad.length]!).then((r) => `status ${r.status}`, () => "closed")).then((outcome) => {
          assert.ok(outcome === "closed" || /^status 4\d\d$/.test(outcome), outcome);
          refusals.set(outcome, (refusals.get(outcome) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(tasks);
    assert.equal(tokens, honest);
    // The service (and the whole test process with it) holds no per-request memory afterwards.
    const grown = (process.memoryUsage().rss - rss0) / 1024;
    assert.ok(grown < 200 * 1024, `RSS grew by ${mib(grown)}`);
    assert.equal(rig.service.ready().ok, true);
    const ok = await rig.client().attestSgxEnclave(quote, { runTimeData: runtime });
    assert.ok(ok.body.mrEnclave);
    summary("attestation-service", { honest, hostile, tokens, ...Object.fromEntries(refusals), rssGrowth: mib(grown) });
  });
});
