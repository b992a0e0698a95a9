// Every object of the add-on for one configuration, in the order they are applied (dependencies
// first: accounts and RBAC, the webhook before its configurations, the plugin before the quote helper).
import type { AddonConfig } from "../config.js";
import { featuresOf, RENDER_DEFAULT_VERSION, type ClusterFeatures } from "../features.js";
import type { AddonObject } from "./common.js";
import { attestationServiceObjects, type AttestationServiceKeys } from "./attestation-service.js";
import { addonConfigMap, type ObjectRef } from "./config-map.js";
import { pluginClusterRole, pluginClusterRoleBinding, pluginDaemonSet, pluginServiceAccount } from "./device-plugin.js";
import { pluginNodePolicy, pluginNodePolicyBinding } from "./node-policy.js";
import { quoteHelperDaemonSet, quoteHelperServiceAccount } from "./quote-helper.js";
import { simulatedObjects } from "./simulated.js";
import {
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
  webhookDeployment,
  webhookService,
  webhookServiceAccount,
  webhookTlsSecret,
  type WebhookTls,
} from "./webhook.js";

export type { AddonObject } from "./common.js";
export type { ObjectRef } from "./config-map.js";
export type { WebhookTls } from "./webhook.js";

/**
 * The workload objects (everything but the config ConfigMap). `tls` is needed for an in-cluster webhook;
 * `features` are the API server's (render assumes a current one); `attestation`, the attestation service's keys.
 */
export function addonWorkloads(
  config: AddonConfig,
  tls?: WebhookTls,
  features: ClusterFeatures = featuresOf(RENDER_DEFAULT_VERSION),
  attestation?: AttestationServiceKeys,
): AddonObject[] {
  const inCluster = config.webhook.kind === "in-cluster";
  if (inCluster && !tls) throw new Error("an in-cluster webhook needs TLS material");
  if (config.attestationService && !attestation) throw new Error("the attestation service needs its keys (attestationServiceKeys)");
  const objects: AddonObject[] = [
    pluginServiceAccount(config),
    pluginClusterRole(),
    pluginClusterRoleBinding(config),
    ...simulatedObjects(config),
    ...(features.nodeScopedPolicy ? [pluginNodePolicy(config), pluginNodePolicyBinding()] : []),
    pluginDaemonSet(config),
    ...(config.quoteHelperEnabled ? [quoteHelperServiceAccount(config), quoteHelperDaemonSet(config, features)] : []),
    ...(inCluster && tls
      ? [webhookServiceAccount(config), webhookTlsSecret(config, tls), webhookService(config), webhookDeployment(config)]
      : []),
    mutatingWebhookConfiguration(config, tls),
    validatingWebhookConfiguration(config, tls),
    ...(config.attestationService && attestation ? attestationServiceObjects(config, attestation) : []),
  ] as AddonObject[];
  return objects;
}

export function refOf(o: AddonObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

/** All objects, the config ConfigMap first so that a half-finished enable can still be disabled. */
export function renderAddon(config: AddonConfig, tls?: WebhookTls, features?: ClusterFeatures, attestation?: AttestationServiceKeys): AddonObject[] {
  const workloads = addonWorkloads(config, tls, features, attestation);
  const configMap = addonConfigMap(config, workloads.map(refOf)) as AddonObject;
  return [configMap, ...workloads];
}
