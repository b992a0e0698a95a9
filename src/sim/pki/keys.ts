// EC P-256 keys as the simulator holds them (node KeyObject, PKCS#8 PEM on disk) and as @peculiar/x509
// needs them (WebCrypto CryptoKey), plus deterministic keys from a derived scalar.
import crypto, { type KeyObject, type webcrypto } from "node:crypto";

/** Order n of the P-256 group. */
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
export const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

const b64u = (b: Buffer) => b.toString("base64url");

/** A P-256 private key whose scalar is `material` (32+ bytes) reduced into [1, n-1]. */
export function ecPrivateKeyFromMaterial(material: Buffer): KeyObject {
  if (material.length < 32) throw new Error(`EC key material must be at least 32 bytes, got ${material.length}`);
  const d = (BigInt(`0x${material.toString("hex")}`) % (P256_N - 1n)) + 1n;
  const dBytes = Buffer.from(d.toString(16).padStart(64, "0"), "hex");
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.setPrivateKey(dBytes);
  const pub = ecdh.getPublicKey(); // 04 || X || Y
  return crypto.createPrivateKey({
    format: "jwk",
    key: { kty: "EC", crv: "P-256", d: b64u(dBytes), x: b64u(pub.subarray(1, 33)), y: b64u(pub.subarray(33, 65)) },
  });
}

export function randomEcPrivateKey(): KeyObject {
  return crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
}

/** Checks that a loaded key is an EC P-256 private key. */
export function assertP256PrivateKey(key: KeyObject, what: string): void {
  if (key.type !== "private" || key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new Error(`${what} is not an EC P-256 private key`);
}

export interface WebKeyPair {
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

/** Imports a node private key into WebCrypto (for @peculiar/x509), with its public half. */
export async function toWebKeyPair(key: KeyObject): Promise<WebKeyPair> {
  const jwk = key.export({ format: "jwk" });
  const subtle = crypto.webcrypto.subtle;
  const privateKey = await subtle.importKey("jwk", jwk, ECDSA_P256, true, ["sign"]);
  const { d: _d, ...pubJwk } = jwk;
  const publicKey = await subtle.importKey("jwk", pubJwk, ECDSA_P256, true, ["verify"]);
  return { privateKey: privateKey as webcrypto.CryptoKey, publicKey: publicKey as webcrypto.CryptoKey };
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: "pem", type: "pkcs8" }).toString();
}
