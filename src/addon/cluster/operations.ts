// enable, update and disable against a cluster, with AKS's semantics for the quote helper flag.
import { ApiError, describeRef, type KubeClient, type KubeObject, type ObjectRef } from "../../k8s/client.js";
import { KNOWN_KINDS } from "../../k8s/kinds.js";
import { FIELD_MANAGER, NAMES, type AddonConfig } from "../config.js";
import { MANAGED_BY_LABEL, MANAGED_BY_SELECTOR } from "../manifests/common.js";
import { refOf, renderAddon, type AddonObject, type WebhookTls } from "../manifests/index.js";
import { webhookServiceHost } from "../manifests/webhook.js";
import { attestationServiceKeys } from "../manifests/attestation-service.js";
import { issueWebhookTls } from "../tls.js";
import { AddonStateError, configMapRefIn, NOT_ENABLED, readRecorded, readWebhookTls, refKey } from "./recorded.js";
import { isWorkload, waitForDeletion, waitForRollout } from "./rollout.js";
import { nodeAccessLine, rolloutLine, serverFeatures } from "./server-features.js";
import type { ClusterFeatures } from "../features.js";

export interface RunOptions {
  /** Wait this long for rollout/deletion; undefined: do not wait. */
  waitMs?: number;
  pollMs?: number;
  print: (line: string) => void;
}

async function webhookTls(client: KubeClient, config: AddonConfig, reuse: boolean): Promise<WebhookTls | undefined> {
  if (config.webhook.kind !== "in-cluster") return undefined;
  const existing = reuse ? await readWebhookTls(client, config.namespace) : null;
  if (existing) return existing;
  const host = webhookServiceHost(config);
  return issueWebhookTls({ dnsNames: [host, `${host}.cluster.local`, `${NAMES.webhook}.${config.namespace}`] });
}

async function applyAll(client: KubeClient, objects: AddonObject[], print: (l: string) => void): Promise<void> {
  for (const o of objects) {
    await client.apply(o as KubeObject, FIELD_MANAGER);
    print(`${describeRef(refOf(o))}: applied`);
  }
}

async function waitRollout(client: KubeClient, objects: AddonObject[], opts: RunOptions): Promise<void> {
  const refs = objects.map(refOf).filter(isWorkload);
  if (opts.waitMs === undefined) {
    if (refs.length > 0) opts.print(`not waiting for the rollout (--no-wait); see "confcom addon status"`);
    return;
  }
  await waitForRollout(client, refs, { timeoutMs: opts.waitMs, pollMs: opts.pollMs, print: opts.print });
}

export async function enableAddon(client: KubeClient, config: AddonConfig, opts: RunOptions): Promise<void> {
  if (await readRecorded(client, config.namespace)) {
    throw new AddonStateError(
      `The confcom add-on is already enabled in this cluster (namespace ${config.namespace}). ` +
        `Run "confcom addon disable" before enabling it again, or "confcom addon update" to change it.`,
    );
  }
  if (!(await client.get({ apiVersion: "v1", kind: "Namespace", name: config.namespace }))) {
    throw new AddonStateError(`namespace "${config.namespace}" does not exist; create it first`);
  }
  const features = await announceFeatures(client, config, opts.print);
  const objects = renderAddon(config, await webhookTls(client, config, false), features, await attestationServiceKeys(config));
  await refuseForeign(client, objects);
  await applyAll(client, objects, opts.print);
  await waitRollout(client, objects, opts);
  opts.print(`Addon "confcom" is enabled (ACCSGXQuoteHelperEnabled=${config.quoteHelperEnabled}).`);
}

/** What the API server's version allows, said before anything is applied. */
async function announceFeatures(client: KubeClient, config: AddonConfig, print: (l: string) => void): Promise<ClusterFeatures> {
  const { features, gitVersion } = await serverFeatures(client);
  print(`API server ${gitVersion}: node access: ${nodeAccessLine(features)}`);
  if (config.quoteHelperEnabled) print(`API server ${gitVersion}: quote helper rollout: ${rolloutLine(features.daemonSetSurge, features)}`);
  return features;
}

/**
 * Applying with force would take over same-named objects someone else made (e.g. a hand-deployed
 * `sgx-plugin`), and `disable` would then delete them: refuse instead, naming them.
 */
async function refuseForeign(client: KubeClient, objects: AddonObject[]): Promise<void> {
  const foreign: string[] = [];
  for (const ref of objects.map(refOf)) {
    const live = await client.get(ref);
    if (live && live.metadata.labels?.[MANAGED_BY_LABEL] !== "confcom") foreign.push(describeRef(ref));
  }
  if (foreign.length > 0) {
    throw new AddonStateError(`not enabling: ${foreign.join(", ")} already exist${foreign.length === 1 ? "s" : ""} and ${foreign.length === 1 ? "is" : "are"} not managed by confcom (${MANAGED_BY_SELECTOR}); remove or rename ${foreign.length === 1 ? "it" : "them"} first`);
  }
}

