// The parts of a Pod the webhook reads, typed loosely: admission payloads are untrusted input, so
// every field may be absent or of the wrong type.
import type { V1Container, V1Pod } from "@kubernetes/client-node";

export type Pod = V1Pod;
export type Container = V1Container;

export const asArray = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
export const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The container's value for `resource` in limits or requests, or undefined. */
export function resourceValue(c: Container, kind: "limits" | "requests", resource: string): unknown {
  return asRecord(asRecord(asRecord(c).resources)[kind])[resource];
}

export function requestsEpc(c: Container, resource: string): boolean {
  return resourceValue(c, "limits", resource) !== undefined || resourceValue(c, "requests", resource) !== undefined;
}
