// The socket keeper (issue 13, crash restarts): a keeper process holds the AESM listening socket and
// hands it to helpers over SCM_RIGHTS; a SIGKILLed helper's successor answers the connections made
// while no helper ran. Real processes, real sockets.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, lstatSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as settle } from "node:timers/promises";
import { QuoteExClient } from "../../src/aesm/client.js";
import { cliEntry, repoRoot } from "../support/paths.js";
import { within } from "../support/timeout.js";
import { platformFixture, quoteLoops, rssKiB, runCli, startHelper } from "./support.js";

const CLIENTS = 4;

const fx = platformFixture("qh-keeper-");

interface KeeperProcess {
  child: ChildProcess;
  stop(): Promise<number | null>;
}

function startKeeper(socket: string, control: string): Promise<KeeperProcess> {
  const child = spawn(process.execPath, [cliEntry, "quote-helper", "keeper", "--socket", socket, "--control", control], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const up = new Promise<KeeperProcess>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("socket keeper holding")) resolve({ child, stop: () => (child.kill("SIGTERM"), within(exited, 10_000, "the keeper to exit")) });
    });
    void exited.then((code) => reject(new Error(`keeper exited (${code}):\n${err}`)));
  });
  return within(up, 15_000, "the keeper to hold the socket").catch((e: unknown) => {
    child.kill("SIGKILL");
    throw e;
  });
}

test("a helper serves the keeper's socket, received over SCM_RIGHTS, and connections made while no helper runs are answered by the next", async () => {
  const socket = path.join(fx.dir, "aesm.socket");
  const control = path.join(fx.dir, "keeper", "keeper.sock");
  const keeper = await startKeeper(socket, control);
  const st = lstatSync(socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o777);
  assert.equal(lstatSync(path.dirname(control)).mode & 0o777, 0o700);
  const idleRss = rssKiB(keeper.child.pid!);
  const flags = ["--workers", "1", "--socket-from-keeper", control];
  let helper = await startHelper(fx.platform.dir, socket, flags);
  try {
    const apps = await quoteLoops(fx.platform, socket, CLIENTS, 15_000);
    const { stats } = apps;
    try {
      await settle(500);
      apps.down();
      helper.child.kill("SIGKILL");
      await within(helper.exited, 10_000, "the killed helper to exit");
      // The kubelet's restart delay: apps connect meanwhile, into the keeper's backlog.
      await settle(300);
      helper = await startHelper(fx.platform.dir, socket, flags);
      await settle(300);
      apps.up();
      await settle(500);
    } finally {
      await apps.stop();
    }
    const otherFailed = [...stats.downFailed, ...stats.upFailed];
    assert.deepEqual(otherFailed.slice(0, 5), [], `${otherFailed.length} calls failed that were not in flight at the kill`);
    assert.ok(stats.inFlightFailed <= CLIENTS, `${stats.inFlightFailed} in-flight calls failed, more than the ${CLIENTS} clients`);
    assert.ok(stats.downOk >= 1, "no call made while no helper ran was answered by the next one");
    process.stderr.write(`keeper: calls ${stats.ok}, failed in flight ${stats.inFlightFailed}, made while down and answered ${stats.downOk}, keeper idle RSS ${idleRss} KiB\n`);
  } finally {
    assert.equal(await helper.stop(), 0);
    // The helper's exit leaves the keeper's socket at the path.
    assert.ok(lstatSync(socket).isSocket());
    assert.equal(await keeper.stop(), 0);
  }
});

test("a helper started before its keeper (the pod's containers start together) waits for it, then serves its socket", async () => {
  const socket = path.join(fx.dir, "late.socket");
  const control = path.join(fx.dir, "late-keeper", "keeper.sock");
  let sawWaiting!: () => void;
  const waiting = new Promise<void>((resolve) => (sawWaiting = resolve));
  const helperUp = startHelper(fx.platform.dir, socket, ["--workers", "1", "--socket-from-keeper", control, "--keeper-wait-ms", "20000"], {
    onStderr: (all) => /waiting for the socket keeper to start/.test(all) && sawWaiting(),
  });
  await within(waiting, 20_000, "the helper to say it waits for its keeper");
  await settle(200);
  const keeper = await startKeeper(socket, control);
  const helper = await within(helperUp, 20_000, "the helper to serve once the keeper came");
  try {
    assert.match(helper.stderr(), /waiting for the socket keeper to start/);
    assert.equal(await new QuoteExClient({ socketPath: socket, timeoutMs: 10_000 }).getSupportedAttKeyIdNum(), 1);
  } finally {
    assert.equal(await helper.stop(), 0);
    assert.equal(await keeper.stop(), 0);
  }
});

