// Times one kubelet restart as the kubelet peer sees it, from the moment its start begins (its directory
// clean-up is every plugin's signal): when it serves kubelet.sock, when each resource's Register was
// accepted (the kubelet dialed the plugin and had its options: Register returns), and when each
// resource's first full ListAndWatch snapshot was decoded with every device healthy (admission possible
// again). Times are taken inside the peer's own events, not after an await.
import type { SimulatedKubelet } from "../../src/kubelet/simulated-kubelet.js";
import type { GoKubelet, GoKubeletEvent } from "../../test/support/go-kubelet.js";
import { within } from "../../test/support/timeout.js";

export interface RestartTimes {
  /** kubelet.sock served. */
  listening: number;
  /** The first and the last resource's Register accepted. */
  firstAccepted: number;
  accepted: number;
  /** The last resource's snapshot decoded. */
  decoded: number;
}

export interface TimedResource {
  resourceName: string;
  devices: number;
}

/** One restart as its peer's events tell it, whichever peer: each resource's first Register and full snapshot. */
class RestartRecord {
  listening = 0;
  private readonly devices: Map<string, number>;
  private readonly accepted = new Map<string, number>();
  private readonly decoded = new Map<string, number>();
  private finish = () => {};
  /** Resolves once every resource's snapshot is in. */
  readonly done = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(resources: readonly TimedResource[]) {
    this.devices = new Map(resources.map((r) => [r.resourceName, r.devices]));
  }

  registered(resource: string, t: number): void {
    if (this.devices.has(resource) && !this.accepted.has(resource)) this.accepted.set(resource, t);
  }

  /** A snapshot counts once its resource is registered and every device in it is healthy. */
  snapshot(resource: string, healthy: number, t: number): void {
    if (!this.accepted.has(resource) || this.decoded.has(resource) || healthy !== this.devices.get(resource)) return;
    this.decoded.set(resource, t);
    if (this.decoded.size === this.devices.size) this.finish();
  }

  times(): RestartTimes {
    const a = [...this.accepted.values()];
    return { listening: this.listening, firstAccepted: Math.min(...a), accepted: Math.max(...a), decoded: Math.max(...this.decoded.values()) };
  }
}

/**
 * Stops and starts `kubelet`, calls `onServing` once it serves (the bare baseline is told then), and
 * resolves when every resource is registered again and its snapshot in; milliseconds from the start.
 */
export async function timeRestart(kubelet: SimulatedKubelet, resources: readonly TimedResource[], onServing?: () => void, timeoutMs = 30_000): Promise<RestartTimes> {
  await kubelet.stop();
  const record = new RestartRecord(resources);
  let t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const onRegistered = (r: string) => record.registered(r, ms());
  const onSnapshot = (r: string) => record.snapshot(r, kubelet.allocatable(r), ms());
  kubelet.on("registered", onRegistered);
  kubelet.on("snapshot", onSnapshot);
  try {
    t0 = process.hrtime.bigint();
    // The kubelet's own start counts against the timeout too.
    const restarted = (async () => {
      await kubelet.start();
      record.listening = ms();
      onServing?.();
      await record.done;
    })();
    await within(restarted, timeoutMs, "every resource to register again with its snapshot").catch((err: Error) => {
      throw new Error(`${err.message}; kubelet state ${JSON.stringify(kubelet.summary())}`);
    });
    return record.times();
  } finally {
    kubelet.off("registered", onRegistered);
    kubelet.off("snapshot", onSnapshot);
  }
}

/**
 * The same restart on the grpc-go kubelet peer, timed by the peer's own clock (its events carry ms since
 * its start began, so the pipe to this process adds nothing): stop, start, `onServing` when the served
 * event arrives, and resolve when every resource is registered again with its full snapshot in.
 */
export async function timeGoRestart(kubelet: GoKubelet, resources: readonly TimedResource[], onServing?: () => void, timeoutMs = 30_000): Promise<RestartTimes> {
  await kubelet.stop();
  const record = new RestartRecord(resources);
  const onEvent = (e: GoKubeletEvent) => {
    if (e.ev === "served") {
      record.listening = e.t;
      onServing?.();
    } else if (e.ev === "registered") record.registered(e.resource!, e.t);
    else if (e.ev === "snapshot") record.snapshot(e.resource!, e.healthy!, e.t);
  };
  kubelet.on("event", onEvent);
  try {
    await kubelet.start();
    await within(record.done, timeoutMs, "every resource to register again with its snapshot (grpc-go peer)").catch((err: Error) => {
      throw new Error(`${err.message}; the peer's errors: ${kubelet.errors.slice(-3).join("; ")}`);
    });
    return record.times();
  } finally {
    kubelet.off("event", onEvent);
  }
}
