// Simulated collateral has windows (TCB Info and QE Identity 30 days, CRLs a month) that a long-running
// daemon must keep current, as Intel's PCS does by reissuing. One renewal serves the node's collateral
// file and the cluster PCCS alike.
import type { Collateral } from "../../collateral/types.js";
import type { Logger } from "../../common/log.js";
import { loadPlatformState, type PlatformState } from "../platform/load.js";
import { reissueCrls } from "../platform/reissue.js";
import { buildCollateral } from "./build.js";

/** Rewritten daily, a 30-day collateral window is never near its end. */
export const COLLATERAL_RENEW_MS = 24 * 3600_000;

export interface Renewed {
  state: PlatformState;
  collateral: Collateral;
  /** TCB Info's nextUpdate, ISO 8601. */
  nextUpdate: string;
}

const nextUpdateOf = (c: Collateral) => (JSON.parse(c.tcb_info) as { nextUpdate?: string }).nextUpdate ?? "";

/** Builds the platform's collateral; with `reissue`, the CRLs are reissued first (revocations kept). */
export async function renewCollateral(dir: string, reissue: boolean): Promise<Renewed> {
  if (reissue) await reissueCrls(dir);
  const state = await loadPlatformState(dir);
  const collateral = await buildCollateral(state);
  return { state, collateral, nextUpdate: nextUpdateOf(collateral) };
}

/**
 * Renews every `everyMs` (0: never) and hands each result to `use`; a failed renewal is logged and the
 * previous collateral stays in use. Returns the function that stops it.
 */
export function renewPeriodically(dir: string, everyMs: number, log: Logger, use: (r: Renewed) => Promise<void> | void): () => void {
  if (everyMs <= 0) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    renewCollateral(dir, true)
      .then(async (r) => {
        await use(r);
        log.info({ stateDir: dir, nextUpdate: r.nextUpdate }, "simulation: collateral renewed");
      })
      .catch((err: Error) => log.error({ err: err.message, stateDir: dir }, "simulation: cannot renew the collateral; the previous one is still served"))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
