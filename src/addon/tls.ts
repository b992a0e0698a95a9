// The in-cluster webhook's own CA and serving certificate (ECDSA P-256): the API server trusts the
// CA through the caBundle, the webhook serves the leaf whose SAN is the Service's DNS name.
import "reflect-metadata";
import crypto, { type webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { WebhookTls } from "./manifests/webhook.js";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const KU = x509.KeyUsageFlags;

export interface IssueOptions {
  /** DNS names of the serving certificate, e.g. confcom-webhook.kube-system.svc. */
  dnsNames: string[];
  /** IP addresses, for tests that connect to 127.0.0.1. */
  ipAddresses?: string[];
  validityDays?: number;
  now?: Date;
}

function serial(): string {
  const b = crypto.randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.webcrypto.subtle.exportKey("pkcs8", key));
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

export async function issueWebhookTls(opts: IssueOptions): Promise<WebhookTls> {
  if (opts.dnsNames.length === 0) throw new Error("the serving certificate needs at least one DNS name");
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + (opts.validityDays ?? 3650) * 86400_000);
  const subtle = crypto.webcrypto.subtle;
  const caKeys = (await subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const caName = `CN=confcom webhook CA ${crypto.randomBytes(4).toString("hex")}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(KU.keyCertSign | KU.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.dnsNames[0]}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(KU.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...opts.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return { caPem: ca.toString("pem"), certPem: leaf.toString("pem"), keyPem: await pkcs8Pem(leafKeys.privateKey) };
}
