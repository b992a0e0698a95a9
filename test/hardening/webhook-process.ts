// `confcom webhook` as a child process with a fresh serving certificate, and a legitimate client for it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { spawnCli, type Child } from "../deviceplugin/helpers.js";
import { within } from "../support/timeout.js";

export const SERVER_NAME = "confcom-webhook.kube-system.svc";

export interface WebhookProcess {
  child: Child;
  pid: number;
  port: number;
  opsPort: number;
  ca: string;
  /** A TLS connection to the webhook that trusts its CA. */
  connect(): tls.TLSSocket;
  stop(): Promise<void>;
}

const portOf = async (child: Child, msg: string) => (await child.waitForLog((l) => typeof l.port === "number" && String(l.msg).includes(msg))).port as number;

export async function startWebhookProcess(args: string[] = [], env: Record<string, string> = {}): Promise<WebhookProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-webhook-"));
  const t = await issueWebhookTls({ dnsNames: [SERVER_NAME], ipAddresses: ["127.0.0.1"] });
  writeFileSync(path.join(dir, "tls.crt"), t.certPem);
  writeFileSync(path.join(dir, "tls.key"), t.keyPem, { mode: 0o600 });
  const child = spawnCli(["webhook", "--tls-cert", path.join(dir, "tls.crt"), "--tls-key", path.join(dir, "tls.key"), "--host", "127.0.0.1", "--port", "0", "--metrics-addr", "127.0.0.1:0", ...args], env);
  const [port, opsPort] = await Promise.all([portOf(child, "AdmissionReviews"), portOf(child, "/metrics")]);
  return {
    child,
    pid: child.proc.pid!,
    port,
    opsPort,
    ca: t.caPem,
    connect: () => tls.connect({ port, host: "127.0.0.1", ca: t.caPem, servername: SERVER_NAME }),
    stop: async () => {
      child.proc.kill("SIGTERM");
      try {
        await within(child.exited, 10_000, "the webhook to exit on SIGTERM");
      } finally {
        child.proc.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export const reviewOf = (uid: string) =>
  JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid, kind: { kind: "Pod" }, operation: "CREATE", object: { spec: { containers: [] } } } });

/** POSTs a minimal AdmissionReview on a fresh connection; resolves with the status and parsed body. */
export function postReview(wh: WebhookProcess, uid: string, timeoutMs = 10_000): Promise<{ status: number; body: Record<string, unknown> }> {
  return within(
    new Promise((resolve, reject) => {
      const req = https.request(
        { host: "127.0.0.1", port: wh.port, path: "/mutate", method: "POST", ca: wh.ca, servername: SERVER_NAME, agent: false, headers: { "content-type": "application/json" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown> }));
        },
      );
      req.on("error", reject);
      req.end(reviewOf(uid));
    }),
    timeoutMs,
    `the webhook to answer review ${uid}`,
  );
}
