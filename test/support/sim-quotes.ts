// Simulated quotes for tests and benches: a platform's quote, and a twin platform with a fresh PCK key and
// leaf under the same PCK CA (same FMSPC and SGX extension), i.e. a new platform a warm verifier has not seen.
import crypto, { type KeyObject } from "node:crypto";
import { x509 } from "../../src/common/x509.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/index.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { randomEcPrivateKey, toWebKeyPair } from "../../src/sim/pki/keys.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";

export const pemBlocks = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

export function quoteOf(p: SimPlatform, reportData = Buffer.alloc(64, 1)): Buffer {
  const qe = new SimulatedQuotingEnclave(p);
  return qe.getQuoteSync(ereportBytes(p, simEnclaveIdentity(), qe.identity, reportData), DEFAULT_ECDSA_ATT_KEY_ID).quote;
}

export interface NewPckOptions {
  /** Hex serial; random by default. */
  serialNumber?: string;
  notBefore?: Date;
  notAfter?: Date;
}

/** `caKey` signs the new leaf, named as issued by `caCert` (a different key makes a forged leaf). */
export async function withNewPck(p: SimPlatform, caKey: KeyObject, caCert: x509.X509Certificate, leaf: x509.X509Certificate, opts: NewPckOptions = {}): Promise<SimPlatform> {
  const key = randomEcPrivateKey();
  const pair = await toWebKeyPair(key);
  const ca = await toWebKeyPair(caKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: opts.serialNumber ?? crypto.randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
    subject: leaf.subjectName,
    issuer: caCert.subjectName,
    notBefore: opts.notBefore ?? leaf.notBefore,
    notAfter: opts.notAfter ?? leaf.notAfter,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    publicKey: pair.publicKey,
    signingKey: ca.privateKey,
    extensions: [...leaf.extensions.filter((e) => e.type !== "2.5.29.14"), await x509.SubjectKeyIdentifierExtension.create(pair.publicKey)],
  });
  const [, ...rest] = pemBlocks(p.pckChainPem);
  return { ...p, pckKey: key, pckChainPem: [cert.toString("pem"), ...rest].map((x) => `${x}\n`).join("") };
}
