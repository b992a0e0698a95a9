// The layout of a platform state directory and the way files get into it. The directory must be ours
// and writable by nobody else (a root `sim init` into another user's directory would otherwise follow a
// symlink they planted and hand them the PCK key); every file is written to a fresh O_EXCL|O_NOFOLLOW
// temporary name and renamed into place, so a planted symlink is replaced, never followed, and readers
// (the quote helper, a sample Job) never see half a file.
import { constants, promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
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
  /** Optional: a current collateral set, written where relying parties on the node read it (cluster mode). */
  collateral: "collateral.json",
} as const;
export type StateFile = keyof typeof STATE_FILES;

/** Private (the default): only the owner reads the platform's secrets. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
/**
 * Readable (`sim init --readable`): for a simulated cluster, where non-root containers on the node (the
 * sample Job, any enclave app) load the simulated CPU. Simulated secrets are not secret.
 */
export const READABLE_DIR_MODE = 0o755;
export const READABLE_FILE_MODE = 0o644;

export class StateDirError extends Error {
  override name = "StateDirError";
}

const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Opens `dir` without following a symlink and checks it is ours and writable by nobody else. */
async function openOwnDir(dir: string): Promise<fs.FileHandle> {
  let h: fs.FileHandle;
  try {
    h = await fs.open(dir, O_DIR);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") throw new StateDirError(`state directory ${dir} is a symlink or not a directory; refusing to use it`);
    throw e;
  }
  try {
    const st = await h.stat();
    const uid = process.geteuid?.() ?? st.uid;
    if (st.uid !== uid) throw new StateDirError(`state directory ${dir} is owned by uid ${st.uid}, not by us (uid ${uid}); refusing to write a platform there`);
    if ((st.mode & 0o022) !== 0) {
      throw new StateDirError(`state directory ${dir} is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${(st.mode & 0o7777).toString(8)}); refusing to write a platform there`);
    }
    return h;
  } catch (e) {
    await h.close();
    throw e;
  }
}

/** Creates the state directory (or checks an existing one is ours) and sets its mode. */
export async function ensureStateDir(dir: string, readable = false): Promise<void> {
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  const mode = readable ? READABLE_DIR_MODE : DIR_MODE;
  // Not recursive: EEXIST tells us the directory was there before, to be checked, not trusted.
  await fs.mkdir(dir, { mode: DIR_MODE }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
  const h = await openOwnDir(dir);
  try {
    await h.chmod(mode); // on the open directory, never on a path someone could swap
  } finally {
    await h.close();
  }
}

/** Whether the state in `dir` is the readable kind (files follow the directory's mode). */
async function dirIsReadable(h: fs.FileHandle): Promise<boolean> {
  return ((await h.stat()).mode & 0o005) !== 0;
}

export async function writeStateFile(dir: string, file: StateFile, data: string | Uint8Array): Promise<void> {
  const h = await openOwnDir(dir);
  let mode: number;
  try {
    mode = (await dirIsReadable(h)) ? READABLE_FILE_MODE : FILE_MODE;
  } finally {
    await h.close();
  }
  const final = path.join(dir, STATE_FILES[file]);
  const temp = path.join(dir, `.${STATE_FILES[file]}.${randomBytes(6).toString("hex")}.tmp`);
  const f = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await f.chmod(mode); // the umask may have narrowed it
    await f.writeFile(data);
  } catch (e) {
    await f.close();
    await fs.rm(temp, { force: true });
    throw e;
  }
  await f.close();
  // rename replaces whatever sits at the final name (a planted symlink included) without following it.
  await fs.rename(temp, final);
}
