// `sim init`: creates a simulated SGX platform in a state directory: identities, TCB, keys, the
// Intel-like PKI that certifies its PCK key, the CRLs and the collateral configuration.
import { access } from "node:fs/promises";
import path from "node:path";
import { defaultValidity, issueCertificates, serialFromBytes, type CertRole, type Validity } from "../pki/issue.js";
import { deterministicCrypto } from "../pki/deterministic-signer.js";
import { privateKeyPem } from "../pki/keys.js";
import { DEFAULT_CN_PREFIX, type PckCaType } from "../pki/names.js";
import { SgxType, type PlatformConfiguration, type SgxExtensionValues } from "../../dcap/sgx-extension.js";
import { DEFAULT_COLLATERAL_CONFIG, validateCollateralConfig, type CollateralConfig } from "../collateral/config.js";
import { writeCrls, type CrlIssueOptions } from "./crls.js";
import { loadSimPlatform } from "./load.js";
import { PLATFORM_FORMAT, type PlatformRecord } from "./record.js";
import { SecretSource } from "./secrets.js";
import { ensureStateDir, STATE_FILES, writeStateFile } from "./state-files.js";
import type { SimPlatform } from "./types.js";

/**
 * EPC of an Azure Standard_DC4s_v3 (Ice Lake, DCsv3 series): 16 GiB, per Microsoft's "DCsv3 and
 * DCdsv3-series" size table (MicrosoftDocs/azure-docs, articles/virtual-machines/dcv3-series.md).
 */
export const DEFAULT_EPC_MIB = 16 * 1024;
/** Ice Lake-SP FMSPC (the DCsv3 CPU family). */
export const DEFAULT_FMSPC = "00606A000000";
/** TCB component SVNs and PCESVN shaped like a real TCBm (those of Intel's sample PCK certificate). */
export const DEFAULT_TCB_COMPONENTS = [11, 11, 2, 2, 255, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0];
export const DEFAULT_PCE_SVN = 13;
/** QE3 ISVSVN of Intel's current UpToDate QE identity level. */
export const DEFAULT_QE_SVN = 8;
export const DEFAULT_CRL_BASE_URL = "https://localhost:8081";
/** When seeded certificates are issued (an hour before their notBefore): fixed, so they are reproducible. */
export const SEEDED_ISSUE_TIME = new Date("2025-01-01T01:00:00Z");

export interface InitOptions {
  /** Derive every secret from this seed (reproducible); random otherwise. */
  seed?: string;
  epcMiB?: number;
  fmspc?: string; // 12 hex digits
  pceId?: string; // 4 hex digits
  tcbComponents?: number[];
  pceSvn?: number;
  qeSvn?: number;
  caType?: PckCaType;
  platformConfiguration?: PlatformConfiguration;
  cnPrefix?: string;
  crlBaseUrl?: string;
  /** Certificate validity windows (e.g. already expired ones for tests). */
  validity?: Partial<Record<CertRole, Validity>>;
  crls?: Omit<CrlIssueOptions, "now">;
  collateral?: Partial<CollateralConfig>;
  /** Replace an existing platform in the directory. */
  force?: boolean;
  /**
   * One node of a seeded cluster: its PPID, QE id, platform secret, attestation and PCK keys come from
   * (seed, node name); the root CA, PCK CA and TCB signing keys, certificates and collateral from the
   * seed alone, so every node's quotes verify under one root and one collateral set.
   */
  nodeName?: string;
  /** State readable by everyone (0755/0644), for non-root containers of a simulated cluster. */
  readable?: boolean;
  now?: Date;
}

export class InitError extends Error {
  override name = "InitError";
}

function hexOption(name: string, v: string, bytes: number): Buffer {
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) throw new InitError(`${name} must be ${bytes * 2} hex digits, got "${v}"`);
  return Buffer.from(v, "hex");
}

function svnOption(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new InitError(`${name} must be an integer in [0, ${max}], got ${v}`);
  return v;
}

