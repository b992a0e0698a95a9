// The sgx_qe_* surface of Intel's libsgx_dcap_ql for TypeScript apps, with its mode rule: SGX_AESM_ADDR
// in the environment (any value, empty included) means out-of-proc through the AESM socket; otherwise
// quoting happens in this process, through Intel's library or the simulated QE. Like the library, the
// choice is made once per process, here on first use, and never changes.
import path from "node:path";
import { DEFAULT_AESM_SOCKET } from "../aesm/sizes.js";
import { DEFAULT_ECDSA_ATT_KEY_ID, QE_REPORT_INFO_SIZE } from "../sgx/constants.js";
import { AesmError } from "../aesm/error-codes.js";
import { QuotingError, type QuotingBackend } from "./backend.js";
import { DcapLibraryNotFoundError, DcapQuotingBackend } from "./dcap/index.js";
import { DEFAULT_DCAP_QL_LIBRARY } from "./dcap/library-path.js";

export type QuotingMode = "out-of-proc" | "in-proc-dcap" | "in-proc-simulated";

/** Read once, when the mode is chosen; only its presence matters, as for libsgx_dcap_ql. */
export const AESM_ADDR_ENV = "SGX_AESM_ADDR";
/** A simulated platform state directory: selects in-proc-simulated when SGX_AESM_ADDR is absent. */
export const SIM_STATE_ENV = "CONFCOM_SIM_STATE";

export interface QuotingOptions {
  /** Out-of-proc: the AESM socket (default /var/run/aesmd/aesm.socket, the only one Intel's client knows). */
  socketPath?: string;
  /** Out-of-proc: per-call timeout in ms (default 15000, as Intel's client). */
  timeoutMs?: number;
  /** In-proc: quote with the simulated QE of this platform state instead of Intel's library. */
  simulate?: { stateDir: string };
  /** In-proc DCAP: the library's path (default libsgx_dcap_ql.so.1 through the loader's search path). */
  dcapLibraryPath?: string;
  /** In-proc DCAP: directories holding the library's dependencies when the dynamic loader does not find them. */
  dcapSearchPath?: string[];
}

/** The mode and the settings that apply to it; everything else in the options is ignored. */
export type QuotingSelection =
  | { mode: "out-of-proc"; socketPath: string; timeoutMs?: number }
  | { mode: "in-proc-dcap"; libraryPath: string; searchPath?: string[] }
  | { mode: "in-proc-simulated"; stateDir: string };

export class QuotingModeError extends Error {
  override name = "QuotingModeError";
}

/** The mode `env` and `options` select, by libsgx_dcap_ql's rule extended with the simulated QE. */
export function selectQuoting(env: NodeJS.ProcessEnv, options: QuotingOptions = {}): QuotingSelection {
  if (env[AESM_ADDR_ENV] !== undefined) {
    return { mode: "out-of-proc", socketPath: options.socketPath ?? DEFAULT_AESM_SOCKET, timeoutMs: options.timeoutMs };
  }
  if (options.simulate) return { mode: "in-proc-simulated", stateDir: path.resolve(options.simulate.stateDir) };
  const stateDir = env[SIM_STATE_ENV];
  if (stateDir !== undefined) {
    if (stateDir === "") throw new QuotingModeError(`${SIM_STATE_ENV} is set but empty: give it a platform state directory or unset it`);
    return { mode: "in-proc-simulated", stateDir: path.resolve(stateDir) };
  }
  const libraryPath = options.dcapLibraryPath ?? DEFAULT_DCAP_QL_LIBRARY;
  return options.dcapSearchPath?.length ? { mode: "in-proc-dcap", libraryPath, searchPath: options.dcapSearchPath } : { mode: "in-proc-dcap", libraryPath };
}

interface Session {
  selection: QuotingSelection;
  backend: Promise<QuotingBackend>;
}

let session: Session | undefined;

function describeSelection(s: QuotingSelection): string {
  switch (s.mode) {
    case "out-of-proc":
      return `out-of-proc (socket ${s.socketPath}${s.timeoutMs === undefined ? "" : `, timeout ${s.timeoutMs} ms`})`;
    case "in-proc-dcap":
      return `in-proc-dcap (${s.libraryPath}${s.searchPath ? `, dependencies from ${s.searchPath.join(":")}` : ""})`;
    case "in-proc-simulated":
      return `in-proc-simulated (state ${s.stateDir})`;
  }
}

