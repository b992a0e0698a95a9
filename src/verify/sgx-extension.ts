// The SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): a SEQUENCE of {OID, value}
// pairs, parsed with @peculiar/asn1-schema and then checked entry by entry (QVL ParserUtils).
import { AsnArray, AsnParser, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from "@peculiar/asn1-schema";
import type { Cert } from "./certs.js";
import { fail } from "./errors.js";

export const SGX_EXTENSION_OID = "1.2.840.113741.1.13.1";
const O = SGX_EXTENSION_OID;

@AsnType({ type: AsnTypeTypes.Sequence })
class SgxEntry {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) id = "";
  @AsnProp({ type: AsnPropTypes.Any }) value = new ArrayBuffer(0);
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: SgxEntry })
class SgxEntries extends AsnArray<SgxEntry> {}

@AsnType({ type: AsnTypeTypes.Choice })
class OctetsValue {
  @AsnProp({ type: AsnPropTypes.OctetString }) value = new ArrayBuffer(0);
}

@AsnType({ type: AsnTypeTypes.Choice })
class IntegerValue {
  @AsnProp({ type: AsnPropTypes.Integer }) value = 0;
}

@AsnType({ type: AsnTypeTypes.Choice })
class EnumeratedValue {
  @AsnProp({ type: AsnPropTypes.Enumerated }) value = 0;
}

export type SgxType = "Standard" | "Scalable" | "ScalableWithIntegrity";
const SGX_TYPES: SgxType[] = ["Standard", "Scalable", "ScalableWithIntegrity"];

export interface SgxExtension {
  ppid: Buffer; // 16
  /** The 16 SGX TCB component SVNs (the TCBm, not the quote's raw CPUSVN). */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Buffer; // 16
  pceId: Buffer; // 2
  fmspc: Buffer; // 6
  sgxType: SgxType;
}

const STEP = "pck-cert.sgx-extension";

function parse<T>(what: string, der: ArrayBuffer | Buffer, schema: new () => T): T {
  try {
    return AsnParser.parse(der, schema);
  } catch (e) {
    return fail(STEP, `${what} is malformed: ${(e as Error).message}`);
  }
}

/** Entries by OID, each present exactly once, and only the expected ones. */
function entries(what: string, der: ArrayBuffer | Buffer, allowed: (oid: string) => boolean): Map<string, ArrayBuffer> {
  const map = new Map<string, ArrayBuffer>();
  for (const e of parse(what, der, SgxEntries)) {
    if (!allowed(e.id)) fail(STEP, `${what} has unexpected entry ${e.id}`);
    if (map.has(e.id)) fail(STEP, `${what} has entry ${e.id} twice`);
    map.set(e.id, e.value);
  }
  return map;
}

function need(what: string, map: Map<string, ArrayBuffer>, oid: string): ArrayBuffer {
  const v = map.get(oid);
  return v ?? fail(STEP, `${what} lacks entry ${oid}`);
}

function octets(map: Map<string, ArrayBuffer>, oid: string, size: number): Buffer {
  const v = Buffer.from(parse(oid, need("SGX extension", map, oid), OctetsValue).value);
  if (v.length !== size) fail(STEP, `entry ${oid} must be ${size} bytes, is ${v.length}`);
  return v;
}

function integer(map: Map<string, ArrayBuffer>, oid: string, max: number): number {
  const v = parse(oid, need("TCB", map, oid), IntegerValue).value;
  if (typeof v !== "number" || v < 0 || v > max) fail(STEP, `entry ${oid} must be an integer in [0, ${max}]`);
  return v;
}

export function parseSgxExtension(cert: Cert): SgxExtension {
  const ext = cert.extensions.get(SGX_EXTENSION_OID);
  if (!ext) return fail(STEP, "PCK certificate has no SGX extension");
  // Processor CA certificates carry entries .1-.5; Platform CA certificates add .6 and .7.
  const top = entries("SGX extension", ext, (oid) => /^\.[1-7]$/.test(oid.slice(O.length)) && oid.startsWith(O));
  if (top.size !== 5 && top.size !== 7) fail(STEP, `SGX extension must have 5 or 7 entries, has ${top.size}`);
  const tcbOid = `${O}.2`;
  const tcb = entries("TCB", need("SGX extension", top, tcbOid), (oid) => /^\.([1-9]|1[0-8])$/.test(oid.slice(tcbOid.length)) && oid.startsWith(tcbOid));
  if (tcb.size !== 18) fail(STEP, `TCB must have 18 entries, has ${tcb.size}`);
  const sgxTypeIndex = parse("SGX type", need("SGX extension", top, `${O}.5`), EnumeratedValue).value;
  return {
    ppid: octets(top, `${O}.1`, 16),
    tcbComponents: Array.from({ length: 16 }, (_, i) => integer(tcb, `${tcbOid}.${i + 1}`, 255)),
    pceSvn: integer(tcb, `${tcbOid}.17`, 0xffff),
    cpuSvn: octets(tcb, `${tcbOid}.18`, 16),
    pceId: octets(top, `${O}.3`, 2),
    fmspc: octets(top, `${O}.4`, 6),
    sgxType: SGX_TYPES[sgxTypeIndex] ?? fail(STEP, `unknown SGX type ${sgxTypeIndex}`),
  };
}
