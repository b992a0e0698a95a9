// `confcom demo` as a user runs it: a real child process with its own children, on every exit path.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import type { DemoReport } from "../../src/demo/demo.js";
import { cliEntry } from "../support/paths.js";

const STEPS = ["platform", "pccs", "kubelet", "device-plugin", "quote-helper", "admit", "job", "teardown"];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function demo(args: string[], env: Record<string, string> = {}, onStdout?: (all: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    // A demo that hangs is killed (code null, its output in the failure) instead of hanging the run.
    const child = spawn(process.execPath, [cliEntry, "demo", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, timeout: 120_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Processes whose command line mentions `dir`: the demo's children all name its temp dir. */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function assertCleanedUp(tempDir: string): void {
  assert.match(tempDir, /confcom-demo-/);
  assert.equal(existsSync(tempDir), false, `${tempDir} removed`);
  assert.deepEqual(processesUsing(tempDir), [], "no child process left");
}

test("plain run: every step ok, then the attestation result; exit 0, nothing left behind", async () => {
  const r = await demo(["--epc-mib", "64"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const lines = r.stdout.trimEnd().split("\n");
  const stepLines = lines.filter((l) => /^(ok|FAILED) {2}/.test(l));
  assert.equal(stepLines.length, STEPS.length, r.stdout);
  for (const l of stepLines) assert.match(l, /^ok {2}.* \(\d+\.\d\d s\)/);
  assert.match(r.stdout, /EPC device plugin registered .*capacity 64, allocatable 64/);
  assert.match(r.stdout, /pod admitted with 10 MiB of EPC .*devices \/dev\/sgx_enclave; env SGX_EPC_MIB=10/);
  assert.match(r.stdout, /^attestation succeeded: MRENCLAVE [0-9a-f]{64}, MRSIGNER [0-9a-f]{64}, TCB status UpToDate$/m);
  assert.match(lines.at(-1)!, /^demo passed in \d+\.\d\d s/);
  assertCleanedUp(/state (\/\S+)\/sgx-state/.exec(r.stdout)![1]!);
});

test("--json: one document with every step, timings, the allocation and the UpToDate result", async () => {
  const r = await demo(["--json", "--epc-mib", "2048", "--seed", "demo-test"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as DemoReport;
  assert.equal(doc.ok, true);
  assert.deepEqual(doc.steps.map((s) => s.name), STEPS);
  for (const s of doc.steps) {
    assert.equal(s.ok, true, s.name);
    assert.ok(Number.isInteger(s.ms) && s.ms >= 0);
  }
  assert.deepEqual(doc.node, { resource: "kubernetes.azure.com/sgx_epc_mem_in_MiB", endpoint: "sgx-epc.sock", registrations: 1, capacity: 2048, allocatable: 2048 });
  assert.deepEqual(doc.allocation!.deviceIds, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  assert.deepEqual(doc.allocation!.devices.map((d) => [d.containerPath, d.permissions]), [["/dev/sgx_enclave", "rw"]]);
  assert.deepEqual(doc.allocation!.envs, { SGX_EPC_MIB: "10" });
  assert.equal(doc.attestation!.mode, "out-of-proc");
  assert.equal(doc.attestation!.tcbStatus, "UpToDate");
  assert.match(doc.attestation!.line, /^attestation succeeded: MRENCLAVE/);
  assert.equal(doc.kept, false);
  assertCleanedUp(doc.tempDir);
});

test("a PCCS serving a revoked TCB: the Job step fails clearly, exit 1, nothing left behind", async () => {
  const r = await demo(["--json"], { CONFCOM_DEMO_FAULT: "revoked-tcb" });
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout) as DemoReport;
  assert.equal(doc.ok, false);
  assert.equal(doc.failedStep, "job");
  assert.deepEqual(doc.steps.map((s) => [s.name, s.ok]), [...STEPS.slice(0, 6).map((n) => [n, true]), ["job", false]]);
  assert.match(doc.error!, /attestation failed: TCB status Revoked .* is not accepted/);
  assert.match(r.stderr, /demo failed at step "job"/);
  assertCleanedUp(doc.tempDir);
});

test("the quote helper killed before the Job: SERVICE_UNAVAILABLE, exit 1, nothing left behind", async () => {
  const r = await demo(["--fault", "quote-helper-down"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAILED {2}attestation Job .*: attestation failed: cannot get a quote \(out-of-proc.*SERVICE_UNAVAILABLE/m);
  assert.match(r.stdout, /^demo FAILED after/m);
  assertCleanedUp(/state (\/\S+)\/sgx-state/.exec(r.stdout)![1]!);
});

test("Ctrl-C mid-run: exit 130, children stopped, temp dir removed", async () => {
  let signalled = false;
  const r = await demo([], {}, (out, kill) => {
    if (!signalled && /EPC device plugin registered/.test(out)) {
      signalled = true;
      kill("SIGINT");
    }
  });
  assert.ok(signalled, r.stdout);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /demo interrupted \(SIGINT\); children stopped and the temp dir removed/);
  assert.match(r.stdout, /^FAILED {2}.*interrupted \(SIGINT\)/m);
  assertCleanedUp(/state (\/\S+)\/sgx-state/.exec(r.stdout)![1]!);
});

test("--keep keeps the temp dir; bad flags are refused", async () => {
  const r = await demo(["--json", "--keep", "--epc-mib", "16"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as DemoReport;
  assert.equal(doc.kept, true);
  assert.ok(existsSync(`${doc.tempDir}/sgx-state/root-ca.pem`));
  assert.deepEqual(processesUsing(doc.tempDir), []);
  (await import("node:fs")).rmSync(doc.tempDir, { recursive: true, force: true });
  for (const [args, pattern] of [
    [["--epc-mib", "5"], /--epc-mib must be at least 10/],
    [["--epc-mib", "x"], /--epc-mib must be a whole number/],
    [["--fault", "nope"], /--fault must be one of revoked-tcb, quote-helper-down/],
  ] as const) {
    const bad = await demo([...args]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, pattern);
  }
});

test("on a terminal: one updating line per step, a check mark when it is done", { skip: !existsSync("/usr/bin/script") && "needs script(1) for a pseudo-terminal" }, async () => {
  const r = await new Promise<Run>((resolve) => {
    const child = spawn("/usr/bin/script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(cliEntry)} demo --epc-mib 32`, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr: "" }));
  });
  assert.equal(r.code, 0, r.stdout);
  const done = r.stdout.split("\n").filter((l) => l.includes("✔"));
  assert.equal(done.length, STEPS.length, r.stdout);
  // each step's line is redrawn in place (carriage return, erase line) while it runs
  assert.match(r.stdout, /\r\x1b\[K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] simulated SGX platform/);
  assert.match(r.stdout, /attestation succeeded: MRENCLAVE/);
});
