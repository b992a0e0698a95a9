// The attestation service (with --enable-attestation-service): its ServiceAccount, a Secret holding
// its TLS pair, CA and token signing key, a Service on 443 and a hardened two-replica Deployment that
// shares that key (a file key is never rotated, so replicas always agree on /certs).
import { generateKeyPairSync } from "node:crypto";
import type { V1Deployment, V1Secret, V1Service, V1ServiceAccount } from "@kubernetes/client-node";
import type { KubeClient } from "../../k8s/client.js";
import type { AddonConfig } from "../config.js";
import { hardenedContainer, metadata, selectorLabels } from "./common.js";

export const ATTESTATION = {
  name: "confcom-attestation",
  secret: "confcom-attestation-keys",
  httpsPort: 8443,
  metricsPort: 9476,
} as const;
/** Intel's PCS (v4 API): the default collateral source. */
export const INTEL_PCS_URL = "https://api.trustedservices.intel.com";
const KEYS_DIR = "/etc/confcom/attestation-keys";

export interface AttestationServiceKeys {
  caPem: string;
  certPem: string;
  keyPem: string;
  signingKeyPem: string;
}

export const attestationServiceHost = (config: AddonConfig) => `${ATTESTATION.name}.${config.namespace}.svc`;
export const attestationServiceUrl = (config: AddonConfig) => `https://${attestationServiceHost(config)}`;

/** The Secret's material: the existing Secret's on update (tokens stay verifiable), fresh otherwise. */
export async function attestationServiceKeys(config: AddonConfig, client?: KubeClient): Promise<AttestationServiceKeys | undefined> {
  if (!config.attestationService) return undefined;
  if (client) {
    const s = await client.get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: ATTESTATION.secret, namespace: config.namespace });
    const f = (k: string) => (s?.data?.[k] ? Buffer.from(s.data[k]!, "base64").toString("utf8") : undefined);
    const [caPem, certPem, keyPem, signingKeyPem] = [f("ca.crt"), f("tls.crt"), f("tls.key"), f("signing.key")];
    if (caPem && certPem && keyPem && signingKeyPem) return { caPem, certPem, keyPem, signingKeyPem };
  }
  const host = attestationServiceHost(config);
  // Loaded only when keys are made: the add-on's CLI starts without the X.509 library.
  const { issueWebhookTls } = await import("../tls.js");
  const tls = await issueWebhookTls({ dnsNames: [host, `${host}.cluster.local`, `${ATTESTATION.name}.${config.namespace}`] });
  const signingKeyPem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return { ...tls, signingKeyPem };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export function attestationServiceObjects(config: AddonConfig, keys: AttestationServiceKeys): [V1ServiceAccount, V1Secret, V1Service, V1Deployment] {
  const ns = config.namespace;
  const name = ATTESTATION.name;
  const sa: V1ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(name, name, ns), automountServiceAccountToken: false };
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: metadata(ATTESTATION.secret, name, ns),
    type: "Opaque",
    data: { "tls.crt": b64(keys.certPem), "tls.key": b64(keys.keyPem), "ca.crt": b64(keys.caPem), "signing.key": b64(keys.signingKeyPem) },
  };
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(name, name, ns),
    spec: { selector: selectorLabels(name), ports: [{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }] },
  };
  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(name, name, ns),
    spec: {
      replicas: 2,
      selector: { matchLabels: selectorLabels(name) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: metadata(name, name).labels },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
          containers: [
            hardenedContainer({
              name: "attestation-service",
              image: config.image,
              args: [
                "attestation-service",
                `--pccs=${config.attestationService!.pccsUrl}`,
                "--host=0.0.0.0",
                `--port=${ATTESTATION.httpsPort}`,
                `--tls-cert=${KEYS_DIR}/tls.crt`,
                `--tls-key=${KEYS_DIR}/tls.key`,
                `--signing-key=${KEYS_DIR}/signing.key`,
                `--public-url=${attestationServiceUrl(config)}`,
                `--metrics-addr=0.0.0.0:${ATTESTATION.metricsPort}`,
              ],
              metricsPort: ATTESTATION.metricsPort,
              extraPorts: [{ name: "https", containerPort: ATTESTATION.httpsPort, protocol: "TCP" }],
              runAsRoot: false,
              resources: { requests: { cpu: "100m", memory: "96Mi" }, limits: { cpu: "1", memory: "256Mi" } },
              volumeMounts: [{ name: "keys", mountPath: KEYS_DIR, readOnly: true }],
            }),
          ],
          volumes: [{ name: "keys", secret: { secretName: ATTESTATION.secret, defaultMode: 0o440 } }],
        },
      },
    },
  };
  return [sa, secret, service, deployment];
}
