// platform.json: the public identity and configuration of a simulated platform (no secrets; those
// live in their own 0600 files next to it).
import type { PckCaType } from "../pki/names.js";
import type { PlatformConfiguration } from "../../dcap/sgx-extension.js";

export const PLATFORM_FORMAT = "confcom-sim-platform/1";

export interface PlatformRecord {
  format: typeof PLATFORM_FORMAT;
  createdAt: string;
  /** Whether keys and identities were derived from a --seed (the seed itself is never stored). */
  seeded: boolean;
  /** The cluster node this simulated CPU belongs to (`sim init --node-name`), if any. */
  nodeName?: string;
  ppid: string;
  fmspc: string;
  pceId: string;
  tcb: { components: number[]; pceSvn: number };
  qe: { isvSvn: number; qeId: string };
  epcMiB: number;
  caType: PckCaType;
  cnPrefix: string;
  crlBaseUrl: string;
  /** Platform CA platforms only. */
  platformInstanceId?: string;
  configuration?: PlatformConfiguration;
}

function hexField(o: Record<string, unknown>, k: string, bytes: number): string {
  const v = o[k];
  if (typeof v !== "string" || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) throw new Error(`${k} must be ${bytes} bytes of hex`);
  return v;
}

function intField(v: unknown, k: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`${k} must be an integer in [0, ${max}]`);
  return v;
}

/** Checks the shape of a parsed platform.json; throws with the offending field. */
export function validatePlatformRecord(v: unknown): PlatformRecord {
  if (typeof v !== "object" || v === null) throw new Error("not a JSON object");
  const o = v as Record<string, unknown>;
  if (o.format !== PLATFORM_FORMAT) throw new Error(`format must be "${PLATFORM_FORMAT}", got ${JSON.stringify(o.format)}`);
  hexField(o, "ppid", 16);
  hexField(o, "fmspc", 6);
  hexField(o, "pceId", 2);
  const tcb = o.tcb as Record<string, unknown> | undefined;
  if (!tcb || !Array.isArray(tcb.components) || tcb.components.length !== 16) throw new Error("tcb.components must be 16 SVNs");
  tcb.components.forEach((c, i) => intField(c, `tcb.components[${i}]`, 255));
  intField(tcb.pceSvn, "tcb.pceSvn", 0xffff);
  const qe = o.qe as Record<string, unknown> | undefined;
  if (!qe) throw new Error("qe is missing");
  intField(qe.isvSvn, "qe.isvSvn", 0xffff);
  hexField(qe, "qeId", 16);
  intField(o.epcMiB, "epcMiB", 1 << 30);
  if (o.caType !== "processor" && o.caType !== "platform") throw new Error(`caType must be processor or platform`);
  if (typeof o.cnPrefix !== "string" || typeof o.crlBaseUrl !== "string") throw new Error("cnPrefix and crlBaseUrl must be strings");
  if (o.caType === "platform") hexField(o, "platformInstanceId", 16);
  return v as PlatformRecord;
}
