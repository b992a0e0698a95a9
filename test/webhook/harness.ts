// `confcom webhook` in a child process with given flags, called over real TLS with AdmissionReviews,
// and the API server's side of a JSON patch (RFC 6902 add and replace), applied independently.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { cliEntry } from "../support/paths.js";

export type Obj = Record<string, any>;
const SERVERNAME = "confcom-webhook.kube-system.svc";

export interface RunningWebhook {
  port: number;
  metricsPort: number;
  ca: string;
  stop(): void;
}

export interface Answer {
  status: number;
  body: Obj;
}

function waitForLog(proc: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  let buf = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no log line matching ${re} in: ${buf}`)), 30_000);
    proc.stderr!.on("data", (c: Buffer) => {
      buf += c.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`webhook exited (${code}): ${buf}`));
    });
  });
}

/** `env` is added to this process's environment, e.g. the Deployment's NODE_OPTIONS. */
export async function startWebhook(flags: string[] = [], env: Record<string, string> = {}): Promise<RunningWebhook> {
  const tls = await issueWebhookTls({ dnsNames: [SERVERNAME], ipAddresses: ["127.0.0.1"] });
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-webhook-"));
  writeFileSync(path.join(dir, "tls.crt"), tls.certPem);
  writeFileSync(path.join(dir, "tls.key"), tls.keyPem, { mode: 0o600 });
  const args = [cliEntry, "webhook", "--tls-cert", path.join(dir, "tls.crt"), "--tls-key", path.join(dir, "tls.key"), "--host", "127.0.0.1", "--port", "0", "--metrics-addr", "127.0.0.1:0", ...flags];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  const [m, ops] = await Promise.all([waitForLog(child, /"port":(\d+),"msg":"serving AdmissionReviews/), waitForLog(child, /"port":(\d+),"msg":"serving \/metrics/)]);
  return { port: Number(m[1]), metricsPort: Number(ops[1]), ca: tls.caPem, stop: () => child.kill("SIGTERM") };
}

/** One HTTPS request to the webhook; the body is parsed as JSON (an empty one as {}). */
export function post(hook: RunningWebhook, pathname: string, payload: string | Buffer, opts: { method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port: hook.port, path: pathname, method: opts.method ?? "POST", ca: hook.ca, servername: SERVERNAME, headers: { "content-type": "application/json" }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Obj });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end(payload);
  });
}

/** An AdmissionReview of a pod CREATE; `extra` overrides request fields (e.g. the operation). */
export function review(pod: Obj, extra: Obj = {}): Obj {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace: "default",
      userInfo: { username: "tenant" },
      object: pod,
      dryRun: false,
      ...extra,
    },
  };
}

/** One review, checked as the API server checks the answer: the response, and the decoded patch if any. */
export async function admit(hook: RunningWebhook, endpoint: "mutate" | "validate", pod: Obj): Promise<{ response: Obj; patch?: Obj[] }> {
  const rev = review(pod);
  const a = await post(hook, `/${endpoint}`, JSON.stringify(rev));
  assert.equal(a.status, 200);
  assert.equal(a.body.apiVersion, "admission.k8s.io/v1");
  assert.equal(a.body.kind, "AdmissionReview");
  const response = a.body.response as Obj;
  assert.equal(response.uid, rev.request.uid, "the response echoes request.uid");
  const patch = response.patch ? (JSON.parse(Buffer.from(response.patch, "base64").toString()) as Obj[]) : undefined;
  assert.equal(response.patchType, patch ? "JSONPatch" : undefined);
  return { response, patch };
}

/** RFC 6902 add and replace as the API server applies them: add on an existing member fails here, so that a replace is explicit. */
export function applyPatch(doc: Obj, ops: Obj[]): Obj {
  const out = structuredClone(doc);
  for (const op of ops) {
    assert.ok(op.op === "add" || op.op === "replace", `op ${op.op}`);
    const parts = (op.path as string).split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop()!;
    let target: any = out;
    for (const p of parts) {
      target = target[p];
      assert.ok(target !== undefined && target !== null, `patch path ${op.path} must exist`);
    }
    if (Array.isArray(target)) {
      assert.equal(op.op, "add");
      if (last === "-") target.push(op.value);
      else target.splice(Number(last), 0, op.value);
    } else if (op.op === "add") {
      assert.ok(!(last in target), `add at ${op.path} must not replace an existing member`);
      target[last] = op.value;
    } else {
      assert.ok(last in target, `replace at ${op.path} needs an existing member`);
      target[last] = op.value;
    }
  }
  return out;
}

/** Mutates until no patch comes back, as reinvocation would; `rounds` is how many patches it took. */
export async function mutateToFixpoint(hook: RunningWebhook, pod: Obj): Promise<{ pod: Obj; rounds: number }> {
  let current = pod;
  for (let rounds = 0; rounds < 5; rounds++) {
    const { patch } = await admit(hook, "mutate", current);
    if (!patch) return { pod: current, rounds };
    current = applyPatch(current, patch);
  }
  throw new Error("the mutation never settles");
}
