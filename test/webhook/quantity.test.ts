import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isWhole, parseQuantity, sameValue } from "../../src/webhook/quantity.js";
import { parseDuration } from "../../src/addon/cluster/rollout.js";

const q = (s: unknown) => {
  const v = parseQuantity(s);
  assert.ok(v, `${String(s)} parses`);
  return v;
};

test("quantities compare exactly across spellings", () => {
  for (const [a, b] of [["10", "1e1"], ["10", "0.01k"], ["1Ki", "1024"], ["1Mi", "1048576"], ["1500m", "1.5"], ["10", 10], [".5", "500m"]] as const) {
    assert.ok(sameValue(q(a), q(b)), `${a} = ${b}`);
  }
  assert.ok(!sameValue(q("10"), q("10.001")));
});

test("whole and fractional quantities", () => {
  for (const s of ["0", "1", "16384", "1e3", "2k", "1Ki", "3000m", "1.0"]) assert.ok(isWhole(q(s)), s);
  for (const s of ["1.5", "500m", "1e-1", "1n", "0.0001k"]) assert.ok(!isWhole(q(s)), s);
  assert.ok(isWhole(q("0.001k")), "0.001k is 1");
});

test("what is not a quantity", () => {
  for (const s of ["", "ten", "1.2.3", "1 Mi", "1MiB", "--1", "1e999", "0x10", null, {}, [], Infinity, "9".repeat(65)]) {
    assert.equal(parseQuantity(s), null, String(s));
  }
});

test("every integer and its binary/decimal spellings are whole and equal (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1 << 30 }), (n) => {
      assert.ok(isWhole(q(String(n))));
      assert.ok(sameValue(q(`${n}Ki`), q(String(n * 1024))));
      assert.ok(sameValue(q(`${n}k`), q(`${n}000`)));
      assert.equal(isWhole(q(`${n}.5`)), false);
    }),
    { numRuns: 200 },
  );
});

test("durations as kubectl takes them", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("30"), 30_000);
  for (const bad of ["", "5 m", "m", "5d", "-1s", "1s2"]) assert.throws(() => parseDuration(bad), /is not a duration/, bad);
});
