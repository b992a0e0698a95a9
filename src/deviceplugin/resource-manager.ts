// The EPC resource: one device per MiB, all sharing the health of the SGX enclave device node. Answers
// what the kubelet asks about devices (snapshot, preferred allocation, allocation) without any I/O; the
// daemon feeds it the device nodes it finds. The enclave resource (one device per EPC-using container) is
// the same manager with `epcEnv` off: its device count says nothing about EPC.
import { create } from "@bufbuild/protobuf";
import { ContainerAllocateResponseSchema, DeviceSpecSchema, type ContainerAllocateResponse, type DeviceSpec } from "../gen/deviceplugin/v1beta1/api_pb.js";
import type { AllocationExtras } from "./sim-node.js";
import { deviceId, encodeSnapshot, HEALTHY, parseDeviceId, UNHEALTHY, type Health } from "./device-ids.js";

export interface SgxDeviceNode {
  containerPath: string;
  hostPath: string;
  role: "enclave" | "provision";
}

export interface EpcResourceOptions {
  resourceName: string;
  epcMiB: number;
  /** Whether allocations get the provision node (needed by quoting enclaves). */
  provision: boolean;
  nodes: readonly SgxDeviceNode[];
  /** Whether allocations carry SGX_EPC_MIB (the allocated device count); default true. */
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

function listIds(ids: string[]): string {
  const shown = ids.slice(0, MAX_IDS_IN_MESSAGE).map((id) => JSON.stringify(id)).join(", ");
  return ids.length > MAX_IDS_IN_MESSAGE ? `${shown} (and ${ids.length - MAX_IDS_IN_MESSAGE} more)` : shown;
}

export class EpcResourceManager {
  readonly resourceName: string;
  readonly deviceCount: number;
  private readonly provision: boolean;
  private readonly epcEnv: boolean;
  private readonly extras: AllocationExtras | undefined;
  private nodes: readonly SgxDeviceNode[] = [];
  /** The DeviceSpecs every allocation returns, built when the nodes change. */
  private specs: DeviceSpec[] = [];
  private health: Health = UNHEALTHY;
  private encoded: Buffer | null = null;
  private readonly listeners = new Set<(health: Health) => void>();

  constructor(opts: EpcResourceOptions) {
    this.resourceName = opts.resourceName;
    this.deviceCount = opts.epcMiB;
    this.provision = opts.provision;
    this.epcEnv = opts.epcEnv ?? true;
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

  /** Updates the present device nodes; health follows the enclave node. Listeners hear health changes. */
  setNodes(nodes: readonly SgxDeviceNode[]): void {
    this.nodes = [...nodes];
    this.specs = this.nodes
      .filter((n) => n.role === "enclave" || this.provision)
      .map((n) => create(DeviceSpecSchema, { containerPath: n.containerPath, hostPath: n.hostPath, permissions: "rw" }));
    const health: Health = nodes.some((n) => n.role === "enclave") ? HEALTHY : UNHEALTHY;
    if (health === this.health && this.encoded) return;
    const changed = health !== this.health;
    this.health = health;
    this.encoded = null;
    if (changed) for (const l of this.listeners) l(health);
  }

  onHealthChange(listener: (health: Health) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The encoded ListAndWatchResponse for the current health (built once per health change). */
  snapshot(): Buffer {
    this.encoded ??= encodeSnapshot(this.deviceCount, this.health);
    return this.encoded;
  }

  /** The response for one container, or AllocationRejected naming unknown/unhealthy IDs. */
  allocate(ids: readonly string[]): ContainerAllocateResponse {
    // A bitmap for big requests; a Set for the usual few IDs, which must not pay for zeroing 200k bytes.
    const bitmap = ids.length > 4096 ? new Uint8Array(this.deviceCount) : null;
    const set = bitmap ? null : new Set<number>();
    const unknown: string[] = [];
    let distinct = 0;
    for (const id of ids) {
      const i = parseDeviceId(id, this.deviceCount);
      if (i < 0) unknown.push(id);
      else if (bitmap ? !bitmap[i] : !set!.has(i)) {
        if (bitmap) bitmap[i] = 1;
        else set!.add(i);
        distinct++;
      }
    }
    if (unknown.length > 0) {
      throw new AllocationRejected(`unknown device IDs for ${this.resourceName}: ${listIds(unknown)}`);
    }
    if (!this.healthy) {
      throw new AllocationRejected(
        `unhealthy devices for ${this.resourceName} (no SGX enclave device node present): ${listIds([...ids])}`,
      );
    }
    return create(ContainerAllocateResponseSchema, {
      envs: { ...this.extras?.envs, ...(this.epcEnv ? { [EPC_ENV]: String(distinct) } : {}) },
      devices: this.specs,
      mounts: this.extras?.mounts ?? [],
    });
  }

  /**
   * Compact choice of `size` IDs: every must-include ID first, then the lowest contiguous run of free
   * IDs long enough for the rest, or failing one, the lowest free IDs. O(devices), no sorting.
   */
  preferredAllocation(available: readonly string[], mustInclude: readonly string[], size: number): string[] {
    const out: string[] = [];
    const taken = new Uint8Array(this.deviceCount);
    for (const id of mustInclude) {
      const i = parseDeviceId(id, this.deviceCount);
      if (i >= 0) {
        if (taken[i]) continue;
        taken[i] = 1;
      }
      out.push(id);
    }
    let need = size - out.length;
    if (need <= 0) return out;
    const free = new Uint8Array(this.deviceCount);
    for (const id of available) {
      const i = parseDeviceId(id, this.deviceCount);
      if (i >= 0 && !taken[i]) free[i] = 1;
    }
    let runStart = -1;
    for (let i = 0, start = -1; i <= this.deviceCount; i++) {
      if (i < this.deviceCount && free[i]) {
        if (start < 0) start = i;
        if (i - start + 1 >= need) {
          runStart = start;
          break;
        }
      } else start = -1;
    }
    if (runStart >= 0) {
      for (let i = runStart; need > 0; i++, need--) out.push(deviceId(i));
      return out;
    }
    for (let i = 0; i < this.deviceCount && need > 0; i++) {
      if (free[i]) {
        out.push(deviceId(i));
        need--;
      }
    }
    return out;
  }
}
