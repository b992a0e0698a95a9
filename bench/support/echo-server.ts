// The quote helper's ceilings, run as a child process: a unix socket server that answers each
// length-prefixed frame with itself, one frame per connection, using the same framing code; with
// `--sign-threads N`, each request first waits for one bare ECDSA P-256 signature made on one of N
// worker threads (the thread hop and the signature a simulated quote cannot do without).
import { generateKeyPairSync } from "node:crypto";
import net from "node:net";
import { Worker } from "node:worker_threads";
import { encodeFrame, readFrame } from "../../src/aesm/framing.js";

export function echoOnce(socketPath: string, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socketPath);
    s.once("error", reject);
    s.once("connect", () => {
      s.write(encodeFrame(payload));
      readFrame(s, { maxSize: 1 << 20, timeoutMs: 5000 }).then((f) => (s.destroy(), resolve(f)), reject);
    });
  });
}

const SIGNER = `
  const { parentPort, workerData } = require("node:worker_threads");
  const { createPrivateKey, sign } = require("node:crypto");
  const key = createPrivateKey(workerData.pem);
  const data = Buffer.alloc(432, 1);
  parentPort.on("message", (id) => parentPort.postMessage({ id, sig: sign("sha256", data, { key, dsaEncoding: "ieee-p1363" }) }));`;

/** Round-robin signing on `n` threads; resolves once a signature for this call is back. */
function signers(n: number): () => Promise<void> {
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" });
  const waiting = new Map<number, () => void>();
  const workers = Array.from({ length: n }, () => {
    const w = new Worker(SIGNER, { eval: true, workerData: { pem } });
    w.on("message", (m: { id: number }) => {
      waiting.get(m.id)?.();
      waiting.delete(m.id);
    });
    return w;
  });
  let next = 0;
  return () =>
    new Promise<void>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      workers[id % n].postMessage(id);
    });
}

if (process.argv[1]?.endsWith("echo-server.js") && process.argv[2]) {
  const at = process.argv.indexOf("--sign-threads");
  const sign = at > 0 ? signers(Number(process.argv[at + 1])) : undefined;
  const server = net.createServer((s) => {
    readFrame(s, { maxSize: 1 << 20, timeoutMs: 5000 }).then(
      async (f) => {
        if (sign) await sign();
        s.end(encodeFrame(f));
      },
      () => s.destroy(),
    );
  });
  server.listen(process.argv[2], () => process.stderr.write("listening\n"));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
