// Graceful shutdown for daemons: the first SIGTERM/SIGINT runs the stop function and exits 0 when it
// resolves; a second signal, or a stop that exceeds the grace period, exits 1 at once.
import type { Logger } from "./log.js";

/** Returns a function that starts the same shutdown from code, e.g. once a successor took over. */
export function onShutdown(log: Logger, stop: () => Promise<void>, graceMs = 10_000): (reason: string) => void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal during shutdown; exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ graceMs }, "shutdown exceeded the grace period; exiting");
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        log.info("stopped cleanly");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return (reason) => {
    if (!stopping) handler(reason);
  };
}
