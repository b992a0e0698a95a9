// The simulated EGETKEY(REPORT): a 128-bit key only derivable from the platform secret, bound to the
// target enclave's identity, the report's key_id and the platform's current CPUSVN. Hardware likewise
// ignores the CPUSVN in the key request for report keys and uses the current one.
import { createHmac, randomBytes } from "node:crypto";
import type { SimPlatform } from "../platform/types.js";
import { AesCmac } from "../crypto/cmac.js";
import type { ReportKeyTarget } from "./identity.js";

const LABEL = Buffer.from("confcom-sim EGETKEY REPORT v1\0");
const CACHE_LIMIT = 256;
const KEY_ID_SIZE = 32;

/** a == b[offset, offset + a.length): a plain loop, cheaper than slicing for 32 bytes on the hot path. */
export function sameBytes(a: Buffer, b: Buffer, offset = 0): boolean {
  if (b.length - offset < a.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[offset + i];
  return diff === 0;
}

const bootKeyIds = new WeakMap<SimPlatform, Buffer>();
const keyCache = new WeakMap<SimPlatform, Map<string, AesCmac>>();

/**
 * The key_id this simulated CPU puts in its reports. Like hardware's CR_REPORT_KEYID it is random per
 * boot, here per loaded platform object (per process); verifiers take it from the report, so reports
 * made by another process on the same platform verify too.
 */
export function bootKeyId(platform: SimPlatform): Buffer {
  let id = bootKeyIds.get(platform);
  if (!id) bootKeyIds.set(platform, (id = randomBytes(32)));
  return id;
}

function derivationData(target: ReportKeyTarget, keyId: Buffer, cpuSvn: Buffer): Buffer {
  const b = Buffer.alloc(32 + 16 + 4 + 64 + 2 + 32 + 16);
  let o = target.mrEnclave.copy(b, 0);
  o = b.writeBigUInt64LE(target.attributes.flags, o);
  o = b.writeBigUInt64LE(target.attributes.xfrm, o);
  o = b.writeUInt32LE(target.miscSelect, o);
  o += target.configId.copy(b, o);
  o = b.writeUInt16LE(target.configSvn, o);
  o += keyId.copy(b, o);
  cpuSvn.copy(b, o);
  return b;
}

/** The report key of `target` for reports carrying `keyId`, as a ready CMAC (cached per platform). */
export function reportKeyCmac(platform: SimPlatform, target: ReportKeyTarget, keyId: Buffer): AesCmac {
  const data = derivationData(target, keyId, platform.cpuSvn);
  const cacheKey = data.toString("latin1");
  let cache = keyCache.get(platform);
  if (!cache) keyCache.set(platform, (cache = new Map()));
  let cmac = cache.get(cacheKey);
  if (!cmac) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    const key = createHmac("sha256", platform.platformSecret).update(LABEL).update(data).digest().subarray(0, 16);
    cache.set(cacheKey, (cmac = new AesCmac(key)));
  }
  return cmac;
}

/**
 * Report-key CMACs of one target, by key_id: what an enclave that checks many reports (the QE) keeps,
 * so the check costs one CMAC and no derivation.
 */
export class ReportKeyring {
  private readonly byKeyId = new Map<string, AesCmac>();

  constructor(
    private readonly platform: SimPlatform,
    private readonly target: ReportKeyTarget,
  ) {}

  private last?: { keyId: Buffer; cmac: AesCmac };

  /** The CMAC for the key_id at `buf[offset, offset + 32)`. */
  cmac(buf: Buffer, offset = 0): AesCmac {
    // Reports from one boot share a key_id, so the last one almost always matches.
    if (this.last && sameBytes(this.last.keyId, buf, offset)) return this.last.cmac;
    const keyId = buf.subarray(offset, offset + KEY_ID_SIZE);
    const k = keyId.toString("latin1");
    let cmac = this.byKeyId.get(k);
    if (!cmac) {
      if (this.byKeyId.size >= CACHE_LIMIT) this.byKeyId.clear();
      this.byKeyId.set(k, (cmac = reportKeyCmac(this.platform, this.target, keyId)));
    }
    this.last = { keyId: Buffer.from(keyId), cmac };
    return cmac;
  }
}
