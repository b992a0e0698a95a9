import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SerialQueue } from "../../src/quoting/dcap/serial-queue.js";

describe("SerialQueue", () => {
  it("runs tasks one at a time, in submission order, whatever their durations", async () => {
    const queue = new SerialQueue();
    const events: string[] = [];
    let running = 0;
    const task = (name: string, ms: number) => async () => {
      assert.equal(running++, 0, `${name} started while another task ran`);
      events.push(`start ${name}`);
      await sleep(ms);
      events.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([queue.run(task("a", 15)), queue.run(task("b", 1)), queue.run(task("c", 5))]);
    assert.deepEqual(results, ["a", "b", "c"]);
    assert.deepEqual(events, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("a failing task rejects its own promise only", async () => {
    const queue = new SerialQueue();
    const failed = queue.run(async () => {
      throw new Error("boom");
    });
    const next = queue.run(async () => 42);
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 42);
  });

  it("drain settles after every task submitted before it, even failed ones", async () => {
    const queue = new SerialQueue();
    let done = 0;
    queue.run(() => sleep(5).then(() => done++)).catch(() => undefined);
    queue.run(() => Promise.reject(new Error("x"))).catch(() => undefined);
    queue.run(() => sleep(1).then(() => done++)).catch(() => undefined);
    await queue.drain();
    assert.equal(done, 2);
  });
});
