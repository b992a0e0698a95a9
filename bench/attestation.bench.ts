// The attestation service end to end: tokens/s with 64 concurrent HTTPS clients against
// `confcom attestation-service` as deployed, beside a bare HTTPS echo of the same requests (a 64-character
// answer, no work) and, per signing algorithm, an echo that does only a token's unavoidable crypto on the
// service's thread arrangement and answers as many bytes as the service; p99 printed. Same TLS certificate,
// same request bodies, same key sizes, keep-alive on both sides. (Its verifier's cold and new-PCK costs
// are in verify.bench.ts.)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import crypto from "node:crypto";
import { type Bench, type BenchResult, percentile, ratioResult } from "./harness.js";
import { startChild, stopChild } from "./support/child.js";
import { quoteOf } from "../test/support/sim-quotes.js";
import { silentLogger } from "../src/common/log.js";
import { issueWebhookTls } from "../src/addon/tls.js";
import { startPccs } from "../src/pccs/server.js";
import { initPlatform } from "../src/sim/platform/init.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cliEntry = path.resolve(here, "../src/cli/main.js");
const echoEntry = path.join(here, "support/https-echo.js");

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

/** One request's answer body, as the service sends it. */
function fetchAnswer(url: string, body: string, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: "POST", ca, headers: { "content-type": "application/json" }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end(body);
  });
}

const bench: Bench = async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "confcom-attest-bench-"));
  try {
    const dir = path.join(tmp, "sim");
    const platform = await initPlatform(dir, { seed: "attestation-bench" });
    const results: BenchResult[] = [];

    // End to end: tokens/s through `confcom attestation-service` as deployed (its own process, collateral
    // from a PCCS) vs a bare HTTPS echo process, 64 keep-alive clients each from this process.
    const tls = await issueWebhookTls({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const files = { cert: path.join(tmp, "tls.crt"), key: path.join(tmp, "tls.key"), root: path.join(tmp, "root.pem"), state: path.join(tmp, "service") };
    writeFileSync(files.cert, tls.certPem);
    writeFileSync(files.key, tls.keyPem, { mode: 0o600 });
    writeFileSync(files.root, platform.rootCaPem);
    const runtime = Buffer.from("bench runtime data");
    const quote = quoteOf(platform, Buffer.concat([crypto.createHash("sha256").update(runtime).digest(), Buffer.alloc(32)]));
    const body = JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: runtime.toString("base64url"), dataType: "Binary" } });
    const pccs = await startPccs({ stateDir: dir, host: "127.0.0.1", port: 0, log: silentLogger() });
    const serviceArgs = [cliEntry, "attestation-service", "--pccs", pccs.url, "--root", files.root, "--tls-cert", files.cert, "--tls-key", files.key, "--host", "127.0.0.1", "--port", "0"];
    const ready = /^(https:\/\/\S+)$/m;
    const started: Awaited<ReturnType<typeof startChild>>[] = [];
    const start = async (args: string[]) => {
      const c = await startChild(args, ready);
      started.push(c);
      return c;
    };
    const common = ["--rate-limit", "0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"];
    try {
      const services = {
        RS256: await start([...serviceArgs, "--state-dir", `${files.state}-rs`, "--alg", "RS256", ...common]),
        ES256: await start([...serviceArgs, "--state-dir", `${files.state}-es`, "--alg", "ES256", ...common]),
      };
      const url = (c: { match: RegExpExecArray }) => `${c.match[1]}/attest/SgxEnclave?api-version=2022-08-01`;
      // The crypto echoes answer as many bytes as the service does (a token), so both encrypt the same answer.
      const answerBytes = async (c: { match: RegExpExecArray }) => String((await fetchAnswer(url(c), body, tls.caPem)).length);
      const echoes = {
        bare: await start([echoEntry, files.cert, files.key]),
        RS256: await start([echoEntry, files.cert, files.key, "RS256", await answerBytes(services.RS256)]),
        ES256: await start([echoEntry, files.cert, files.key, "ES256", await answerBytes(services.ES256)]),
      };
      const targets = { rs: url(services.RS256), es: url(services.ES256), echo: url(echoes.bare), cryptoEcho: url(echoes.RS256), esCryptoEcho: url(echoes.ES256) };
      type Load = Awaited<ReturnType<typeof loadRequests>>;
      const runs: Record<keyof typeof targets, Load[]> = { rs: [], es: [], echo: [], cryptoEcho: [], esCryptoEcho: [] };
      for (const u of Object.values(targets)) await loadRequests(u, body, 64, 300, tls.caPem);
      for (let r = 0; r < 3; r++) for (const [k, u] of Object.entries(targets)) runs[k as keyof typeof targets].push(await loadRequests(u, body, 64, 2000, tls.caPem));
      const mid = (k: keyof typeof targets) => runs[k].sort((a, b) => a.perSecond - b.perSecond)[1]!;
      const p = (l: Load) => `p50 ${l.p50Ms.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms`;
      const how = "service and echoes each in its own process, clients in the bench's; median of 3 interleaved rounds";
      results.push(
        ratioResult("tokens/s, 64 HTTPS clients, vs a bare HTTPS echo of the same requests", mid("rs").perSecond, mid("echo").perSecond, "req/s", { min: 0.5 }, `RS256 tokens (the default); ${p(mid("rs"))} (echo ${p(mid("echo"))}); ${how}`),
        ratioResult("tokens/s (RS256) vs an echo doing only its unavoidable crypto (2 P-256 verifies, 1 RSA-2048 signature)", mid("rs").perSecond, mid("cryptoEcho").perSecond, "req/s", { min: 0.8 }, `the RS256 ceiling: that echo reaches ${(mid("cryptoEcho").perSecond / mid("echo").perSecond).toFixed(2)}x of the bare one (${p(mid("cryptoEcho"))})`),
        ratioResult("tokens/s, ES256 tokens (--alg ES256), vs a bare HTTPS echo", mid("es").perSecond, mid("echo").perSecond, "req/s", { min: 0.5 }, p(mid("es"))),
        ratioResult("tokens/s (ES256) vs an echo doing only its unavoidable crypto (2 P-256 verifies, 1 P-256 signature)", mid("es").perSecond, mid("esCryptoEcho").perSecond, "req/s", { min: 0.8 }, `the ES256 ceiling: that echo reaches ${(mid("esCryptoEcho").perSecond / mid("echo").perSecond).toFixed(2)}x of the bare one (${p(mid("esCryptoEcho"))})`),
      );
    } finally {
      await Promise.all([...started.map((c) => stopChild(c.child)), pccs.close()]);
    }
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};

export default bench;
