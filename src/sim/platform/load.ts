// Reads a platform state directory back, with an error that names the directory, the file and the
// problem when it is missing, incomplete or corrupt.
import crypto, { type KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { x509 } from "../../common/x509.js";
import { validateCollateralConfig, type CollateralConfig } from "../collateral/config.js";
import { assertP256PrivateKey } from "../pki/keys.js";
import { validatePlatformRecord, type PlatformRecord } from "./record.js";
import { STATE_FILES, type StateFile } from "./state-files.js";
import type { SimPlatform } from "./types.js";

export class SimStateError extends Error {
  override name = "SimStateError";
}

/** Everything in a state directory: the platform, its PKI (keys and certificates), CRLs and config. */
export interface PlatformState {
  dir: string;
  record: PlatformRecord;
  platform: SimPlatform;
  certs: { root: x509.X509Certificate; pckCa: x509.X509Certificate; pck: x509.X509Certificate; tcbSigning: x509.X509Certificate };
  keys: { root: KeyObject; pckCa: KeyObject; tcbSigning: KeyObject };
  crls: { root: x509.X509Crl; pck: x509.X509Crl };
  collateralConfig: CollateralConfig;
}

/** Reads and parses the files of a state directory, with errors that name the directory and the file. */
async function stateReader(dir: string) {
  const absDir = path.resolve(dir);
  const st = await stat(absDir).catch(() => undefined);
  if (!st) throw new SimStateError(`platform state directory ${absDir} does not exist (create it with: confcom sim init --state ${dir})`);
  if (!st.isDirectory()) throw new SimStateError(`platform state path ${absDir} is not a directory`);

  const read = async (file: StateFile): Promise<Buffer> => {
    const p = path.join(absDir, STATE_FILES[file]);
    try {
      return await readFile(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new SimStateError(
          file === "platform"
            ? `${absDir} is not an initialized platform state: ${STATE_FILES.platform} is missing (run confcom sim init --state ${dir})`
            : `incomplete platform state in ${absDir}: ${STATE_FILES[file]} is missing`,
        );
      }
      throw new SimStateError(`cannot read ${p}: ${(e as Error).message}`);
    }
  };
  const corrupt = (file: StateFile, why: string) => new SimStateError(`corrupt platform state in ${absDir}: ${STATE_FILES[file]}: ${why}`);
  const parse = async <T>(file: StateFile, f: (b: Buffer) => T): Promise<T> => {
    const data = await read(file);
    try {
      return f(data);
    } catch (e) {
      throw corrupt(file, (e as Error).message);
    }
  };
  const json = (file: StateFile) => parse(file, (b) => JSON.parse(b.toString("utf8")) as unknown);
  const key = (file: StateFile) =>
    parse(file, (b) => {
      const k = crypto.createPrivateKey(b);
      assertP256PrivateKey(k, "the key");
      return k;
    });
  return { absDir, read, corrupt, parse, json, key };
}

/** The platform record (platform.json) alone: what the simulated QE's identity needs. */
export async function loadPlatformRecord(dir: string): Promise<PlatformRecord> {
  const r = await stateReader(dir);
  return validateRecord(await r.json("platform"), r.corrupt);
}

/**
 * The simulated platform in `dir` (what the simulated QE3 and enclaves need). Certificates are checked
 * with node:crypto, not @peculiar/x509: the quote helper's workers load this, and that library costs
 * ~6 MiB and ~200 ms of start-up per thread.
 */
export async function loadSimPlatform(dir: string): Promise<SimPlatform> {
  const r = await stateReader(dir);
  const record = validateRecord(await r.json("platform"), r.corrupt);
  const secretHex = (await r.read("platformSecret")).toString("utf8").trim();
  if (!/^[0-9a-f]{64}$/i.test(secretHex)) throw r.corrupt("platformSecret", "expected 32 bytes of hex");
  const [attestationKey, pckKey] = await Promise.all([r.key("attestationKey"), r.key("pckKey")]);
  const [root, pckCa, pck] = await Promise.all(
    (["rootCert", "pckCaCert", "pckCert"] as const).map((f) => r.parse(f, (b) => new crypto.X509Certificate(b))),
  ) as [crypto.X509Certificate, crypto.X509Certificate, crypto.X509Certificate];
  if (!spki(pck.publicKey).equals(spki(pckKey))) throw r.corrupt("pckCert", "its public key does not match pck-key.pem");
  return {
    dir: r.absDir,
    platformSecret: Buffer.from(secretHex, "hex"),
    ppid: Buffer.from(record.ppid, "hex"),
    fmspc: Buffer.from(record.fmspc, "hex"),
    pceId: Buffer.from(record.pceId, "hex"),
    tcb: { components: [...record.tcb.components], pceSvn: record.tcb.pceSvn },
    cpuSvn: Buffer.from(record.tcb.components),
    epcMiB: record.epcMiB,
    qe: { isvSvn: record.qe.isvSvn, qeId: Buffer.from(record.qe.qeId, "hex") },
    attestationKey,
    pckKey,
    // node:crypto writes the same PEM as @peculiar/x509 (64-column base64, a final newline).
    pckChainPem: [pck, pckCa, root].map((c) => c.toString()).join(""),
    rootCaPem: root.toString(),
  };
}

const spki = (k: KeyObject) => (k.type === "public" ? k : crypto.createPublicKey(k)).export({ format: "der", type: "spki" });

/** Everything in the state directory: loadSimPlatform's part, then the rest of the PKI, CRLs and config. */
export async function loadPlatformState(dir: string): Promise<PlatformState> {
  const platform = await loadSimPlatform(dir);
  const [r, { x509 }] = await Promise.all([stateReader(dir), import("../../common/x509.js")]);
  const record = validateRecord(await r.json("platform"), r.corrupt);
  const [rootKey, pckCaKey, tcbSigningKey] = await Promise.all((["rootKey", "pckCaKey", "tcbSigningKey"] as const).map(r.key)) as [KeyObject, KeyObject, KeyObject];
  const cert = (file: StateFile) => r.parse(file, (b) => new x509.X509Certificate(b.toString("utf8")));
  const crl = (file: StateFile) => r.parse(file, (b) => new x509.X509Crl(new Uint8Array(b)));
  const [root, pckCa, pck, tcbSigning] = await Promise.all((["rootCert", "pckCaCert", "pckCert", "tcbSigningCert"] as const).map(cert)) as [
    x509.X509Certificate, x509.X509Certificate, x509.X509Certificate, x509.X509Certificate,
  ];
  const [rootCrl, pckCrl] = await Promise.all([crl("rootCrl"), crl("pckCrl")]);
  const collateralConfig = validateCollateralConfig(await r.json("collateralConfig"), `corrupt platform state in ${r.absDir}: ${STATE_FILES.collateralConfig}`);
  return {
    dir: r.absDir,
    record,
    platform,
    certs: { root, pckCa, pck, tcbSigning },
    keys: { root: rootKey, pckCa: pckCaKey, tcbSigning: tcbSigningKey },
    crls: { root: rootCrl, pck: pckCrl },
    collateralConfig,
  };
}

function validateRecord(v: unknown, corrupt: (file: StateFile, why: string) => Error): PlatformRecord {
  try {
    return validatePlatformRecord(v);
  } catch (e) {
    throw corrupt("platform", (e as Error).message);
  }
}
