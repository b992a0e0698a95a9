// The trust anchor: by default the real Intel SGX Root CA, pinned by fingerprint; `--root` swaps in
// another (our simulated PKI) which must still look like an SGX root.
import { createHash } from "node:crypto";
import { checkRequiredExtensions } from "./chain.js";
import { parsePemChain, VerifiedLinks, type Cert } from "./certs.js";
import { fail } from "./errors.js";

/** "Intel SGX Root CA", the last certificate of every real PCK chain and collateral issuer chain. */
export const INTEL_SGX_ROOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
-----END CERTIFICATE-----
`;

/** SHA-256 of the DER of INTEL_SGX_ROOT_CA_PEM, as published by Intel. */
export const INTEL_SGX_ROOT_CA_SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

export interface TrustedRoot {
  /** A chain's root must carry exactly this certificate's signature bytes (QVL's identity test). */
  cert: Cert;
  sha256: string;
  /** Certificate signatures verified on the way to this root, by this verifier. */
  links: VerifiedLinks;
}

const STEP = "trusted-root";

export function loadTrustedRoot(pem: string = INTEL_SGX_ROOT_CA_PEM): TrustedRoot {
  const certs = parsePemChain(STEP, "trusted root PEM", pem);
  if (certs.length !== 1) fail(STEP, `trusted root PEM must hold exactly one certificate, has ${certs.length}`);
  const cert = certs[0];
  const sha256 = createHash("sha256").update(cert.der).digest("hex");
  if (pem === INTEL_SGX_ROOT_CA_PEM && sha256 !== INTEL_SGX_ROOT_CA_SHA256) fail(STEP, "embedded Intel SGX Root CA does not match its pinned fingerprint");
  if (!cert.cn.includes("SGX Root CA")) fail(STEP, `trusted root CN "${cert.cn}" does not contain "SGX Root CA"`);
  checkRequiredExtensions(STEP, "trusted root", cert);
  const links = new VerifiedLinks();
  if (!cert.subjectDer.equals(cert.issuerDer) || !links.isSignedBy(cert, cert)) fail(STEP, "trusted root is not self-signed");
  return { cert, sha256, links };
}
