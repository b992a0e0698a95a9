// `confcom pccs --state DIR --port P`: serve a simulated platform's collateral over the PCCS v4 API.
import type { Command } from "commander";
import { Registry, collectDefaultMetrics } from "prom-client";
import { CliError, parseCount } from "../cli/errors.js";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { createLogger } from "../common/log.js";
import { startOpsServer } from "../common/ops-server.js";
import { onShutdown } from "../common/shutdown.js";
import { SimStateError } from "../sim/platform/load.js";
import { startPccs } from "./server.js";

export function registerPccsCommand(program: Command): void {
  const cmd = program
    .command("pccs")
    .description("serve a simulated platform's TCB info, QE identity, CRLs and PCK certificate over Intel's PCCS/PCS v4 HTTP API (SIGHUP reloads the state)")
    .requiredOption("--state <dir>", "platform state directory (from confcom sim init)")
    .option("--port <port>", "listen port (0 picks a free one)", parseCount("--port", 65535), 8081)
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--renew-hours <n>", "reissue the CRLs and rebuild the collateral every n hours, so a long-running PCCS never serves expired collateral (0: only at start and on SIGHUP)", parseCount("--renew-hours", 24 * 365), 24);
  addDaemonOptions(cmd, "127.0.0.1:9093").action(async (o: DaemonOptions & { state: string; port: number; host: string; renewHours: number }) => {
    const log = createLogger({ component: "pccs", level: o.logLevel });
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    let pccs;
    try {
      pccs = await startPccs({ stateDir: o.state, host: o.host, port: o.port, log, registry, renewMs: o.renewHours * 3600_000 });
    } catch (e) {
      if (e instanceof SimStateError) throw new CliError(e.message);
      throw new CliError(`cannot start the PCCS on ${o.host}:${o.port}: ${(e as Error).message}`);
    }
    const ops = await startOpsServer({ addr: o.metricsAddr, registry, log, healthy: () => ({ ok: true }), ready: () => (pccs.expired() ? { ok: false, reason: "the served collateral is past its nextUpdate" } : { ok: true }) });
    process.stdout.write(`${pccs.url}\n`);
    // SIGHUP re-reads the state directory, e.g. after `confcom sim crl --revoke-pck`.
    process.on("SIGHUP", () => {
      pccs.reload().catch((err: unknown) => log.error({ err }, "reload failed; still serving the previous state"));
    });
    onShutdown(log, async () => {
      await pccs.close();
      await ops.close();
    });
  });
}
