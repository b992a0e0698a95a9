// The attestation service's ceilings, run as a child process: an HTTPS server that answers every
// request with a small JSON body once the request body is in. `node https-echo.js CERT KEY [ALG]`:
// with ALG (RS256 or ES256), each answer first waits for the cryptography a token cannot do without,
// done as the service does it: the quote's two P-256 verifications on the event loop, and one token
// signature on libuv's thread pool.
import { generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";

const [certFile, keyFile, alg] = process.argv.slice(2);

function tokenCrypto(which: string): () => Promise<void> {
  const signer = which === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey : generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const signKey = which === "RS256" ? signer : { key: signer, dsaEncoding: "ieee-p1363" as const };
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const verifier: KeyObject = ec.publicKey;
  const report = Buffer.alloc(432, 7);
  const sig = sign("sha256", report, { key: ec.privateKey, dsaEncoding: "ieee-p1363" });
  const claims = Buffer.alloc(1500, 0x61);
  return () => {
    for (let i = 0; i < 2; i++) if (!verify("sha256", report, { key: verifier, dsaEncoding: "ieee-p1363" }, sig)) throw new Error("echo: verify failed");
    return new Promise((resolve, reject) => sign("sha256", claims, signKey, (err) => (err ? reject(err) : resolve())));
  };
}

const work = alg ? tokenCrypto(alg) : async () => {};
const server = https.createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!), keepAliveTimeout: 5_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    work().then(() => {
      const b = JSON.stringify({ token: Buffer.concat(chunks).subarray(0, 64).toString("base64url") });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(b) }).end(b);
    });
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`https://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