export async function initPlatform(dir: string, opts: InitOptions = {}): Promise<SimPlatform> {
  const now = opts.now ?? new Date();
  const fmspc = hexOption("FMSPC", opts.fmspc ?? DEFAULT_FMSPC, 6);
  const pceId = hexOption("PCE-ID", opts.pceId ?? "0000", 2);
  const components = opts.tcbComponents ?? DEFAULT_TCB_COMPONENTS;
  if (components.length !== 16) throw new InitError(`the TCB needs 16 component SVNs, got ${components.length}`);
  components.forEach((c, i) => svnOption(`TCB component ${i + 1}`, c, 255));
  const pceSvn = svnOption("PCESVN", opts.pceSvn ?? DEFAULT_PCE_SVN, 0xffff);
  const qeSvn = svnOption("QE SVN", opts.qeSvn ?? DEFAULT_QE_SVN, 0xffff);
  const epcMiB = svnOption("EPC size (MiB)", opts.epcMiB ?? DEFAULT_EPC_MIB, 1 << 30);
  if (epcMiB === 0) throw new InitError("EPC size must be at least 1 MiB");
  const caType = opts.caType ?? "processor";
  const collateral = validateCollateralConfig({ ...DEFAULT_COLLATERAL_CONFIG, ...opts.collateral }, "collateral options");

  const absDir = path.resolve(dir);
  if (!opts.force) {
    const exists = await access(path.join(absDir, STATE_FILES.platform)).then(() => true, () => false);
    if (exists) throw new InitError(`${absDir} already holds a simulated platform (use --force to replace it)`);
  }

  if (opts.nodeName !== undefined && opts.seed === undefined) throw new InitError("a node name needs a seed: the cluster's PKI is derived from it");
  const cluster = opts.seed !== undefined ? SecretSource.fromSeed(opts.seed) : SecretSource.random();
  // Per-CPU secrets: scoped by the node name in a cluster, else the platform's own.
  const src = opts.nodeName !== undefined ? cluster.forNode(opts.nodeName) : cluster;
  const keys = {
    attestation: src.ecKey("attestation"),
    pck: src.ecKey("pck"),
    pckCa: cluster.ecKey("pck-ca"),
    root: cluster.ecKey("root-ca"),
    tcbSigning: cluster.ecKey("tcb-signing"),
  };
  const record: PlatformRecord = {
    format: PLATFORM_FORMAT,
    createdAt: now.toISOString(),
    seeded: opts.seed !== undefined,
    ...(opts.nodeName !== undefined ? { nodeName: opts.nodeName } : {}),
    ppid: src.bytes("ppid", 16).toString("hex"),
    fmspc: fmspc.toString("hex").toUpperCase(),
    pceId: pceId.toString("hex").toUpperCase(),
    tcb: { components: [...components], pceSvn },
    qe: { isvSvn: qeSvn, qeId: src.bytes("qe-id", 16).toString("hex") },
    epcMiB,
    caType,
    cnPrefix: opts.cnPrefix ?? DEFAULT_CN_PREFIX,
    crlBaseUrl: opts.crlBaseUrl ?? DEFAULT_CRL_BASE_URL,
  };
  if (caType === "platform") {
    record.platformInstanceId = src.bytes("platform-instance-id", 16).toString("hex");
    record.configuration = opts.platformConfiguration ?? { dynamicPlatform: true, cachedKeys: true, smtEnabled: true };
  }

  const serial = (role: CertRole) => serialFromBytes((role === "pck" ? src : cluster).bytes(`serial/${role}`, 20));
  const seeded = opts.seed !== undefined;
  const certs = await issueCertificates(
    { root: keys.root, pckCa: keys.pckCa, pck: keys.pck, tcbSigning: keys.tcbSigning },
    sgxExtensionOf(record),
    {
      caType,
      cnPrefix: record.cnPrefix,
      crlBaseUrl: record.crlBaseUrl,
      serials: { root: serial("root"), pckCa: serial("pckCa"), pck: serial("pck"), tcbSigning: serial("tcbSigning") },
      // Seeded: fixed dates and deterministic signatures, so every node (and every restart) issues the
      // same certificates byte for byte; QVL's root identity test compares signatures.
      validity: { ...defaultValidity(seeded ? SEEDED_ISSUE_TIME : now), ...opts.validity },
      ...(seeded ? { crypto: deterministicCrypto() } : {}),
    },
  );

  await ensureStateDir(absDir, opts.readable === true);
  await writeStateFile(absDir, "platformSecret", src.bytes("platform-secret", 32).toString("hex") + "\n");
  await writeStateFile(absDir, "attestationKey", privateKeyPem(keys.attestation));
  await writeStateFile(absDir, "pckKey", privateKeyPem(keys.pck));
  await writeStateFile(absDir, "pckCaKey", privateKeyPem(keys.pckCa));
  await writeStateFile(absDir, "rootKey", privateKeyPem(keys.root));
  await writeStateFile(absDir, "tcbSigningKey", privateKeyPem(keys.tcbSigning));
  await writeStateFile(absDir, "rootCert", certs.root.toString("pem") + "\n");
  await writeStateFile(absDir, "pckCaCert", certs.pckCa.toString("pem") + "\n");
  await writeStateFile(absDir, "pckCert", certs.pck.toString("pem") + "\n");
  await writeStateFile(absDir, "tcbSigningCert", certs.tcbSigning.toString("pem") + "\n");
  await writeCrls(
    absDir,
    { root: { cert: certs.root, key: keys.root }, pckCa: { cert: certs.pckCa, key: keys.pckCa }, pckSerial: certs.pck.serialNumber },
    { ...opts.crls, now },
  );
  await writeStateFile(absDir, "collateralConfig", JSON.stringify(collateral, null, 2) + "\n");
  // Written last: its presence marks a complete state.
  await writeStateFile(absDir, "platform", JSON.stringify(record, null, 2) + "\n");
  return loadSimPlatform(absDir);
}

/** The SGX extension values a platform's PCK certificate carries. */
export function sgxExtensionOf(r: PlatformRecord): SgxExtensionValues {
  const v: SgxExtensionValues = {
    ppid: Buffer.from(r.ppid, "hex"),
    components: [...r.tcb.components],
    pceSvn: r.tcb.pceSvn,
    cpuSvn: Buffer.from(r.tcb.components),
    pceId: Buffer.from(r.pceId, "hex"),
    fmspc: Buffer.from(r.fmspc, "hex"),
    sgxType: r.caType === "platform" ? SgxType.Scalable : SgxType.Standard,
  };
  if (r.caType === "platform" && r.platformInstanceId && r.configuration) {
    v.platformInstanceId = Buffer.from(r.platformInstanceId, "hex");
    v.configuration = r.configuration;
  }
  return v;
}
