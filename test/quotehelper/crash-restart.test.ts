// Crash restarts (issue 13): the helper SIGKILLed under a GetQuoteEx loop and started again over its
// stale socket. Calls in flight at the kill may fail (at most one per client); calls made while no
// process is up fail fast with SERVICE_UNAVAILABLE (counted, not bounded: nothing listens); every call
// made once the new process serves succeeds. The time to serve after start is in the bench.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as settle } from "node:timers/promises";
import { scale, secs, summary } from "../soak/scale.js";
import { platformFixture, quoteLoops, startHelper } from "./support.js";

const CLIENTS = 4;
const KILLS = scale(2, 10);

const fx = platformFixture("qh-crash-");

test(`SIGKILL + restart ${KILLS} times under ${CLIENTS} looping clients: failures of calls in flight <= clients, none once served again`, async () => {
  const socket = path.join(fx.dir, "aesm.socket");
  let helper = await startHelper(fx.platform.dir, socket, ["--workers", "1"]);
  // Phases: "up" (a helper serves), "down" (killed, the new one not serving yet).
  const apps = await quoteLoops(fx.platform, socket, CLIENTS, 10_000);
  const { stats } = apps;
  const restarts: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      await settle(500);
      apps.down();
      helper.child.kill("SIGKILL");
      await helper.exited;
      const t0 = Date.now();
      helper = await startHelper(fx.platform.dir, socket, ["--workers", "1"]);
      restarts.push(Date.now() - t0);
      apps.up();
    }
    await settle(500);
  } finally {
    await apps.stop();
    assert.equal(await helper.stop(), 0);
  }
  summary("quote-helper SIGKILL+restart", {
    clients: CLIENTS,
    kills: KILLS,
    calls: stats.ok,
    failedInFlight: stats.inFlightFailed,
    failedWhileDown: stats.downFailed.length,
    failedWhileUp: stats.upFailed.length,
    restartToListening: restarts.map(secs).join(","),
  });
  for (const [k, n] of stats.perKill.entries()) if (n !== undefined) assert.ok(n <= CLIENTS, `kill ${k}: ${n} in-flight calls failed, more than the ${CLIENTS} clients`);
  assert.deepEqual(stats.upFailed.slice(0, 5), [], `${stats.upFailed.length} calls failed while a helper served`);
  assert.ok(stats.ok > KILLS * CLIENTS, `only ${stats.ok} calls answered`);
});
