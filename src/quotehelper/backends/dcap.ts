// Intel's DCAP quote library for the quote helper, in the main thread: the library is process-wide and
// must stay loaded for the life of the process (unloading it destroys the QE and PCE and leaves urts's
// signal handlers dangling), so it is not put on pool workers that come and go. Its calls already run
// off the event loop, one at a time, on koffi's threads. Readiness is checked at start and again
// periodically: the device nodes, then the QE's target info (the first real call).
import type { Logger } from "../../common/log.js";
import { DcapQuotingBackend, type DcapBackendOptions, type Readiness } from "../../quoting/dcap/backend.js";

/** How often readiness is checked again: from 5 s while not ready (doubling to 5 min), every minute once ready. */
export const RECHECK_NOT_READY_MS = 5_000;
export const RECHECK_NOT_READY_MAX_MS = 300_000;
export const RECHECK_READY_MS = 60_000;

export class DcapHelperBackend extends DcapQuotingBackend {
  private timer: NodeJS.Timeout | undefined;
  private last: Readiness | undefined;
  private closedForChecks = false;
  private failedChecks = 0;

  constructor(
    options: DcapBackendOptions,
    private readonly helperLog: Logger,
  ) {
    super({ ...options, log: helperLog });
  }

  /** Checks readiness now, logs what changed, and keeps checking until closed. */
  async watchReadiness(): Promise<Readiness> {
    const r = await this.checkReady();
    if (r.ok !== this.last?.ok || r.reason !== this.last?.reason) {
      if (r.ok) this.helperLog.info({ ...this.describe() }, "DCAP backend ready: the QE's target info was read");
      else this.helperLog.error({ reason: r.reason }, "DCAP backend not ready: no quote can be made");
    }
    this.last = r;
    this.failedChecks = r.ok ? 0 : this.failedChecks + 1;
    if (!this.closedForChecks) {
      const backoff = Math.min(RECHECK_NOT_READY_MS * 2 ** Math.min(this.failedChecks - 1, 10), RECHECK_NOT_READY_MAX_MS);
      this.timer = setTimeout(() => void this.watchReadiness(), r.ok ? RECHECK_READY_MS : backoff);
      this.timer.unref();
    }
    return r;
  }

  override async close(): Promise<void> {
    this.closedForChecks = true;
    clearTimeout(this.timer);
    await super.close();
  }
}

/** Loads the library (throws DcapLibraryNotFoundError), then resolves after the first readiness check. */
export async function startDcapBackend(options: DcapBackendOptions, log: Logger): Promise<DcapHelperBackend> {
  const backend = new DcapHelperBackend(options, log);
  await backend.watchReadiness();
  return backend;
}
