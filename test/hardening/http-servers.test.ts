// Every HTTP server we run, as it runs (a real `confcom` process), against hand-written request lines
// over raw TCP or TLS: each invalid request target gets a 4xx, and the next legitimate request is still
// served by the same process.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import { spawnCli, type Child } from "../deviceplugin/helpers.js";
import { within } from "../support/timeout.js";

const BAD_TARGETS = ["//", "//[", "http://[", "//a b", "*", "http://a b", "//[::1", "/\x7f", "/a\u00e9", "//%zz?%zz", "http://[::1]:x/", "/" + "a".repeat(9000)];

type Connect = () => net.Socket;

/** Sends `request` as is and resolves with the status code of the first response (0: closed without one). */
function rawStatus(connect: Connect, request: string): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const sock = connect();
      let buf = "";
      sock.setEncoding("latin1");
      sock.on("data", (d: string) => {
        buf += d;
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
        if (m) {
          resolve(Number(m[1]));
          sock.destroy();
        }
      });
      sock.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" ? resolve(0) : reject(err)));
      sock.on("close", () => resolve(0));
      sock.write(Buffer.from(request, "latin1"));
    }),
    10_000,
    `a response to ${JSON.stringify(request.slice(0, 40))}`,
  );
}

const get = (target: string, host: string) => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

async function assertSurvivesBadTargets(name: string, child: Child, connect: Connect, host: string, good: string, goodStatus: number): Promise<void> {
  for (const target of BAD_TARGETS) {
    const status = await rawStatus(connect, get(target, host));
    assert.ok(status >= 400 && status < 500, `${name}: ${JSON.stringify(target.slice(0, 40))} got ${status || "no response"}, expected a 4xx`);
    assert.equal(await rawStatus(connect, get(good, host)), goodStatus, `${name}: still serving after ${JSON.stringify(target.slice(0, 40))}`);
  }
  // Same, with a body and a bad method in one go.
  assert.equal(await rawStatus(connect, `POST http://[ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 3\r\n\r\nabc`), 400);
  assert.equal(child.proc.exitCode, null, `${name} exited:\n${child.stderr()}`);
}

const portOf = async (child: Child, msg: string) => (await child.waitForLog((l) => typeof l.port === "number" && String(l.msg).includes(msg))).port as number;

describe("HTTP servers survive invalid request targets", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-http-"));
  const children: Child[] = [];
  after(async () => {
    for (const c of children) c.proc.kill("SIGTERM");
    await Promise.all(children.map((c) => within(c.exited, 10_000, "the daemon to exit")));
    rmSync(dir, { recursive: true, force: true });
  });

  describe("confcom pccs (and its ops server)", () => {
    let child: Child;
    let port = 0;
    let opsPort = 0;
    before(async () => {
      await initPlatform(path.join(dir, "sim"), { seed: "http-hardening" });
      child = spawnCli(["pccs", "--state", path.join(dir, "sim"), "--port", "0", "--metrics-addr", "127.0.0.1:0"]);
      children.push(child);
      const line = await child.waitForLog((l) => typeof l.url === "string");
      port = Number(new URL(line.url as string).port);
      opsPort = await portOf(child, "/metrics");
    });

    test("PCCS: each bad target is a 4xx, and the TCB Info is still served", async () => {
      await assertSurvivesBadTargets("pccs", child, () => net.connect(port, "127.0.0.1"), "127.0.0.1", "/sgx/certification/v4/qe/identity", 200);
      assert.equal(await rawStatus(() => net.connect(port, "127.0.0.1"), get("//sgx/certification/v4/qe/identity", "x")), 404);
    });

    test("ops server: each bad target is a 4xx, and /healthz still answers", async () => {
      await assertSurvivesBadTargets("pccs ops", child, () => net.connect(opsPort, "127.0.0.1"), "127.0.0.1", "/healthz", 200);
    });
  });

  describe("confcom webhook (and its ops server)", () => {
    let child: Child;
    let port = 0;
    let opsPort = 0;
    let ca = "";
    before(async () => {
      const t = await issueWebhookTls({ dnsNames: ["confcom-webhook.kube-system.svc"], ipAddresses: ["127.0.0.1"] });
      ca = t.caPem;
      writeFileSync(path.join(dir, "tls.crt"), t.certPem);
      writeFileSync(path.join(dir, "tls.key"), t.keyPem, { mode: 0o600 });
      child = spawnCli(["webhook", "--tls-cert", path.join(dir, "tls.crt"), "--tls-key", path.join(dir, "tls.key"), "--host", "127.0.0.1", "--port", "0", "--metrics-addr", "127.0.0.1:0"]);
      children.push(child);
      port = await portOf(child, "AdmissionReviews");
      opsPort = await portOf(child, "/metrics");
    });

    test("webhook: each bad target is a 4xx over TLS, and a review is still answered", async () => {
      const connect = () => tls.connect({ port, host: "127.0.0.1", ca, servername: "confcom-webhook.kube-system.svc" });
      const review = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { kind: "Pod" }, operation: "CREATE", object: { spec: { containers: [] } } } });
      const good = `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${review.length}\r\n\r\n${review}`;
      for (const target of BAD_TARGETS) {
        const status = await rawStatus(connect, get(target, "x"));
        assert.ok(status >= 400 && status < 500, `webhook: ${JSON.stringify(target.slice(0, 40))} got ${status || "no response"}, expected a 4xx`);
        assert.equal(await rawStatus(connect, good), 200, `webhook: still serving after ${JSON.stringify(target.slice(0, 40))}`);
      }
      assert.equal(child.proc.exitCode, null, child.stderr());
    });

    test("webhook ops server: each bad target is a 4xx, and /readyz still answers", async () => {
      await assertSurvivesBadTargets("webhook ops", child, () => net.connect(opsPort, "127.0.0.1"), "127.0.0.1", "/readyz", 200);
    });
  });
});
