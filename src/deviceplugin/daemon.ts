// `confcom device-plugin` assembled: find the EPC and the SGX device nodes, then serve and register the
// resources through restart loops, with /metrics, /healthz and /readyz beside it. Two EPC modes:
// - devices: the EPC resource as one device per MiB (while its ListAndWatch fits the kubelet's 4 MiB);
// - node-status: the EPC capacity patched onto the Node's status (no ListAndWatch), for any size.
// In both, the enclave resource (N devices) hands out /dev/sgx_enclave, so pods that ask for EPC plus
// one enclave device (the webhook adds it) schedule and start the same way in either mode, and the
// provision resource (N devices) hands /dev/sgx_provision as well, to the containers that quote. Once SGX is
// found the node is labelled (API, NFD feature file) by the node publisher, which never blocks the
// kubelet side. A node without SGX (or, in devices mode, with too much EPC found on the host) gets one
// clear log line and an idle, not-ready daemon: a DaemonSet pod that stays up instead of crash-looping.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../common/log.js";
import { startOpsServer, type OpsServer } from "../common/ops-server.js";
import { inClusterAvailable, KubeClient, type KubeClientOptions } from "../k8s/client.js";
import {
  DEFAULT_ENCLAVE_DEVICES,
  DEFAULT_ENCLAVE_RESOURCE_NAME,
  DEFAULT_ENCLAVE_SOCKET_NAME,
  DEFAULT_PROVISION_RESOURCE_NAME,
  DEFAULT_PROVISION_SOCKET_NAME,
  DEFAULT_SOCKET_NAME,
  type EpcMode,
} from "./defaults.js";
import { maxDevices, snapshotWireBytes, UNHEALTHY } from "./device-ids.js";
import { DevicePluginMetrics } from "./metrics.js";
import { writeNfdFeatureFile } from "./nfd-feature-file.js";
import { sgxNodeLabels } from "./node-labels.js";
import { NodePublisher, type NodePublisherOptions } from "./node-publisher.js";
import { devicePlatform, hostDevPathsPlatform, hostNullDevicePlatform, type DevicePlatform, type EpcFinding } from "./platform.js";
import { RestartLoop, type RestartLoopOptions } from "./restart-loop.js";
import { SgxResourceManager, type ProvisionNode } from "./resource-manager.js";
import type { AllocationExtras } from "./sim-node.js";


export interface DevicePluginConfig {
  resourceName: string;
  socketDir: string;
  socketName?: string;
  /** EPC size given on the command line, trusted over discovery. */
  epcMiB?: number;
  simulate: boolean;
  simEpcMiB?: number;
  /** Where /dev is looked up; undefined with `simulate` means a fresh simulated dev root. */
  devRoot?: string;
  hostRoot: string;
  /** The old behaviour: EPC and enclave allocations hand /dev/sgx_provision too. */
  provisionAll?: boolean;
  metricsAddr: string;
  /** Default auto: devices while the EPC fits one ListAndWatch message, else node-status. */
  epcMode?: EpcMode;
  enclaveResourceName?: string;
  enclaveSocketName?: string;
  enclaveDevices?: number;
  provisionResourceName?: string;
  provisionSocketName?: string;
  /** Devices of the provision resource; default the enclave device count; 0 = not advertised. */
  provisionDevices?: number;
  /** This node's name (NODE_NAME from the downward API): needed to label the node and for node-status mode. */
  nodeName?: string;
  /** Label the node through the API (undefined: when the node name is known); false also skips the NFD file. */
  nodeLabels?: boolean;
  /** A kubeconfig for the API; without one, the pod's service account when there is one. */
  kubeconfig?: string;
  publisher?: Pick<NodePublisherOptions, "backoffInitialMs" | "backoffMaxMs" | "verifyEveryMs">;
  nodePollMs?: number;
  /** Tuning of every resource's restart loop (tests). */
  restartLoop?: Pick<RestartLoopOptions, "backoffInitialMs" | "backoffMaxMs" | "pollMs" | "fsWatch">;
  platform?: DevicePlatform;
  /** Simulation on a real node: the host's /dev/null as the SGX device nodes (no temporary dev root). */
  simHostDevices?: boolean;
  /** The dev root is the host's / mounted here: device specs name the nodes' host paths (/dev/...). */
  hostDevPaths?: boolean;
  /** Simulation in a cluster: this node's platform (seed, node name) under this host directory, mounted into every allocation. */
  simNode?: { seed: string; stateRoot: string; refreshMs?: number };
}

