// Extended resource names as the kubelet judges them (k8s `v1helper.IsExtendedResourceName`): domain-qualified,
// outside the `kubernetes.io/` namespace, not starting with `requests.`, and still a valid qualified name once
// the quota prefix `requests.` is put in front of it.

const QUOTA_PREFIX = "requests.";
const NATIVE_NAMESPACE = "kubernetes.io/";
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Why `name` is not an extended resource name, or null when it is one. */
export function extendedResourceNameProblem(name: string): string | null {
  if (!name.includes("/")) return `"${name}" is not domain-qualified (expected <domain>/<name>)`;
  // The kubelet tests `Contains`, so `foo.kubernetes.io/x` is native too.
  if (name.includes(NATIVE_NAMESPACE)) return `"${name}" is in the reserved kubernetes.io/ namespace`;
  if (name.startsWith(QUOTA_PREFIX)) return `"${name}" starts with the quota prefix "${QUOTA_PREFIX}"`;
  const parts = `${QUOTA_PREFIX}${name}`.split("/");
  if (parts.length !== 2) return `"${name}" has more than one "/"`;
  const [prefix, local] = parts as [string, string];
  if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
    return `"${name}" has an invalid domain (must be a lowercase DNS-1123 subdomain of at most ${253 - QUOTA_PREFIX.length} characters)`;
  }
  if (local.length === 0 || local.length > 63 || !QUALIFIED_NAME.test(local)) {
    return `"${name}" has an invalid name part (1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)`;
  }
  return null;
}

export function isExtendedResourceName(name: string): boolean {
  return extendedResourceNameProblem(name) === null;
}
