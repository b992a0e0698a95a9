// Reads a platform state directory back, with an error that names the directory, the file and the
// problem when it is missing, incomplete or corrupt.
import crypto, { type KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { x509 } from "../../common/x509.js";
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

export async function loadPlatformState(dir: string): Promise<PlatformState> {
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
  const parse = <T>(file: StateFile, data: Buffer, f: (b: Buffer) => T): T => {
    try {
      return f(data);
    } catch (e) {
      throw corrupt(file, (e as Error).message);
    }
  };
  const json = async (file: StateFile) => parse(file, await read(file), (b) => JSON.parse(b.toString("utf8")) as unknown);
  const key = async (file: StateFile) =>
    parse(file, await read(file), (b) => {
      const k = crypto.createPrivateKey(b);
      assertP256PrivateKey(k, "the key");
      return k;
    });
  const cert = async (file: StateFile) => parse(file, await read(file), (b) => new x509.X509Certificate(b.toString("utf8")));
  const crl = async (file: StateFile) => parse(file, await read(file), (b) => new x509.X509Crl(new Uint8Array(b)));

  const record = validateRecord(await json("platform"), corrupt);
  const secretHex = (await read("platformSecret")).toString("utf8").trim();
  if (!/^[0-9a-f]{64}$/i.test(secretHex)) throw corrupt("platformSecret", "expected 32 bytes of hex");
  const [attestationKey, pckKey, rootKey, pckCaKey, tcbSigningKey] = await Promise.all(
    (["attestationKey", "pckKey", "rootKey", "pckCaKey", "tcbSigningKey"] as const).map(key),
  ) as [KeyObject, KeyObject, KeyObject, KeyObject, KeyObject];
  const [root, pckCa, pck, tcbSigning] = await Promise.all((["rootCert", "pckCaCert", "pckCert", "tcbSigningCert"] as const).map(cert)) as [
    x509.X509Certificate, x509.X509Certificate, x509.X509Certificate, x509.X509Certificate,
  ];
  const [rootCrl, pckCrl] = await Promise.all([crl("rootCrl"), crl("pckCrl")]);
  const collateralConfig = validateCollateralConfig(await json("collateralConfig"), `corrupt platform state in ${absDir}: ${STATE_FILES.collateralConfig}`);

  const spki = (k: KeyObject) => crypto.createPublicKey(k).export({ format: "der", type: "spki" });
  if (!Buffer.from(pck.publicKey.rawData).equals(spki(pckKey))) throw corrupt("pckCert", "its public key does not match pck-key.pem");

  const rootCaPem = root.toString("pem") + "\n";
  const platform: SimPlatform = {
    dir: absDir,
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
    pckChainPem: [pck, pckCa, root].map((c) => c.toString("pem") + "\n").join(""),
    rootCaPem,
  };
  return {
    dir: absDir,
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

/** The simulated platform in `dir` (what the simulated QE3 and enclaves need). */
export async function loadSimPlatform(dir: string): Promise<SimPlatform> {
  return (await loadPlatformState(dir)).platform;
}
