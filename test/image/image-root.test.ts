// The image without Docker: `scripts/image-root.mjs DIR` lays out what the Dockerfile's final stage copies
// to /, and every daemon and the demo run from that tree, outside the repository, through its entrypoint
// (DIR/usr/local/bin/confcom) from its working directory, as the image's user where the manifests use it
// (65532 for the webhook, the PCCS and the sample; uid 0 without capabilities for the device plugin and
// the quote helper). Running as 65532 needs root here; otherwise they run as this user.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { nodeDaemonEnv } from "../../src/addon/manifests/common.js";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from "../../src/common/node-options.js";
import { PLUGIN_ENV } from "../../src/deviceplugin/defaults.js";
import { SimulatedKubelet } from "../../src/kubelet/simulated-kubelet.js";
import { buildFakeDcap, type FakeDcap } from "../quoting/fake-dcap/fake-dcap.js";
import { literalEnv } from "../support/container-env.js";
import { repoRoot } from "../support/paths.js";

const run = promisify(execFile);
const IMAGE_ID = 65532;
const asImageUser = process.getuid?.() === 0 ? { uid: IMAGE_ID, gid: IMAGE_ID } : {};
const START_TIMEOUT_MS = 30_000;

let dir: string;
let tree: string;
let entry: string;
let workdir: string;

/** What the Dockerfile's final stage says (the lines after the last FROM). */
function finalStage(): string[] {
  const lines = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8").split("\n");
  const from = lines.map((l, i) => (/^FROM /.test(l) ? i : -1)).filter((i) => i >= 0).pop()!;
  return lines.slice(from).filter((l) => !l.startsWith("#"));
}

function env(): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent" };
}

/** Runs the tree's entrypoint with `args` as a daemon; resolves once `ready` matches its stderr. */
function startDaemon(
  args: string[],
  ready: RegExp,
  user: { uid?: number; gid?: number } = {},
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray; log(): string }> {
  const child = spawn(entry, args, { cwd: workdir, env: { ...env(), ...extraEnv }, stdio: ["ignore", "ignore", "pipe"], ...user });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${log}`)), START_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${code}): ${log}`));
    });
    child.stderr!.on("data", (c: Buffer) => {
      log += c.toString();
      const m = ready.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, log: () => log });
      }
    });
  });
}

/** The env a node daemon's DaemonSet gives its container (its fieldRefs aside). */
function daemonSetEnv(malloc: Readonly<Record<string, string>>): Record<string, string> {
  return literalEnv(nodeDaemonEnv(malloc));
}

/** The entrypoint exec'd node (same pid) with the DaemonSet's command-line flags before the bundle. */
function assertNodeFlags(child: ChildProcess): void {
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
  assert.match(argv[0]!, /node$/);
  assert.deepEqual(argv.slice(1, 1 + DAEMON_NODE_FLAGS.length), DAEMON_NODE_FLAGS);
  assert.match(argv[1 + DAEMON_NODE_FLAGS.length]!, /\/opt\/confcom\/confcom\.mjs$/);
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

function get(port: number, pathname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: pathname, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error(`${pathname} timed out`)));
    req.on("error", reject);
  });
}

