// The quote helper's socket removed or replaced under it (issue 9 item 2): it serves the socket again
// at once, and while it cannot, /readyz is 503 with the reason and confcom_quotehelper_socket_ok is 0.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as settle } from "node:timers/promises";
import { QuoteExClient } from "../../src/aesm/client.js";
import { metricsText, simPlatform, startHelper, tempDir, type HelperProcess } from "./support.js";

let tmp: ReturnType<typeof tempDir>;
let stateDir: string;
let helper: HelperProcess;
let dir: string;
let socket: string;

before(async () => {
  tmp = tempDir("qh-watch-");
  stateDir = (await simPlatform(tmp.dir)).dir;
  dir = path.join(tmp.dir, "aesmd");
  socket = path.join(dir, "aesm.socket");
  helper = await startHelper(stateDir, socket, ["--workers", "1"]);
});
after(async () => {
  if (helper.child.exitCode === null) assert.equal(await helper.stop(), 0);
  tmp.cleanup();
});

async function readyz(): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${helper.metricsPort}/readyz`);
  return { status: res.status, body: await res.text() };
}

/** Polls `pred` every 20 ms; fails with `what` after 5 s. */
async function eventually<T>(what: string, pred: () => Promise<T | undefined | false>): Promise<T> {
  for (const end = Date.now() + 5000; ; await settle(20)) {
    const v = await pred().catch(() => undefined);
    if (v) return v;
    assert.ok(Date.now() < end, `${what} within 5 s`);
  }
}

const ino = async () => (await fs.lstat(socket)).ino;
const served = async () => (await new QuoteExClient({ socketPath: socket, timeoutMs: 5000 }).getSupportedAttKeyIdNum()) === 1;

async function reServedAfter(before: number, reason: string, planted?: number): Promise<void> {
  await eventually(`our socket served again (${reason})`, async () => (await fs.lstat(socket)).isSocket() && ![before, planted].includes(await ino()));
  assert.equal((await fs.lstat(socket)).mode & 0o777, 0o777);
  assert.ok(await served(), "a real client is answered on the new socket");
  await eventually("/readyz 200", async () => (await readyz()).status === 200);
  assert.match(await metricsText(helper.metricsPort), new RegExp(`^confcom_quotehelper_socket_rebinds_total\\{reason="${reason}"\\} [1-9]`, "m"));
}

test("unlinked: served again", async () => {
  assert.equal((await readyz()).status, 200);
  const before = await ino();
  await fs.unlink(socket);
  await reServedAfter(before, "missing");
});

test("replaced by a regular file: served again over it", async () => {
  const before = await ino();
  await fs.writeFile(`${socket}.tmp`, "junk");
  await fs.rename(`${socket}.tmp`, socket);
  await reServedAfter(before, "not-a-socket");
});

test("replaced by another (dead) socket: served again over it", async () => {
  const before = await ino();
  const other = net.createServer();
  const otherPath = path.join(dir, "other.socket");
  await new Promise<void>((r) => other.listen(otherPath, r));
  await fs.link(otherPath, `${socket}.tmp`);
  await new Promise<void>((r) => other.close(() => r()));
  const planted = (await fs.lstat(`${socket}.tmp`)).ino;
  await fs.rename(`${socket}.tmp`, socket);
  await reServedAfter(before, "replaced", planted);
});

test("the directory cannot take a socket: /readyz 503 with the reason and socket_ok 0, until it can", async () => {
  const before = await ino();
  // Root ignores a directory's write bits, so as root the directory is swapped for a file of the same
  // name; otherwise it is made read-only.
  const root = process.geteuid!() === 0;
  if (root) {
    await fs.rename(dir, `${dir}.away`);
    await fs.writeFile(dir, "not a directory");
  } else {
    await fs.unlink(socket);
    await fs.chmod(dir, 0o555);
  }
  try {
    const r = await eventually("/readyz 503 once serving again failed", async () => {
      const r = await readyz();
      return r.status === 503 && r.body.includes("failed") && r;
    });
    assert.match(r.body, new RegExp(`^not ok: socket ${socket.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} missing, and serving it again failed \\((ENOTDIR|EEXIST|EACCES)\\); retrying\\n$`));
    const text = await metricsText(helper.metricsPort);
    assert.match(text, /^confcom_quotehelper_socket_ok 0$/m);
    assert.match(text, /^confcom_quotehelper_socket_bind_errors_total\{code="[A-Z]+"\} [1-9]/m);
    assert.equal((await fetch(`http://127.0.0.1:${helper.metricsPort}/healthz`)).status, 200, "alive: only not ready");
  } finally {
    if (root) {
      await fs.rm(dir);
      await fs.rename(`${dir}.away`, dir);
      await fs.unlink(socket);
    } else await fs.chmod(dir, 0o755);
  }
  await reServedAfter(before, "missing");
  assert.match(await metricsText(helper.metricsPort), /^confcom_quotehelper_socket_ok 1$/m);
  assert.equal(helper.child.exitCode, null);
});
