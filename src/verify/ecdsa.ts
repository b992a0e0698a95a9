// ECDSA P-256 / SHA-256 with raw (r||s) signatures and raw (X||Y) public keys, as quotes carry them.
// Synchronous Node crypto: the per-quote hot path is two of these verifications.
import { createPublicKey, verify, type KeyObject } from "node:crypto";

// DER SubjectPublicKeyInfo header for an uncompressed P-256 point (id-ecPublicKey, prime256v1).
const SPKI_P256_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d03010703420004", "hex");

/** Imports a 64-byte X||Y public key; throws if it is not a point on P-256. */
export function p256Key(xy: Buffer): KeyObject {
  if (xy.length !== 64) throw new Error(`a P-256 public key is 64 bytes (X||Y), got ${xy.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_P256_PREFIX, xy]), format: "der", type: "spki" });
}

/** True iff `sig` (64-byte r||s) is a valid ECDSA-SHA256 signature of `data` under `key`. */
export function verifyP256(key: KeyObject, data: Buffer, sig: Buffer): boolean {
  if (sig.length !== 64) return false;
  return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
}