/** A directory the image's user may write in (sockets, state). */
function userDir(name: string): string {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  if (asImageUser.uid !== undefined) chownSync(d, IMAGE_ID, IMAGE_ID);
  return d;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "confcom-image-"));
  chmodSync(dir, 0o755);
  tree = path.join(dir, "root");
  const { stdout } = await run(process.execPath, [path.join(repoRoot, "scripts/image-root.mjs"), tree], { cwd: repoRoot, timeout: 120_000 });
  assert.match(stdout, /USER 65532:65532, WORKDIR \/opt\/confcom, ENTRYPOINT \["\/usr\/local\/bin\/confcom"\]/);
  entry = path.join(tree, "usr/local/bin/confcom");
  workdir = path.join(tree, "opt/confcom");
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("the image tree", () => {
  it("holds the bundle, koffi's binary, the entrypoint, and a passwd and group with 65532", () => {
    for (const f of ["confcom.mjs", "worker.js", "backends/simulated.js", "attestation-app.mjs", "package.json", "node_modules/koffi/package.json"]) {
      assert.ok(existsSync(path.join(workdir, f)), f);
    }
    assert.ok(existsSync(path.join(workdir, "node_modules/@koromix")), "koffi's prebuilt binary package");
    assert.equal(statSync(entry).mode & 0o755, 0o755);
    const passwd = readFileSync(path.join(tree, "etc/passwd"), "utf8");
    const group = readFileSync(path.join(tree, "etc/group"), "utf8");
    assert.match(passwd, /^nonroot:x:65532:65532:[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/m);
    assert.match(group, /^nonroot:x:65532:$/m);
    assert.match(passwd, /^root:x:0:0:/m, "the base image's users are kept");
  });

  it("is what the Dockerfile's final stage copies, with its USER, WORKDIR and ENTRYPOINT", () => {
    const stage = finalStage();
    const dockerfile = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
    assert.match(dockerfile, /node scripts\/image-root\.mjs \/image-root/, "the build stage runs the script");
    assert.ok(stage.includes("COPY --from=build /image-root/ /"), stage.join("\n"));
    assert.ok(stage.includes("USER 65532:65532"));
    assert.ok(stage.includes("WORKDIR /opt/confcom"));
    assert.ok(stage.includes('ENTRYPOINT ["/usr/local/bin/confcom"]'));
    const passwd = readFileSync(path.join(tree, "etc/passwd"), "utf8");
    const [, uid, gid] = /^USER (\d+):(\d+)$/m.exec(stage.join("\n"))!;
    assert.match(passwd, new RegExp(`^[^:]+:x:${uid}:${gid}:`, "m"), "USER's uid and gid exist in the image's passwd");
    assert.match(readFileSync(path.join(tree, "etc/group"), "utf8"), new RegExp(`^[^:]+:x:${gid}:`, "m"));
  });

  it("prints its help and version through the entrypoint", async () => {
    const { stdout } = await run(entry, ["--version"], { cwd: workdir, env: env(), ...asImageUser });
    assert.match(stdout, /^\d+\.\d+\.\d+/);
  });
});

describe("every daemon runs from the tree", () => {
  it("the device plugin (simulated) registers both resources with a kubelet", async () => {
    const socketDir = path.join(dir, "device-plugins");
    const kubelet = new SimulatedKubelet({ socketDir });
    await kubelet.start();
    const dp = await startDaemon(["device-plugin", "--simulate", "--sim-epc-mib", "64", "--socket-dir", socketDir, "--metrics-addr", "127.0.0.1:0", "--no-node-labels"], /serving \/metrics.* on [^:]+:(\d+)/, {}, daemonSetEnv(PLUGIN_ENV));
    try {
      assertNodeFlags(dp.child);
      await kubelet.waitForRegistration("kubernetes.azure.com/sgx_epc_mem_in_MiB", { timeoutMs: 20_000 });
      await kubelet.waitFor((k) => k.capacity("kubernetes.azure.com/sgx_epc_mem_in_MiB") === 64, 20_000, "64 MiB of EPC");
      assert.equal(await get(Number(dp.match[1]), "/healthz"), 200);
    } finally {
      assert.equal(await stop(dp.child), 0);
      await kubelet.stop();
    }
  });

  it("the quote helper, simulated and dcap (koffi from the tree), answers on its socket", async () => {
    const state = path.join(userDir("sim"), "state");
    await run(entry, ["sim", "init", "--state", state], { cwd: workdir, env: env(), timeout: 30_000 });
    const fake: FakeDcap = buildFakeDcap();
    try {
      for (const [name, args] of [
        ["simulated", ["--simulate", "--sim-state", state]],
        ["dcap", ["--backend", "dcap", "--dcap-library", fake.libraryPath, "--dev-root", fake.devRoot]],
      ] as const) {
        const socket = path.join(dir, `${name}.sock`);
        const qh = await startDaemon(["quote-helper", ...args, "--socket", socket, "--metrics-addr", "127.0.0.1:0"], /quote helper listening/, {}, { ...daemonSetEnv(DAEMON_ENV), ...fake.env });
        try {
          assertNodeFlags(qh.child);
          const { stdout } = await run(entry, ["aesm", "ping", "--socket", socket], { cwd: workdir, env: env(), timeout: 20_000, ...asImageUser });
          assert.match(stdout, /1 attestation key id\(s\) supported/, name);
          const ti = path.join(userDir("out"), `${name}.ti`);
          await run(entry, ["aesm", "target-info", "--socket", socket, "--out", ti], { cwd: workdir, env: env(), timeout: 20_000, ...asImageUser });
          assert.equal(statSync(ti).size, 512, name);
        } finally {
          assert.equal(await stop(qh.child), 0, name);
        }
      }
    } finally {
      fake.remove();
    }
  });

  it("the webhook serves AdmissionReviews over TLS as the image's user", async () => {
    const tls = await issueWebhookTls({ dnsNames: ["confcom-webhook.kube-system.svc"], ipAddresses: ["127.0.0.1"] });
    const tlsDir = userDir("tls");
    writeFileSync(path.join(tlsDir, "tls.crt"), tls.certPem);
    writeFileSync(path.join(tlsDir, "tls.key"), tls.keyPem, { mode: 0o600 });
    if (asImageUser.uid !== undefined) for (const f of ["tls.crt", "tls.key"]) chownSync(path.join(tlsDir, f), IMAGE_ID, IMAGE_ID);
    const wh = await startDaemon(
      ["webhook", "--tls-cert", path.join(tlsDir, "tls.crt"), "--tls-key", path.join(tlsDir, "tls.key"), "--host", "127.0.0.1", "--port", "0", "--metrics-addr", "127.0.0.1:0"],
      /"port":(\d+),"msg":"serving AdmissionReviews/,
      asImageUser,
    );
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          { host: "127.0.0.1", port: Number(wh.match[1]), path: "/mutate", method: "POST", ca: tls.caPem, servername: "confcom-webhook.kube-system.svc", headers: { "content-type": "application/json" } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end("{}");
      });
      assert.equal(status, 400, "a malformed review is refused with 400");
    } finally {
      assert.equal(await stop(wh.child), 0);
    }
  });

  it("the PCCS serves a simulated platform's collateral as the image's user", async () => {
    const state = path.join(userDir("pccs"), "state");
    await run(entry, ["sim", "init", "--state", state], { cwd: workdir, env: env(), timeout: 30_000, ...asImageUser });
    const pccs = await startDaemon(["pccs", "--state", state, "--port", "0", "--metrics-addr", "127.0.0.1:0"], /"fmspc":"([0-9A-Fa-f]+)".*"msg":"PCCS serving (http:\/\/[^"/]+)/, asImageUser);
    try {
      const url = new URL(`/sgx/certification/v4/tcb?fmspc=${pccs.match[1]}`, pccs.match[2]);
      assert.equal(await get(Number(url.port), `${url.pathname}${url.search}`), 200);
    } finally {
      assert.equal(await stop(pccs.child), 0);
    }
  });

  it("the demo (the sample attestation app out of process) ends UpToDate as the image's user", async () => {
    const { stdout } = await run(entry, ["demo", "--json"], { cwd: workdir, env: env(), timeout: 120_000, ...asImageUser });
    const report = JSON.parse(stdout) as { ok: boolean; attestation?: { tcbStatus?: string; mode?: string } };
    assert.equal(report.ok, true, stdout);
    assert.equal(report.attestation?.tcbStatus, "UpToDate", stdout);
    assert.equal(report.attestation?.mode, "out-of-proc");
  });
});
