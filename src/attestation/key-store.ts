// The signing keys persisted in the service's state directory: one JSON file, mode 0600, written to a
// fresh temporary file (O_EXCL, never through a symlink) and renamed into place, read without
// following symlinks. The directory itself must be a real directory, created 0700 when absent.
import { constants, promises as fs } from "node:fs";
import crypto from "node:crypto";
import path from "node:path";
import { KeyError, type SigningAlg, type SigningKey } from "./keys.js";

export const KEYS_FILE = "signing-keys.json";
const MAX_FILE_BYTES = 1024 * 1024;

interface StoredKey {
  kid: string;
  alg: SigningAlg;
  createdAt: string;
  retiredAt?: string;
  keyPem: string;
  certPem: string;
}

export async function ensureStateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new KeyError(`state directory ${dir} is not a directory (symlinks are not followed)`);
}

export async function loadKeys(dir: string): Promise<SigningKey[] | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path.join(dir, KEYS_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new KeyError(`${path.join(dir, KEYS_FILE)} is a symlink; refusing to follow it`);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new KeyError(`${KEYS_FILE} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new KeyError(`${KEYS_FILE} is ${st.size} bytes; over ${MAX_FILE_BYTES}`);
    const parsed = JSON.parse(await fh.readFile("utf8")) as { keys?: StoredKey[] };
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new KeyError(`${KEYS_FILE} holds no keys`);
    return parsed.keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      privateKey: crypto.createPrivateKey(k.keyPem),
      certDer: new crypto.X509Certificate(k.certPem).raw,
      createdAt: new Date(k.createdAt),
      retiredAt: k.retiredAt ? new Date(k.retiredAt) : undefined,
    }));
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError(`cannot read ${path.join(dir, KEYS_FILE)}: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}

export async function saveKeys(dir: string, keys: SigningKey[]): Promise<void> {
  const stored: StoredKey[] = keys.map((k) => ({
    kid: k.kid,
    alg: k.alg,
    createdAt: k.createdAt.toISOString(),
    retiredAt: k.retiredAt?.toISOString(),
    keyPem: k.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    certPem: new crypto.X509Certificate(k.certDer).toString(),
  }));
  const tmp = path.join(dir, `.${KEYS_FILE}.${crypto.randomBytes(6).toString("hex")}`);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(JSON.stringify({ keys: stored }, null, 2) + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path.join(dir, KEYS_FILE));
}
