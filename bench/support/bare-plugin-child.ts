// The bare baseline plugin as its own process, as a plugin runs beside a kubelet: `node
// bare-plugin-child.js <socketDir> <resources JSON>`, forked with an IPC channel. Each "register" message
// (sent the moment the kubelet serves) serves and registers every resource; it answers "registered" or
// "failed: <reason>". It prints "ready" once loaded.
import { BarePlugin, type BareResource } from "./bare-plugin.js";

const [socketDir, resourcesJson] = process.argv.slice(2);
if (!socketDir || !resourcesJson || !process.send) {
  process.stderr.write("usage: (forked with IPC) bare-plugin-child.js <socketDir> <resources JSON>\n");
  process.exit(2);
}
const plugin = new BarePlugin(socketDir, JSON.parse(resourcesJson) as BareResource[]);
const send = (m: string) => process.send!(m);
process.on("message", (m) => {
  if (m === "register") plugin.register().then(() => send("registered"), (err: Error) => send(`failed: ${err.message.slice(0, 300)}`));
});
process.on("disconnect", () => void plugin.stop().then(() => process.exit(0)));
process.on("SIGTERM", () => void plugin.stop().then(() => process.exit(0)));
process.stdout.write("ready\n");
