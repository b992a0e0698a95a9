// `confcom quote-helper --backend dcap` as a real process over a C library with libsgx_dcap_ql's ABI (the
// fake, which behaves as Intel's does without SGX devices): the library stays mapped for the life of the
// process, readiness means a quote can be made, and Intel's output stays out of the JSON log.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AesmQuotingBackend } from "../../src/aesm/quoting-backend.js";
import { QuotingError } from "../../src/quoting/backend.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import { cliEntry } from "../support/paths.js";
import { buildFakeDcap, buildFakeDcapWithDependency, FAKE, makeDevRoot, type FakeDcap } from "./fake-dcap/fake-dcap.js";
import { parseBuildInfo } from "../../src/quotehelper/build-info.js";

const KEY = DEFAULT_ECDSA_ATT_KEY_ID;
const START_TIMEOUT_MS = 30_000;

interface Helper {
  child: ChildProcess;
  socket: string;
  metricsPort: number;
  log(): string;
  stop(): Promise<void>;
}

/** Starts the helper and resolves once it listens and serves /metrics, or rejects with its stderr. */
function startDcapHelper(dir: string, args: string[], env: Record<string, string>): Promise<Helper> {
  const socket = path.join(dir, `aesm-${Math.random().toString(36).slice(2)}.sock`);
  const child = spawn(process.execPath, [cliEntry, "quote-helper", "--backend", "dcap", "--socket", socket, "--metrics-addr", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`quote helper did not start: ${err}`)), START_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`quote helper exited (${code}): ${err}`));
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const port = /serving \/metrics.* on [^:]+:(\d+)/.exec(err);
      if (err.includes("quote helper listening") && port) {
        clearTimeout(timer);
        resolve({
          child,
          socket,
          metricsPort: Number(port[1]),
          log: () => err,
          stop: async () => {
            child.kill("SIGTERM");
            await Promise.race([exited, sleep(10_000)]);
          },
        });
      }
    });
  });
}

function readyz(port: number): Promise<{ status: number; body: string }> {
  return httpGet(`http://127.0.0.1:${port}/readyz`);
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
    req.on("error", reject);
  });
}

function report(): Buffer {
  return Buffer.alloc(432, 0x42);
}

/** Every line the helper wrote to stderr, parsed; fails on one that is not JSON. */
function jsonLines(log: string): Array<Record<string, unknown>> {
  return log
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        assert.fail(`a log line is not JSON: ${l}`);
      }
    });
}

