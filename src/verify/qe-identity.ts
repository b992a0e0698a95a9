// QE Identity v2, parsed typed from the exact signed JSON string.
import { JsonObject } from "./json.js";
import { fail } from "./errors.js";
import { QE_TCB_STATUSES, type QeTcbStatus } from "./tcb-status.js";

export interface QeTcbLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: QeTcbStatus;
  advisoryIds: string[];
}

export interface QeIdentity {
  id: "QE";
  version: 2;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscselect: number;
  miscselectMask: number;
  /** 16 bytes: flags (LE u64) || xfrm (LE u64), as in the report body. */
  attributes: Buffer;
  attributesMask: Buffer;
  mrsigner: Buffer;
  isvProdId: number;
  /** Sorted highest isvsvn first. */
  tcbLevels: QeTcbLevel[];
}

const STEP = "qe-identity.parse";

export function parseQeIdentity(text: string): QeIdentity {
  const o = JsonObject.parse(STEP, "enclaveIdentity", text);
  const id = o.str("id");
  // An SGX quote is signed by the QE3; a QVE or TD_QE identity does not describe it.
  if (id !== "QE") fail("qe-identity.id", `enclaveIdentity.id is "${id}", but an SGX quote's QE needs "QE"`);
  const version = o.uint("version");
  if (version !== 2) fail(STEP, `enclaveIdentity.version ${version} is not supported (2)`);
  const levels = o.objects("tcbLevels").map(
    (l): QeTcbLevel => ({
      isvSvn: l.object("tcb").uint("isvsvn", 0xffff),
      tcbDate: l.str("tcbDate"),
      tcbStatus: l.oneOf("tcbStatus", QE_TCB_STATUSES),
      advisoryIds: l.has("advisoryIDs") ? l.strings("advisoryIDs") : [],
    }),
  );
  if (levels.length === 0) fail(STEP, "enclaveIdentity.tcbLevels is empty");
  return {
    id: "QE",
    version: 2,
    issueDate: o.date("issueDate"),
    nextUpdate: o.date("nextUpdate"),
    tcbEvaluationDataNumber: o.uint("tcbEvaluationDataNumber"),
    miscselect: o.hex("miscselect", 4).readUInt32BE(0),
    miscselectMask: o.hex("miscselectMask", 4).readUInt32BE(0),
    attributes: o.hex("attributes", 16),
    attributesMask: o.hex("attributesMask", 16),
    mrsigner: o.hex("mrsigner", 32),
    isvProdId: o.uint("isvprodid", 0xffff),
    tcbLevels: levels.sort((a, b) => b.isvSvn - a.isvSvn),
  };
}
