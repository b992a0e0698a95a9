// The quote helper: an AESM-compatible service on a unix socket, serving DCAP quote-ex requests from
// a QuotingBackend. Assembles socket file, transport, dispatcher and metrics; owns their shutdown.
import type { Logger } from "../common/log.js";
import type { QuotingBackend } from "../quoting/backend.js";
import { createDispatcher } from "./dispatcher.js";
import { createMetrics, type QuoteHelperMetrics } from "./metrics.js";
import { prepareSocketPath, removeSocketFile, setSocketAccess } from "./socket-file.js";
import { startFrameServer } from "./transport.js";

export interface QuoteHelperOptions {
  socketPath: string;
  /** Permission bits of the socket file; aesmd uses 0777. */
  socketMode: number;
  socketGroup?: string;
  maxFrameSize: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  maxConnections: number;
  maxUnsentBytes: number;
  /** Owned by the service from here on: closed by `close()`. */
  backend: QuotingBackend & { queueDepth?(): number };
  log: Logger;
}

export interface QuoteHelper {
  readonly socketPath: string;
  readonly metrics: QuoteHelperMetrics;
  /** Stop accepting, answer requests in flight, close the backend, remove the socket file. */
  close(): Promise<void>;
}

export async function startQuoteHelper(opts: QuoteHelperOptions): Promise<QuoteHelper> {
  const { backend, log } = opts;
  const supportedKeyIds = await backend.supportedAttKeyIds();
  let connections = () => 0;
  const metrics = createMetrics({ queueDepth: () => backend.queueDepth?.() ?? 0, connections: () => connections() });
  await prepareSocketPath(opts.socketPath);
  const server = await startFrameServer({
    path: opts.socketPath,
    maxFrameSize: opts.maxFrameSize,
    readTimeoutMs: opts.readTimeoutMs,
    writeTimeoutMs: opts.writeTimeoutMs,
    maxConnections: opts.maxConnections,
    maxUnsentBytes: opts.maxUnsentBytes,
    handle: createDispatcher({ backend, supportedKeyIds }, log, metrics),
    log,
    onDrop: (reason) => metrics.dropped.inc({ reason }),
  });
  connections = server.connections;
  await setSocketAccess(opts.socketPath, opts.socketMode, opts.socketGroup);
  log.info({ socket: opts.socketPath, backend: backend.name, keys: supportedKeyIds.length }, "quote helper listening");
  let closing: Promise<void> | undefined;
  return {
    socketPath: opts.socketPath,
    metrics,
    close: () =>
      (closing ??= (async () => {
        await server.close();
        await backend.close();
        await removeSocketFile(opts.socketPath);
      })()),
  };
}
