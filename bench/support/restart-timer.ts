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

/**
 * Stops and starts `kubelet`, calls `onServing` once it serves (the bare baseline is told then), and
 * resolves when every resource is registered again and its snapshot in; milliseconds from the start.
 */
export async function timeRestart(kubelet: SimulatedKubelet, resources: readonly TimedResource[], onServing?: () => void, timeoutMs = 30_000): Promise<RestartTimes> {
  await kubelet.stop();
  const devices = new Map(resources.map((r) => [r.resourceName, r.devices]));
  const accepted = new Map<string, number>();
  const decoded = new Map<string, number>();
  let t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const onRegistered = (r: string) => {
    if (devices.has(r) && !accepted.has(r)) accepted.set(r, ms());
  };
  const onSnapshot = (r: string) => {
    if (!accepted.has(r) || decoded.has(r) || kubelet.allocatable(r) !== devices.get(r)) return;
    decoded.set(r, ms());
    if (decoded.size === devices.size) finish();
  };
  kubelet.on("registered", onRegistered);
  kubelet.on("snapshot", onSnapshot);
  let listening = 0;
  try {
    t0 = process.hrtime.bigint();
    // The kubelet's own start counts against the timeout too.
    const restarted = (async () => {
      await kubelet.start();
      listening = ms();
      onServing?.();
      await done;
    })();
    await within(restarted, timeoutMs, "every resource to register again with its snapshot").catch((err: Error) => {
      throw new Error(`${err.message}; kubelet state ${JSON.stringify(kubelet.summary())}`);
    });
    const a = [...accepted.values()];
    return { listening, firstAccepted: Math.min(...a), accepted: Math.max(...a), decoded: Math.max(...decoded.values()) };
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
  const devices = new Map(resources.map((r) => [r.resourceName, r.devices]));
  const accepted = new Map<string, number>();
  const decoded = new Map<string, number>();
  let listening = 0;
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const onEvent = (e: GoKubeletEvent) => {
    const r = e.resource ?? "";
    if (e.ev === "served") {
      listening = e.t;
      onServing?.();
    } else if (e.ev === "registered" && devices.has(r) && !accepted.has(r)) accepted.set(r, e.t);
    else if (e.ev === "snapshot" && accepted.has(r) && !decoded.has(r) && e.healthy === devices.get(r)) {
      decoded.set(r, e.t);
      if (decoded.size === devices.size) finish();
    }
  };
  kubelet.on("event", onEvent);
  try {
    await kubelet.start();
    await within(done, timeoutMs, "every resource to register again with its snapshot (grpc-go peer)").catch((err: Error) => {
      throw new Error(`${err.message}; the peer's errors: ${kubelet.errors.slice(-3).join("; ")}`);
    });
    const a = [...accepted.values()];
    return { listening, firstAccepted: Math.min(...a), accepted: Math.max(...a), decoded: Math.max(...decoded.values()) };
  } finally {
    kubelet.off("event", onEvent);
  }
}
