// The admission webhook: its Deployment, Service and TLS Secret (unless served elsewhere), and the
// mutating and validating configurations that send pod CREATEs to it.
import type {
  AdmissionregistrationV1WebhookClientConfig,
  V1Deployment,
  V1MutatingWebhookConfiguration,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { DEFAULT_ENCLAVE_RESOURCE_NAME, DEFAULT_PROVISION_RESOURCE_NAME } from "../../deviceplugin/defaults.js";
import { NAMES, PORTS, type AddonConfig } from "../config.js";
import { hardenedContainer, metadata, selectorLabels, webhookEnv } from "./common.js";

const COMPONENT = NAMES.webhook;
const TLS_DIR = "/etc/confcom/webhook-tls";

/** PEM material of the in-cluster webhook: its CA (the caBundle) and serving pair. */
export interface WebhookTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const MUTATE_PATH = "/mutate";
export const VALIDATE_PATH = "/validate";

/** The DNS name the API server uses for the webhook Service; the serving certificate's SAN. */
export function webhookServiceHost(config: AddonConfig): string {
  return `${NAMES.webhook}.${config.namespace}.svc`;
}

export function webhookServiceAccount(config: AddonConfig): V1ServiceAccount & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadata(NAMES.webhook, COMPONENT, config.namespace),
    automountServiceAccountToken: false,
  };
}

export function webhookTlsSecret(config: AddonConfig, tls: WebhookTls): V1Secret & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: metadata(NAMES.webhookTlsSecret, COMPONENT, config.namespace),
    type: "kubernetes.io/tls",
    // data, not stringData: the API server folds stringData into data, and server-side apply then
    // never removes a key dropped from stringData.
    data: { "tls.crt": b64(tls.certPem), "tls.key": b64(tls.keyPem), "ca.crt": b64(tls.caPem) },
  };
}

export function webhookService(config: AddonConfig): V1Service & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(NAMES.webhook, COMPONENT, config.namespace),
    spec: {
      selector: selectorLabels(COMPONENT),
      ports: [{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }],
    },
  };
}

export function webhookDeployment(config: AddonConfig): V1Deployment & { metadata: { name: string } } {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(NAMES.webhook, COMPONENT, config.namespace),
    spec: {
      replicas: 2,
      selector: { matchLabels: selectorLabels(COMPONENT) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: metadata(NAMES.webhook, COMPONENT).labels },
        spec: {
          serviceAccountName: NAMES.webhook,
          automountServiceAccountToken: false,
          priorityClassName: "system-cluster-critical",
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
          containers: [
            hardenedContainer({
              name: "webhook",
              image: config.image,
              args: [
                "webhook",
                `--tls-cert=${TLS_DIR}/tls.crt`,
                `--tls-key=${TLS_DIR}/tls.key`,
                `--port=${PORTS.webhookHttps}`,
                `--resource-name=${config.resourceName}`,
                `--enclave-resource-name=${DEFAULT_ENCLAVE_RESOURCE_NAME}`,
                `--provision-resource-name=${DEFAULT_PROVISION_RESOURCE_NAME}`,
                ...(config.enforceEpcLimits ? ["--enforce-epc-limits"] : []),
                `--metrics-addr=0.0.0.0:${PORTS.webhookMetrics}`,
              ],
              env: webhookEnv(),
              metricsPort: PORTS.webhookMetrics,
              extraPorts: [{ name: "https", containerPort: PORTS.webhookHttps, protocol: "TCP" }],
              runAsRoot: false,
              resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "192Mi" } },
              volumeMounts: [{ name: "tls", mountPath: TLS_DIR, readOnly: true }],
            }),
          ],
          volumes: [{ name: "tls", secret: { secretName: NAMES.webhookTlsSecret, defaultMode: 0o440 } }],
        },
      },
    },
  };
}

function clientConfig(config: AddonConfig, path: string, tls: WebhookTls | undefined): AdmissionregistrationV1WebhookClientConfig {
  if (config.webhook.kind === "url") {
    return { url: new URL(path.slice(1), config.webhook.url.endsWith("/") ? config.webhook.url : `${config.webhook.url}/`).href, caBundle: b64(config.webhook.caBundlePem) };
  }
  if (!tls) throw new Error("the in-cluster webhook needs its TLS material to render the caBundle");
  return { service: { name: NAMES.webhook, namespace: config.namespace, path, port: 443 }, caBundle: b64(tls.caPem) };
}

function b64(pem: string): string {
  return Buffer.from(pem, "utf8").toString("base64");
}

/** Shared by both configurations: pod CREATEs outside kube-system and the add-on's namespace. */
function podCreateHook(config: AddonConfig) {
  const skipped = [...new Set(["kube-system", config.namespace])];
  return {
    failurePolicy: "Ignore",
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    timeoutSeconds: 5,
    matchPolicy: "Equivalent",
    namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: skipped }] },
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" }],
  };
}

export function mutatingWebhookConfiguration(config: AddonConfig, tls?: WebhookTls): V1MutatingWebhookConfiguration & { metadata: { name: string } } {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: metadata(NAMES.mutatingWebhook, COMPONENT),
    webhooks: [
      {
        name: "mutate.sgx.confcom.io",
        clientConfig: clientConfig(config, MUTATE_PATH, tls),
        reinvocationPolicy: "IfNeeded",
        ...podCreateHook(config),
      },
    ],
  };
}

export function validatingWebhookConfiguration(config: AddonConfig, tls?: WebhookTls): V1ValidatingWebhookConfiguration & { metadata: { name: string } } {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: metadata(NAMES.validatingWebhook, COMPONENT),
    webhooks: [{ name: "validate.sgx.confcom.io", clientConfig: clientConfig(config, VALIDATE_PATH, tls), ...podCreateHook(config) }],
  };
}
