// Every secret of a simulated platform comes from one input keying material: HKDF-SHA256 of the
// `--seed` (reproducible platforms) or of 32 random bytes (fresh ones), expanded per labelled use.
import crypto, { type KeyObject } from "node:crypto";
import { ecPrivateKeyFromMaterial } from "../pki/keys.js";

const SALT = Buffer.from("confcom sim platform v1");

export class SecretSource {
  private constructor(
    private readonly ikm: Buffer,
    private readonly scope = "",
  ) {}

  static fromSeed(seed: string): SecretSource {
    if (seed.length === 0) throw new Error("seed must not be empty");
    return new SecretSource(Buffer.from(seed, "utf8"));
  }

  static random(): SecretSource {
    return new SecretSource(crypto.randomBytes(32));
  }

  /**
   * The secrets of one node of a seeded cluster: same seed, labels scoped by the node name (length-
   * prefixed, so no two names share a label), so every node is its own simulated CPU.
   */
  forNode(nodeName: string): SecretSource {
    if (nodeName.length === 0) throw new Error("node name must not be empty");
    return new SecretSource(this.ikm, `node/${Buffer.byteLength(nodeName)}:${nodeName}/`);
  }

  bytes(label: string, length: number): Buffer {
    return Buffer.from(crypto.hkdfSync("sha256", this.ikm, SALT, `confcom/${this.scope}${label}`, length));
  }

  /** A P-256 private key from 48 derived bytes (the extra 16 make the reduction mod n unbiased). */
  ecKey(label: string): KeyObject {
    return ecPrivateKeyFromMaterial(this.bytes(`key/${label}`, 48));
  }
}
