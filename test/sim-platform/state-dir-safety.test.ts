// `sim init` into a directory that is not safely ours (issue 9 item 9): another user's directory, one
// writable by others, a symlink as the directory, symlinks planted at the file names. Run as root (as
// these tests are) the old code followed the planted symlink and wrote the PCK key through it.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { initPlatform } from "../../src/sim/platform/init.js";
import { reissueCrls } from "../../src/sim/platform/reissue.js";
import { STATE_FILES, StateDirError } from "../../src/sim/platform/state-files.js";
import { cliEntry } from "../support/paths.js";
import { tempDir } from "./fixtures.js";

const isRoot = process.geteuid?.() === 0;
const OTHER_UID = 4242;

describe("sim init refuses state directories that are not safely ours", () => {
  const tmp = tempDir("sim-safety");
  after(() => tmp.cleanup());
  const dir = (n: string) => path.join(tmp.dir, n);

  test("another user's directory with a planted symlink: refused, nothing written through the link", { skip: !isRoot && "needs root to chown" }, async () => {
    const theirs = dir("theirs");
    mkdirSync(theirs, { mode: 0o755 });
    const loot = dir("loot");
    mkdirSync(loot);
    symlinkSync(path.join(loot, "stolen-pck-key.pem"), path.join(theirs, STATE_FILES.pckKey));
    chownSync(theirs, OTHER_UID, OTHER_UID);
    await assert.rejects(initPlatform(theirs, { seed: "s" }), (e: Error) => e instanceof StateDirError && /owned by uid 4242, not by us/.test(e.message));
    assert.deepEqual(readdirSync(loot), []);
    assert.equal(statSync(theirs).uid, OTHER_UID);
    // The CLI says so and exits 1.
    const r = spawnSync(process.execPath, [cliEntry, "sim", "init", "--state", theirs, "--seed", "s"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /confcom: state directory .*theirs is owned by uid 4242/);
    assert.deepEqual(readdirSync(loot), []);
  });

  test("a directory of ours that others can write: refused", async () => {
    const open = dir("open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    await assert.rejects(initPlatform(open, { seed: "s" }), /writable by others \(mode 777\); refusing/);
    chmodSync(open, 0o775);
    await assert.rejects(initPlatform(open, { seed: "s" }), /writable by its group/);
    assert.deepEqual(readdirSync(open), []);
  });

  test("a symlink as the state directory: refused", async () => {
    const real = dir("real");
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, dir("link"));
    await assert.rejects(initPlatform(dir("link"), { seed: "s" }), /is a symlink or not a directory/);
    assert.deepEqual(readdirSync(real), []);
  });

  test("symlinks planted at the file names in our own directory are replaced, never followed", async () => {
    const ours = dir("ours");
    mkdirSync(ours, { mode: 0o700 });
    const victim = dir("victim.txt");
    writeFileSync(victim, "untouched");
    for (const f of [STATE_FILES.pckKey, STATE_FILES.platformSecret, STATE_FILES.pckCrl]) symlinkSync(victim, path.join(ours, f));
    await initPlatform(ours, { seed: "s" });
    assert.equal(readFileSync(victim, "utf8"), "untouched");
    for (const f of [STATE_FILES.pckKey, STATE_FILES.platformSecret, STATE_FILES.pckCrl]) {
      const st = lstatSync(path.join(ours, f));
      assert.ok(st.isFile() && !st.isSymbolicLink(), f);
      assert.equal(st.mode & 0o777, 0o600, f);
    }
    // Later writes (CRL reissue) too.
    symlinkSync(victim, path.join(ours, "x"));
    await reissueCrls(ours);
    assert.equal(readFileSync(victim, "utf8"), "untouched");
    assert.ok(!readdirSync(ours).some((f) => f.endsWith(".tmp")), "no temporary file left behind");
  });

  test("--readable: 0755 and 0644, for non-root containers of a simulated cluster; the default stays private", async () => {
    const r = spawnSync(process.execPath, [cliEntry, "sim", "init", "--state", dir("shared"), "--seed", "s", "--node-name", "n1", "--readable"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).nodeName, "n1");
    assert.equal(statSync(dir("shared")).mode & 0o777, 0o755);
    for (const f of readdirSync(dir("shared"))) assert.equal(statSync(path.join(dir("shared"), f)).mode & 0o777, 0o644, f);
    // A CRL reissue keeps the directory's kind.
    await reissueCrls(dir("shared"));
    assert.equal(statSync(path.join(dir("shared"), STATE_FILES.pckCrl)).mode & 0o777, 0o644);
    const bad = spawnSync(process.execPath, [cliEntry, "sim", "init", "--state", dir("n"), "--node-name", "n1"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--node-name needs --seed/);
    assert.ok(!existsSync(dir("n")));
  });

  test("--help suggests no shared temp directory; sim collateral takes --log-level", () => {
    const h = spawnSync(process.execPath, [cliEntry, "sim", "init", "--help"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(h.status, 0);
    assert.doesNotMatch(h.stdout, /\/tmp\//);
    assert.match(h.stdout, /--readable/);
    const c = spawnSync(process.execPath, [cliEntry, "sim", "collateral", "--help"], { encoding: "utf8", timeout: 30_000 });
    assert.match(c.stdout, /--log-level <level>/);
  });
});
