// TCB Info (v2 and v3, SGX only), parsed typed from the exact signed JSON string.
import { JsonObject } from "./json.js";
import { fail } from "./errors.js";
import { TCB_STATUSES, type TcbStatus } from "./tcb-status.js";

export interface TcbLevel {
  /** The 16 SGX TCB component SVNs. */
  sgxComponents: number[];
  pceSvn: number;
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface TcbInfo {
  /** "SGX" (v2 has no id: SGX is implied). */
  id: "SGX";
  version: 2 | 3;
  issueDate: Date;
  nextUpdate: Date;
  /** 6 bytes. */
  fmspc: Buffer;
  /** 2 bytes. */
  pceId: Buffer;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  /** Sorted highest first, as the level search requires. */
  tcbLevels: TcbLevel[];
}

const STEP = "tcb-info.parse";

export function parseTcbInfo(text: string): TcbInfo {
  const o = JsonObject.parse(STEP, "tcbInfo", text);
  const rawVersion = o.uint("version");
  if (rawVersion !== 2 && rawVersion !== 3) fail(STEP, `tcbInfo.version ${rawVersion} is not supported (2 or 3)`);
  const version = rawVersion as 2 | 3;
  let id: "SGX" = "SGX";
  if (version === 3) {
    const raw = o.str("id");
    if (raw !== "SGX") fail("tcb-info.id", `tcbInfo.id is "${raw}", but an SGX quote needs "SGX"`);
    id = raw as "SGX";
  }
  const tcbType = o.uint("tcbType");
  if (tcbType !== 0) fail(STEP, `tcbInfo.tcbType ${tcbType} is not supported (0)`);
  const levels = o.objects("tcbLevels").map((l) => parseLevel(l, version));
  if (levels.length === 0) fail(STEP, "tcbInfo.tcbLevels is empty");
  return {
    id,
    version,
    issueDate: o.date("issueDate"),
    nextUpdate: o.date("nextUpdate"),
    fmspc: o.hex("fmspc", 6),
    pceId: o.hex("pceId", 2),
    tcbType,
    tcbEvaluationDataNumber: o.uint("tcbEvaluationDataNumber"),
    tcbLevels: levels.sort(compareLevelsDescending),
  };
}

function parseLevel(l: JsonObject, version: 2 | 3): TcbLevel {
  const tcb = l.object("tcb");
  let sgxComponents: number[];
  if (version === 3) {
    const comps = tcb.objects("sgxtcbcomponents");
    if (comps.length !== 16) fail(STEP, `${tcb.path}.sgxtcbcomponents must have 16 entries, has ${comps.length}`);
    sgxComponents = comps.map((c) => c.uint("svn", 255));
  } else {
    sgxComponents = Array.from({ length: 16 }, (_, i) => tcb.uint(`sgxtcbcomp${String(i + 1).padStart(2, "0")}svn`, 255));
  }
  return {
    sgxComponents,
    pceSvn: tcb.uint("pcesvn", 0xffff),
    tcbDate: l.str("tcbDate"),
    tcbStatus: l.oneOf("tcbStatus", TCB_STATUSES),
    advisoryIds: l.has("advisoryIDs") ? l.strings("advisoryIDs") : [],
  };
}

// QVL keeps levels in a set ordered by (components, pcesvn), highest first.
function compareLevelsDescending(a: TcbLevel, b: TcbLevel): number {
  for (let i = 0; i < 16; i++) if (a.sgxComponents[i] !== b.sgxComponents[i]) return b.sgxComponents[i] - a.sgxComponents[i];
  return b.pceSvn - a.pceSvn;
}
