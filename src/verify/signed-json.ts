// TCB Info and QE Identity: ECDSA-P256-SHA256, hex r||s, over the exact UTF-8 bytes of the inner JSON
// value. Verifying the bytes as given (never a re-serialization) is what makes the signature meaningful.
import type { KeyObject } from "node:crypto";
import { verifyP256 } from "./ecdsa.js";
import { fail } from "./errors.js";

export function verifySignedJson(step: string, what: string, body: string, signatureHex: string, key: KeyObject): void {
  if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) fail(step, `${what} signature must be 64 bytes of hex (r||s)`);
  if (!verifyP256(key, Buffer.from(body, "utf8"), Buffer.from(signatureHex, "hex"))) {
    fail(step, `${what} signature does not verify under the TCB Signing certificate`);
  }
}