describe("quote-helper --backend dcap, as a process", () => {
  let fake: FakeDcap;
  let dir: string;

  before(() => {
    fake = buildFakeDcap();
    dir = mkdtempSync(path.join(os.tmpdir(), "dcap-helper-"));
  });
  after(() => {
    fake.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps Intel's library mapped after the idle timeout, and still quotes", async () => {
    const helper = await startDcapHelper(dir, ["--dcap-library", fake.libraryPath, "--dev-root", fake.devRoot, "--worker-idle-ms", "100", "--min-workers", "0"], fake.env);
    try {
      assert.deepEqual(await readyz(helper.metricsPort), { status: 200, body: "ok\n" });
      // One description of the backend: what the ready line logs is what /metrics (and `addon status`) says.
      const ready = jsonLines(helper.log()).find((l) => l.msg === "DCAP backend ready: the QE's target info was read");
      assert.ok(ready, helper.log());
      const build = parseBuildInfo((await httpGet(`http://127.0.0.1:${helper.metricsPort}/metrics`)).body);
      assert.deepEqual(build && { backend: build.backend, backendVersion: build.backendVersion, qeIdentity: build.qeIdentity }, {
        backend: "dcap",
        backendVersion: ready.backendVersion,
        qeIdentity: `mrenclave=${FAKE.targetInfo.subarray(0, 32).toString("hex")}`,
      });
      assert.equal(ready.qeIdentity, build!.qeIdentity);
      const client = new AesmQuotingBackend({ socketPath: helper.socket });
      assert.deepEqual((await client.initQuote(KEY)).targetInfo, FAKE.targetInfo);
      assert.equal((await client.getQuote(report(), KEY)).quote.length, FAKE.defaultQuoteSize);
      await sleep(600); // well past --worker-idle-ms
      const maps = readFileSync(`/proc/${helper.child.pid}/maps`, "utf8");
      assert.ok(maps.includes(fake.libraryPath), `${fake.libraryPath} is no longer mapped in the helper`);
      const second = await client.getQuote(report(), KEY);
      assert.equal(second.quote.readUInt32LE(0), 2, "the same library instance made the second quote");
      assert.equal((await readyz(helper.metricsPort)).status, 200);
    } finally {
      await helper.stop();
    }
  });

  it("without /dev/sgx_enclave: starts, /readyz is 503 naming the device, clients get INTERFACE_UNAVAILABLE (40), the log stays JSON", async () => {
    const noDevices = path.join(dir, "no-devices");
    mkdirSync(noDevices);
    const helper = await startDcapHelper(dir, ["--dcap-library", fake.libraryPath, "--dev-root", noDevices], { FAKE_DCAP_DEV_ROOT: noDevices });
    try {
      const r = await readyz(helper.metricsPort);
      assert.equal(r.status, 503);
      assert.match(r.body, /no enclave device: none of \/dev\/sgx_enclave, \/dev\/sgx\/enclave, \/dev\/isgx exists/);
      assert.match(r.body, /no provision device/);
      const client = new AesmQuotingBackend({ socketPath: helper.socket });
      await assert.rejects(client.initQuote(KEY), (e: unknown) => e instanceof QuotingError && e.code === 40);
      await sleep(200);
      const lines = jsonLines(helper.log());
      const notReady = lines.find((l) => l.msg === "DCAP backend not ready: no quote can be made");
      assert.ok(notReady && notReady.level === "error", helper.log());
      // Intel's own lines, as structured lines at error level: urts's (C stdio) and the PCE's (trace callback).
      const intel = lines.filter((l) => l.source !== undefined);
      assert.ok(intel.some((l) => l.level === "error" && /Failed to open Intel SGX device/.test(String(l.msg)) && l.stream === "stderr"), helper.log());
      assert.ok(intel.some((l) => l.level === "error" && /sgx_create_enclave for pce fail .*SGXError:2006/.test(String(l.msg)) && l.trace === 1), helper.log());
      const refused = lines.find((l) => l.msg === "request failed");
      assert.ok(refused, helper.log());
      assert.equal(refused.level, "warn");
      assert.equal(refused.code, "INTERFACE_UNAVAILABLE");
      assert.doesNotMatch(String(refused.err), /INTERFACE_UNAVAILABLE \(40\)/, "the code is a field, not repeated in the message");
      assert.match(String(refused.err), /SGX_QL_INTERFACE_UNAVAILABLE \(0xE00D\)/);
    } finally {
      await helper.stop();
    }
  });

  it("without access to /dev/sgx_provision: /readyz says so, and the library's INVALID_PRIVILEGE reaches the log", async () => {
    const enclaveOnly = makeDevRoot(path.join(dir, "enclave-only"), ["sgx_enclave"]);
    const helper = await startDcapHelper(dir, ["--dcap-library", fake.libraryPath, "--dev-root", enclaveOnly], { FAKE_DCAP_DEV_ROOT: enclaveOnly });
    try {
      const r = await readyz(helper.metricsPort);
      assert.equal(r.status, 503);
      assert.match(r.body, /no provision device: none of \/dev\/sgx_provision, \/dev\/sgx\/provision exists/);
      assert.doesNotMatch(r.body, /no enclave device/);
      const client = new AesmQuotingBackend({ socketPath: helper.socket });
      // aesmd answers UNEXPECTED_ERROR (1) for 0xE035; the log says what it was.
      await assert.rejects(client.initQuote(KEY), (e: unknown) => e instanceof QuotingError && e.code === 1);
      await sleep(200);
      assert.match(helper.log(), /SGX_QL_ERROR_INVALID_PRIVILEGE \(0xE035\): no access to the provisioning device/);
    } finally {
      await helper.stop();
    }
  });

  it("/readyz turns 200 once the devices appear (the first real call succeeds)", async () => {
    const later = path.join(dir, "later");
    mkdirSync(later);
    const helper = await startDcapHelper(dir, ["--dcap-library", fake.libraryPath, "--dev-root", later], { FAKE_DCAP_DEV_ROOT: later });
    try {
      assert.equal((await readyz(helper.metricsPort)).status, 503);
      makeDevRoot(later);
      const deadline = Date.now() + 15_000; // rechecked every 5 s while not ready
      while ((await readyz(helper.metricsPort)).status !== 200) {
        assert.ok(Date.now() < deadline, `still not ready: ${(await readyz(helper.metricsPort)).body}`);
        await sleep(250);
      }
      assert.match(helper.log(), /DCAP backend ready/);
    } finally {
      await helper.stop();
    }
  });

  it("names a dependency the loader cannot find and how to point at it; --dcap-search-path finds it", async () => {
    const { libraryPath: withDep, dependency, depDir } = buildFakeDcapWithDependency(path.join(dir, "with-dep"));

    const failed = spawnSync([cliEntry, "quote-helper", "--backend", "dcap", "--dcap-library", withDep, "--socket", path.join(dir, "dep.sock"), "--metrics-addr", "127.0.0.1:0"]);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /its dependency libsgx_qe3_logic\.so was not found/);
    assert.match(failed.stderr, /--dcap-search-path DIR with the directory that holds libsgx_qe3_logic\.so, or set LD_LIBRARY_PATH=DIR/);
    assert.doesNotMatch(failed.stderr, /ENCLAVE_LOAD_ERROR/);

    const helper = await startDcapHelper(dir, ["--dcap-library", withDep, "--dcap-search-path", depDir, "--dev-root", fake.devRoot], fake.env);
    try {
      assert.equal((await readyz(helper.metricsPort)).status, 200);
      const maps = readFileSync(`/proc/${helper.child.pid}/maps`, "utf8");
      assert.ok(maps.includes(dependency), "the dependency was loaded from the search path");
    } finally {
      await helper.stop();
    }
  });
});

function spawnSync(args: string[]): { code: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000, env: { PATH: process.env.PATH ?? "" } });
    return { code: 0, stderr: "" };
  } catch (e) {
    const err = e as { status: number | null; stderr: Buffer };
    return { code: err.status, stderr: err.stderr.toString() };
  }
}
