// The Intel SGX PCK certificate extension (OID 1.2.840.113741.1.13.1): a SEQUENCE of {OID, value}
// pairs, nested for the TCB and the platform configuration, laid out as in Intel's PCK certificates.
// One codec for both sides: the simulated PKI encodes it (@peculiar/asn1-schema), the verifier decodes it
// strictly, as QVL, by a DER walk (hand-written for speed: the schema parser was 30% of a cold verification).
import "reflect-metadata";
import { AsnArray, AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, OctetString } from "@peculiar/asn1-schema";
import { children, readOnly, type Tlv } from "../common/der.js";

export const SGX_EXTENSION_OID = "1.2.840.113741.1.13.1";
const oid = (suffix: string) => `${SGX_EXTENSION_OID}.${suffix}`;
// Made once: the decoder looks up all 16 on every PCK certificate.
const TCB_COMPONENT_OIDS = Array.from({ length: 16 }, (_, i) => oid(`2.${i + 1}`));
export const SgxOid = {
  ppid: oid("1"),
  tcb: oid("2"),
  tcbComponent: (i: number) => TCB_COMPONENT_OIDS[i] ?? oid(`2.${i + 1}`),
  pceSvn: oid("2.17"),
  cpuSvn: oid("2.18"),
  pceId: oid("3"),
  fmspc: oid("4"),
  sgxType: oid("5"),
  platformInstanceId: oid("6"),
  configuration: oid("7"),
  dynamicPlatform: oid("7.1"),
  cachedKeys: oid("7.2"),
  smtEnabled: oid("7.3"),
} as const;

/** SGX Type: Standard for Processor-CA-issued PCKs, Scalable for multi-package (Platform CA) platforms. */
export enum SgxType {
  Standard = 0,
  Scalable = 1,
  ScalableWithIntegrity = 2,
}

export class SgxExtensionEntry {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) id = "";
  @AsnProp({ type: AsnPropTypes.Any }) value: ArrayBuffer = new ArrayBuffer(0);
  constructor(id = "", value: ArrayBuffer = new ArrayBuffer(0)) {
    this.id = id;
    this.value = value;
  }
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: SgxExtensionEntry })
export class SgxExtensionEntries extends AsnArray<SgxExtensionEntry> {}

// Bare universal values, as CHOICE wrappers so that they serialize without an enclosing SEQUENCE.
@AsnType({ type: AsnTypeTypes.Choice })
class AsnInteger {
  @AsnProp({ type: AsnPropTypes.Integer }) value = 0;
}
@AsnType({ type: AsnTypeTypes.Choice })
class AsnEnumerated {
  @AsnProp({ type: AsnPropTypes.Enumerated }) value = 0;
}
@AsnType({ type: AsnTypeTypes.Choice })
class AsnBoolean {
  @AsnProp({ type: AsnPropTypes.Boolean }) value = false;
}

// Copies: a Buffer may be a view into a shared pool, whose .buffer holds unrelated (secret) bytes.
const ab = (b: Uint8Array): ArrayBuffer => Uint8Array.from(b).buffer;
const encInt = (n: number) => AsnConvert.serialize(Object.assign(new AsnInteger(), { value: n }));
const encEnum = (n: number) => AsnConvert.serialize(Object.assign(new AsnEnumerated(), { value: n }));
const encBool = (b: boolean) => AsnConvert.serialize(Object.assign(new AsnBoolean(), { value: b }));
const encOctets = (b: Uint8Array) => AsnConvert.serialize(new OctetString(ab(b)));
const encEntries = (entries: SgxExtensionEntry[]) => AsnConvert.serialize(new SgxExtensionEntries(entries));

export interface PlatformConfiguration {
  dynamicPlatform: boolean;
  cachedKeys: boolean;
  smtEnabled: boolean;
}

/** What the extension says about the platform. */
export interface SgxExtensionValues {
  ppid: Buffer; // 16
  /** The 16 TCB component SVNs of the certified TCB level (TCBm). */
  components: number[];
  pceSvn: number;
  /** Always Buffer.from(components) in PCK certificates. */
  cpuSvn: Buffer; // 16
  pceId: Buffer; // 2
  fmspc: Buffer; // 6
  sgxType: SgxType;
  /** Present only in certificates issued by the PCK Platform CA. */
  platformInstanceId?: Buffer; // 16
  configuration?: PlatformConfiguration;
}

