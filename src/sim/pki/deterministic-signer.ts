// Hand-written over node:crypto because neither it nor WebCrypto offers deterministic ECDSA: a seeded
// cluster's nodes each issue the simulated PKI themselves, and QVL's root identity test compares
// signature bytes, so the same key must sign the same certificate to the same bytes everywhere.
// The nonce is HMAC-SHA256(d, counter || SHA-256(message)) reduced into [1, n-1] (RFC 6979's idea:
// a function of the key and the message); the point k*G comes from node:crypto's ECDH.
import crypto, { type webcrypto } from "node:crypto";

const N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
const bytes32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, "0"), "hex");

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

/** r || s (IEEE P1363, what WebCrypto returns) of SHA-256(data) under the P-256 scalar `d`. */
export function signDeterministic(dBytes: Buffer, data: Uint8Array): Buffer {
  const d = big(dBytes);
  const digest = crypto.createHash("sha256").update(data).digest();
  const z = big(digest) % N;
  for (let counter = 0; ; counter++) {
    const mac = (part: string) => crypto.createHmac("sha256", dBytes).update(Buffer.from([counter])).update(digest).update(part).digest();
    const material = Buffer.concat([mac("k1"), mac("k2")]);
    const k = (big(material) % (N - 1n)) + 1n;
    const ecdh = crypto.createECDH("prime256v1");
    ecdh.setPrivateKey(bytes32(k));
    const r = big(ecdh.getPublicKey().subarray(1, 33)) % N;
    if (r === 0n) continue;
    const s = (modPow(k, N - 2n, N) * ((z + r * d) % N)) % N;
    if (s === 0n) continue;
    return Buffer.concat([bytes32(r), bytes32(s)]);
  }
}

/**
 * A WebCrypto for @peculiar/x509 whose ECDSA P-256 signatures are deterministic; everything else is
 * Node's WebCrypto.
 */
export function deterministicCrypto(): webcrypto.Crypto {
  const base = crypto.webcrypto;
  const subtle = new Proxy(base.subtle, {
    get(target, prop) {
      if (prop === "sign") {
        return async (alg: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams, key: webcrypto.CryptoKey, data: ArrayBuffer | ArrayBufferView) => {
          const name = typeof alg === "string" ? alg : alg.name;
          const hash = typeof alg === "string" ? undefined : (alg as webcrypto.EcdsaParams).hash;
          const hashName = typeof hash === "string" ? hash : hash?.name;
          const curve = (key.algorithm as webcrypto.EcKeyAlgorithm).namedCurve;
          if (name !== "ECDSA" || hashName !== "SHA-256" || curve !== "P-256") return target.sign(alg, key, data);
          const jwk = await target.exportKey("jwk", key);
          const view = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          return new Uint8Array(signDeterministic(Buffer.from(jwk.d!, "base64url"), view)).buffer;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { subtle, getRandomValues: base.getRandomValues.bind(base), randomUUID: base.randomUUID.bind(base) } as webcrypto.Crypto;
}
