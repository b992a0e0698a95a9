// The features of the cluster's API server, from its /version, and how `enable`, `update` and `status` say them.
import type { KubeClient } from "../../k8s/client.js";
import { featuresOf, NODE_POLICY_SINCE, parseKubeVersion, showVersion, SURGE_SINCE, type ClusterFeatures } from "../features.js";

/** An unreadable version counts as the oldest: nothing is rendered that the server might refuse. */
export async function serverFeatures(client: KubeClient): Promise<{ features: ClusterFeatures; gitVersion: string }> {
  const v = await client.serverVersion();
  try {
    return { features: featuresOf(parseKubeVersion(v.major, v.minor)), gitVersion: v.gitVersion || `${v.major}.${v.minor}` };
  } catch {
    return { features: featuresOf({ major: 1, minor: 0 }), gitVersion: v.gitVersion || "unknown" };
  }
}

export function nodeAccessLine(f: ClusterFeatures, policyPresent = f.nodeScopedPolicy): string {
  if (policyPresent) return "ValidatingAdmissionPolicy: the device plugin may change only its own node's SGX labels and EPC capacity";
  if (f.nodeScopedPolicy) return "ClusterRole only (the ValidatingAdmissionPolicy is missing; run \"confcom addon update\"): the device plugin can patch any node";
  return `ClusterRole only (no ValidatingAdmissionPolicy before ${showVersion(NODE_POLICY_SINCE)}): the device plugin can patch any node`;
}

export function rolloutLine(surge: boolean, f: ClusterFeatures): string {
  if (surge) return "surge (maxSurge 1, maxUnavailable 0): the new quote helper takes the socket over before the old one stops";
  if (!f.daemonSetSurge) return `in place (no DaemonSet surge before ${showVersion(SURGE_SINCE)}): a node has no quote helper for a moment during an update`;
  return "in place (maxUnavailable 1): a node has no quote helper for a moment during an update";
}
