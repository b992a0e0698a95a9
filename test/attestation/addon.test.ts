// The add-on with --enable-attestation-service: its four objects are valid, hardened like the other
// workloads, survive an update with the same keys (tokens stay verifiable), and `addon status` names
// the service's URL, and `update --disable-attestation-service` removes all four; against the fake API
// server the add-on tests use, the last through the real CLI.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { V1Deployment, V1Secret } from "@kubernetes/client-node";
import { enableAddon, updateAddon } from "../../src/addon/cluster/operations.js";
import { addonStatus } from "../../src/addon/cluster/status.js";
import { ATTESTATION, attestationServiceKeys } from "../../src/addon/manifests/attestation-service.js";
import { renderAddon } from "../../src/addon/manifests/index.js";
import { configFromFlags } from "../../src/addon/options.js";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { signingKeyFromPem } from "../../src/attestation/keys.js";
import { KubeClient } from "../../src/k8s/client.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { cliEntry } from "../support/paths.js";
import { testConfig } from "../addon/fixtures.js";
import { validateObject } from "../addon/schema.js";

const config = testConfig({ attestationService: { pccsUrl: "https://pccs.example:8081" } });

test("rendered objects are schema-valid and hardened; the Secret's key is a usable signing key", async () => {
  const tls = await issueWebhookTls({ dnsNames: ["confcom-webhook.kube-system.svc"] });
  const keys = (await attestationServiceKeys(config))!;
  const objs = renderAddon(config, tls, undefined, keys);
  const ours = objs.filter((o) => o.metadata.labels?.["app.kubernetes.io/name"] === ATTESTATION.name);
  assert.deepEqual(ours.map((o) => `${o.kind}/${o.metadata.name}`), ["ServiceAccount/confcom-attestation", "Secret/confcom-attestation-keys", "Service/confcom-attestation", "Deployment/confcom-attestation"]);
  for (const o of ours) assert.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata.name}`);
  const dep = ours.find((o) => o.kind === "Deployment") as unknown as V1Deployment;
  const pod = dep.spec!.template.spec!;
  const c = pod.containers[0]!;
  assert.equal(pod.automountServiceAccountToken, false);
  assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" }, runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true });
  assert.ok(c.args!.includes("--pccs=https://pccs.example:8081"));
  assert.ok(c.args!.includes("--public-url=https://confcom-attestation.kube-system.svc"));
  assert.equal(c.readinessProbe?.httpGet?.path, "/readyz");
  const secret = ours.find((o) => o.kind === "Secret") as unknown as V1Secret;
  const key = await signingKeyFromPem(Buffer.from(secret.data!["signing.key"]!, "base64").toString(), undefined, "x");
  assert.equal(key.alg, "RS256");
  // Rendering needs the keys, like the in-cluster webhook needs its TLS.
  assert.throws(() => renderAddon(config, tls), /attestation service needs its keys/);
  // Without the flag nothing of it is rendered.
  assert.ok(!renderAddon(testConfig(), tls).some((o) => o.metadata.name.startsWith("confcom-attestation")));
});

test("--enable-attestation-service and --attestation-pccs-url set the config (Intel's PCS by default)", () => {
  const base = { image: "i:1", namespace: "kube-system", resourceName: "kubernetes.azure.com/sgx_epc_mem_in_MiB", instanceTypes: "", nodeLabel: ["a=b"], quoteHelperEpcMib: 8 };
  assert.deepEqual(configFromFlags({ ...base, enableAttestationService: true, attestationPccsUrl: "https://api.trustedservices.intel.com" }).attestationService, { pccsUrl: "https://api.trustedservices.intel.com" });
  assert.equal(configFromFlags({ ...base, attestationPccsUrl: "x" }).attestationService, undefined);
});

describe("against an API server", { timeout: 60_000 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(() => fake.close());

  test("enable deploys it; update keeps its keys; status reports its URL", async () => {
    const client = await KubeClient.connect({ kubeconfig: fake.kubeconfigPath });
    await enableAddon(client, config, { print: () => {} });
    const keyOf = () => (fake.find("Secret", ATTESTATION.secret, "kube-system") as unknown as V1Secret).data!["signing.key"];
    const first = keyOf();
    assert.ok(first);
    assert.ok(fake.find("Deployment", ATTESTATION.name, "kube-system"));
    await updateAddon(client, (c) => ({ ...c, image: "example.com/confcom:next" }), "kube-system", { print: () => {} });
    assert.equal(keyOf(), first, "an update keeps the signing key, so issued tokens stay verifiable");
    const status = (await addonStatus(client, "kube-system")).join("\n");
    assert.match(status, /attestation service: https:\/\/confcom-attestation\.kube-system\.svc \(collateral from https:\/\/pccs\.example:8081/);
  });

  test("update --disable-attestation-service removes its four objects; status says it is off; it can come back", async () => {
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [cliEntry, "addon", ...args, "--kubeconfig", fake.kubeconfigPath], { timeout: 40_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
      );
    const objects = [["Deployment", ATTESTATION.name], ["Service", ATTESTATION.name], ["ServiceAccount", ATTESTATION.name], ["Secret", ATTESTATION.secret]] as const;
    const present = () => objects.filter(([kind, name]) => fake.find(kind, name, "kube-system")).map(([kind]) => kind);
    const client = await KubeClient.connect({ kubeconfig: fake.kubeconfigPath });
    if (!fake.find("ConfigMap", "confcom-addon-config", "kube-system")) await enableAddon(client, config, { print: () => {} });
    assert.deepEqual(present(), ["Deployment", "Service", "ServiceAccount", "Secret"]);

    const both = await cli("update", "--enable-attestation-service", "--disable-attestation-service");
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /cannot be used with/);
    assert.deepEqual(present(), ["Deployment", "Service", "ServiceAccount", "Secret"], "a refused update changes nothing");

    const off = await cli("update", "--disable-attestation-service");
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /The attestation service is turned off/);
    assert.deepEqual(present(), [], "all four objects are deleted");
    const status = (await addonStatus(client, "kube-system")).join("\n");
    assert.match(status, /attestation service: off/);

    // Another update without either flag keeps it off; --enable-attestation-service brings it back.
    assert.equal((await cli("update")).code, 0);
    assert.deepEqual(present(), []);
    const on = await cli("update", "--enable-attestation-service");
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /The attestation service is turned on/);
    assert.deepEqual(present(), ["Deployment", "Service", "ServiceAccount", "Secret"]);
    assert.match((await addonStatus(client, "kube-system")).join("\n"), /attestation service: https:\/\/confcom-attestation\.kube-system\.svc/);
  });
});
