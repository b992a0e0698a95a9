// `confcom quote-helper` (the daemon), and the socket clients `confcom aesm ping`,
// `confcom aesm target-info` and `confcom quote get`.
import { availableParallelism } from "node:os";
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { DEFAULT_IPC_TIMEOUT_MS, QuoteExClient, QuoteExError } from "../aesm/client.js";
import { DEFAULT_MAX_REQUEST_FRAME } from "../aesm/framing.js";
import { AesmQuotingBackend } from "../aesm/quoting-backend.js";
import { DEFAULT_AESM_SOCKET, REPORT_SIZE } from "../aesm/sizes.js";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { CliError, parseCount } from "../cli/errors.js";
import { createLogger } from "../common/log.js";
import { serveOpsUntilShutdown } from "../common/ops-server.js";
import { QuotingError } from "../quoting/backend.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../sgx/constants.js";
import { WorkerPoolBackend } from "./pool/worker-pool.js";
import { SocketInUseError } from "./socket-file.js";
import { startQuoteHelper } from "./service.js";

export const DEFAULT_METRICS_ADDR = "127.0.0.1:9466";
/** 16 MiB: thousands of ~5 KiB quotes, or 16 of the largest (1 MiB) buffers a client may ask for. */
const DEFAULT_MAX_UNSENT_BYTES = 16 * 1024 * 1024;

interface QuoteHelperFlags extends DaemonOptions {
  socket: string;
  socketMode: string;
  socketGroup?: string;
  simulate?: boolean;
  simState?: string;
  backend?: string;
  dcapLibrary?: string;
  workers?: number;
  minWorkers: number;
  workerIdleMs: number;
  maxQueue: number;
  maxFrameSize: number;
  readTimeoutMs: number;
  writeTimeoutMs?: number;
  maxConnections: number;
  maxUnsentBytes: number;
}

export function registerQuoteHelperCommands(program: Command, quote: Command, aesm: Command): void {
  const cmd = program
    .command("quote-helper")
    .description("serve DCAP quotes on the AESM socket, wire-compatible with libsgx_quote_ex (apps set SGX_AESM_ADDR=1)")
    .option("--socket <path>", "unix socket to serve on", DEFAULT_AESM_SOCKET)
    .option("--socket-mode <octal>", "permission bits of the socket file", "0777")
    .option("--socket-group <group>", "group owning the socket file (name or gid)")
    .option("--simulate", "no SGX hardware: quote with the simulated QE3 (needs --sim-state)")
    .option("--sim-state <dir>", "state directory made by `confcom sim init`")
    .option("--backend <name>", "dcap (Intel's libsgx_dcap_ql, on real hardware) or simulated; default dcap, or simulated with --simulate")
    .option("--dcap-library <path>", "libsgx_dcap_ql to load (with --backend dcap)")
    .option("--workers <n>", "quoting worker threads (default: the number of cores; 1 for dcap)", parseCount("--workers", 256))
    .option("--min-workers <n>", "quoting workers kept while idle (one always starts to check the backend, then retires); more start under load, up to --workers", parseCount("--min-workers", 256), 0)
    .option("--worker-idle-ms <ms>", "idle time after which a worker beyond --min-workers exits", parseCount("--worker-idle-ms"), 30_000)
    .option("--max-queue <n>", "quote requests allowed to wait for a worker; beyond, BUSY (18)", parseCount("--max-queue"), 256)
    .option("--max-frame-size <bytes>", "largest request frame accepted", parseCount("--max-frame-size", 0xffffffff), DEFAULT_MAX_REQUEST_FRAME)
    .option("--read-timeout-ms <ms>", "time a client has to send its whole request", parseCount("--read-timeout-ms"), 5000)
    .option("--write-timeout-ms <ms>", "time a client has to read its whole response and close (default: --read-timeout-ms)", parseCount("--write-timeout-ms"))
    .option("--max-connections <n>", "open connections; at the limit a new one evicts the oldest that has not sent its request", parseCount("--max-connections"), 1024)
    .option("--max-unsent-bytes <bytes>", "response bytes waiting for slow readers, in total; beyond, the slowest are cut", parseCount("--max-unsent-bytes"), DEFAULT_MAX_UNSENT_BYTES);
  addDaemonOptions(cmd, DEFAULT_METRICS_ADDR);
  cmd.addHelpText(
    "after",
    `
Metrics (/metrics): confcom_quotehelper_requests_total{type,result}, _request_duration_seconds{type},
_requests_in_flight, _queue_depth, _connections, _connections_dropped_total{reason}. /readyz is 200 while the socket is served.

Example (no SGX hardware):
  confcom sim init --state /tmp/sgx && confcom quote-helper --simulate --sim-state /tmp/sgx --socket /tmp/aesm.socket`,
  );
  cmd.action(async (flags: QuoteHelperFlags) => runQuoteHelper(flags));

  aesm
    .command("ping")
    .description("ask the service for its attestation key count (GetSupportedAttKeyIDNum)")
    .option("--socket <path>", "the service's socket", DEFAULT_AESM_SOCKET)
    .option("--timeout-ms <ms>", "IPC timeout", parseCount("--timeout-ms"), DEFAULT_IPC_TIMEOUT_MS)
    .action(async (flags: { socket: string; timeoutMs: number }) => {
      const client = new QuoteExClient({ socketPath: flags.socket, timeoutMs: flags.timeoutMs });
      const num = await asCliError(client.getSupportedAttKeyIdNum());
      process.stdout.write(`${flags.socket}: ${num} attestation key id(s) supported\n`);
    });

  aesm
    .command("target-info")
    .description("write the QE's 512-byte target info (sgx_init_quote_ex), for app reports that target it")
    .requiredOption("--out <file>", "where to write the target info")
    .option("--socket <path>", "the service's socket", DEFAULT_AESM_SOCKET)
    .action(async (flags: { out: string; socket: string }) => {
      const backend = new AesmQuotingBackend({ socketPath: flags.socket });
      const { targetInfo } = await asCliError(backend.initQuote(DEFAULT_ECDSA_ATT_KEY_ID));
      await writeFile(flags.out, targetInfo);
    });

  quote
    .command("get")
    .description("get a DCAP quote for an app enclave's report from the AESM-compatible service (out-of-proc)")
    .requiredOption("--report <file>", `the app enclave's sgx_report_t (${REPORT_SIZE} bytes) targeting the QE`)
    .requiredOption("--out <file>", "where to write the quote")
    .option("--socket <path>", "the service's socket", DEFAULT_AESM_SOCKET)
    .action(async (flags: { report: string; out: string; socket: string }) => {
      const report = await readFile(flags.report);
      if (report.length !== REPORT_SIZE) throw new CliError(`${flags.report} is ${report.length} bytes; a report is ${REPORT_SIZE}`, 2);
      const backend = new AesmQuotingBackend({ socketPath: flags.socket });
      const { quote: q } = await asCliError(backend.getQuote(report, DEFAULT_ECDSA_ATT_KEY_ID));
      await writeFile(flags.out, q);
      process.stderr.write(`wrote a ${q.length}-byte quote to ${flags.out}\n`);
    });
}

