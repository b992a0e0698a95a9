// The layout of a platform state directory and the (permission-preserving) way files get into it.
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

export const STATE_FILES = {
  platform: "platform.json",
  platformSecret: "platform-secret.hex",
  attestationKey: "attestation-key.pem",
  pckKey: "pck-key.pem",
  pckCert: "pck-cert.pem",
  pckCaKey: "pck-ca-key.pem",
  pckCaCert: "pck-ca.pem",
  rootKey: "root-ca-key.pem",
  rootCert: "root-ca.pem",
  tcbSigningKey: "tcb-signing-key.pem",
  tcbSigningCert: "tcb-signing.pem",
  rootCrl: "root-ca-crl.der",
  pckCrl: "pck-crl.der",
  collateralConfig: "collateral-config.json",
} as const;
export type StateFile = keyof typeof STATE_FILES;

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE); // mkdir leaves an existing directory's mode alone and applies the umask
}

export async function writeStateFile(dir: string, file: StateFile, data: string | Uint8Array): Promise<void> {
  const p = path.join(dir, STATE_FILES[file]);
  await writeFile(p, data, { mode: FILE_MODE });
  await chmod(p, FILE_MODE);
}
