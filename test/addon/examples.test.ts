// The sample workloads follow the rules the webhook applies: the node's aesmd directory is mounted read-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../support/paths.js";

const dir = path.join(repoRoot, "examples", "attestation");

test("every example that mounts /var/run/aesmd mounts it read-only", () => {
  let mounts = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), "utf8"))) {
      const pod = (doc.toJS() as any)?.spec?.template?.spec ?? (doc.toJS() as any)?.spec;
      for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
        for (const m of c.volumeMounts ?? []) {
          if (String(m.mountPath).replace(/\/+$/, "") !== "/var/run/aesmd") continue;
          mounts++;
          assert.equal(m.readOnly, true, `${file}: container ${c.name} mounts /var/run/aesmd writable`);
        }
      }
    }
  }
  assert.ok(mounts >= 1, "the sample Job mounts the aesmd directory");
});
