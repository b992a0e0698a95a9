// Rollout progress of the add-on's workloads, and waiting for it with progress lines.
import type { CoreV1Event, V1DaemonSet, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describeRef, type KubeClient, type ObjectRef } from "../../k8s/client.js";
import { oneLine, podProblem, type PodProblem } from "./pod-problems.js";

export interface RolloutState {
  done: boolean;
  /** One line for the user, e.g. "DaemonSet kube-system/sgx-plugin: 2/3 nodes updated, 1 available". */
  summary: string;
}

export function daemonSetRollout(ds: V1DaemonSet): RolloutState {
  const st = ds.status;
  const observed = (st?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0) && st !== undefined;
  const desired = st?.desiredNumberScheduled ?? 0;
  const updated = st?.updatedNumberScheduled ?? 0;
  const available = st?.numberAvailable ?? 0;
  const ready = st?.numberReady ?? 0;
  // No matching node: desired 0, nothing to wait for.
  const done = observed && updated >= desired && available >= desired;
  const summary = !observed
    ? "waiting for the controller to observe the new spec"
    : desired === 0
      ? "no SGX node matches (desired 0): nothing to roll out"
      : `${updated}/${desired} nodes updated, ${ready} ready, ${available} available`;
  return { done, summary };
}

export function deploymentRollout(d: V1Deployment): RolloutState {
  const st = d.status;
  const observed = (st?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && st !== undefined;
  const want = d.spec?.replicas ?? 1;
  const updated = st?.updatedReplicas ?? 0;
  const available = st?.availableReplicas ?? 0;
  const total = st?.replicas ?? 0;
  const done = observed && updated >= want && available >= want && total <= want;
  const summary = !observed ? "waiting for the controller to observe the new spec" : `${updated}/${want} replicas updated, ${available} available`;
  return { done, summary };
}

export async function rolloutOf(client: KubeClient, ref: ObjectRef): Promise<RolloutState> {
  return (await workloadState(client, ref)).state;
}

async function workloadState(client: KubeClient, ref: ObjectRef): Promise<{ state: RolloutState; obj: V1DaemonSet | V1Deployment | null }> {
  const obj = await client.get<V1DaemonSet | V1Deployment>(ref);
  if (!obj) return { state: { done: false, summary: "not found" }, obj: null };
  if (ref.kind === "DaemonSet") return { state: daemonSetRollout(obj as V1DaemonSet), obj };
  if (ref.kind === "Deployment") return { state: deploymentRollout(obj as V1Deployment), obj };
  return { state: { done: true, summary: "present" }, obj };
}

export const isWorkload = (ref: ObjectRef) => ref.kind === "DaemonSet" || ref.kind === "Deployment";

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  print: (line: string) => void;
}

/** Pods looked at per workload and poll: enough to name the problem, bounded on large clusters. */
const PODS_EXAMINED = 10;

/** The problems of a workload's pods that are not ready, with a crashed container's last log line. */
export async function workloadProblems(client: KubeClient, workload: V1DaemonSet | V1Deployment): Promise<PodProblem[]> {
  const namespace = workload.metadata?.namespace;
  const labels = workload.spec?.selector?.matchLabels;
  if (!namespace || !labels) return [];
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = await client.list<V1Pod>("v1", "Pod", { namespace, labelSelector });
  const problems: PodProblem[] = [];
  for (const pod of pods.filter((p) => !isReady(p)).slice(0, PODS_EXAMINED)) {
    const name = pod.metadata?.name ?? "";
    const events = await client
      .list<CoreV1Event>("v1", "Event", { namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` })
      .catch(() => []);
    const problem = podProblem(pod, events);
    if (!problem) continue;
    if (problem.crashedContainer) {
      const line = await lastLogLine(client, namespace, name, problem.crashedContainer);
      if (line) problem.reason += `; last log line: ${line}`;
    }
    problems.push(problem);
  }
  return problems;
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/** The previous run's last log line; for our JSON logs, its message (and error) rather than the JSON. */
async function lastLogLine(client: KubeClient, namespace: string, pod: string, container: string): Promise<string> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?container=${encodeURIComponent(container)}&previous=true&tailLines=1`;
  const text = (await client.getText(path, { maxBytes: 16 << 10 }).catch(() => "")).trim().split("\n").pop() ?? "";
  try {
    const entry = JSON.parse(text) as { msg?: unknown; err?: { message?: unknown } };
    if (typeof entry.msg === "string") return oneLine(typeof entry.err?.message === "string" ? `${entry.msg}: ${entry.err.message}` : entry.msg);
  } catch {
    /* not JSON: the line as it is */
  }
  return oneLine(text);
}

const describeProblem = (p: PodProblem) => `pod ${p.pod}${p.node ? ` on ${p.node}` : ""}: ${p.reason}`;

/**
 * Polls until every workload is rolled out, printing a line whenever one's state or its pods' problems
 * change; fails at once when a problem cannot heal by waiting (a missing image, a crash loop).
 */
export async function waitForRollout(client: KubeClient, refs: ObjectRef[], opts: WaitOptions): Promise<void> {
  const workloads = refs.filter(isWorkload);
  const last = new Map<string, string>();
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const pending: string[] = [];
    for (const ref of workloads) {
      const { state, obj } = await workloadState(client, ref);
      const name = describeRef(ref);
      const problems = !state.done && obj ? await workloadProblems(client, obj) : [];
      const lines = [`${name}: ${state.done ? "rolled out" : "rolling out"} (${state.summary})`, ...problems.map((p) => `  ${describeProblem(p)}`)];
      const text = lines.join("\n");
      if (last.get(name) !== text) lines.forEach((l) => opts.print(l));
      last.set(name, text);
      const fatal = problems.find((p) => p.fatal);
      if (fatal) throw new Error(`${name} cannot roll out: ${describeProblem(fatal)}`);
      if (!state.done) pending.push(`${name} (${[state.summary, ...problems.map(describeProblem)].join("; ")})`);
    }
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${formatDuration(opts.timeoutMs)} waiting for the rollout of ${pending.join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 2000, Math.max(0, deadline - Date.now()))));
  }
}

/** Polls until every object is gone (deletion can wait on finalizers and foreground dependents). */
export async function waitForDeletion(client: KubeClient, refs: ObjectRef[], opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let remaining = refs;
  for (;;) {
    const still: ObjectRef[] = [];
    for (const ref of remaining) if (await client.get(ref)) still.push(ref);
    for (const ref of remaining) if (!still.includes(ref)) opts.print(`${describeRef(ref)}: deleted`);
    remaining = still;
    if (remaining.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${formatDuration(opts.timeoutMs)} waiting for the deletion of ${remaining.map(describeRef).join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now()))));
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations as kubectl takes them: 90s, 5m, 1h30m, 500ms; a bare number is seconds. */
export function parseDuration(s: string): number {
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (t === "" || matched !== t.length) throw new Error(`"${s}" is not a duration (e.g. 90s, 5m, 1h30m)`);
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  return ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
