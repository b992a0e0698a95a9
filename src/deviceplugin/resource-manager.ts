// One advertised SGX resource: N devices sharing the health of the SGX device nodes they hand out.
// Answers what the kubelet asks about devices (snapshot, preferred allocation, allocation) without any
// I/O; the daemon feeds it the device nodes it finds. The EPC resource (one device per MiB) sets
// SGX_EPC_MIB; the enclave resource (one device per EPC-using container) hands /dev/sgx_enclave; the
// provision resource (one device per container that may provision) hands /dev/sgx_provision too.
import { create } from "@bufbuild/protobuf";
import { ContainerAllocateResponseSchema, DeviceSpecSchema, type ContainerAllocateResponse, type DeviceSpec } from "../gen/deviceplugin/v1beta1/api_pb.js";
import type { AllocationExtras } from "./sim-node.js";
import { deviceId, encodeSnapshot, HEALTHY, parseDeviceId, UNHEALTHY, type Health } from "./device-ids.js";
import { showId } from "./request-limits.js";

export interface SgxDeviceNode {
  containerPath: string;
  hostPath: string;
  role: "enclave" | "provision";
}

/**
 * Whether allocations hand the provision node: never; when present (`--provision-all` on the EPC and
 * enclave resources: health still follows the enclave node alone); always (the provision resource:
 * Unhealthy without it).
 */
export type ProvisionNode = "none" | "when-present" | "required";

export interface SgxResourceOptions {
  resourceName: string;
  devices: number;
  provision: ProvisionNode;
  nodes: readonly SgxDeviceNode[];
  /** Whether allocations carry SGX_EPC_MIB (the allocated device count); default false. */
  epcEnv?: boolean;
  /** Mounts and env every allocation also carries (a simulated node's platform, see ./sim-node.ts). */
  extras?: AllocationExtras;
}

/** An allocation the plugin refuses (unknown or unhealthy IDs); the server answers INVALID_ARGUMENT. */
export class AllocationRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AllocationRejected";
  }
}

export const EPC_ENV = "SGX_EPC_MIB";
const MAX_IDS_IN_MESSAGE = 10;

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_IDS_IN_MESSAGE).map(showId).join(", ");
  return ids.length > MAX_IDS_IN_MESSAGE ? `${shown} (and ${ids.length - MAX_IDS_IN_MESSAGE} more)` : shown;
}

/**
 * A per-manager bitmap over the device indices, reused by every call and cleared by unmarking only
 * what was marked: a call costs time in the IDs it sends, never in the device count.
 */
class IndexMarks {
  private readonly marks: Uint8Array;
  private readonly marked: number[] = [];

  constructor(size: number) {
    this.marks = new Uint8Array(size);
  }

  /** Marks `i` with `value` (non-zero); false when it already had a mark. */
  mark(i: number, value = 1): boolean {
    if (this.marks[i]) return false;
    this.marks[i] = value;
    this.marked.push(i);
    return true;
  }

  get(i: number): number {
    return this.marks[i] ?? 0;
  }

  /** The marked indices, in marking order. */
  indices(): readonly number[] {
    return this.marked;
  }

  clear(): void {
    for (const i of this.marked) this.marks[i] = 0;
    this.marked.length = 0;
  }
}

const TAKEN = 1;
const FREE = 2;

export class SgxResourceManager {
  readonly resourceName: string;
  readonly deviceCount: number;
  private readonly provision: ProvisionNode;
  private readonly epcEnv: boolean;
  private readonly extras: AllocationExtras | undefined;
  private nodes: readonly SgxDeviceNode[] = [];
  /** The DeviceSpecs every allocation returns, built when the nodes change. */
  private specs: DeviceSpec[] = [];
  private health: Health = UNHEALTHY;
  /** A snapshot encoded ahead of the ListAndWatch that will want it (see prepareSnapshot). */
  private prepared: { health: Health; bytes: Buffer } | null = null;
  private readonly listeners = new Set<(health: Health) => void>();
  private readonly scratch: IndexMarks;

  constructor(opts: SgxResourceOptions) {
    this.resourceName = opts.resourceName;
    this.deviceCount = opts.devices;
    this.provision = opts.provision;
    this.epcEnv = opts.epcEnv ?? false;
    this.scratch = new IndexMarks(opts.devices);
    this.extras = opts.extras;
    this.setNodes(opts.nodes);
  }

  get currentHealth(): Health {
    return this.health;
  }

  get healthy(): boolean {
    return this.health === HEALTHY;
  }

  get deviceNodes(): readonly SgxDeviceNode[] {
    return this.nodes;
  }

  /** The device nodes each allocation hands out now. */
  get handedPaths(): string[] {
    return this.specs.map((s) => s.containerPath);
  }