export async function updateAddon(client: KubeClient, next: (recorded: AddonConfig) => AddonConfig, namespace: string, opts: RunOptions): Promise<void> {
  const recorded = await readRecorded(client, namespace);
  if (!recorded) throw new AddonStateError(NOT_ENABLED);
  const config = next(recorded.config);
  if (recorded.config.quoteHelperEnabled && !config.quoteHelperEnabled) {
    opts.print("The quote helper is turned off: update without --enable-sgxquotehelper disables it, as `az aks addon update` does.");
  } else if (!recorded.config.quoteHelperEnabled && config.quoteHelperEnabled) {
    opts.print("The quote helper is turned on.");
  }
  if (recorded.config.attestationService && !config.attestationService) opts.print("The attestation service is turned off: its Deployment, Service, ServiceAccount and keys Secret go.");
  else if (!recorded.config.attestationService && config.attestationService) opts.print("The attestation service is turned on.");
  const features = await announceFeatures(client, config, opts.print);
  const objects = renderAddon(config, await webhookTls(client, config, true), features, await attestationServiceKeys(config, client));
  await applyAll(client, objects, opts.print);
  const keep = new Set(objects.map((o) => refKey(refOf(o))));
  const stale = recorded.objects.filter((r) => !keep.has(refKey(r)));
  const deleted = await deleteOwned(client, stale, opts.print);
  await waitRollout(client, objects, opts);
  if (opts.waitMs !== undefined) await waitForDeletion(client, deleted, { timeoutMs: opts.waitMs, pollMs: opts.pollMs, print: () => {} });
  opts.print(`Addon "confcom" is updated (ACCSGXQuoteHelperEnabled=${config.quoteHelperEnabled}).`);
}

/** Deletes the objects that carry our managed-by label; objects someone else now holds are left alone. */
async function deleteOwned(client: KubeClient, refs: ObjectRef[], print: (l: string) => void): Promise<ObjectRef[]> {
  const deleted: ObjectRef[] = [];
  for (const ref of refs) {
    const live = await client.get(ref);
    if (!live) continue;
    if (live.metadata.labels?.[MANAGED_BY_LABEL] !== "confcom") {
      print(`${describeRef(ref)}: left alone (not labelled ${MANAGED_BY_SELECTOR})`);
      continue;
    }
    if (await client.delete(ref)) {
      print(`${describeRef(ref)}: deleting`);
      deleted.push(ref);
    }
  }
  return deleted;
}

/** Webhook configurations go first, so pods are not sent to a webhook being removed; the record goes last. */
function deletionOrder(a: ObjectRef, b: ObjectRef): number {
  const rank = (r: ObjectRef) => (r.kind.endsWith("WebhookConfiguration") ? 0 : r.kind === "ConfigMap" && r.name === NAMES.configMap ? 2 : 1);
  return rank(a) - rank(b);
}

export async function disableAddon(client: KubeClient, namespace: string, opts: RunOptions): Promise<void> {
  const recorded = await readRecorded(client, namespace).catch((err: unknown) => {
    if (err instanceof AddonStateError) return null; // damaged record: the labels still find our objects
    throw err;
  });
  const found = new Map<string, ObjectRef>();
  for (const r of recorded?.objects ?? []) found.set(refKey(r), r);
  for (const info of KNOWN_KINDS) {
    // Pods go with their DaemonSet or Deployment.
    if (info.kind === "Node" || info.kind === "Namespace" || info.kind === "Pod") continue;
    const items = await client.list(info.apiVersion, info.kind, { namespace: info.namespaced ? namespace : undefined, labelSelector: MANAGED_BY_SELECTOR }).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return []; // a kind this API server does not serve (e.g. policies before 1.30)
      throw err;
    });
    for (const o of items) {
      const ref = { apiVersion: info.apiVersion, kind: info.kind, name: o.metadata.name, ...(info.namespaced ? { namespace } : {}) };
      found.set(refKey(ref), ref);
    }
  }
  const record = configMapRefIn(namespace);
  if (!found.has(refKey(record)) && (await client.get(record))) found.set(refKey(record), record);
  if (found.size === 0) throw new AddonStateError(NOT_ENABLED);
  const deleted = await deleteOwned(client, [...found.values()].sort(deletionOrder), opts.print);
  if (opts.waitMs !== undefined) await waitForDeletion(client, deleted, { timeoutMs: opts.waitMs, pollMs: opts.pollMs, print: opts.print });
  opts.print(`Addon "confcom" is disabled.`);
}