async function runQuoteHelper(flags: QuoteHelperFlags): Promise<void> {
  const backendName = flags.backend ?? (flags.simulate ? "simulated" : "dcap");
  if (backendName !== "dcap" && backendName !== "simulated") throw new CliError(`--backend must be dcap or simulated, got "${backendName}"`, 2);
  if (backendName === "simulated" && !flags.simState) throw new CliError("the simulated backend needs --sim-state DIR (made by `confcom sim init`)", 2);
  if (!/^0?[0-7]{3,4}$/.test(flags.socketMode)) throw new CliError(`--socket-mode must be octal, e.g. 0777, got "${flags.socketMode}"`, 2);
  const log = createLogger({ component: "quote-helper", level: flags.logLevel });
  const simulated = backendName === "simulated";
  const backend = await WorkerPoolBackend.start({
    name: backendName,
    module: new URL(simulated ? "./backends/simulated.js" : "./backends/dcap.js", import.meta.url).href,
    options: simulated ? { stateDir: flags.simState } : { libraryPath: flags.dcapLibrary },
    // Intel's library is one QE per process and not thread-safe: a single worker serializes it.
    size: simulated ? (flags.workers ?? availableParallelism()) : 1,
    minWorkers: flags.minWorkers,
    idleMs: flags.workerIdleMs,
    maxQueue: flags.maxQueue,
    log,
  }).catch((err: Error) => {
    throw new CliError(`cannot start the ${backendName} backend: ${err.message}`);
  });
  let helper;
  try {
    helper = await startQuoteHelper({
      socketPath: flags.socket,
      socketMode: parseInt(flags.socketMode, 8),
      socketGroup: flags.socketGroup,
      maxFrameSize: flags.maxFrameSize,
      readTimeoutMs: flags.readTimeoutMs,
      writeTimeoutMs: flags.writeTimeoutMs ?? flags.readTimeoutMs,
      maxConnections: flags.maxConnections,
      maxUnsentBytes: flags.maxUnsentBytes,
      backend,
      log,
    });
  } catch (err) {
    await backend.close();
    if (err instanceof SocketInUseError) throw new CliError(err.message);
    if (err instanceof QuotingError) throw new CliError(`the ${backendName} backend failed: ${err.message}`);
    throw err;
  }
  await serveOpsUntilShutdown({ addr: flags.metricsAddr, registry: helper.metrics.registry, log, stop: () => helper.close() });
}

/** A failed client call as the CLI reports it: the sgx_status_t name first, exit code 1. */
async function asCliError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof QuoteExError || err instanceof QuotingError) throw new CliError(err.message);
    throw err;
  }
}
