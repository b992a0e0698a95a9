// The kubelet checkpoint codec: the kubelet's JSON field names and shape, and files it must not trust.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { CHECKPOINT_FILE, CheckpointError, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint, type CheckpointContents } from "../../src/kubelet/checkpoint.js";

const contents: CheckpointContents = {
  entries: [{ podUID: "uid-1", containerName: "app", resourceName: "example.com/epc", deviceIds: ["0", "1"], allocResp: Buffer.from([0x1a, 0x02, 0x0a, 0x00]) }],
  registered: { "example.com/epc": ["0", "1", "2"] },
};

test("the file has the kubelet's shape: Data{PodDeviceEntries, RegisteredDevices}, DeviceIDs by NUMA node, AllocResp base64", () => {
  const doc = JSON.parse(encodeCheckpoint(contents)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc).sort(), ["Checksum", "Data"]);
  assert.equal(typeof doc.Checksum, "number");
  assert.deepEqual(doc.Data, {
    PodDeviceEntries: [{ PodUID: "uid-1", ContainerName: "app", ResourceName: "example.com/epc", DeviceIDs: { "-1": ["0", "1"] }, AllocResp: "GgIKAA==" }],
    RegisteredDevices: { "example.com/epc": ["0", "1", "2"] },
  });
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(contents)), contents);
});

test("a corrupt, truncated or malformed checkpoint is refused with the reason", () => {
  const good = encodeCheckpoint(contents);
  assert.throws(() => decodeCheckpoint(good.slice(0, -5)), (e: Error) => e instanceof CheckpointError && /not JSON/.test(e.message));
  assert.throws(() => decodeCheckpoint(good.replace('"uid-1"', '"uid-2"')), /checksum mismatch/);
  assert.throws(() => decodeCheckpoint("{}"), /no Data\.PodDeviceEntries/);
});

test("read and write: atomic, absent file is null, an oversized one is refused", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "confcom-checkpoint-"));
  try {
    assert.equal(await readCheckpoint(dir), null);
    await writeCheckpoint(dir, contents);
    assert.deepEqual(await readCheckpoint(dir), contents);
    writeFileSync(path.join(dir, CHECKPOINT_FILE), Buffer.alloc(17 * 1024 * 1024, 0x20));
    await assert.rejects(readCheckpoint(dir), /bytes, over 16777216/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
