// Socket permissions without a path race (issue 9 item 3): an attacker process keeps swapping a
// symlink to a root-owned 0600 file in at the socket path while we bind and set the mode. The file
// must never change mode, and what ends at the path is our socket with the requested mode.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import { QuoteExClient } from "../../src/aesm/client.js";
import { listen } from "../../src/common/listen.js";
import { lstatIdentity, sameFile, stageSocket } from "../../src/common/socket-path.js";
import { fileIdentity, PLUGIN_SOCKET_MODE, publishPluginSocket, sameFile as samePluginFile, stagePluginSocket } from "../../src/deviceplugin/socket-file.js";
import { scale, summary } from "../soak/scale.js";
import { simPlatform, startHelper, tempDir } from "./support.js";

const ITERATIONS = scale(200, 2000);
const DAEMON_ITERATIONS = scale(3, 20);

let tmp: ReturnType<typeof tempDir>;
let stateDir: string;
before(async () => {
  tmp = tempDir("confcom-qh-race-");
  stateDir = (await simPlatform(tmp.dir)).dir;
});
after(() => tmp.cleanup());

/** A separate process that plants `link -> victim` at `target` as fast as it can (symlink + rename). */
function startAttacker(target: string, victim: string): { proc: ChildProcess; stop(): Promise<void> } {
  const script = `
    const fs = require("node:fs");
    const [target, victim] = process.argv.slice(1);
    const tmp = target + ".evil";
    for (;;) {
      try { fs.unlinkSync(tmp); } catch {}
      try { fs.symlinkSync(victim, tmp); fs.renameSync(tmp, target); } catch {}
    }`;
  const proc = spawn(process.execPath, ["-e", script, target, victim], { stdio: "ignore" });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  return {
    proc,
    stop: async () => {
      proc.kill("SIGKILL");
      await exited;
      await fs.rm(`${target}.evil`, { force: true });
    },
  };
}

async function victimFile(dir: string): Promise<string> {
  const victim = path.join(dir, "victim");
  await fs.writeFile(victim, "secret\n", { mode: 0o600 });
  await fs.chmod(victim, 0o600);
  return victim;
}

const modeOf = async (f: string) => (await fs.stat(f)).mode & 0o7777;

test(`stageSocket + publish under a symlink-swapping attacker, ${ITERATIONS} times: the victim keeps 0600`, async () => {
  const dir = path.join(tmp.dir, "stage");
  await fs.mkdir(dir);
  const victim = await victimFile(dir);
  const target = path.join(dir, "aesm.socket");
  const attacker = startAttacker(target, victim);
  let symlinkSeen = 0;
  let changed = 0;
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      const server = net.createServer();
      const staged = await stageSocket(target, (p) => listen(server, { path: p }), { mode: 0o777 });
      await staged.publish();
      if ((await fs.lstat(target).catch(() => null))?.isSymbolicLink()) symlinkSeen++;
      if ((await modeOf(victim)) !== 0o600) changed++;
      await new Promise<void>((r) => server.close(() => r()));
    }
  } finally {
    await attacker.stop();
  }
  summary("socket-race stageSocket", { iterations: ITERATIONS, symlinkSeenAtPath: symlinkSeen, victimModeChanged: changed });
  assert.equal(changed, 0, "the victim's mode changed");
  assert.ok(symlinkSeen > 0, "the attacker never got its symlink in place: the race was not exercised");
  // With the attacker gone, one more publish replaces its symlink (never following it).
  const server = net.createServer();
  const staged = await stageSocket(target, (p) => listen(server, { path: p }), { mode: 0o777 });
  await staged.publish();
  const st = await fs.lstat(target);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o7777, 0o777);
  assert.ok(sameFile(await lstatIdentity(target), staged.identity));
  assert.equal(await modeOf(victim), 0o600);
  assert.deepEqual((await fs.readdir(dir)).sort(), ["aesm.socket", "victim"], "no private directory left behind");
  await new Promise<void>((r) => server.close(() => r()));
});

test("the device plugin's socket: a planted symlink is replaced, not followed; mode 0600", async () => {
  const dir = path.join(tmp.dir, "dp");
  await fs.mkdir(dir);
  const victim = await victimFile(dir);
  await fs.chmod(victim, 0o644);
  const target = path.join(dir, "sgx-epc.sock");
  await fs.symlink(victim, target);
  const server = net.createServer();
  const id = await publishPluginSocket(target, await stagePluginSocket(target, (p) => listen(server, { path: p })));
  const st = await fs.lstat(target);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o7777, PLUGIN_SOCKET_MODE);
  assert.ok(samePluginFile(await fileIdentity(target), id));
  assert.equal(await modeOf(victim), 0o644);
  await new Promise<void>((r) => server.close(() => r()));
});

test(`the quote helper started ${DAEMON_ITERATIONS} times under the attacker: victim keeps 0600, our 0777 socket ends at the path`, async () => {
  const dir = path.join(tmp.dir, "daemon");
  await fs.mkdir(dir);
  const victim = await victimFile(dir);
  const socket = path.join(dir, "aesm.socket");
  for (let i = 0; i < DAEMON_ITERATIONS; i++) {
    const attacker = startAttacker(socket, victim);
    const helper = await startHelper(stateDir, socket);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await attacker.stop();
      assert.equal(await modeOf(victim), 0o600, "the victim's mode changed");
      // The helper notices its socket replaced by the symlink and serves it again.
      const deadline = Date.now() + 5000;
      while (!(await fs.lstat(socket)).isSocket()) {
        assert.ok(Date.now() < deadline, "the helper did not serve its socket again within 5 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      const st = await fs.lstat(socket);
      assert.equal(st.mode & 0o7777, 0o777);
      assert.equal(await new QuoteExClient({ socketPath: socket, timeoutMs: 5000 }).getSupportedAttKeyIdNum(), 1);
    } finally {
      await attacker.stop();
      assert.equal(await helper.stop(), 0);
    }
    assert.equal(await modeOf(victim), 0o600);
  }
});
