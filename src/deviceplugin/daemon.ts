// `confcom device-plugin` assembled: find the EPC and the SGX device nodes, then serve and register the
// EPC resource through the restart loop, with /metrics, /healthz and /readyz beside it. A node without
// SGX (or with more EPC than device mode can advertise) gets one clear log line and an idle, not-ready
// daemon: a DaemonSet pod that stays up instead of crash-looping.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../common/log.js";
import { startOpsServer, type OpsServer } from "../common/ops-server.js";
import { DEFAULT_SOCKET_NAME } from "./defaults.js";
import { maxDevices, snapshotWireBytes, UNHEALTHY } from "./device-ids.js";
import { DevicePluginMetrics } from "./metrics.js";
import { devicePlatform, type DevicePlatform, type EpcFinding } from "./platform.js";
import { RestartLoop } from "./restart-loop.js";
import { EpcResourceManager } from "./resource-manager.js";


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
  provision: boolean;
  metricsAddr: string;
  nodePollMs?: number;
  platform?: DevicePlatform;
}

export interface DevicePluginDaemon {
  readonly ops: OpsServer;
  /** Why the daemon is idle (no SGX, too much EPC), or null in device mode. */
  readonly idleReason: string | null;
  readonly loop: RestartLoop | null;
  readonly rm: EpcResourceManager | null;
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

function tooLargeMessage(epcMiB: number): string {
  const limit = maxDevices();
  return (
    `EPC of ${epcMiB} MiB is too large for device mode: its ListAndWatch snapshot would be ` +
    `${snapshotWireBytes(epcMiB, UNHEALTHY)} bytes, over the kubelet's 4 MiB (4194304 bytes) message limit; ` +
    `the largest EPC device mode can advertise is ${limit} MiB`
  );
}

/** Why device mode is off on this node (logged once, served as /readyz's reason), or the EPC to advertise. */
function deviceMode(epc: EpcFinding, resourceName: string): { idle: string } | { epcMiB: number } {
  if (!epc.found) return { idle: `no SGX EPC on this node (${epc.reasons.join("; ")}); not advertising ${resourceName}` };
  if (epc.epcMiB <= maxDevices()) return { epcMiB: epc.epcMiB };
  // A size someone typed is a mistake to report now; one found on the host leaves the pod up, not ready.
  if (epc.source === "flag" || epc.source === "simulated") throw new EpcTooLargeError(epc.epcMiB);
  return { idle: tooLargeMessage(epc.epcMiB) };
}

export async function startDevicePlugin(cfg: DevicePluginConfig, log: Logger): Promise<DevicePluginDaemon> {
  const platform = cfg.platform ?? devicePlatform;
  const epc = await platform.discoverEpc({ epcMiB: cfg.epcMiB, simulate: cfg.simulate, simEpcMiB: cfg.simEpcMiB, hostRoot: cfg.hostRoot });
  const mode = deviceMode(epc, cfg.resourceName);
  const metrics = new DevicePluginMetrics();
  metrics.epcMiB.set(epc.found ? epc.epcMiB : 0);

  // Everything made from here on is undone by `undo`, whether start-up fails half-way or stop() runs.
  const undo: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    let devRoot = cfg.devRoot;
    if (devRoot === undefined && cfg.simulate) {
      const temp = mkdtempSync(path.join(os.tmpdir(), "confcom-sim-dev-"));
      undo.push(() => rmSync(temp, { recursive: true, force: true }));
      devRoot = await platform.createSimulatedDevRoot(temp);
      log.info({ devRoot }, "simulation: created a simulated dev root");
    }
    devRoot ??= "/";

    let loop: RestartLoop | null = null;
    let rm: EpcResourceManager | null = null;
    const idleReason = "idle" in mode ? mode.idle : null;
    const ops = await startOpsServer({
      addr: cfg.metricsAddr,
      registry: metrics.registry,
      log,
      healthy: () => ({ ok: true }),
      ready: () => {
        if (idleReason) return { ok: false, reason: idleReason };
        if (!loop?.registered) return { ok: false, reason: "not registered with the kubelet" };
        if (!rm?.healthy) return { ok: false, reason: "SGX enclave device node missing; devices unhealthy" };
        return { ok: true };
      },
    });
    undo.push(() => ops.close());
    if ("idle" in mode) {
      log.error({ resource: cfg.resourceName }, mode.idle);
      return { ops, idleReason: mode.idle, loop: null, rm: null, devRoot, stop };
    }

    const resource = new EpcResourceManager({
      resourceName: cfg.resourceName,
      epcMiB: mode.epcMiB,
      provision: cfg.provision,
      nodes: await platform.findDeviceNodes(devRoot),
    });
    rm = resource;
    metrics.setDevices(resource.deviceCount, resource.healthy);
    resource.onHealthChange(() => metrics.setDevices(resource.deviceCount, resource.healthy));
    log.info(
      {
        epcMiB: mode.epcMiB,
        source: epc.found ? epc.source : undefined,
        detail: epc.found ? epc.detail : undefined,
        devRoot,
        nodes: resource.deviceNodes,
        provision: cfg.provision,
        snapshotBytes: snapshotWireBytes(mode.epcMiB, resource.currentHealth),
      },
      `advertising ${mode.epcMiB} devices of ${cfg.resourceName} (1 MiB of EPC each)`,
    );
    if (!resource.healthy) log.warn({ devRoot }, "no SGX enclave device node found; devices are Unhealthy until it appears");
    const watcher = platform.watchDeviceNodes(
      devRoot,
      (found) => {
        const was = resource.healthy;
        resource.setNodes(found);
        if (was === resource.healthy) return;
        if (resource.healthy) log.info({ nodes: found }, "SGX enclave device node is back; devices Healthy");
        else log.warn({ nodes: found }, "SGX enclave device node is gone; devices Unhealthy");
      },
      cfg.nodePollMs ?? 500,
    );
    undo.push(() => watcher.stop());

    const started = new RestartLoop({ socketDir: cfg.socketDir, socketName: cfg.socketName ?? DEFAULT_SOCKET_NAME, rm: resource, log, metrics });
    await started.start();
    loop = started;
    undo.push(() => started.stop());
    return { ops, idleReason: null, loop: started, rm: resource, devRoot, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
