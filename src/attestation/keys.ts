// Token signing keys: each an RSA-2048 (RS256) or P-256 (ES256) key with a self-signed certificate
// (MAA publishes its keys as x5c chains, and clients read the key from x5c[0]). A key set has one
// active key; rotated-out keys stay published until every token they signed has expired.
import crypto, { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from "node:crypto";
import { x509 } from "../common/x509.js";

export type SigningAlg = "RS256" | "ES256";
export const SIGNING_ALGS: readonly SigningAlg[] = ["RS256", "ES256"];

export interface SigningKey {
  /** base64url SHA-256 of the certificate DER: opaque to clients, stable for the key's life. */
  kid: string;
  alg: SigningAlg;
  privateKey: KeyObject;
  certDer: Buffer;
  createdAt: Date;
  /** When a rotation replaced it; it still verifies tokens until retiredAt + token lifetime. */
  retiredAt?: Date;
}

const WEB_ALG = {
  RS256: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" },
} as const;

const kidOf = (certDer: Buffer) => crypto.createHash("sha256").update(certDer).digest("base64url");

export async function generateSigningKey(alg: SigningAlg, subject: string, now = new Date(), validityDays = 3650): Promise<SigningKey> {
  const subtle = crypto.webcrypto.subtle;
  const keys = (await subtle.generateKey(WEB_ALG[alg], true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name: `CN=${subject.replace(/[,=+<>#;"\\]/g, "_")}`,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + validityDays * 86400_000),
    signingAlgorithm: WEB_ALG[alg],
    keys,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", keys.privateKey));
  const certDer = Buffer.from(cert.rawData);
  return { kid: kidOf(certDer), alg, privateKey: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }), certDer, createdAt: now };
}

export class KeyError extends Error {
  override name = "KeyError";
}

/** A key from PEM files (the add-on's Secret): the private key and, optionally, its certificate. */
export async function signingKeyFromPem(keyPem: string, certPem: string | undefined, subject: string, now = new Date()): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (e) {
    throw new KeyError(`the signing key is not a PEM private key: ${(e as Error).message}`);
  }
  const alg = algOf(privateKey);
  if (certPem) {
    const cert = new crypto.X509Certificate(certPem);
    if (!cert.publicKey.equals(createPublicKey(privateKey))) throw new KeyError("the signing certificate does not hold the signing key's public key");
    return { kid: kidOf(cert.raw), alg, privateKey, certDer: cert.raw, createdAt: now };
  }
  // The certificate is made afresh at each start (and by each replica): the kid follows the key instead,
  // so tokens keep their signer across restarts.
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { kid: kidOf(spki), alg, privateKey, certDer: await selfSign(privateKey, alg, subject, now), createdAt: now };
}

function algOf(key: KeyObject): SigningAlg {
  if (key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return "RS256";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  throw new KeyError(`the signing key must be RSA (2048 bits or more) or EC P-256, got ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.modulusLength ? ` of ${key.asymmetricKeyDetails.modulusLength} bits` : ""}${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ""}`);
}

async function selfSign(privateKey: KeyObject, alg: SigningAlg, subject: string, now: Date): Promise<Buffer> {
  const subtle = crypto.webcrypto.subtle;
  const jwk = privateKey.export({ format: "jwk" });
  const priv = await subtle.importKey("jwk", jwk, WEB_ALG[alg], true, ["sign"]);
  const pubJwk = createPublicKey(privateKey).export({ format: "jwk" });
  const pub = await subtle.importKey("jwk", pubJwk, WEB_ALG[alg], true, ["verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${subject.replace(/[,=+<>#;"\\]/g, "_")}`,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 3650 * 86400_000),
    signingAlgorithm: WEB_ALG[alg],
    keys: { privateKey: priv, publicKey: pub },
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return Buffer.from(cert.rawData);
}

/** The active key and the retired ones still within a token lifetime of their retirement. */
export class KeySet {
  private keys: SigningKey[];
  constructor(
    keys: SigningKey[],
    /** Tokens live this long: a retired key is published until retiredAt + this. */
    private readonly tokenLifetimeMs: number,
  ) {
    if (!keys.some((k) => !k.retiredAt)) throw new KeyError("a key set needs an active key");
    this.keys = [...keys];
  }
  active(): SigningKey {
    // The newest unretired key signs.
    return this.keys.filter((k) => !k.retiredAt).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0]!;
  }
  /** Keys that may have signed a still-valid token: the ones /certs publishes. */
  published(now = new Date()): SigningKey[] {
    return this.keys.filter((k) => !k.retiredAt || k.retiredAt.getTime() + this.tokenLifetimeMs > now.getTime());
  }
  /** Makes `next` the active key; the old one is retired now. Drops keys whose tokens have all expired. */
  rotate(next: SigningKey, now = new Date()): void {
    for (const k of this.keys) if (!k.retiredAt) k.retiredAt = now;
    this.keys = [...this.published(now), next];
  }
  all(): SigningKey[] {
    return [...this.keys];
  }
}