export interface ServedResource {
  readonly loop: RestartLoop;
  readonly rm: SgxResourceManager;
}

export interface DevicePluginDaemon {
  readonly ops: OpsServer;
  /** Why the daemon is idle (no SGX, too much EPC), or null when serving. */
  readonly idleReason: string | null;
  readonly mode: "devices" | "node-status" | null;
  /** The EPC resource (devices mode only). */
  readonly loop: RestartLoop | null;
  readonly rm: SgxResourceManager | null;
  /** The enclave resource (both modes). */
  readonly enclave: ServedResource | null;
  /** The provision resource (both modes, unless its device count is 0). */
  readonly provision: ServedResource | null;
  /** Labels and (node-status mode) capacity on the Node object; null without node name or API. */
  readonly publisher: NodePublisher | null;
  /** The NFD feature file written, if NFD's features.d exists. */
  readonly nfdFile: string | null;
  readonly devRoot: string;
  stop(): Promise<void>;
}

/** Thrown for an EPC size given on the command line that device mode cannot advertise. */
export class EpcTooLargeError extends Error {
  constructor(epcMiB: number) {
    super(tooLargeMessage(epcMiB));
    this.name = "EpcTooLargeError";
  }
}

/** Node-status mode was chosen (or is needed) but the node name or the Kubernetes API is missing. */
export class NodeStatusModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NodeStatusModeError";
  }
}

function tooLargeMessage(epcMiB: number): string {
  const limit = maxDevices();
  return (
    `EPC of ${epcMiB} MiB is too large for device mode: its ListAndWatch snapshot would be ` +
    `${snapshotWireBytes(epcMiB, UNHEALTHY)} bytes, over the kubelet's 4 MiB (4194304 bytes) message limit; ` +
    `the largest EPC device mode can advertise is ${limit} MiB (--epc-mode node-status or auto has no limit)`
  );
}

type Plan = { idle: string } | { mode: "devices" | "node-status"; epcMiB: number };

/** Why the daemon idles (logged once, served as /readyz's reason), or the mode and EPC to advertise. */
function planMode(epc: EpcFinding, cfg: DevicePluginConfig, api: KubeClientOptions | null): Plan {
  if (!epc.found) return { idle: `no SGX EPC on this node (${epc.reasons.join("; ")}); not advertising ${cfg.resourceName}` };
  const requested = cfg.epcMode ?? "auto";
  const fits = epc.epcMiB <= maxDevices();
  if (requested === "devices" || (requested === "auto" && fits)) {
    if (fits) return { mode: "devices", epcMiB: epc.epcMiB };
    // A size someone typed is a mistake to report now; one found on the host leaves the pod up, not ready.
    if (epc.source === "flag" || epc.source === "simulated") throw new EpcTooLargeError(epc.epcMiB);
    return { idle: tooLargeMessage(epc.epcMiB) };
  }
  const missing = [
    ...(cfg.nodeName ? [] : ["the node's name (NODE_NAME or --node-name)"]),
    ...(api ? [] : ["a Kubernetes API (the pod's service account or --kubeconfig)"]),
  ];
  if (missing.length > 0) {
    const what =
      requested === "auto"
        ? `EPC of ${epc.epcMiB} MiB is over device mode's limit of ${maxDevices()} MiB, so it is published on the node status`
        : "--epc-mode node-status publishes the EPC on the node status";
    throw new NodeStatusModeError(`${what}, which needs ${missing.join(" and ")}`);
  }
  return { mode: "node-status", epcMiB: epc.epcMiB };
}

/** How to reach the API: the kubeconfig given, else the pod's service account, else none. */
function apiSource(cfg: DevicePluginConfig): KubeClientOptions | null {
  if (cfg.kubeconfig) return { kubeconfig: cfg.kubeconfig, timeoutMs: 10_000 };
  return inClusterAvailable() ? { inCluster: true, timeoutMs: 10_000 } : null;
}

