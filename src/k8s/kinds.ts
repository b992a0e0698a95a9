// REST paths of the kinds the add-on manages, so that no discovery round trips are needed.
export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const KINDS: KindInfo[] = [
  { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  { apiVersion: "v1", kind: "Service", plural: "services", namespaced: true },
  { apiVersion: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
  { apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
  { apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true },
  { apiVersion: "v1", kind: "Event", plural: "events", namespaced: true },
  { apiVersion: "v1", kind: "Node", plural: "nodes", namespaced: false },
  { apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true },
  { apiVersion: "apps/v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true },
  { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments", namespaced: true },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false },
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", plural: "mutatingwebhookconfigurations", namespaced: false },
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", plural: "validatingwebhookconfigurations", namespaced: false },
  // API servers 1.30 and later only: listing them elsewhere answers 404.
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", plural: "validatingadmissionpolicies", namespaced: false },
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", plural: "validatingadmissionpolicybindings", namespaced: false },
];

export const KNOWN_KINDS: readonly KindInfo[] = KINDS;

export function kindInfo(apiVersion: string, kind: string): KindInfo {
  const k = KINDS.find((x) => x.apiVersion === apiVersion && x.kind === kind);
  if (!k) throw new Error(`unsupported kind ${apiVersion} ${kind}`);
  return k;
}

/** /api/v1 or /apis/<group>/<version>. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The collection path of a kind (in `namespace` when namespaced), with `/<name>` when given. */
export function resourcePath(info: KindInfo, namespace: string | undefined, name?: string): string {
  if (info.namespaced && !namespace) throw new Error(`${info.kind} is namespaced: a namespace is needed`);
  const ns = info.namespaced ? `/namespaces/${encodeURIComponent(namespace!)}` : "";
  return `${groupVersionPath(info.apiVersion)}${ns}/${info.plural}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}