export class SgxExtensionError extends Error {
  override name = "SgxExtensionError";
}

function checkLength(name: string, b: Buffer, n: number): void {
  if (b.length !== n) throw new SgxExtensionError(`SGX extension ${name} must be ${n} bytes, got ${b.length}`);
}

/** DER of the extension value (the content of the extension's OCTET STRING). */
export function encodeSgxExtension(v: SgxExtensionValues): ArrayBuffer {
  checkLength("PPID", v.ppid, 16);
  checkLength("CPUSVN", v.cpuSvn, 16);
  checkLength("PCE-ID", v.pceId, 2);
  checkLength("FMSPC", v.fmspc, 6);
  if (v.components.length !== 16) throw new SgxExtensionError(`SGX extension needs 16 TCB components, got ${v.components.length}`);
  const tcb = [
    ...v.components.map((svn, i) => new SgxExtensionEntry(SgxOid.tcbComponent(i), encInt(svn))),
    new SgxExtensionEntry(SgxOid.pceSvn, encInt(v.pceSvn)),
    new SgxExtensionEntry(SgxOid.cpuSvn, encOctets(v.cpuSvn)),
  ];
  const entries = [
    new SgxExtensionEntry(SgxOid.ppid, encOctets(v.ppid)),
    new SgxExtensionEntry(SgxOid.tcb, encEntries(tcb)),
    new SgxExtensionEntry(SgxOid.pceId, encOctets(v.pceId)),
    new SgxExtensionEntry(SgxOid.fmspc, encOctets(v.fmspc)),
    new SgxExtensionEntry(SgxOid.sgxType, encEnum(v.sgxType)),
  ];
  if ((v.platformInstanceId === undefined) !== (v.configuration === undefined))
    throw new SgxExtensionError("platformInstanceId and configuration go together (Platform CA certificates carry both)");
  if (v.platformInstanceId && v.configuration) {
    checkLength("PlatformInstanceID", v.platformInstanceId, 16);
    const c = v.configuration;
    entries.push(
      new SgxExtensionEntry(SgxOid.platformInstanceId, encOctets(v.platformInstanceId)),
      new SgxExtensionEntry(
        SgxOid.configuration,
        encEntries([
          new SgxExtensionEntry(SgxOid.dynamicPlatform, encBool(c.dynamicPlatform)),
          new SgxExtensionEntry(SgxOid.cachedKeys, encBool(c.cachedKeys)),
          new SgxExtensionEntry(SgxOid.smtEnabled, encBool(c.smtEnabled)),
        ]),
      ),
    );
  }
  return encEntries(entries);
}

const KNOWN_TOP = new Set([SgxOid.ppid, SgxOid.tcb, SgxOid.pceId, SgxOid.fmspc, SgxOid.sgxType, SgxOid.platformInstanceId, SgxOid.configuration]);
const KNOWN_TCB = new Set([...TCB_COMPONENT_OIDS, SgxOid.pceSvn, SgxOid.cpuSvn]);
const KNOWN_CONFIGURATION = new Set([SgxOid.dynamicPlatform, SgxOid.cachedKeys, SgxOid.smtEnabled]);

const TAG = { boolean: 0x01, integer: 0x02, octets: 0x04, oid: 0x06, enumerated: 0x0a, sequence: 0x30 } as const;

/** One DER element filling `buf` exactly, with SgxExtensionError naming `what` when it is not one. */
function element(what: string, buf: Buffer): Tlv {
  try {
    return readOnly(buf);
  } catch (err) {
    throw new SgxExtensionError(`SGX extension ${what} is malformed: ${(err as Error).message}`);
  }
}

/** SEQUENCE OF SEQUENCE { OID, ANY }, indexed by OID: every entry known, none twice. */
function entries(what: string, t: Tlv, known: Set<string>): Map<string, Tlv> {
  if (t.tag !== TAG.sequence) throw new SgxExtensionError(`SGX extension ${what} is malformed: not a SEQUENCE`);
  const m = new Map<string, Tlv>();
  let items: Tlv[];
  try {
    items = children(t);
  } catch (err) {
    throw new SgxExtensionError(`SGX extension ${what} is malformed: ${(err as Error).message}`);
  }
  for (const e of items) {
    let parts: Tlv[] = [];
    try {
      if (e.tag === TAG.sequence) parts = children(e);
    } catch {
      parts = [];
    }
    if (parts.length !== 2 || parts[0].tag !== TAG.oid) throw new SgxExtensionError(`SGX extension ${what} is malformed: an entry is not SEQUENCE { OID, value }`);
    const id = parts[0].oid();
    if (!known.has(id)) throw new SgxExtensionError(`SGX extension ${what}: unexpected entry ${id}`);
    if (m.has(id)) throw new SgxExtensionError(`SGX extension ${what}: duplicate entry ${id}`);
    m.set(id, parts[1]);
  }
  return m;
}

