// The operations endpoint every daemon serves on --metrics-addr: /metrics (Prometheus text format),
// /healthz (process alive and its loops running) and /readyz (able to do its job right now).
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "./log.js";
import { onShutdown } from "./shutdown.js";
import { listen } from "./listen.js";
import { guardedHandler, type TargetHandler } from "./request-target.js";

export interface Probe {
  (): { ok: boolean; reason?: string };
}

export interface OpsServerOptions {
  /** host:port; port 0 picks a free port, reported in the log and by `address()`. */
  addr: string;
  registry: Registry;
  healthy: Probe;
  ready: Probe;
  log: Logger;
}

export interface OpsServer {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`invalid address "${addr}": expected host:port, e.g. 127.0.0.1:9090 or :0`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in "${addr}": ${port} is above 65535`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { host, port } = parseHostPort(opts.addr);
  const probeResponse = (res: http.ServerResponse, probe: Probe) => {
    const r = probe();
    res.writeHead(r.ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8" });
    res.end(r.ok ? "ok\n" : `not ok: ${r.reason ?? "unknown"}\n`);
  };
  const handle: TargetHandler = (req, res, { pathname: path }) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === "/healthz") probeResponse(res, opts.healthy);
    else if (path === "/readyz") probeResponse(res, opts.ready);
    else res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics, /healthz, /readyz\n");
  };
  const server = http.createServer(guardedHandler(opts.log, handle));
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  await listen(server, { port, host });
  const bound = server.address() as AddressInfo;
  opts.log.info({ host: bound.address, port: bound.port }, `serving /metrics, /healthz, /readyz on ${bound.address}:${bound.port}`);
  return {
    address: () => ({ host: bound.address, port: bound.port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The ops endpoint of a daemon that is healthy while it runs, plus its graceful stop: on SIGTERM or
 * SIGINT /readyz turns 503 (so nothing new is routed here), `stop` runs, then the endpoint closes.
 * `ready`, when given, is asked while not shutting down; `shutdown(reason)` starts the same stop.
 */
export async function serveOpsUntilShutdown(
  opts: Omit<OpsServerOptions, "healthy" | "ready"> & { stop: () => Promise<void>; ready?: Probe },
): Promise<OpsServer & { shutdown(reason: string): void }> {
  let serving = true;
  const ops = await startOpsServer({
    ...opts,
    healthy: () => ({ ok: true }),
    ready: () => (serving ? (opts.ready?.() ?? { ok: true }) : { ok: false, reason: "shutting down" }),
  });
  const shutdown = onShutdown(opts.log, async () => {
    serving = false;
    await opts.stop();
    await ops.close();
  });
  return { ...ops, shutdown };
}
