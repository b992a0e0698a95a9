// server.listen() as a promise: resolves once bound, rejects with the bind error (EADDRINUSE, EACCES)
// instead of leaving it to an 'error' event nobody awaits.
import type { Server } from "node:net";

export type ListenTarget = { port: number; host?: string } | { path: string } | { fd: number };

export function listen(server: Server, target: ListenTarget): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const bound = () => {
      server.off("error", reject);
      resolve();
    };
    if ("fd" in target) server.listen({ fd: target.fd }, bound);
    else if ("path" in target) server.listen(target.path, bound);
    else server.listen(target.port, target.host, bound);
  });
}
