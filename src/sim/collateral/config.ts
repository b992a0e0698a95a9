// What the collateral of a simulated platform says about it: the TCB status of the level the platform
// matches, the QE identity status, advisory IDs and validity windows. Stored in the state directory by
// `sim init` (collateral-config.json) and overridable per `sim collateral` run.

import { QE_TCB_STATUSES, TCB_STATUSES, type QeTcbStatus, type TcbStatus } from "../../collateral/tcb-status.js";

export { TCB_STATUSES, type TcbStatus };
/** A TCB preset: a status for the platform's own level, or NotSupported (every level is above it). */
export const TCB_PRESETS = [...TCB_STATUSES, "NotSupported"] as const;
export type TcbPreset = (typeof TCB_PRESETS)[number];

export const QE_STATUSES = QE_TCB_STATUSES;
export type QeStatus = QeTcbStatus;

export interface CollateralConfig {
  tcbStatus: TcbPreset;
  /** Advisory IDs of the platform's level; defaults per status (see defaultAdvisoryIds). */
  advisoryIds?: string[];
  qeStatus: QeStatus;
  qeAdvisoryIds?: string[];
  tcbEvaluationDataNumber: number;
  /** Fixed issueDate/nextUpdate (ISO 8601); otherwise issueDate is the build time. */
  issueDate?: string;
  nextUpdate?: string;
  /** nextUpdate = issueDate + this many days when nextUpdate is not fixed (Intel: 30). */
  validityDays: number;
}

export const DEFAULT_COLLATERAL_CONFIG: CollateralConfig = {
  tcbStatus: "UpToDate",
  qeStatus: "UpToDate",
  tcbEvaluationDataNumber: 17,
  validityDays: 30,
};

const ADVISORIES: Record<TcbPreset, string[]> = {
  UpToDate: [],
  SWHardeningNeeded: ["INTEL-SA-00615"],
  ConfigurationNeeded: ["INTEL-SA-00289"],
  ConfigurationAndSWHardeningNeeded: ["INTEL-SA-00289", "INTEL-SA-00615"],
  OutOfDate: ["INTEL-SA-00828"],
  OutOfDateConfigurationNeeded: ["INTEL-SA-00289", "INTEL-SA-00828"],
  Revoked: ["INTEL-SA-00233"],
  NotSupported: [],
};

export function defaultAdvisoryIds(status: TcbPreset): string[] {
  return [...ADVISORIES[status]];
}

export function parseTcbPreset(s: string): TcbPreset {
  const found = TCB_PRESETS.find((p) => p.toLowerCase() === s.toLowerCase());
  if (!found) throw new Error(`unknown TCB status "${s}": expected one of ${TCB_PRESETS.join(", ")}`);
  return found;
}

export function parseQeStatus(s: string): QeStatus {
  const found = QE_STATUSES.find((p) => p.toLowerCase() === s.toLowerCase());
  if (!found) throw new Error(`unknown QE identity status "${s}": expected one of ${QE_STATUSES.join(", ")}`);
  return found;
}

/** Validates a parsed collateral-config.json (or a merged override) and returns it typed. */
export function validateCollateralConfig(v: unknown, where: string): CollateralConfig {
  const o = (v ?? {}) as Record<string, unknown>;
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (typeof v !== "object" || v === null) fail("not a JSON object");
  const strArray = (k: string) => {
    const a = o[k];
    if (a === undefined) return undefined;
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) return fail(`${k} must be an array of strings`);
    return a as string[];
  };
  const date = (k: string) => {
    const d = o[k];
    if (d === undefined) return undefined;
    if (typeof d !== "string" || Number.isNaN(Date.parse(d))) return fail(`${k} must be an ISO 8601 date`);
    return d;
  };
  const int = (k: string, max: number) => {
    const n = o[k];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > max) return fail(`${k} must be an integer in [0, ${max}]`);
    return n;
  };
  let tcbStatus: TcbPreset, qeStatus: QeStatus;
  try {
    tcbStatus = parseTcbPreset(String(o.tcbStatus));
    qeStatus = parseQeStatus(String(o.qeStatus));
  } catch (e) {
    return fail((e as Error).message);
  }
  const out: CollateralConfig = {
    tcbStatus,
    qeStatus,
    tcbEvaluationDataNumber: int("tcbEvaluationDataNumber", 0xffffffff),
    validityDays: int("validityDays", 36500),
  };
  const adv = strArray("advisoryIds");
  const qeAdv = strArray("qeAdvisoryIds");
  const issue = date("issueDate");
  const next = date("nextUpdate");
  if (adv) out.advisoryIds = adv;
  if (qeAdv) out.qeAdvisoryIds = qeAdv;
  if (issue) out.issueDate = issue;
  if (next) out.nextUpdate = next;
  return out;
}
