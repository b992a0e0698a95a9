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
import { VERSION } from "../cli/version.js";
import { DEFAULT_DCAP_QL_LIBRARY } from "../quoting/dcap/library-path.js";
import { qeMrEnclave, sharedLibraryVersion, type BackendIdentityProbe, type BuildInfo } from "./build-info.js";
import { WorkerPoolBackend } from "./pool/worker-pool.js";
import { SocketInUseError } from "./socket-file.js";
import { startQuoteHelper } from "./service.js";

export const DEFAULT_METRICS_ADDR = "127.0.0.1:9466";

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
  maxConnections: number;
  afterHandover: string;
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
    .option("--max-connections <n>", "open connections beyond this are closed at once", parseCount("--max-connections"), 1024)
    .option("--after-handover <what>", "once a newer helper took the socket over and what was accepted is answered: exit (0), or wait (not ready) for SIGTERM", "exit");
  addDaemonOptions(cmd, DEFAULT_METRICS_ADDR);
  cmd.addHelpText(
    "after",
    `
Handover: started while a confcom quote helper serves --socket, it binds its own socket beside it, renames
it over the path (which never stops answering), and tells the old one over <socket>.control to stop
accepting; the old one answers what it accepted and exits 0 (see --after-handover). Any other live
server on the path is left alone and this one refuses to start.

Metrics (/metrics): confcom_quotehelper_requests_total{type,result}, _request_duration_seconds{type},
_requests_in_flight, _queue_depth, _connections, _socket_ok, _socket_rebinds_total{reason},
_socket_bind_errors_total{code}, _handovers_total{role},
_build_info{version,backend,backend_version,qe_identity}. /readyz is 200 while our socket is at the
path (a removed or replaced socket is served again at once; 503 with the reason until it is).

Example (no SGX hardware):
  confcom sim init --state ./sgx-sim && confcom quote-helper --simulate --sim-state ./sgx-sim --socket ./aesm.socket`,
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
  if (flags.afterHandover !== "exit" && flags.afterHandover !== "wait") throw new CliError(`--after-handover must be exit or wait, got "${flags.afterHandover}"`, 2);
  const log = createLogger({ component: "quote-helper", level: flags.logLevel });
  const simulated = backendName === "simulated";
  // The simulated QE's identity needs no worker: read it while the pool starts.
  const simBuild = simulated ? simulatedBuildInfo(flags.simState!) : undefined;
  simBuild?.catch(() => undefined);
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
  let ops: Awaited<ReturnType<typeof serveOpsUntilShutdown>> | undefined;
  let handedOver = false;
  try {
    const build = await (simBuild ?? dcapBuildInfo(backend, flags.dcapLibrary ?? DEFAULT_DCAP_QL_LIBRARY));
    helper = await startQuoteHelper({
      build,
      onHandedOver: () => {
        handedOver = true;
        if (flags.afterHandover === "exit") ops?.shutdown("handed over");
      },
      socketPath: flags.socket,
      socketMode: parseInt(flags.socketMode, 8),
      socketGroup: flags.socketGroup,
      maxFrameSize: flags.maxFrameSize,
      readTimeoutMs: flags.readTimeoutMs,
      maxConnections: flags.maxConnections,
      backend,
      log,
    });
  } catch (err) {
    await backend.close();
    if (err instanceof SocketInUseError) throw new CliError(err.message);
    if (err instanceof QuotingError) throw new CliError(`the ${backendName} backend failed: ${err.message}`);
    throw err;
  }
  const h = helper;
  ops = await serveOpsUntilShutdown({ addr: flags.metricsAddr, registry: h.metrics.registry, log, ready: () => h.readiness(), stop: () => h.close() });
  if (handedOver && flags.afterHandover === "exit") ops.shutdown("handed over");
}

/** The helper's version and the simulated QE's identity, from the platform state. */
async function simulatedBuildInfo(simState: string): Promise<BuildInfo> {
  const [{ loadSimPlatform }, { qe3Identity }] = await Promise.all([import("../sim/platform/load.js"), import("../sim/qe3/identity.js")]);
  const qe = qe3Identity(await loadSimPlatform(simState));
  const qeIdentity = `mrsigner=${qe.mrSigner.toString("hex")},isvprodid=${qe.isvProdId},isvsvn=${qe.isvSvn}`;
  return { version: VERSION, backend: "simulated", backendVersion: `confcom-sim-${VERSION}`, qeIdentity };
}

/**
 * On DCAP: the library's version from its file name and the QE's MRENCLAVE from its target info. The
 * QE SVN needs a QE report (a BackendIdentityProbe in build-info.ts is the hook for it).
 */
async function dcapBuildInfo(backend: WorkerPoolBackend, library: string, probe?: BackendIdentityProbe): Promise<BuildInfo> {
  const [backendVersion, qeIdentity, more] = await Promise.all([
    sharedLibraryVersion(library),
    qeMrEnclave(backend).catch(() => "unknown"),
    probe?.().catch(() => ({})) ?? {},
  ]);
  return { version: VERSION, backend: "dcap", backendVersion, qeIdentity, ...more };
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
