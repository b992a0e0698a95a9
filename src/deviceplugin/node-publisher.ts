// Publishes what the plugin found on its own Node object: labels (merge patch of the Node) and, in
// node-status mode, the EPC capacity (JSON patch of nodes/status, as Intel's epchook `-register` does).
// Runs beside the kubelet side and never blocks it: failures are logged once and retried with backoff,
// forever. After a success it re-reads the Node every `verifyEveryMs` and patches again only what has
// drifted (a kubelet on a re-created node zeroes extended capacity), and at once on `republish()` (the
// daemon calls it when the kubelet restarts). A fresh client per attempt re-reads the service-account
// token, which the kubelet rotates.
import type { Logger } from "../common/log.js";
import type { KubeClient, KubeObject, ObjectRef } from "../k8s/client.js";
import { capacityPointer } from "./node-labels.js";
import { WakeableSleep } from "../common/wakeable-sleep.js";

export interface NodePublication {
  labels: Record<string, string>;
  /** Node-status mode: this extended resource's capacity, in MiB. */
  capacity?: { resourceName: string; mib: number };
}

export interface NodePublisherOptions {
  nodeName: string;
  connect: () => Promise<KubeClient>;
  publication: NodePublication;
  log: Logger;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  verifyEveryMs?: number;
}

interface NodeView {
  metadata: KubeObject["metadata"];
  status?: { capacity?: Record<string, string> };
}

export class NodePublisher {
  private readonly ref: ObjectRef;
  private stopped = false;
  private readonly pause = new WakeableSleep();
  private pending = true;
  private done: Promise<void> = Promise.resolve();
  private publishedOnce = false;
  private lastError = "";
  private patchCount = 0;

  constructor(private readonly o: NodePublisherOptions) {
    this.ref = { apiVersion: "v1", kind: "Node", name: o.nodeName };
  }

  /** True once everything was on the Node (a later failed check does not take it back). */
  get published(): boolean {
    return this.publishedOnce;
  }

  /** PATCH requests sent so far. */
  get patches(): number {
    return this.patchCount;
  }

  start(): void {
    this.done = this.run();
  }

  /** Check the Node now rather than at the next verification. */
  republish(): void {
    this.pending = true;
    this.pause.wake();
  }

  /** Stops retrying; a request still in flight (up to the client's timeout) is not waited for beyond 1 s. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    let backoff = this.o.backoffInitialMs ?? 500;
    while (!this.stopped) {
      if (!this.pending) {
        await this.pause.sleep(this.o.verifyEveryMs ?? 300_000);
        this.pending = true;
        continue;
      }
      this.pending = false;
      try {
        await this.publishOnce();
        backoff = this.o.backoffInitialMs ?? 500;
        if (this.lastError) this.o.log.info({ node: this.o.nodeName }, "Kubernetes API reachable again");
        this.lastError = "";
      } catch (err) {
        if (this.stopped) break;
        const message = (err as Error).message;
        if (message !== this.lastError) this.o.log.warn({ node: this.o.nodeName, err: message, retryInMs: backoff }, "publishing to the Node failed; will retry");
        this.lastError = message;
        this.pending = true;
        await this.pause.sleep(backoff);
        backoff = Math.min(backoff * 2, this.o.backoffMaxMs ?? 30_000);
      }
    }
  }

  private async publishOnce(): Promise<void> {
    const client = await this.o.connect();
    const node = await client.get<NodeView>(this.ref);
    if (!node) throw new Error(`Node ${this.o.nodeName} does not exist (yet)`);
    const { labels, capacity } = this.o.publication;
    const have = node.metadata.labels ?? {};
    const missing = Object.fromEntries(Object.entries(labels).filter(([k, v]) => have[k] !== v));
    if (Object.keys(missing).length > 0) {
      await client.patch(this.ref, "merge", { metadata: { labels: missing } });
      this.patchCount++;
      this.o.log.info({ node: this.o.nodeName, labels: missing }, "labelled the node");
    }
    if (capacity && node.status?.capacity?.[capacity.resourceName] !== String(capacity.mib)) {
      const op = { op: "add", path: capacityPointer(capacity.resourceName), value: String(capacity.mib) };
      await client.patch(this.ref, "json", [op], { subresource: "status" });
      this.patchCount++;
      this.o.log.info({ node: this.o.nodeName, resource: capacity.resourceName, mib: capacity.mib }, "published the EPC capacity on the node status");
    }
    this.publishedOnce = true;
  }

}
