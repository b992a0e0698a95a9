// A container's env as name -> value, for the variables set to a literal value (fieldRefs and the like aside).
import type { V1EnvVar } from "@kubernetes/client-node";

export function literalEnv(env: readonly V1EnvVar[] | undefined): Record<string, string> {
  return Object.fromEntries((env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
}