function take(m: Map<string, Tlv>, id: string, tag: number): Tlv {
  const v = m.get(id);
  if (!v) throw new SgxExtensionError(`SGX extension: missing entry ${id}`);
  if (v.tag !== tag) throw new SgxExtensionError(`SGX extension ${id} is malformed: tag 0x${v.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return v;
}

function octets(m: Map<string, Tlv>, id: string, size: number): Buffer {
  const t = take(m, id, TAG.octets);
  if (t.contentLength !== size) throw new SgxExtensionError(`SGX extension entry ${id} must be ${size} bytes, got ${t.contentLength}`);
  return t.copyContent();
}

/** A DER INTEGER / ENUMERATED in [0, max]; a negative one (high bit set) is out of range. */
function unsigned(m: Map<string, Tlv>, id: string, tag: number, max: number): number {
  const t = take(m, id, tag);
  const length = t.contentLength;
  if (length === 0 || length > 4) throw new SgxExtensionError(`SGX extension ${id} is malformed: ${length}-byte integer`);
  const n = t.uint();
  if (n < 0 || n > max) throw new SgxExtensionError(`SGX extension entry ${id} must be an integer in [0, ${max}], got ${n < 0 ? "a negative number" : n}`);
  return n;
}

function bool(m: Map<string, Tlv>, id: string): boolean {
  const t = take(m, id, TAG.boolean);
  if (t.contentLength !== 1) throw new SgxExtensionError(`SGX extension ${id} is malformed: ${t.contentLength}-byte BOOLEAN`);
  return t.byte(0) !== 0;
}

/** Decodes the extension value; throws SgxExtensionError on a malformed, missing, duplicate or unexpected entry. */
export function decodeSgxExtension(der: ArrayBuffer | ArrayBufferView): SgxExtensionValues {
  const buf = ArrayBuffer.isView(der) ? Buffer.from(der.buffer, der.byteOffset, der.byteLength) : Buffer.from(der);
  const topTlv = element("value", buf);
  const m = entries("top level", topTlv, KNOWN_TOP);
  if (m.size !== 5 && m.size !== 7) throw new SgxExtensionError(`SGX extension must have 5 (processor) or 7 (platform) entries, got ${m.size}`);
  const tcb = entries("TCB", take(m, SgxOid.tcb, TAG.sequence), KNOWN_TCB);
  if (tcb.size !== 18) throw new SgxExtensionError(`SGX extension TCB must have 18 entries, got ${tcb.size}`);
  const sgxType = unsigned(m, SgxOid.sgxType, TAG.enumerated, 0xffff);
  if (!(sgxType in SgxType)) throw new SgxExtensionError(`SGX extension has unknown SGX type ${sgxType}`);
  const out: SgxExtensionValues = {
    ppid: octets(m, SgxOid.ppid, 16),
    components: TCB_COMPONENT_OIDS.map((id) => unsigned(tcb, id, TAG.integer, 255)),
    pceSvn: unsigned(tcb, SgxOid.pceSvn, TAG.integer, 0xffff),
    cpuSvn: octets(tcb, SgxOid.cpuSvn, 16),
    pceId: octets(m, SgxOid.pceId, 2),
    fmspc: octets(m, SgxOid.fmspc, 6),
    sgxType,
  };
  if (m.size === 7) {
    out.platformInstanceId = octets(m, SgxOid.platformInstanceId, 16);
    const c = entries("configuration", take(m, SgxOid.configuration, TAG.sequence), KNOWN_CONFIGURATION);
    out.configuration = {
      dynamicPlatform: bool(c, SgxOid.dynamicPlatform),
      cachedKeys: bool(c, SgxOid.cachedKeys),
      smtEnabled: bool(c, SgxOid.smtEnabled),
    };
  }
  return out;
}
