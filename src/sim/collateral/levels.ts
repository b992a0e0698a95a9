// The TCB levels of the simulated collateral, placed around the platform's own TCB so that the level
// it matches carries the configured status: an UpToDate level above it (unless it is UpToDate
// itself), its own level, and an OutOfDate level below. NotSupported puts every level above it.
import type { PlatformTcb } from "../platform/types.js";
import { defaultAdvisoryIds, type QeStatus, type TcbPreset, type TcbStatus } from "./config.js";

export interface TcbLevel {
  components: number[];
  pceSvn: number;
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface QeLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: QeStatus;
  advisoryIds: string[];
}

const TCB_DATE = "2024-03-13T00:00:00Z";
const OLDER_TCB_DATE = "2023-02-15T00:00:00Z";

/** A TCB strictly above `t`: one more PCESVN if possible, else one more on the first component below 255. */
function above(t: PlatformTcb): PlatformTcb {
  if (t.pceSvn < 0xffff) return { components: [...t.components], pceSvn: t.pceSvn + 1 };
  const i = t.components.findIndex((c) => c < 255);
  if (i < 0) throw new Error("no TCB level can be above a platform whose SVNs are all at their maximum");
  return { components: t.components.map((c, j) => (j === i ? c + 1 : c)), pceSvn: t.pceSvn };
}

/** A TCB strictly below `t`, or undefined when every SVN is 0. */
function below(t: PlatformTcb): PlatformTcb | undefined {
  if (t.pceSvn > 0) return { components: [...t.components], pceSvn: t.pceSvn - 1 };
  const i = t.components.findIndex((c) => c > 0);
  return i < 0 ? undefined : { components: t.components.map((c, j) => (j === i ? c - 1 : c)), pceSvn: t.pceSvn };
}

const level = (t: PlatformTcb, tcbStatus: TcbStatus, advisoryIds: string[], tcbDate = TCB_DATE): TcbLevel => ({
  components: [...t.components],
  pceSvn: t.pceSvn,
  tcbDate,
  tcbStatus,
  advisoryIds,
});

/** Levels in descending order (each level's SVNs are >= those of the ones after it). */
export function tcbLevelsFor(tcb: PlatformTcb, status: TcbPreset, advisoryIds = defaultAdvisoryIds(status)): TcbLevel[] {
  const lower = below(tcb);
  const olderAdvisories = [...new Set([...advisoryIds, ...defaultAdvisoryIds("OutOfDate")])];
  if (status === "NotSupported") {
    const up = above(tcb);
    return [level(above(up), "UpToDate", []), level(up, "OutOfDate", olderAdvisories, OLDER_TCB_DATE)];
  }
  const levels: TcbLevel[] = [];
  if (status !== "UpToDate") levels.push(level(above(tcb), "UpToDate", []));
  levels.push(level(tcb, status, advisoryIds));
  if (lower && status !== "Revoked") levels.push(level(lower, "OutOfDate", olderAdvisories, OLDER_TCB_DATE));
  return levels;
}

/** QE identity levels: the QE's own ISVSVN gets `status`, with UpToDate above it when it is not. */
export function qeLevelsFor(isvSvn: number, status: QeStatus, advisoryIds?: string[]): QeLevel[] {
  const own = advisoryIds ?? (status === "UpToDate" ? [] : ["INTEL-SA-00615"]);
  const levels: QeLevel[] = [];
  if (status !== "UpToDate") levels.push({ isvSvn: isvSvn + 1, tcbDate: TCB_DATE, tcbStatus: "UpToDate", advisoryIds: [] });
  levels.push({ isvSvn, tcbDate: status === "UpToDate" ? TCB_DATE : OLDER_TCB_DATE, tcbStatus: status, advisoryIds: own });
  if (isvSvn > 0 && status !== "Revoked")
    levels.push({ isvSvn: isvSvn - 1, tcbDate: "2021-11-10T00:00:00Z", tcbStatus: "OutOfDate", advisoryIds: [...new Set([...own, "INTEL-SA-00615"])] });
  return levels;
}
