// The ConfigMap recording the add-on's configuration and the objects it created, read back by
// `update`, `disable` and `status`. ACCSGXQuoteHelperEnabled mirrors the AKS add-on's config key.
import type { V1ConfigMap } from "@kubernetes/client-node";
import { NAMES, type AddonConfig } from "../config.js";
import { metadata } from "./common.js";

export const QUOTE_HELPER_KEY = "ACCSGXQuoteHelperEnabled";
export const CONFIG_KEY = "config.json";
export const OBJECTS_KEY = "objects.json";

/** Identifies one object in the cluster. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function addonConfigMap(config: AddonConfig, objects: ObjectRef[]): V1ConfigMap & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(NAMES.configMap, "addon-config", config.namespace),
    data: {
      [QUOTE_HELPER_KEY]: String(config.quoteHelperEnabled),
      [CONFIG_KEY]: JSON.stringify(config, null, 2),
      [OBJECTS_KEY]: JSON.stringify(objects, null, 2),
    },
  };
}

export function configMapRef(config: AddonConfig): ObjectRef {
  return { apiVersion: "v1", kind: "ConfigMap", name: NAMES.configMap, namespace: config.namespace };
}
