// `confcom quote-helper` (the daemon), and the socket clients `confcom aesm ping`,
// `confcom aesm target-info` and `confcom quote get`. The service, the ops endpoint and the AESM client
// are imported where they are used: the daemon loads them while its first quoting worker boots.
import { availableParallelism } from "node:os";
import { readFile, writeFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { DEFAULT_MAX_REQUEST_FRAME } from "../aesm/framing.js";
import { DEFAULT_AESM_SOCKET, DEFAULT_IPC_TIMEOUT_MS, REPORT_SIZE } from "../aesm/sizes.js";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { CliError, parseCount } from "../cli/errors.js";
import { createLogger } from "../common/log.js";
import type { OpsServer } from "../common/ops-server.js";
import { QuotingError } from "../quoting/backend.js";
import type { QuoteHelperOptions } from "./service.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../sgx/constants.js";
import { VERSION } from "../cli/version.js";
import type { BuildInfo } from "./build-info.js";
import { WorkerPoolBackend } from "./pool/worker-pool.js";
import { SocketInUseError } from "./socket-file.js";
import { registerKeeperCommand } from "./keeper/cli.js";

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
  dcapSearchPath?: string[];
  qe3Path?: string;
  pcePath?: string;
  idePath?: string;
  qplPath?: string;
  devRoot: string;
  workers?: number;
  minWorkers: number;
  workerIdleMs: number;
  maxQueue: number;
  maxFrameSize: number;
  readTimeoutMs: number;
  writeTimeoutMs?: number;
  maxConnections: number;
  maxUnsentBytes: number;
  afterHandover: string;
  socketFromKeeper?: string;
  keeperFallback?: boolean;
  keeperWaitMs: number;
}