test("without a keeper, or with something else on the control path, the helper fails with a clear error", async () => {
  const socket = path.join(fx.dir, "none.socket");
  const missing = await runCli(["quote-helper", "--simulate", "--sim-state", fx.platform.dir, "--socket", socket, "--workers", "1", "--metrics-addr", "127.0.0.1:0", "--socket-from-keeper", path.join(fx.dir, "nope.sock"), "--keeper-wait-ms", "0"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no socket keeper at .*nope\.sock \(ENOENT\)/);
  // A server that accepts and writes something that is not a keeper's message, with no fd.
  const fake = path.join(fx.dir, "fake.sock");
  const srv = net.createServer((c) => c.end("hello\n"));
  await new Promise<void>((r) => srv.listen(fake, r));
  try {
    const res = await runCli(["quote-helper", "--simulate", "--sim-state", fx.platform.dir, "--socket", socket, "--workers", "1", "--metrics-addr", "127.0.0.1:0", "--socket-from-keeper", fake]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /fake\.sock is not a confcom socket keeper/);
  } finally {
    srv.close();
  }
  // --keeper-fallback binds the socket itself.
  const fb = await startHelper(fx.platform.dir, socket, ["--workers", "1", "--socket-from-keeper", path.join(fx.dir, "nope.sock"), "--keeper-fallback"]);
  assert.match(fb.stderr(), /binding the socket ourselves/);
  assert.equal(await new QuoteExClient({ socketPath: socket, timeoutMs: 10_000 }).getSupportedAttKeyIdNum(), 1);
  assert.equal(await fb.stop(), 0);
});

// The tenant runs our receiving code from this checkout: a clone in a private (0700) directory is not
// readable by another uid, and then this test cannot run.
const tenantCanRun = process.geteuid?.() === 0 && spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(path.join(repoRoot, "dist/src/quotehelper/keeper/wire.js"))}, 4)`], { uid: 65534, gid: 65534 }).status === 0;

test("a tenant of another uid cannot get the socket: the control directory is 0700, and the keeper checks the peer's uid", { skip: !tenantCanRun && (process.geteuid?.() !== 0 ? "needs root to run a peer as another uid" : "this checkout is not readable by uid 65534") }, async () => {
  const socket = path.join(fx.dir, "t.socket");
  const control = path.join(fx.dir, "tk", "keeper.sock");
  const keeper = await startKeeper(socket, control);
  const receiver = path.join(repoRoot, "dist/src/quotehelper/keeper/wire.js");
  const script = `import(${JSON.stringify(receiver)}).then(m => { try { m.socketFromKeeper(process.argv[1]); console.log("GOT"); } catch (e) { console.log("ERR " + e.message); } })`;
  const asNobody = (ctl: string) =>
    new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ["-e", script, ctl], { uid: 65534, gid: 65534, stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
      let out = "";
      c.stdout.on("data", (d: Buffer) => (out += d.toString()));
      c.stderr.on("data", (d: Buffer) => (out += d.toString()));
      c.once("exit", () => resolve(out));
    });
  try {
    // The pod-local directory keeps other uids away from the control socket altogether.
    assert.match(await within(asNobody(control), 25_000, "the tenant process"), /ERR .*(EACCES|cannot get the socket)/);
    // Even with the directory and socket opened up, the keeper's SO_PEERCRED check refuses the fd.
    chmodSync(fx.dir, 0o755);
    chmodSync(path.dirname(control), 0o755);
    chmodSync(control, 0o777);
    const out = await within(asNobody(control), 25_000, "the tenant process");
    assert.doesNotMatch(out, /GOT/);
    assert.match(out, /ERR .*(closed without handing a socket|ECONNRESET)/);
  } finally {
    chmodSync(fx.dir, 0o700);
    await keeper.stop();
  }
});

test("a rollout with keepers: a new pod's keeper takes the path over, its helper serves, the old helper yields; 0 failed calls", async () => {
  const socket = path.join(fx.dir, "roll.socket");
  const controls = [path.join(fx.dir, "roll-a", "keeper.sock"), path.join(fx.dir, "roll-b", "keeper.sock")];
  const keeperA = await startKeeper(socket, controls[0]!);
  const helperA = await startHelper(fx.platform.dir, socket, ["--workers", "1", "--socket-from-keeper", controls[0]!]);
  let keeperB: KeeperProcess | undefined;
  let helperB: Awaited<ReturnType<typeof startHelper>> | undefined;
  try {
    const apps = await quoteLoops(fx.platform, socket, CLIENTS, 15_000);
    const { stats } = apps;
    try {
      await settle(400);
      // maxSurge: the new pod starts beside the old one; its helper may come up before its keeper.
      const helperBUp = startHelper(fx.platform.dir, socket, ["--workers", "1", "--socket-from-keeper", controls[1]!]);
      keeperB = await startKeeper(socket, controls[1]!);
      helperB = await within(helperBUp, 20_000, "the new pod's helper to serve");
      assert.equal(await within(helperA.exited, 20_000, "the old helper to yield and exit"), 0, helperA.stderr());
      const before = stats.ok;
      await settle(500);
      assert.ok(stats.ok > before, "the new pod's helper answers");
    } finally {
      await apps.stop();
    }
    // No kill here: every failure would count as one while a helper served.
    assert.deepEqual(stats.upFailed.slice(0, 5), [], `${stats.upFailed.length} of ${stats.ok + stats.upFailed.length} calls failed across the rollout`);
  } finally {
    if (helperA.child.exitCode === null) await helperA.stop();
    await keeperA.stop();
    if (helperB) assert.equal(await helperB.stop(), 0);
    if (keeperB) assert.equal(await keeperB.stop(), 0);
  }
});
