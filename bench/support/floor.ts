// The quote helper's memory floor, run as a child process with the daemon's V8 flags: Node, the
// library the helper cannot do without (protobuf-es, with the AESM schema) and a listening unix socket.
import net from "node:net";
import "@bufbuild/protobuf";
import "../../src/gen/aesm/messages_pb.js";

if (process.argv[2]) {
  const server = net.createServer((s) => s.destroy());
  server.listen(process.argv[2], () => process.stderr.write("listening\n"));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