async function openBackend(s: QuotingSelection): Promise<QuotingBackend> {
  switch (s.mode) {
    case "out-of-proc": {
      const { AesmQuotingBackend } = await import("../aesm/quoting-backend.js");
      return new AesmQuotingBackend({ socketPath: s.socketPath, timeoutMs: s.timeoutMs });
    }
    case "in-proc-simulated": {
      const [{ loadSimPlatform }, { SimulatedQuotingEnclave }] = await Promise.all([
        import("../sim/platform/load.js"),
        import("../sim/qe3/quoting-enclave.js"),
      ]);
      return new SimulatedQuotingEnclave(await loadSimPlatform(s.stateDir));
    }
    case "in-proc-dcap":
      // Before any await, so within the call that chose the mode: the library reads SGX_AESM_ADDR as it loads.
      return openDcap(s.libraryPath, s.searchPath);
  }
}

function openDcap(libraryPath: string, searchPath?: string[]): DcapQuotingBackend {
  try {
    return new DcapQuotingBackend({ libraryPath, searchPath });
  } catch (e) {
    if (!(e instanceof DcapLibraryNotFoundError)) throw e;
    throw new QuotingModeError(
      `${e.message}. This process quotes in-proc because ${AESM_ADDR_ENV} is not set; set it to use the quote helper's socket, or set ${SIM_STATE_ENV}=DIR to use a simulated platform`,
      { cause: e },
    );
  }
}

function start(selection: QuotingSelection): Session {
  const backend = openBackend(selection);
  // Failures surface on each call; an unobserved one must not crash the process.
  backend.catch(() => undefined);
  session = { selection, backend };
  return session;
}

/**
 * Chooses this process's quoting mode from the environment and `options`, unless already chosen.
 * Once chosen, asking for another mode, or the same mode with other settings, is refused.
 */
export function configureQuoting(options: QuotingOptions = {}): QuotingMode {
  const wanted = selectQuoting(process.env, options);
  if (session === undefined) return start(wanted).selection.mode;
  const current = describeSelection(session.selection);
  if (current !== describeSelection(wanted)) {
    throw new QuotingModeError(`this process already quotes ${current}; one process uses one mode, so ${describeSelection(wanted)} is refused`);
  }
  return session.selection.mode;
}

/** The mode of this process, chosen now from the environment if nothing chose it before. */
export function quotingMode(): QuotingMode {
  return (session ?? start(selectQuoting(process.env))).selection.mode;
}

function backend(): Promise<QuotingBackend> {
  return (session ?? start(selectQuoting(process.env))).backend;
}

const attKeyId = () => Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID);

/** sgx_qe_get_target_info: the QE's 512-byte sgx_target_info_t, to target the app enclave's report. */
export async function getTargetInfo(): Promise<Buffer> {
  return (await (await backend()).initQuote(attKeyId())).targetInfo;
}

/** sgx_qe_get_quote_size. */
export async function getQuoteSize(): Promise<number> {
  return (await backend()).quoteSize(attKeyId());
}

/** sgx_qe_get_quote: a v3 quote for the app enclave's 432-byte report, targeted at getTargetInfo(). */
export async function getQuote(report: Buffer): Promise<Buffer> {
  return (await (await backend()).getQuote(report, attKeyId())).quote;
}

/**
 * As getQuote, also filling the QE's report for the app enclave into `qeReportInfo` (960-byte
 * sgx_ql_qe_report_info_t: nonce, app target info), like sgx_get_quote_ex. Intel's in-proc library
 * cannot: in-proc-dcap refuses with UNABLE_TO_GENERATE_QE_REPORT.
 */
export async function getQuoteWithReportInfo(report: Buffer, qeReportInfo: Buffer): Promise<{ quote: Buffer; qeReportInfo: Buffer }> {
  if (qeReportInfo.length !== QE_REPORT_INFO_SIZE) {
    throw new QuotingError(AesmError.PARAMETER_ERROR, `qe_report_info must be ${QE_REPORT_INFO_SIZE} bytes, got ${qeReportInfo.length}`);
  }
  const result = await (await backend()).getQuote(report, attKeyId(), qeReportInfo);
  if (result.qeReportInfo === undefined) throw new QuotingModeError(`${describeSelection(session!.selection)} returned no QE report info`);
  return { quote: result.quote, qeReportInfo: result.qeReportInfo };
}
