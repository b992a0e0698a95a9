// The attestation service's ceilings, run as a child process: an HTTPS server that answers every
// request with a JSON body once the request body is in. `node https-echo.js CERT KEY [ALG [ANSWER_BYTES]]`:
// with ALG (RS256 or ES256), each answer first waits for the cryptography a token cannot do without,
// arranged on threads as the service arranges it: the quote's two P-256 verifications on the event loop,
// and the token's signature on libuv's thread pool (RS256) or on the event loop (ES256); and the answer
// is ANSWER_BYTES long (the service's token answer), since encrypting it is part of answering. Without
// ALG it is the bare echo: a 64-character answer and nothing else.
import { generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";

const [certFile, keyFile, alg, answerBytes] = process.argv.slice(2);

function tokenCrypto(which: string): () => Promise<void> {
  const signer = which === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey : generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const signKey = which === "RS256" ? signer : { key: signer, dsaEncoding: "ieee-p1363" as const };
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const verifier: KeyObject = ec.publicKey;
  const report = Buffer.alloc(432, 7);
  const sig = sign("sha256", report, { key: ec.privateKey, dsaEncoding: "ieee-p1363" });
  const claims = Buffer.alloc(1500, 0x61);
  return async () => {
    for (let i = 0; i < 2; i++) if (!verify("sha256", report, { key: verifier, dsaEncoding: "ieee-p1363" }, sig)) throw new Error("echo: verify failed");
    if (which !== "RS256") sign("sha256", claims, signKey);
    else await new Promise<void>((resolve, reject) => sign("sha256", claims, signKey, (err) => (err ? reject(err) : resolve())));
  };
}

const work = alg ? tokenCrypto(alg) : async () => {};
const answerChars = Number(answerBytes ?? 0) - '{"token":""}'.length;
const answer = (body: Buffer) => JSON.stringify({ token: answerChars > 0 ? body.toString("base64url").padEnd(answerChars, "A").slice(0, answerChars) : body.subarray(0, 64).toString("base64url") });
const server = https.createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!), keepAliveTimeout: 5_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    work().then(() => {
      const b = answer(Buffer.concat(chunks));
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(b) }).end(b);
    });
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`https://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
