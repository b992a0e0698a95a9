// `confcom quote-helper keeper`: runs the socket keeper until SIGTERM/SIGINT. Kept small on purpose
// (no metrics server, no backend): it must stay up while helpers come and go.
import type { Command } from "commander";
import { CliError, parseCount } from "../../cli/errors.js";
import { VERSION } from "../../cli/version.js";
import { createLogger } from "../../common/log.js";
import { onShutdown } from "../../common/shutdown.js";
import { resolveGid } from "../socket-file.js";

export const DEFAULT_KEEPER_CONTROL = "/run/confcom-keeper/keeper.sock";

export function registerKeeperCommand(parent: Command, defaultSocket: string): void {
  // The keeper's --socket etc. are its own, not the helper's of the same names.
  parent.parent?.enablePositionalOptions();
  parent.enablePositionalOptions();
  parent
    .command("keeper")
    .description("hold the AESM listening socket across quote-helper restarts and hand it to the helper (--socket-from-keeper)")
    .option("--socket <path>", "the AESM socket to create and hold (never accepted on here)", defaultSocket)
    .option("--socket-mode <octal>", "permission bits of the socket file", "0777")
    .option("--socket-group <group>", "group owning the socket file (name or gid)")
    .option("--control <path>", "where helpers of this uid get the socket (keep it in a private, pod-local directory)", DEFAULT_KEEPER_CONTROL)
    .option("--backlog <n>", "connections the kernel queues while no helper accepts (capped by net.core.somaxconn)", parseCount("--backlog", 65535), 4096)
    .option("--log-level <level>", "trace, debug, info, warn, error or silent", process.env.CONFCOM_LOG_LEVEL ?? "info")
    .addHelpText(
      "after",
      `
While the quote helper is down (SIGKILL, OOM, a container restart), apps' connections wait in this
socket's backlog and the next helper answers them, instead of being refused. The control socket hands
a copy of the fd (SCM_RIGHTS) only to a peer of our own uid (SO_PEERCRED). Linux x86_64 only.

Example:
  confcom quote-helper keeper --socket ./aesm.socket --control ./keeper/keeper.sock &
  confcom quote-helper --simulate --sim-state ./sgx-sim --socket ./aesm.socket --socket-from-keeper ./keeper/keeper.sock`,
    )
    .action(async (flags: { socket: string; socketMode: string; socketGroup?: string; control: string; backlog: number; logLevel: string }) => {
      if (!/^0?[0-7]{3,4}$/.test(flags.socketMode)) throw new CliError(`--socket-mode must be octal, e.g. 0777, got "${flags.socketMode}"`, 2);
      // koffi only here: the quote helper registers this command but must not load FFI for it.
      const { checkPlatform, UnsupportedPlatformError } = await import("./fd-passing.js");
      try {
        checkPlatform();
      } catch (err) {
        if (err instanceof UnsupportedPlatformError) throw new CliError(err.message, 2);
        throw err;
      }
      const log = createLogger({ component: "socket-keeper", level: flags.logLevel });
      const { startKeeper } = await import("./keeper.js");
      const keeper = await startKeeper({
        socketPath: flags.socket,
        controlPath: flags.control,
        access: { mode: parseInt(flags.socketMode, 8), gid: flags.socketGroup === undefined ? undefined : resolveGid(flags.socketGroup) },
        backlog: flags.backlog,
        version: VERSION,
        log,
      }).catch((err: Error) => {
        throw new CliError(`the socket keeper cannot start: ${err.message}`);
      });
      onShutdown(log, () => keeper.close());
    });
}
