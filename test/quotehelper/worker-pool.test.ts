import { test } from "node:test";
import { threadId } from "node:worker_threads";
import assert from "node:assert/strict";
import { AesmError } from "../../src/aesm/error-codes.js";
import { silentLogger } from "../../src/common/log.js";
import { QuotingError } from "../../src/quoting/backend.js";
import { WorkerPoolBackend } from "../../src/quotehelper/pool/worker-pool.js";

const module = new URL("./slow-backend.js", import.meta.url).href;
const report = (b: number) => Buffer.alloc(432, b);
const key = Buffer.alloc(256, 1);
const start = (size: number, maxQueue: number, idleMs = 60_000, options: object = { delayMs: 40 }, minWorkers = 1) =>
  WorkerPoolBackend.start({ name: "slow", module, options, size, maxQueue, idleMs, minWorkers, log: silentLogger() });

test("starts one worker, grows to `size` under load, and retires extra workers when idle", async () => {
  const pool = await start(3, 100, 300);
  try {
    assert.equal(pool.workers(), 1);
    const batch = () => Promise.all(Array.from({ length: 30 }, (_, i) => pool.getQuote(report(i), key)));
    // Work that waits starts more workers; on a loaded machine they may be ready only after a batch or two.
    for (let i = 0; i < 40 && pool.workers() < 3; i++) await batch();
    const quotes = await batch();
    const threads = new Set(quotes.map((q) => q.quote.readUInt32LE(0)));
    quotes.forEach((q, i) => assert.equal(q.quote.readUInt32LE(4), i, "each answer is for its own request"));
    assert.equal(pool.workers(), 3);
    assert.equal(threads.size, 3, "work spread over the grown workers");
    for (let i = 0; i < 50 && pool.workers() > 1; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(pool.workers(), 1);
    assert.equal((await pool.getQuote(report(1), key)).quote.length, 8, "still serving after retiring");
  } finally {
    await pool.close();
  }
});

test("--min-workers 0: the backend is checked without a worker; one starts on demand and retires when idle", async () => {
  const pool = await start(2, 10, 200, { delayMs: 0 }, 0);
  try {
    assert.equal(pool.workers(), 0, "no worker started only to check the backend");
    assert.deepEqual(await pool.supportedAttKeyIds(), [Buffer.alloc(256, 1)]);
    assert.equal(pool.workers(), 0, "the key ids came with the check");
    const q = (await pool.getQuote(report(3), key)).quote;
    assert.equal(q.readUInt32LE(4), 3);
    assert.notEqual(q.readUInt32LE(0), threadId, "made on a worker thread");
    assert.ok(pool.workers() >= 1);
    for (let i = 0; i < 50 && pool.workers() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.workers(), 0);
  } finally {
    await pool.close();
  }
});

test("warm(): a worker is ready when it resolves, once; it still retires when idle", async () => {
  const pool = await start(2, 10, 300, { delayMs: 0 }, 0);
  try {
    assert.equal(pool.workers(), 0);
    await Promise.all([pool.warm(), pool.warm()]);
    assert.equal(pool.workers(), 1, "concurrent warm() calls start one worker");
    await pool.warm();
    assert.equal(pool.workers(), 1);
    assert.equal((await pool.getQuote(report(4), key)).quote.readUInt32LE(4), 4);
    for (let i = 0; i < 50 && pool.workers() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.workers(), 0);
  } finally {
    await pool.close();
  }
});

test("a crashed worker is replaced once: work that arrives while the replacement starts does not grow the pool past its size", async () => {
  const pool = await start(1, 100, 60_000, { delayMs: 5 });
  try {
    await assert.rejects(pool.getQuote(report(0xfd), key), (err: QuotingError) => err.code === AesmError.ENCLAVE_LOST);
    assert.equal(pool.workers(), 0, "the crashed worker is gone; its replacement is starting");
    const quotes = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.getQuote(report(i), key)));
    quotes.forEach((q, i) => assert.equal(q.quote.readUInt32LE(4), i));
    assert.equal(pool.workers(), 1, "one worker, the replacement, as --workers 1 says");
  } finally {
    await pool.close();
  }
});

test("a full queue is BUSY at once; backend errors keep their AESM code", async () => {
  const pool = await start(1, 2);
  try {
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => pool.getQuote(report(i), key)));
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected", "rejected"]);
    for (const r of results.slice(3)) assert.equal(((r as PromiseRejectedResult).reason as QuotingError).code, AesmError.BUSY);
    await assert.rejects(pool.getQuote(report(0xff), key), (e: unknown) => e instanceof QuotingError && e.code === AesmError.INVALID_REPORT);
    assert.equal(await pool.quoteSize(key), 8);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.getQuote(report(1), key), (e: unknown) => e instanceof QuotingError && e.code === AesmError.SERVICE_STOPPED);
});

test("a backend that cannot be built fails the start with ENCLAVE_LOAD_ERROR, checked by a worker or here", async () => {
  for (const minWorkers of [1, 0]) {
    await assert.rejects(start(2, 1, 1000, { delayMs: 0, fail: true }, minWorkers), (e: unknown) => e instanceof QuotingError && e.code === AesmError.ENCLAVE_LOAD_ERROR && /no platform here/.test(e.message));
  }
});

test("results larger than a slot arrive whole; arguments larger than a slot are refused; errors keep their message", { timeout: 30_000 }, async () => {
  const pool = await start(2, 100, 60_000, { delayMs: 0, quoteBytes: 40_000 }, 2);
  try {
    const quotes = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.getQuote(Buffer.alloc(432, i).fill(7, 1), key)));
    quotes.forEach((q, i) => {
      assert.equal(q.quote.length, 40_000);
      assert.equal(q.quote.readUInt32LE(4), i, "each answer is for its own request");
      assert.ok(q.quote.subarray(8).every((b) => b === 7), "the whole quote crossed");
    });
    await assert.rejects(pool.getQuote(report(1), Buffer.alloc(64 * 1024)), (e: unknown) => e instanceof QuotingError && e.code === AesmError.PARAMETER_ERROR);
    await assert.rejects(pool.getQuote(report(0xfe), key), (e: unknown) => e instanceof QuotingError && e.code === AesmError.UNEXPECTED_ERROR && /no quote for report fefefefe/.test(e.message));
    assert.equal((await pool.getQuote(report(5), key)).quote.readUInt32LE(4), 5, "still serving");
  } finally {
    await pool.close();
  }
});

test("many tasks in flight on every slot: each answer for its own request, in any order of completion", { timeout: 30_000 }, async () => {
  const pool = await start(2, 1000, 60_000, { delayMs: 1 }, 2);
  try {
    for (let round = 0; round < 3; round++) {
      const quotes = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.getQuote(Buffer.alloc(432, i & 0xff), key)));
      quotes.forEach((q, i) => assert.equal(q.quote.readUInt32LE(4), i & 0xff));
    }
    assert.equal(pool.queueDepth(), 0);
  } finally {
    await pool.close();
  }
});
