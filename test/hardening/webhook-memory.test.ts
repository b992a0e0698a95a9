// The webhook as the Deployment runs it (a real process with the heap its 192 Mi limit gets) against
// hostile clients: many connections uploading AdmissionReview-sized bodies, and thousands of TCP
// connections that never finish the TLS handshake. Peak RSS stays under 150 MiB and a legitimate review
// is still answered. Small counts in `npm test`, the review's counts with SOAK_SCALE=full.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { scale, summary, mib } from "../soak/scale.js";
import { within } from "../support/timeout.js";
import { startWebhookProcess, postReview, type WebhookProcess } from "./webhook-process.js";

/** What the webhook Deployment's NODE_OPTIONS must be for these figures (limit 192 Mi). */
const WEBHOOK_NODE_OPTIONS = "--max-semi-space-size=1 --max-old-space-size=96";
const TARGET_KIB = 150 * 1024;

const status = (pid: number, field: "VmHWM" | "VmRSS") => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

describe("webhook memory under hostile clients", { timeout: 180_000 }, () => {
  let wh: WebhookProcess;
  before(async () => {
    wh = await startWebhookProcess([], { NODE_OPTIONS: WEBHOOK_NODE_OPTIONS });
  });
  after(() => wh.stop());

  test("connections uploading 3 MiB bodies (half of them stalling before the last byte)", async () => {
    const conns = scale(24, 60);
    const size = 3 << 20;
    const idle = status(wh.pid, "VmRSS");
    const chunk = Buffer.alloc(64 << 10, 0x61);
    const sockets: tls.TLSSocket[] = [];
    const uploads = Array.from({ length: conns }, (_, i) =>
      within(
        new Promise<void>((resolve) => {
          const s = wh.connect();
          sockets.push(s);
          s.resume();
          s.on("error", () => resolve());
          s.on("close", () => resolve());
          s.once("secureConnect", async () => {
            s.write(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
            const stall = i % 2 === 1;
            for (let sent = 0; sent < size - (stall ? 1 : 0); sent += chunk.length) {
              const piece = chunk.subarray(0, Math.min(chunk.length, size - (stall ? 1 : 0) - sent));
              if (!s.write(piece)) await new Promise((r) => s.once("drain", r));
              if (s.destroyed) return resolve();
            }
            if (stall) resolve();
          });
        }),
        60_000,
        `upload ${i}`,
      ),
    );
    // While they upload and stall, a legitimate review is answered.
    const started = Date.now();
    const answer = await postReview(wh, "during-bodies");
    const answeredMs = Date.now() - started;
    assert.equal(answer.status, 200);
    await Promise.all(uploads);
    const second = await postReview(wh, "after-bodies");
    assert.equal(second.status, 200);
    const hwm = status(wh.pid, "VmHWM");
    for (const s of sockets) s.destroy();
    summary("webhook-bodies", { connections: conns, bodyMiB: 3, rssIdle: mib(idle), rssPeak: mib(hwm), reviewAnsweredMs: answeredMs });
    assert.ok(hwm < TARGET_KIB, `peak RSS ${mib(hwm)} with ${conns} uploads of 3 MiB, target under ${mib(TARGET_KIB)}`);
  });

  test("TCP connections that never finish the TLS handshake are capped and timed out", async () => {
    const conns = scale(1000, 4000);
    const raw: net.Socket[] = [];
    let closedByServer = 0;
    const closed: Promise<void>[] = [];
    for (let i = 0; i < conns; i++) {
      const s = net.connect(wh.port, "127.0.0.1");
      raw.push(s);
      s.resume();
      s.on("error", () => {});
      closed.push(new Promise<void>((resolve) => s.once("close", () => (closedByServer++, resolve()))));
      // Half send the start of a ClientHello record (a 512-byte record announced, 0 sent), half nothing.
      if (i % 2 === 0) s.once("connect", () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])));
      if (i % 200 === 199) await new Promise((r) => setImmediate(r));
    }
    const started = Date.now();
    const answer = await postReview(wh, "during-handshakes");
    assert.equal(answer.status, 200, "a legitimate review during the flood");
    const answeredMs = Date.now() - started;
    // Every stalled connection is closed by the server within the handshake timeout (5 s) and slack.
    await within(Promise.all(closed), 20_000, `the server to close all ${conns} stalled connections`);
    const heldMs = Date.now() - started;
    const hwm = status(wh.pid, "VmHWM");
    summary("webhook-handshakes", { connections: conns, rssPeak: mib(hwm), reviewAnsweredMs: answeredMs, allClosedMs: heldMs });
    assert.equal(closedByServer, conns);
    assert.ok(hwm < TARGET_KIB, `peak RSS ${mib(hwm)} with ${conns} stalled handshakes, target under ${mib(TARGET_KIB)}`);
    assert.equal((await postReview(wh, "after-handshakes")).status, 200);
  });
});
