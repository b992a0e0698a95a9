// Oversized AdmissionReviews against the real webhook process, sent by a real HTTPS client that keeps
// uploading: the client reads a 413, not an EPIPE or a reset, whether the length was declared, chunked,
// or announced with Expect: 100-continue.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { within } from "../support/timeout.js";
import { postReview, SERVER_NAME, startWebhookProcess, type WebhookProcess } from "../hardening/webhook-process.js";

// The default limit (3 MiB): uploads of a few times that outrun what loopback socket buffers absorb.
const LIMIT = 3 << 20;

interface Outcome {
  status?: number;
  body?: string;
  error?: string;
  continued: boolean;
}

/**
 * Uploads `total` bytes in 64 KiB writes (honouring backpressure) and reports what the client saw, once
 * both the response and the upload are over: an EPIPE or reset after the 413 counts too.
 */
function upload(wh: WebhookProcess, total: number, headers: Record<string, string | number>): Promise<Outcome> {
  return within(
    new Promise<Outcome>((resolve) => {
      const out: Outcome = { continued: false };
      let responded = false;
      let uploaded = false;
      const settle = () => responded && uploaded && resolve(out);
      const req = https.request({ host: "127.0.0.1", port: wh.port, path: "/mutate", method: "POST", ca: wh.ca, servername: SERVER_NAME, agent: false, headers: { "content-type": "application/json", ...headers } }, (res) => {
        out.status = res.statusCode;
        out.body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (out.body += d));
        res.on("end", () => ((responded = true), settle()));
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        out.error ??= e.code ?? e.message;
        responded = uploaded = true;
        settle();
      });
      req.on("finish", () => ((uploaded = true), settle()));
      req.on("close", () => ((responded = uploaded = true), settle()));
      const send = async () => {
        const chunk = Buffer.alloc(64 << 10, 0x20);
        for (let sent = 0; sent < total && !req.destroyed; sent += chunk.length) {
          if (!req.write(chunk.subarray(0, Math.min(chunk.length, total - sent)))) await new Promise((r) => (req.once("drain", r), req.once("close", r)));
        }
        req.end();
      };
      if (headers.expect === "100-continue") {
        // Refused before the body: nothing to upload unless invited.
        uploaded = true;
        req.on("continue", () => {
          out.continued = true;
          uploaded = false;
          void send();
        });
        req.flushHeaders();
      } else void send();
    }),
    20_000,
    "the webhook's answer to an oversized upload",
  );
}

describe("webhook: oversized bodies get their 413", () => {
  let wh: WebhookProcess;
  before(async () => {
    wh = await startWebhookProcess();
  });
  after(() => wh.stop());

  test("declared Content-Length over the limit: 413 before the body, the client uploads it all without EPIPE", async () => {
    const r = await upload(wh, 3 * LIMIT, { "content-length": 3 * LIMIT });
    assert.equal(r.error, undefined, `client error: ${r.error}`);
    assert.equal(r.status, 413);
    assert.match(r.body!, new RegExp(`body of ${3 * LIMIT} bytes exceeds the limit of ${LIMIT}`));
  });

  test("chunked body that grows over the limit: 413, no EPIPE", async () => {
    const r = await upload(wh, 3 * LIMIT, {});
    assert.equal(r.error, undefined, `client error: ${r.error}`);
    assert.equal(r.status, 413);
    assert.match(r.body!, new RegExp(`body exceeds the limit of ${LIMIT} bytes`));
  });

  test("Expect: 100-continue over the limit: 413 and no invitation to send the body", async () => {
    const r = await upload(wh, 3 * LIMIT, { "content-length": 3 * LIMIT, expect: "100-continue" });
    assert.equal(r.status, 413);
    assert.equal(r.continued, false, "the server sent 100 Continue for a body it refuses");
  });

  test("Expect: 100-continue within the limit is invited and answered", async () => {
    const review = Buffer.from(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "c1", object: { spec: { containers: [] } } } }));
    const r = await within(
      new Promise<Outcome>((resolve, reject) => {
        const req = https.request({ host: "127.0.0.1", port: wh.port, path: "/mutate", method: "POST", ca: wh.ca, servername: SERVER_NAME, agent: false, headers: { "content-length": review.length, expect: "100-continue" } }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode, continued: true }));
        });
        req.on("error", reject);
        req.on("continue", () => req.end(review));
        req.flushHeaders();
      }),
      10_000,
      "a 100-continue review",
    );
    assert.equal(r.status, 200);
  });

  test("far over the discard bound: the 413 still arrives first, then the connection is cut", async () => {
    const r = await upload(wh, 20 * LIMIT, { "content-length": 20 * LIMIT });
    assert.equal(r.status, 413);
  });

  test("still serving after all that", async () => {
    assert.equal((await postReview(wh, "after-413s")).status, 200);
  });
});
