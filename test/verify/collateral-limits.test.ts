// A hostile PCCS on loopback answering every endpoint with an endless (or hugely declared) body: the
// client, `quote verify --pccs` as a real process, and the QuoteVerifier library each stop at the
// collateral bound with a clear error, and the CLI's memory stays bounded.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fetchCollateral, PccsClientError } from "../../src/pccs/client.js";
import { DEFAULT_MAX_COLLATERAL_BYTES, EXIT_CODES, QuoteVerifier, VerificationError } from "../../src/verify/index.js";
import { listen } from "../../src/common/listen.js";
import { cliEntry } from "../support/paths.js";
import { within } from "../support/timeout.js";
import { SIM_NOW, simRig, type SimRig } from "./sim.js";

const MIB = 1 << 20;

interface Hostile {
  url: string;
  /** Bytes of body written to clients so far. */
  sent(): number;
  close(): Promise<void>;
}

/** Streams 1 MiB chunks forever (`declare` unset) or declares `declare` bytes and streams towards it. */
async function hostilePccs(declare?: number): Promise<Hostile> {
  let sent = 0;
  const chunk = Buffer.alloc(MIB, 0x41);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json", ...(declare ? { "content-length": declare } : {}) });
    const pump = () => {
      while (!res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
    };
    res.on("error", () => {});
    pump();
  });
  await listen(server, { port: 0, host: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const FMSPC = "00606A000000";

describe("collateral size bounds", () => {
  let rig: SimRig;
  before(async () => {
    rig = await simRig("limits");
  });

  test("fetchCollateral: an endless body is cut at the bound, with the URL and the limit in the error", async () => {
    const h = await hostilePccs();
    try {
      await assert.rejects(
        within(fetchCollateral(h.url, FMSPC, "processor", { maxResponseBytes: 2 * MIB }), 20_000, "the client to give up"),
        (e: unknown) => e instanceof PccsClientError && /GET http:\/\/127\.0\.0\.1:\d+\/sgx\/certification\/v4\/\S+: response body \(more than 2097152 bytes streamed\) is over the limit of 2097152 bytes/.test(e.message),
      );
      // Four responses, each read to a little over the bound (socket buffers aside), never to the end.
      assert.ok(h.sent() < 4 * 2 * MIB + 64 * MIB, `the server wrote ${h.sent()} bytes`);
    } finally {
      await h.close();
    }
  });

  test("fetchCollateral: a declared Content-Length over the bound is refused before the body is read", async () => {
    const h = await hostilePccs(1_500_000_000);
    try {
      await assert.rejects(within(fetchCollateral(h.url, FMSPC, "processor"), 20_000, "the client to give up"), /response body of 1500000000 bytes is over the limit of 4194304 bytes/);
    } finally {
      await h.close();
    }
  });

  test("quote verify --pccs against the endless PCCS: exit 24 with a clear error, RSS bounded", async () => {
    const h = await hostilePccs();
    const quote = path.join(rig.dir, "..", "q.bin");
    const root = path.join(rig.dir, "..", "root.pem");
    writeFileSync(quote, rig.quote());
    writeFileSync(root, rig.rootPem);
    try {
      const child = spawn(process.execPath, [cliEntry, "quote", "verify", quote, "--pccs", h.url, "--root", root], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      let peakKiB = 0;
      const poll = setInterval(() => {
        try {
          peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]));
        } catch {
          // exited between ticks
        }
      }, 20);
      const code = await within(new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c))), 30_000, "quote verify to exit");
      clearInterval(poll);
      assert.equal(code, EXIT_CODES["collateral-unavailable"], stderr);
      assert.match(stderr, /cannot fetch collateral for FMSPC [0-9A-F]{12} \(processor CA\) from http:\/\/127\.0\.0\.1:\d+: GET \S+: response body .* is over the limit of 4194304 bytes/);
      // Node itself is ~50 MiB; four capped bodies add at most ~16 MiB (before: 3 GiB for 1.5 GB).
      assert.ok(peakKiB > 0 && peakKiB < 200 * 1024, `peak RSS ${(peakKiB / 1024).toFixed(1)} MiB`);
    } finally {
      await h.close();
    }
  });

  test("QuoteVerifier refuses a collateral document over its bound (given or from a source)", async () => {
    const c = await rig.collateral();
    const small = new QuoteVerifier({ trustedRootPem: rig.rootPem, maxCollateralBytes: 1024 });
    const sizeFailure = (e: unknown) => e instanceof VerificationError && e.step === "collateral.size" && /collateral\.\w+ is \d+ bytes, above the limit of 1024/.test(e.message);
    await assert.rejects(small.verify(rig.quote(), { collateral: c, now: SIM_NOW }), sizeFailure);
    const fromSource = new QuoteVerifier({ trustedRootPem: rig.rootPem, maxCollateralBytes: 1024, collateralSource: async () => c });
    await assert.rejects(fromSource.verify(rig.quote(), { now: SIM_NOW }), sizeFailure);
    // The default bound is far above real collateral: the same collateral verifies.
    assert.equal((await new QuoteVerifier({ trustedRootPem: rig.rootPem }).verify(rig.quote(), { collateral: c, now: SIM_NOW })).status, "UpToDate");
    const huge = { ...c, tcb_info: c.tcb_info + " ".repeat(DEFAULT_MAX_COLLATERAL_BYTES) };
    await assert.rejects(new QuoteVerifier({ trustedRootPem: rig.rootPem }).verify(rig.quote(), { collateral: huge, now: SIM_NOW }), { step: "collateral.size" });
  });
});

