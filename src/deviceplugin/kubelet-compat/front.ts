// The plugin's socket as kubelets of every version can use it: a unix-socket listener that hands each
// connection to the gRPC server through grpc-js's connection injector, behind a FrontConnection that
// rewrites the :authority older kubelets send (kubernetes/kubernetes#112597, fixed in 1.26).
import net from "node:net";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../common/log.js";
import { listen } from "../../common/listen.js";
import { FrontConnection } from "./connection.js";

export interface AuthorityFrontEvents {
  /** A client sent its socket path as :authority and is being served through the rewrite. */
  onOldKubelet?(): void;
}

export class AuthorityFront {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private loggedOld = false;

  constructor(
    private readonly injector: grpc.ConnectionInjector,
    private readonly log: Logger,
    private readonly events: AuthorityFrontEvents = {},
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(socketPath: string): Promise<void> {
    return listen(this.server, { path: socketPath });
  }

  /** Stops accepting and closes every connection (the gRPC server's own shutdown ends their streams first). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    const conn = new FrontConnection(socket, {
      onMode: (mode, authority) => {
        if (mode !== "rewriting") return;
        this.events.onOldKubelet?.();
        if (this.loggedOld) return;
        this.loggedOld = true;
        this.log.info(
          { authority: authority?.slice(0, 128) },
          "the kubelet sends its socket path as :authority (kubelets before 1.26); serving it with the authority rewritten",
        );
      },
      onProtocolError: (err) => this.log.warn({ reason: err.message.slice(0, 200) }, "closed a device-plugin connection that is not HTTP/2 as expected"),
    });
    conn.on("error", () => conn.destroy());
    this.injector.injectConnection(conn);
  }
}
