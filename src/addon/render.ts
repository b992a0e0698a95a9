// Rendering the add-on's objects as `kubectl apply -f -` takes them: multi-document YAML or a JSON List.
import { stringify } from "yaml";
import type { AddonObject } from "./manifests/index.js";

export type OutputFormat = "yaml" | "json";

export function formatObjects(objects: AddonObject[], format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`;
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join("");
}
