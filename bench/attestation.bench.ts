// The attestation service end to end: tokens/s with 64 concurrent HTTPS clients vs a bare HTTPS echo of
// the same requests, p99 printed. (Its verifier's cold and new-PCK costs are in verify.bench.ts.)
import { mkdtempSync, rmSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { type Bench, type BenchResult, percentile, ratioResult } from "./harness.js";
import { quoteOf } from "../test/support/sim-quotes.js";
import { silentLogger } from "../src/common/log.js";
import { issueWebhookTls } from "../src/addon/tls.js";
import { buildCollateral } from "../src/sim/collateral/build.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { generateSigningKey } from "../src/attestation/keys.js";
import { startAttestationService } from "../src/attestation/service.js";

async function loadRequests(url: string, body: string, clients: number, total: number, ca: string): Promise<{ perSecond: number; p99Ms: number; p50Ms: number }> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: clients, ca });
  const u = new URL(url);
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const t = process.hrtime.bigint();
      const req = https.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  const lat: number[] = [];
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) lat.push(await one());
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { perSecond: total / secs, p99Ms: percentile(lat, 99), p50Ms: percentile(lat, 50) };
}

const bench: Bench = async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "confcom-attest-bench-"));
  try {
    const dir = path.join(tmp, "sim");
    const platform = await initPlatform(dir, { seed: "attestation-bench" });
    const collateral = await buildCollateral(dir);
    const results: BenchResult[] = [];

    // End to end: tokens/s through the service vs a bare HTTPS echo, 64 keep-alive clients each.
    const tls = await issueWebhookTls({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const runtime = Buffer.from("bench runtime data");
    const quote = quoteOf(platform, Buffer.concat([crypto.createHash("sha256").update(runtime).digest(), Buffer.alloc(32)]));
    const body = JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: runtime.toString("base64url"), dataType: "Binary" } });
    const service = await startAttestationService({
      host: "127.0.0.1",
      port: 0,
      tls,
      trustedRootPem: platform.rootCaPem,
      fetchCollateral: async () => collateral,
      keys: [await generateSigningKey("RS256", "bench")],
      log: silentLogger(),
      rateLimitPerSecond: 0,
      metrics: undefined,
    });
    const echo = https.createServer({ cert: tls.certPem, key: tls.keyPem, keepAliveTimeout: 5_000 }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const b = JSON.stringify({ token: Buffer.concat(chunks).subarray(0, 64).toString("base64url") });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(b) }).end(b);
      });
    });
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const echoUrl = `https://127.0.0.1:${(echo.address() as AddressInfo).port}/attest/SgxEnclave?api-version=2022-08-01`;
    const svcUrl = `${service.url}/attest/SgxEnclave?api-version=2022-08-01`;
    await loadRequests(svcUrl, body, 64, 300, tls.caPem);
    await loadRequests(echoUrl, body, 64, 300, tls.caPem);
    const e2e = { svc: [] as Awaited<ReturnType<typeof loadRequests>>[], echo: [] as Awaited<ReturnType<typeof loadRequests>>[] };
    for (let r = 0; r < 3; r++) {
      e2e.echo.push(await loadRequests(echoUrl, body, 64, 2000, tls.caPem));
      e2e.svc.push(await loadRequests(svcUrl, body, 64, 2000, tls.caPem));
    }
    const svcBest = e2e.svc.sort((a, b) => a.perSecond - b.perSecond)[1]!;
    const echoBest = e2e.echo.sort((a, b) => a.perSecond - b.perSecond)[1]!;
    results.push(
      ratioResult("tokens/s, 64 HTTPS clients, vs a bare HTTPS echo of the same requests", svcBest.perSecond, echoBest.perSecond, "req/s", { min: 0.5 }, `RS256 tokens; p50 ${svcBest.p50Ms.toFixed(1)} ms, p99 ${svcBest.p99Ms.toFixed(1)} ms (echo p99 ${echoBest.p99Ms.toFixed(1)} ms); median of 3 rounds`),
    );
    await service.close(2000);
    await new Promise<void>((r) => echo.close(() => r()));
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};

export default bench;
