// What an earlier `enable`/`update` left in the cluster: the config ConfigMap and the webhook's TLS.
import type { V1ConfigMap, V1Secret } from "@kubernetes/client-node";
import type { KubeClient, ObjectRef } from "../../k8s/client.js";
import { NAMES, type AddonConfig } from "../config.js";
import { CONFIG_KEY, OBJECTS_KEY } from "../manifests/config-map.js";
import type { WebhookTls } from "../manifests/webhook.js";

export const NOT_ENABLED = 'Addon "confcom" is not enabled in this cluster.';

/** A state of the cluster the requested operation does not apply to (already enabled, not enabled). */
export class AddonStateError extends Error {
  override name = "AddonStateError";
}

export interface Recorded {
  config: AddonConfig;
  objects: ObjectRef[];
}

export function configMapRefIn(namespace: string): ObjectRef {
  return { apiVersion: "v1", kind: "ConfigMap", name: NAMES.configMap, namespace };
}

export async function readRecorded(client: KubeClient, namespace: string): Promise<Recorded | null> {
  const cm = await client.get<V1ConfigMap>(configMapRefIn(namespace));
  if (!cm) return null;
  const where = `ConfigMap ${namespace}/${NAMES.configMap}`;
  try {
    const config = JSON.parse(cm.data?.[CONFIG_KEY] ?? "") as AddonConfig;
    const objects = JSON.parse(cm.data?.[OBJECTS_KEY] ?? "") as ObjectRef[];
    if (typeof config?.image !== "string" || !Array.isArray(objects)) throw new Error("unexpected shape");
    return { config, objects };
  } catch (err) {
    throw new AddonStateError(`${where} is damaged (${(err as Error).message}); run "confcom addon disable" and enable the add-on again`);
  }
}

/** The in-cluster webhook's TLS from its Secret, so that an update keeps the CA the API server trusts. */
export async function readWebhookTls(client: KubeClient, namespace: string): Promise<WebhookTls | null> {
  const secret = await client.get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: NAMES.webhookTlsSecret, namespace });
  const field = (k: string) => {
    const v = secret?.data?.[k] ?? secret?.stringData?.[k];
    if (v === undefined) return undefined;
    return secret?.data?.[k] !== undefined ? Buffer.from(v, "base64").toString("utf8") : v;
  };
  const caPem = field("ca.crt");
  const certPem = field("tls.crt");
  const keyPem = field("tls.key");
  return caPem && certPem && keyPem ? { caPem, certPem, keyPem } : null;
}

export const refKey = (r: ObjectRef) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ""}|${r.name}`;
