// A ValidatingAdmissionPolicy (API servers 1.30+) that narrows the device plugin's node access to what it
// does: RBAC can only grant "patch any node", so this lets its service account change only the node its
// pod runs on (the token's authentication.kubernetes.io/node-name extra) and only there the SGX labels
// and the EPC capacity; everything else about that node must stay as it was. A token without the node
// name is denied (failurePolicy Fail): without the extra, no node is "its own".
// The expressions use only core CEL (has(), all(), in, ==), guarded so an absent field never errors.
import type { V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding } from "@kubernetes/client-node";
import { EPC_MIB_LABEL, SGX_CAPABLE_LABEL } from "../../deviceplugin/node-labels.js";
import { NAMES, type AddonConfig } from "../config.js";
import { metadata } from "./common.js";

export const NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name";
export const PLUGIN_NODE_LABELS = [SGX_CAPABLE_LABEL, EPC_MIB_LABEL];
/** NodeStatus fields of the 1.30 API besides capacity; a field the server does not know would not compile. */
const OTHER_STATUS_FIELDS = ["allocatable", "phase", "conditions", "addresses", "daemonEndpoints", "nodeInfo", "images", "volumesInUse", "volumesAttached", "config", "runtimeHandlers"];
const OTHER_METADATA_FIELDS = ["annotations", "ownerReferences", "finalizers"];

const str = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const list = (xs: string[]) => `[${xs.map(str).join(", ")}]`;
/** `base.field` present in both or neither, and equal where present; `base` may be absent (e.g. status). */
function unchanged(base: string, field: string, baseAlwaysThere = false): string {
  const has = (root: string) => (baseAlwaysThere ? `has(${root}.${base}.${field})` : `(has(${root}.${base}) && has(${root}.${base}.${field}))`);
  return `${has("object")} == ${has("oldObject")} && (!${has("object")} || object.${base}.${field} == oldObject.${base}.${field})`;
}
/** The map `base.field` may differ from the old one only in `keys` (added, changed or removed). */
function onlyKeysChange(base: string, field: string, keys: string, baseAlwaysThere = false): string {
  const has = (root: string) => (baseAlwaysThere ? `has(${root}.${base}.${field})` : `(has(${root}.${base}) && has(${root}.${base}.${field}))`);
  const m = (root: string) => `${root}.${base}.${field}`;
  return (
    `(!${has("object")} || ${m("object")}.all(k, k in ${keys} || (${has("oldObject")} && k in ${m("oldObject")} && ${m("oldObject")}[k] == ${m("object")}[k]))) && ` +
    `(!${has("oldObject")} || ${m("oldObject")}.all(k, k in ${keys} || (${has("object")} && k in ${m("object")})))`
  );
}

export interface PolicyValidation {
  expression: string;
  message: string;
}

export function pluginServiceAccountUser(config: AddonConfig): string {
  return `system:serviceaccount:${config.namespace}:${NAMES.plugin}`;
}

export function nodePolicyVariables(config: AddonConfig): { name: string; expression: string }[] {
  const extra = `request.userInfo.extra[${str(NODE_NAME_EXTRA)}]`;
  return [
    { name: "nodeName", expression: `has(request.userInfo.extra) && ${str(NODE_NAME_EXTRA)} in request.userInfo.extra && size(${extra}) > 0 ? ${extra}[0] : ''` },
    { name: "sgxLabels", expression: list(PLUGIN_NODE_LABELS) },
    { name: "epcResource", expression: list([config.resourceName]) },
  ];
}

export function nodePolicyValidations(): PolicyValidation[] {
  return [
    {
      expression: "variables.nodeName != '' && object.metadata.name == variables.nodeName",
      message: `the SGX device plugin may change only the node its pod runs on (its token's ${NODE_NAME_EXTRA})`,
    },
    { expression: onlyKeysChange("metadata", "labels", "variables.sgxLabels", true), message: `the SGX device plugin may change only the labels ${PLUGIN_NODE_LABELS.join(", ")}` },
    { expression: [...OTHER_METADATA_FIELDS.map((f) => unchanged("metadata", f, true)), "has(object.spec) == has(oldObject.spec) && (!has(object.spec) || object.spec == oldObject.spec)"].map((e) => `(${e})`).join(" && "), message: "the SGX device plugin may not change a node's annotations, owners, finalizers or spec (taints, unschedulable, ...)" },
    { expression: onlyKeysChange("status", "capacity", "variables.epcResource"), message: "the SGX device plugin may change only the EPC resource's capacity" },
    { expression: OTHER_STATUS_FIELDS.map((f) => `(${unchanged("status", f)})`).join(" && "), message: "the SGX device plugin may change no node status besides the EPC capacity" },
  ];
}

export function pluginNodePolicy(config: AddonConfig): V1ValidatingAdmissionPolicy & { metadata: { name: string } } {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: metadata(NAMES.pluginNodePolicy, NAMES.plugin),
    spec: {
      failurePolicy: "Fail",
      // A PATCH is admitted as an UPDATE, of the node or of its status subresource.
      matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["nodes", "nodes/status"] }] },
      matchConditions: [{ name: "sgx-plugin-service-account", expression: `request.userInfo.username == ${str(pluginServiceAccountUser(config))}` }],
      variables: nodePolicyVariables(config),
      validations: nodePolicyValidations(),
    },
  };
}

export function pluginNodePolicyBinding(): V1ValidatingAdmissionPolicyBinding & { metadata: { name: string } } {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: metadata(NAMES.pluginNodePolicy, NAMES.plugin),
    spec: { policyName: NAMES.pluginNodePolicy, validationActions: ["Deny"] },
  };
}