  /** Updates the present device nodes and the health that follows from them; listeners hear health changes. */
  setNodes(nodes: readonly SgxDeviceNode[]): void {
    this.nodes = [...nodes];
    // One node per role: the first found (the in-kernel driver's path comes first).
    const enclave = this.nodes.find((n) => n.role === "enclave");
    const provision = this.provision === "none" ? undefined : this.nodes.find((n) => n.role === "provision");
    this.specs = [enclave, provision]
      .filter((n): n is SgxDeviceNode => n !== undefined)
      .map((n) => create(DeviceSpecSchema, { containerPath: n.containerPath, hostPath: n.hostPath, permissions: "rw" }));
    const ok = enclave !== undefined && (this.provision !== "required" || provision !== undefined);
    const health: Health = ok ? HEALTHY : UNHEALTHY;
    if (health === this.health) return;
    this.health = health;
    for (const l of this.listeners) l(health);
  }

  /** What makes this resource Unhealthy, for log lines. */
  get unhealthyReason(): string {
    return this.provision === "required" ? "an SGX enclave or provision device node is missing" : "no SGX enclave device node present";
  }

  onHealthChange(listener: (health: Health) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The encoded ListAndWatchResponse for the current health: the prepared one if it still fits, else
   * built now. Not kept after: it is sent when a stream opens and when health changes, and 192 GiB of EPC
   * makes it 3.3 MB of idle RSS.
   */
  snapshot(): Buffer {
    const ready = this.prepared;
    this.prepared = null;
    return ready?.health === this.health ? ready.bytes : encodeSnapshot(this.deviceCount, this.health);
  }

  /**
   * Encodes the snapshot now, for the next `snapshot()` call: the kubelet went away and its successor's
   * ListAndWatch will want it. That encode (17 ms at 192 GiB, 20 ms cold at 16 GiB) then happens while
   * the kubelet restarts, not between its ListAndWatch and admission.
   */
  prepareSnapshot(): void {
    if (this.prepared?.health !== this.health) this.prepared = { health: this.health, bytes: encodeSnapshot(this.deviceCount, this.health) };
  }

  /** The response for one container, or AllocationRejected naming unknown/unhealthy IDs. */
  allocate(ids: readonly string[]): ContainerAllocateResponse {
    const unknown: string[] = [];
    let distinct = 0;
    try {
      for (const id of ids) {
        const i = parseDeviceId(id, this.deviceCount);
        if (i < 0) unknown.push(id);
        else if (this.scratch.mark(i)) distinct++;
      }
    } finally {
      this.scratch.clear();
    }
    if (unknown.length > 0) {
      throw new AllocationRejected(`unknown device IDs for ${this.resourceName}: ${listIds(unknown)}`);
    }
    if (!this.healthy) {
      throw new AllocationRejected(`unhealthy devices for ${this.resourceName} (${this.unhealthyReason}): ${listIds(ids)}`);
    }
    return create(ContainerAllocateResponseSchema, {
      envs: { ...this.extras?.envs, ...(this.epcEnv ? { [EPC_ENV]: String(distinct) } : {}) },
      devices: this.specs,
      mounts: this.extras?.mounts ?? [],
    });
  }

  /**
   * Compact choice of `size` IDs: every must-include ID first, then the lowest contiguous run of free
   * IDs long enough for the rest, or failing one, the lowest free IDs. Linear in the IDs given (a sort
   * of them only when no run is long enough), whatever the device count.
   */
  preferredAllocation(available: readonly string[], mustInclude: readonly string[], size: number): string[] {
    const m = this.scratch;
    try {
      const out: string[] = [];
      for (const id of mustInclude) {
        const i = parseDeviceId(id, this.deviceCount);
        if (i >= 0 && !m.mark(i, TAKEN)) continue;
        out.push(id);
      }
      let need = size - out.length;
      if (need <= 0) return out;
      const free: number[] = [];
      for (const id of available) {
        const i = parseDeviceId(id, this.deviceCount);
        if (i >= 0 && m.mark(i, FREE)) free.push(i);
      }
      // Each run is walked once, from its first index: O(free) in all.
      let best = -1;
      for (const start of free) {
        if (start > 0 && m.get(start - 1) === FREE) continue;
        if (best >= 0 && start > best) continue;
        let end = start;
        while (end - start < need && m.get(end) === FREE) end++;
        if (end - start >= need) best = start;
      }
      if (best >= 0) {
        for (let i = best; need > 0; i++, need--) out.push(deviceId(i));
        return out;
      }
      const lowest = Int32Array.from(free).sort();
      for (let k = 0; k < lowest.length && need > 0; k++, need--) out.push(deviceId(lowest[k]!));
      return out;
    } finally {
      m.clear();
    }
  }
}
