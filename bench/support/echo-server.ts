// The round-trip baseline for the quote helper: a unix socket server that answers each length-prefixed
// frame with itself, one frame per connection, using the same framing code. Run as a child process.
import net from "node:net";
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

if (process.argv[1]?.endsWith("echo-server.js") && process.argv[2]) {
  const server = net.createServer((s) => {
    readFrame(s, { maxSize: 1 << 20, timeoutMs: 5000 }).then((f) => s.end(encodeFrame(f)), () => s.destroy());
  });
  server.listen(process.argv[2], () => process.stderr.write("listening\n"));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
