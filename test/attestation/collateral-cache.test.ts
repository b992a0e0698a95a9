// The collateral cache over a simulated platform's real collateral: one fetch per platform however
// many quotes ask, refreshed in the background before nextUpdate, awaited after it, and a failing
// refresh never takes valid collateral away.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CollateralCache, type CacheEvent } from "../../src/attestation/collateral-cache.js";
import type { Collateral } from "../../src/collateral/types.js";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import { initPlatform } from "../../src/sim/platform/init.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const DAY = 86400_000;

describe("collateral cache", () => {
  let dir: string;
  let docs: Collateral[];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "confcom-collcache-"));
    await initPlatform(path.join(dir, "s"), { seed: "collcache" });
    // Two generations: issued at T0 (valid 30 days), and a day before their nextUpdate.
    docs = [await buildCollateral(path.join(dir, "s"), { now: new Date(T0) }), await buildCollateral(path.join(dir, "s"), { now: new Date(T0 + 29 * DAY) })];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rig = (maxAgeMs = 365 * DAY) => {
    let t = T0;
    let fetches = 0;
    let failing = false;
    const events: CacheEvent[] = [];
    let gen = 0;
    const cache = new CollateralCache({
      maxAgeMs,
      now: () => t,
      onEvent: (e) => events.push(e),
      fetch: async () => {
        fetches++;
        await new Promise((r) => setTimeout(r, 5));
        if (failing) throw new Error("PCCS down");
        return docs[Math.min(gen, docs.length - 1)]!;
      },
    });
    return { cache, events, at: (ms: number) => (t = T0 + ms), fetches: () => fetches, fail: (f: boolean) => (failing = f), nextGen: () => gen++ };
  };

  test("one fetch for concurrent misses; hits afterwards", async () => {
    const r = rig();
    const got = await Promise.all(Array.from({ length: 20 }, () => r.cache.get("00606a000000", "processor")));
    assert.equal(r.fetches(), 1);
    assert.ok(got.every((c) => c === docs[0]));
    await r.cache.get("00606A000000", "processor");
    assert.equal(r.fetches(), 1);
    assert.equal(r.events.filter((e) => e === "hit").length, 1);
    await r.cache.get("00606a000000", "platform");
    assert.equal(r.fetches(), 2, "per FMSPC and CA type");
  });

  test("shortly before nextUpdate: the cached copy is served and a refresh runs in the background", async () => {
    const r = rig();
    await r.cache.get("00606a000000", "processor");
    r.nextGen();
    r.at(29 * DAY + 22.5 * 3600_000); // half an hour before nextUpdate (issueDate is backdated an hour)
    const served = await r.cache.get("00606a000000", "processor");
    assert.equal(served, docs[0], "no wait on the PCCS");
    assert.equal(r.fetches(), 2);
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(await r.cache.get("00606a000000", "processor"), docs[1]);
  });

  test("past nextUpdate the refresh is awaited; when it fails, the old copy goes to the verifier (which reports it expired)", async () => {
    const r = rig();
    await r.cache.get("00606a000000", "processor");
    r.at(31 * DAY);
    r.fail(true);
    assert.equal(await r.cache.get("00606a000000", "processor"), docs[0]);
    r.fail(false);
    r.nextGen();
    assert.equal(await r.cache.get("00606a000000", "processor"), docs[1]);
  });

  test("the maximum age refreshes long before nextUpdate (new CRLs are picked up); a failed refresh keeps valid collateral", async () => {
    const r = rig(3600_000);
    await r.cache.get("00606a000000", "processor");
    r.at(2 * 3600_000);
    r.fail(true);
    assert.equal(await r.cache.get("00606a000000", "processor"), docs[0]);
    await new Promise((res) => setTimeout(res, 30));
    assert.ok(r.events.includes("refresh-error"));
    assert.equal(await r.cache.get("00606a000000", "processor"), docs[0]);
  });
});
