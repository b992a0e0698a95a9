// The device plugin's own Prometheus registry (never the global one), one object the other parts update.
// prom-client's classes are loaded one by one (see common/prom-client-lite.ts).
import { Counter, Gauge, Registry } from "../common/prom-client-lite.js";
import { registerProcessMetrics } from "../common/process-metrics.js";

const P = "confcom_device_plugin_";

export class DevicePluginMetrics {
  readonly registry = new Registry();
  readonly registered = new Gauge({ name: `${P}registered`, help: "1 while every resource served is registered with the kubelet, else 0", registers: [this.registry] });
  readonly devices = new Gauge({ name: `${P}devices`, help: "Advertised EPC devices (1 MiB each) by health", labelNames: ["health"] as const, registers: [this.registry] });
  readonly epcMiB = new Gauge({ name: `${P}epc_mib`, help: "EPC size found on this node in MiB (0 when none)", registers: [this.registry] });
  readonly resourceRegistered = new Gauge({ name: `${P}resource_registered`, help: "1 while the resource is registered with the kubelet, else 0", labelNames: ["resource"] as const, registers: [this.registry] });
  readonly streams = new Gauge({ name: `${P}list_and_watch_streams`, help: "Open ListAndWatch streams, by resource", labelNames: ["resource"] as const, registers: [this.registry] });
  readonly allocations = new Counter({ name: `${P}allocations_total`, help: "Container allocations answered, by resource and result", labelNames: ["resource", "result"] as const, registers: [this.registry] });
  readonly registrations = new Counter({ name: `${P}registrations_total`, help: "Successful registrations with the kubelet, all resources together", registers: [this.registry] });
  readonly reregistrations = new Counter({ name: `${P}reregistrations_total`, help: "Registrations after each resource's first (one per resource per kubelet restart)", registers: [this.registry] });
  readonly registrationErrors = new Counter({ name: `${P}registration_errors_total`, help: "Failed registration attempts", registers: [this.registry] });
  readonly lastError = new Gauge({ name: `${P}last_error_info`, help: "The latest error, as the message label (value 1)", labelNames: ["message"] as const, registers: [this.registry] });
  readonly oldKubeletConnections = new Counter({
    name: `${P}old_kubelet_connections_total`,
    help: "Connections from kubelets before 1.26 (socket path as :authority), served with the authority rewritten",
    registers: [this.registry],
  });
  readonly lastErrorTime = new Gauge({ name: `${P}last_error_timestamp_seconds`, help: "When the latest error happened", registers: [this.registry] });

  constructor() {
    registerProcessMetrics(this.registry, P);
    this.registered.set(0);
  }

  private readonly expected = new Set<string>();
  private readonly registeredNow = new Set<string>();

  /** The resources `registered` waits for. */
  expectResources(names: readonly string[]): void {
    for (const n of names) {
      this.expected.add(n);
      this.resourceRegistered.set({ resource: n }, this.registeredNow.has(n) ? 1 : 0);
      this.streams.set({ resource: n }, 0);
      for (const result of ["ok", "rejected"]) this.allocations.inc({ resource: n, result }, 0);
    }
    this.updateRegistered();
  }

  setRegistered(resourceName: string, on: boolean): void {
    if (on) this.registeredNow.add(resourceName);
    else this.registeredNow.delete(resourceName);
    this.resourceRegistered.set({ resource: resourceName }, on ? 1 : 0);
    this.updateRegistered();
  }

  private updateRegistered(): void {
    const all = this.expected.size > 0 && [...this.expected].every((n) => this.registeredNow.has(n));
    this.registered.set(all ? 1 : 0);
  }

  setDevices(count: number, healthy: boolean): void {
    this.devices.set({ health: "Healthy" }, healthy ? count : 0);
    this.devices.set({ health: "Unhealthy" }, healthy ? 0 : count);
  }

  recordError(message: string): void {
    this.lastError.reset();
    this.lastError.set({ message: message.slice(0, 300) }, 1);
    this.lastErrorTime.set(Date.now() / 1000);
  }
}