export function registerQuoteHelperCommands(program: Command, quote: Command, aesm: Command): void {
  const cmd = program
    .command("quote-helper")
    .description("serve DCAP quotes on the AESM socket, wire-compatible with libsgx_quote_ex (apps set SGX_AESM_ADDR=1)")
    .option("--socket <path>", "unix socket to serve on", DEFAULT_AESM_SOCKET)
    .option("--socket-mode <octal>", "permission bits of the socket file", "0777")
    .option("--socket-group <group>", "group owning the socket file (name or gid)")
    .option("--simulate", "no SGX hardware: quote with the simulated QE3 (needs --sim-state); the same as --backend simulated")
    .addOption(
      new Option("--sim-state <dir>", "state directory made by `confcom sim init` (in a simulated cluster the device plugin's allocation sets the env)").env(
        "CONFCOM_SIM_STATE",
      ),
    )
    // One flag wins silently otherwise: a rendered `--backend=dcap` beside `--simulate` would quote with Intel's library.
    .addOption(new Option("--backend <name>", "dcap (Intel's libsgx_dcap_ql, on real hardware) or simulated; default dcap").conflicts("simulate"))
    .option("--dcap-library <path>", "libsgx_dcap_ql to load (with --backend dcap); default libsgx_dcap_ql.so.1 through the loader's search path")
    .option("--dcap-search-path <dir>", "where to find the library's dependencies the loader does not (libsgx_qe3_logic.so, libsgx_pce_logic.so.1, libsgx_urts.so.2); repeatable. The library's own directory is always searched", collect)
    .option("--qe3-path <file>", "Intel's QE3 enclave (libsgx_qe3.signed.so.1), given to sgx_ql_set_path; default: where the library looks")
    .option("--pce-path <file>", "Intel's PCE enclave (libsgx_pce.signed.so.1), given to sgx_ql_set_path")
    .option("--ide-path <file>", "Intel's ID enclave (libsgx_id_enclave.signed.so.1), given to sgx_ql_set_path")
    .option("--qpl-path <file>", "the quote provider library (libdcap_quoteprov.so.1), given to sgx_ql_set_path")
    .option("--dev-root <dir>", "where /dev/sgx_enclave and /dev/sgx_provision are checked for readiness (dcap)", "/")
    .option("--workers <n>", "quoting worker threads (simulated backend; default: the number of cores). dcap quotes in the main process, one call at a time", parseCount("--workers", 256))
    .option("--min-workers <n>", "quoting workers kept while idle (simulated backend; with 0 the backend is checked at start in the main thread); more start under load, up to --workers", parseCount("--min-workers", 256), 0)
    .option("--worker-idle-ms <ms>", "idle time after which a worker beyond --min-workers exits (simulated backend)", parseCount("--worker-idle-ms"), 30_000)
    .option("--max-queue <n>", "quote requests allowed to wait for a worker (dcap: for the library); beyond, BUSY (18)", parseCount("--max-queue"), 256)
    .option("--max-frame-size <bytes>", "largest request frame accepted", parseCount("--max-frame-size", 0xffffffff), DEFAULT_MAX_REQUEST_FRAME)
    .option("--read-timeout-ms <ms>", "time a client has to send its whole request", parseCount("--read-timeout-ms"), 5000)
    .option("--write-timeout-ms <ms>", "time a client has to read its whole response and close (default: --read-timeout-ms)", parseCount("--write-timeout-ms"))
    .option("--max-connections <n>", "open connections; at the limit a new one evicts the oldest that has not sent its request", parseCount("--max-connections"), 1024)
    .option("--max-unsent-bytes <bytes>", "response bytes waiting for slow readers, in total; beyond, the slowest are cut", parseCount("--max-unsent-bytes"), DEFAULT_MAX_UNSENT_BYTES)
    .option("--after-handover <what>", "once a newer helper took the socket over and what was accepted is answered: exit (0), or wait (not ready) for SIGTERM", "exit");
  cmd
    .option("--socket-from-keeper <control>", "serve the listening socket held by `confcom quote-helper keeper` (its --control path) instead of binding --socket; connections made while this helper restarts wait for the next one")
    .option("--keeper-fallback", "with --socket-from-keeper: when no keeper answers, bind --socket ourselves (warned) instead of failing")
    .option("--keeper-wait-ms <n>", "with --socket-from-keeper: how long to wait for a keeper that is not there yet (the pod's containers start together)", parseCount("--keeper-wait-ms", 600_000), 30_000);
  addDaemonOptions(cmd, DEFAULT_METRICS_ADDR);
  registerKeeperCommand(cmd, DEFAULT_AESM_SOCKET);
  cmd.addHelpText(
    "after",
    `
Handover: started while a confcom quote helper serves --socket, it binds its own socket beside it, renames
it over the path (which never stops answering), and tells the old one over <socket>.control to stop
accepting; the old one answers what it accepted and exits 0 (see --after-handover). Any other live
server on the path is left alone and this one refuses to start.

Metrics (/metrics): confcom_quotehelper_requests_total{type,result}, _request_duration_seconds{type},
_requests_in_flight, _queue_depth, _connections, _connections_dropped_total{reason}, _socket_ok,
_socket_rebinds_total{reason}, _socket_bind_errors_total{code}, _handovers_total{role},
_build_info{version,backend,backend_version,qe_identity}. /readyz is 200 while our socket is at the
path (a removed or replaced socket is served again at once; 503 with the reason until it is) and, with
--backend dcap, while a quote can be made: the SGX device nodes are there and the library returned the
QE's target info (checked at start; while not ready after 5 s, doubling to 5 min; once ready every minute).

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
      const { QuoteExClient } = await import("../aesm/client.js");
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
      const { AesmQuotingBackend } = await import("../aesm/quoting-backend.js");
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
      const { AesmQuotingBackend } = await import("../aesm/quoting-backend.js");
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
  const modules = Promise.all([import("./service.js"), import("../common/ops-server.js")]);
  modules.catch(() => undefined);
  const dcapStarting = simulated ? undefined : startDcap(flags, log);
  const backendStarting: Promise<QuoteHelperOptions["backend"] & { queueDepth(): number; readiness?(): { ok: boolean; reason?: string } }> = simulated
    ? WorkerPoolBackend.start({
        name: backendName,
        module: new URL("./backends/simulated.js", import.meta.url).href,
        options: { stateDir: flags.simState },
        size: flags.workers ?? availableParallelism(),
        minWorkers: flags.minWorkers,
        idleMs: flags.workerIdleMs,
        maxQueue: flags.maxQueue,
        log,
      }).catch((err: Error) => {
        throw new CliError(`cannot start the ${backendName} backend: ${err.message}`);
      })
    : dcapStarting!;
  const backend = await backendStarting;
  let helper;
  let ops: (OpsServer & { shutdown(reason: string): void }) | undefined;
  let handedOver = false;
  try {
    const build = await (simBuild ?? dcapStarting!.then(dcapBuildInfo));
    const [{ startQuoteHelper }] = await modules;
    const kept = flags.socketFromKeeper === undefined ? undefined : await keptSocket(flags.socketFromKeeper, !!flags.keeperFallback, flags.keeperWaitMs, log);
    helper = await startQuoteHelper({
      kept,
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
  const h = helper;
  // Ready while our socket is at the path and, on DCAP, while a quote can be made.
  const ready = () => {
    const socket = h.readiness();
    return socket.ok ? (backend.readiness?.() ?? socket) : socket;
  };
  const [, { serveOpsUntilShutdown }] = await modules;
  ops = await serveOpsUntilShutdown({ addr: flags.metricsAddr, registry: h.metrics.registry, log, ready, stop: () => h.close() });
  if (handedOver && flags.afterHandover === "exit") ops.shutdown("handed over");
}

/** The keeper's socket, or (with --keeper-fallback) undefined so the helper binds its own. */
async function keptSocket(control: string, fallback: boolean, waitMs: number, log: ReturnType<typeof createLogger>) {
  const { socketFromKeeper, KeeperError } = await import("./keeper/wire.js");
  const deadline = Date.now() + waitMs;
  for (let waited = false; ; waited = true) {
    try {
      const kept = socketFromKeeper(control);
      log.info({ control, keeper: kept.keeperPid }, "serving the socket keeper's listening socket");
      return kept;
    } catch (err) {
      if (err instanceof KeeperError && err.absent && !fallback && Date.now() < deadline) {
        if (!waited) log.info({ control, waitMs }, "waiting for the socket keeper to start");
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (!(err instanceof KeeperError) && !(err instanceof Error && err.name === "UnsupportedPlatformError")) throw err;
      if (!fallback) throw new CliError(`${(err as Error).message} (or pass --keeper-fallback to bind the socket ourselves)`);
      log.warn({ control, err: (err as Error).message }, "no socket keeper; binding the socket ourselves (--keeper-fallback)");
      return undefined;
    }
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Intel's library in this process (see backends/dcap.ts); a load failure says what to do about it. */
async function startDcap(flags: QuoteHelperFlags, log: ReturnType<typeof createLogger>) {
  const [{ startDcapBackend }, { DcapLibraryNotFoundError }] = await Promise.all([import("./backends/dcap.js"), import("../quoting/dcap/library.js")]);
  try {
    return await startDcapBackend(
      {
        libraryPath: flags.dcapLibrary,
        searchPath: flags.dcapSearchPath,
        paths: flags.qe3Path || flags.pcePath || flags.idePath || flags.qplPath ? { qe3: flags.qe3Path, pce: flags.pcePath, ide: flags.idePath, qpl: flags.qplPath } : undefined,
        maxQueue: flags.maxQueue,
        devRoot: flags.devRoot,
      },
      log,
    );
  } catch (err) {
    if (err instanceof DcapLibraryNotFoundError) {
      const fix = err.missingDependency
        ? `pass --dcap-search-path DIR with the directory that holds ${err.missingDependency}, or set LD_LIBRARY_PATH=DIR`
        : "install libsgx-dcap-ql or point --dcap-library at it; on a machine without SGX, use --simulate";
      throw new CliError(`cannot start the dcap backend: ${err.message}. ${fix}`);
    }
    if (err instanceof QuotingError) throw new CliError(`cannot start the dcap backend: ${err.message}`);
    throw err;
  }
}

/** The helper's version and the simulated QE's identity, from the platform state. */
async function simulatedBuildInfo(simState: string): Promise<BuildInfo> {
  // platform.json alone: the main thread never parses the PKI (the workers do).
  const [{ loadPlatformRecord }, { qe3Identity }] = await Promise.all([import("../sim/platform/load.js"), import("../sim/qe3/identity.js")]);
  const qe = qe3Identity(await loadPlatformRecord(simState));
  const qeIdentity = `mrsigner=${qe.mrSigner.toString("hex")},isvprodid=${qe.isvProdId},isvsvn=${qe.isvSvn}`;
  return { version: VERSION, backend: "simulated", backendVersion: `confcom-sim-${VERSION}`, qeIdentity };
}

/** On DCAP: what the backend read at its readiness check (the mapped library's version, the QE's MRENCLAVE). */
function dcapBuildInfo(backend: { describe(): Pick<BuildInfo, "backendVersion" | "qeIdentity"> }): BuildInfo {
  return { version: VERSION, backend: "dcap", ...backend.describe() };
}

/** A failed client call as the CLI reports it: the sgx_status_t name first, exit code 1. */
async function asCliError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const { QuoteExError } = await import("../aesm/client.js");
    if (err instanceof QuoteExError || err instanceof QuotingError) throw new CliError(err.message);
    throw err;
  }
}
