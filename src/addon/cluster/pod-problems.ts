// Why a workload's pod is not ready, in one line a user can act on, and whether waiting can help:
// the scheduler's message, image pulls, crash loops with the container's last log line, failed mounts.
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";

export interface PodProblem {
  pod: string;
  node?: string;
  /** e.g. "Pending: 0/3 nodes are available: 3 Insufficient kubernetes.azure.com/sgx_epc_mem_in_MiB." */
  reason: string;
  /** Waiting cannot fix it (the image does not exist, the container keeps crashing). */
  fatal: boolean;
  /** The container whose last log line would explain it (crash loops). */
  crashedContainer?: string;
}

const MAX_TEXT = 300;
/** Restarts after which a crash loop is taken as one that will not heal by itself. */
export const CRASH_LOOP_RESTARTS = 3;
const IMAGE_WAITING = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);
const CONFIG_WAITING = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);
/** Registry answers that no retry changes. */
const IMAGE_MISSING = /not found|manifest unknown|does not exist|pull access denied|invalid reference format|unauthorized/i;

/** API text and container output are someone else's bytes: one line, printable, bounded. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT)}…` : flat;
}

/** The pod's problem, or null when it is running and ready (or simply not started yet). */
export function podProblem(pod: V1Pod, events: readonly CoreV1Event[] = []): PodProblem | null {
  const name = pod.metadata?.name ?? "?";
  const base = { pod: name, ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}) };
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (!waiting?.reason) continue;
    const detail = waiting.message ? `: ${oneLine(waiting.message)}` : "";
    if (IMAGE_WAITING.has(waiting.reason)) {
      const fatal = waiting.reason === "InvalidImageName" || IMAGE_MISSING.test(waiting.message ?? "");
      return { ...base, reason: `${waiting.reason} (${cs.image ?? cs.name})${detail}`, fatal };
    }
    if (waiting.reason === "CrashLoopBackOff") {
      const last = cs.lastState?.terminated;
      const exit = last ? `, last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ""}` : "";
      return { ...base, reason: `CrashLoopBackOff: container ${cs.name} restarted ${cs.restartCount} times${exit}`, fatal: cs.restartCount >= CRASH_LOOP_RESTARTS, crashedContainer: cs.name };
    }
    if (CONFIG_WAITING.has(waiting.reason)) return { ...base, reason: `${waiting.reason}: container ${cs.name}${detail}`, fatal: false };
  }
  const mount = latest(events.filter((e) => e.reason === "FailedMount" || e.reason === "FailedAttachVolume"));
  if (mount) return { ...base, reason: `${mount.reason}: ${oneLine(mount.message ?? "")}`, fatal: false };
  if (pod.status?.phase === "Pending") {
    const scheduled = pod.status.conditions?.find((c) => c.type === "PodScheduled");
    if (scheduled?.status === "False") return { ...base, reason: `Pending: ${oneLine(scheduled.message ?? scheduled.reason ?? "not scheduled")}`, fatal: false };
    const failed = latest(events.filter((e) => e.reason === "FailedScheduling"));
    if (failed) return { ...base, reason: `Pending: ${oneLine(failed.message ?? "")}`, fatal: false };
  }
  if (pod.status?.phase === "Running") {
    const ready = pod.status.conditions?.find((c) => c.type === "Ready");
    if (ready?.status === "False") {
      const probe = latest(events.filter((e) => e.reason === "Unhealthy"));
      if (probe) return { ...base, reason: `not ready: ${oneLine(probe.message ?? "")}`, fatal: false };
    }
  }
  return null;
}

function latest(events: readonly CoreV1Event[]): CoreV1Event | undefined {
  const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
  return [...events].sort((a, b) => time(b) - time(a))[0];
}