export async function startDevicePlugin(cfg: DevicePluginConfig, log: Logger): Promise<DevicePluginDaemon> {
  const basePlatform = cfg.platform ?? devicePlatform;
  const platform = cfg.simHostDevices ? hostNullDevicePlatform(basePlatform) : cfg.hostDevPaths ? hostDevPathsPlatform(basePlatform) : basePlatform;
  const epc = await platform.discoverEpc({ epcMiB: cfg.epcMiB, simulate: cfg.simulate, simEpcMiB: cfg.simEpcMiB, hostRoot: cfg.hostRoot });
  const api = apiSource(cfg);
  const plan = planMode(epc, cfg, api);
  const metrics = new DevicePluginMetrics();
  metrics.epcMiB.set(epc.found ? epc.epcMiB : 0);

  // Everything made from here on is undone by `undo`, whether start-up fails half-way or stop() runs.
  const undo: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    let devRoot = cfg.devRoot;
    if (devRoot === undefined && cfg.simulate && !cfg.simHostDevices) {
      const temp = mkdtempSync(path.join(os.tmpdir(), "confcom-sim-dev-"));
      undo.push(() => rmSync(temp, { recursive: true, force: true }));
      devRoot = await platform.createSimulatedDevRoot(temp);
      log.info({ devRoot }, "simulation: created a simulated dev root");
    }
    devRoot ??= "/";

    const loops: RestartLoop[] = [];
    const rms: SgxResourceManager[] = [];
    let publisher: NodePublisher | null = null;
    const idleReason = "idle" in plan ? plan.idle : null;
    const ops = await startOpsServer({
      addr: cfg.metricsAddr,
      registry: metrics.registry,
      log,
      healthy: () => ({ ok: true }),
      ready: () => {
        if (idleReason) return { ok: false, reason: idleReason };
        if (loops.length === 0 || !loops.every((l) => l.registered)) return { ok: false, reason: "not registered with the kubelet" };
        const sick = rms.find((r) => !r.healthy);
        if (sick) return { ok: false, reason: `${sick.resourceName}: ${sick.unhealthyReason}; devices unhealthy` };
        if ("mode" in plan && plan.mode === "node-status" && !publisher?.published) return { ok: false, reason: "EPC capacity not yet published on the node status" };
        return { ok: true };
      },
    });
    undo.push(() => ops.close());
    if ("idle" in plan) {
      log.error({ resource: cfg.resourceName }, plan.idle);
      return { ops, idleReason: plan.idle, mode: null, loop: null, rm: null, enclave: null, provision: null, publisher: null, nfdFile: null, devRoot, stop };
    }

    let extras: AllocationExtras | undefined;
    if (cfg.simNode) {
      if (!cfg.nodeName) throw new Error("a simulated node's platform needs the node name (NODE_NAME or --node-name)");
      const { startSimNode } = await import("./sim-node.js");
      const simNode = await startSimNode({ ...cfg.simNode, nodeName: cfg.nodeName, epcMiB: plan.epcMiB }, log);
      undo.push(() => simNode.stop());
      extras = simNode.extras;
    }
    const nodes = await platform.findDeviceNodes(devRoot);
    const shared: ProvisionNode = cfg.provisionAll ? "when-present" : "none";
    const enclaveDevices = cfg.enclaveDevices ?? DEFAULT_ENCLAVE_DEVICES;
    const enclaveRm = new SgxResourceManager({ resourceName: cfg.enclaveResourceName ?? DEFAULT_ENCLAVE_RESOURCE_NAME, devices: enclaveDevices, provision: shared, nodes, extras });
    const epcRm =
      plan.mode === "devices" ? new SgxResourceManager({ resourceName: cfg.resourceName, devices: plan.epcMiB, provision: shared, nodes, epcEnv: true, extras }) : null;
    const provisionDevices = cfg.provisionDevices ?? enclaveDevices;
    const provisionRm =
      provisionDevices > 0
        ? new SgxResourceManager({ resourceName: cfg.provisionResourceName ?? DEFAULT_PROVISION_RESOURCE_NAME, devices: provisionDevices, provision: "required", nodes, extras })
        : null;
    rms.push(...(epcRm ? [epcRm] : []), enclaveRm, ...(provisionRm ? [provisionRm] : []));
    metrics.expectResources(rms.map((r) => r.resourceName));
    if (epcRm) {
      metrics.setDevices(epcRm.deviceCount, epcRm.healthy);
      epcRm.onHealthChange(() => metrics.setDevices(epcRm.deviceCount, epcRm.healthy));
    }
    log.info(
      {
        mode: plan.mode,
        epcMiB: plan.epcMiB,
        source: epc.found ? epc.source : undefined,
        detail: epc.found ? epc.detail : undefined,
        devRoot,
        nodes: enclaveRm.deviceNodes,
        provisionAll: cfg.provisionAll ?? false,
        resources: Object.fromEntries(rms.map((r) => [r.resourceName, { devices: r.deviceCount, hands: r.handedPaths }])),
        snapshotBytes: epcRm ? snapshotWireBytes(plan.epcMiB, epcRm.currentHealth) : undefined,
      },
      `${epcRm ? `advertising ${plan.epcMiB} devices of ${cfg.resourceName} (1 MiB of EPC each)` : `publishing ${plan.epcMiB} MiB of ${cfg.resourceName} on the node status; advertising`}` +
        `${rms.filter((r) => r !== epcRm).map((r) => ` ${r.deviceCount} devices of ${r.resourceName}`).join(" and")}`,
    );
    for (const r of rms) if (!r.healthy) log.warn({ resource: r.resourceName, devRoot }, `${r.unhealthyReason}; devices are Unhealthy until it appears`);
    const watcher = platform.watchDeviceNodes(
      devRoot,
      (found) => {
        for (const r of rms) {
          const was = r.healthy;
          r.setNodes(found);
          if (was === r.healthy) continue;
          if (r.healthy) log.info({ resource: r.resourceName, nodes: found }, "SGX device nodes are back; devices Healthy");
          else log.warn({ resource: r.resourceName, nodes: found }, `${r.unhealthyReason}; devices Unhealthy`);
        }
      },
      cfg.nodePollMs ?? 500,
    );
    undo.push(() => watcher.stop());

    // The node: the NFD feature file wherever NFD is installed, labels through the API when the node name
    // is known (or --node-labels), the EPC capacity in node-status mode.
    const labels = sgxNodeLabels(plan.epcMiB);
    let nfdFile: string | null = null;
    if (cfg.nodeLabels !== false) {
      nfdFile = await writeNfdFeatureFile(cfg.hostRoot, labels).catch((err: Error) => {
        log.warn({ err: err.message }, "cannot write the NFD feature file");
        return null;
      });
      if (nfdFile) log.info({ file: nfdFile, labels }, "wrote the NFD feature file");
    }
    const apiLabels = (cfg.nodeLabels ?? cfg.nodeName !== undefined) ? labels : {};
    if (cfg.nodeName && !api && Object.keys(apiLabels).length > 0) {
      log.warn({ nodeName: cfg.nodeName }, "no Kubernetes API (no service account, no --kubeconfig): not labelling the node");
    }
    const capacity = plan.mode === "node-status" ? { resourceName: cfg.resourceName, mib: plan.epcMiB } : undefined;
    if (cfg.nodeName && api && (capacity || Object.keys(apiLabels).length > 0)) {
      const publication = { labels: apiLabels, capacity };
      const started = new NodePublisher({ ...cfg.publisher, nodeName: cfg.nodeName, connect: () => KubeClient.connect(api), publication, log });
      started.start();
      publisher = started;
      undo.push(() => started.stop());
    }

    const serve = async (rm: SgxResourceManager, socketName: string, onRegistered?: (n: number) => void) => {
      const loop = new RestartLoop({ ...cfg.restartLoop, socketDir: cfg.socketDir, socketName, rm, log, metrics, onRegistered });
      await loop.start();
      loops.push(loop);
      undo.push(() => loop.stop());
      return loop;
    };
    const epcLoop = epcRm ? await serve(epcRm, cfg.socketName ?? DEFAULT_SOCKET_NAME) : null;
    // A restarted kubelet may have rewritten the node status (a re-created node's kubelet zeroes extended capacity).
    const enclaveLoop = await serve(enclaveRm, cfg.enclaveSocketName ?? DEFAULT_ENCLAVE_SOCKET_NAME, (n) => {
      if (n > 1) publisher?.republish();
    });
    const provisionLoop = provisionRm ? await serve(provisionRm, cfg.provisionSocketName ?? DEFAULT_PROVISION_SOCKET_NAME) : null;
    return {
      ops,
      idleReason: null,
      mode: plan.mode,
      loop: epcLoop,
      rm: epcRm,
      enclave: { loop: enclaveLoop, rm: enclaveRm },
      provision: provisionLoop && provisionRm ? { loop: provisionLoop, rm: provisionRm } : null,
      publisher,
      nfdFile,
      devRoot,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
