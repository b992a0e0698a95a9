// What the add-on's objects may use on a given API server: DaemonSet surge rollouts (maxSurge, GA in
// 1.25) and a ValidatingAdmissionPolicy that scopes the device plugin to its own node, which needs
// admissionregistration.k8s.io/v1 policies (GA in 1.30) and the node name in service-account tokens
// (the `authentication.kubernetes.io/node-name` extra, on by default from 1.30).
export interface KubeVersion {
  major: number;
  minor: number;
}

export interface ClusterFeatures {
  version: KubeVersion;
  daemonSetSurge: boolean;
  nodeScopedPolicy: boolean;
}

export const SURGE_SINCE: KubeVersion = { major: 1, minor: 25 };
export const NODE_POLICY_SINCE: KubeVersion = { major: 1, minor: 30 };
/** What `addon render` assumes without --kube-version: a cluster with every feature. */
export const RENDER_DEFAULT_VERSION: KubeVersion = NODE_POLICY_SINCE;

const atLeast = (v: KubeVersion, min: KubeVersion) => v.major > min.major || (v.major === min.major && v.minor >= min.minor);

export function featuresOf(version: KubeVersion): ClusterFeatures {
  return { version, daemonSetSurge: atLeast(version, SURGE_SINCE), nodeScopedPolicy: atLeast(version, NODE_POLICY_SINCE) };
}

/** "1.29", "v1.30.2", or the API server's /version fields (major "1", minor "30+" on some providers). */
export function parseKubeVersion(major: string, minor?: string): KubeVersion {
  const text = minor === undefined ? major.trim().replace(/^v/, "") : `${major}.${minor}`;
  const m = /^(\d{1,3})\.(\d{1,3})\+?(?:[.\-+].*)?$/.exec(text);
  if (!m) throw new Error(`"${text.slice(0, 40)}" is not a Kubernetes version (e.g. 1.30)`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export const showVersion = (v: KubeVersion) => `${v.major}.${v.minor}`;
