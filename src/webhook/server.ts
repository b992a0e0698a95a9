// The webhook's HTTPS server: AdmissionReview v1 on /mutate and /validate.
import type http from "node:http";
import https from "node:https";
import type net from "node:net";
import type { AddressInfo } from "node:net";
import type { Logger } from "../common/log.js";
import type { WebhookMetrics } from "./metrics.js";
import { mutatePod, type MutationOptions } from "./mutate.js";
import type { Pod } from "./pod.js";
import { BadReviewError, parseAdmissionReview, reviewResponse, type AdmissionRequest, type AdmissionResponse } from "./review.js";
import { validatePod } from "./validate.js";
import { listen } from "../common/listen.js";
import { excerpt, guardedHandler } from "../common/request-target.js";
import { discardBody, readBody } from "./body.js";
import { BodyBudget, ConnectionTable, DEFAULT_LIMITS, type ConnectionLimits } from "./limits.js";

export interface WebhookServerOptions extends MutationOptions {
  host: string;
  port: number;
  certPem: string | Buffer;
  keyPem: string | Buffer;
  resourceName: string;
  enclaveResourceName: string;
  maxBodyBytes: number;
  /** Connection, handshake and body limits; defaults in limits.ts. */
  limits?: Partial<ConnectionLimits>;
  metrics: WebhookMetrics;
  log: Logger;
}

export interface WebhookServer {
  port: number;
  close(): Promise<void>;
}

export interface ResourceNames extends MutationOptions {
  resourceName: string;
  enclaveResourceName: string;
}

type Handler = (req: AdmissionRequest, names: ResourceNames) => AdmissionResponse;

const isPodCreate = (req: AdmissionRequest) => (req.kind?.kind ?? "Pod") === "Pod" && (req.operation ?? "CREATE") === "CREATE" && req.object;

export const mutateHandler: Handler = (req, names) => {
  if (!isPodCreate(req)) return { uid: req.uid, allowed: true };
  const ops = mutatePod(req.object as Pod, names.resourceName, names.enclaveResourceName, names);
  if (ops.length === 0) return { uid: req.uid, allowed: true };
  return { uid: req.uid, allowed: true, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(ops)).toString("base64") };
};

export const validateHandler: Handler = (req, names) => {
  if (!isPodCreate(req)) return { uid: req.uid, allowed: true };
  const problems = validatePod(req.object as Pod, names.resourceName, names);
  if (problems.length === 0) return { uid: req.uid, allowed: true };
  return { uid: req.uid, allowed: false, status: { code: 400, message: problems.join("; ") } };
};

const ROUTES: Record<string, Handler> = { "/mutate": mutateHandler, "/validate": validateHandler };

function resultOf(r: AdmissionResponse): string {
  return !r.allowed ? "denied" : r.patch ? "patched" : "allowed";
}

/** Bytes of an oversized body read and thrown away (so the client sees the 413) before the connection is cut. */
export const DISCARD_FACTOR = 4;

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const budget = new BodyBudget(limits.sharedBodyBytes);
  const bodyLimits = { max: opts.maxBodyBytes, free: limits.freeBodyBytes, budget, discard: DISCARD_FACTOR * opts.maxBodyBytes };
  const connections = new ConnectionTable(limits.maxConnections, (reason) => opts.metrics.shed.inc({ reason }));

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, path: string, expectsContinue: boolean) => {
    const handler: Handler | undefined = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    const endpoint = handler ? path.slice(1) : "other";
    // "drain": the status now, the end of the response (and so any close) only once the body is in;
    // "close": the status now and the connection closed after it.
    const fail = (status: number, message: string, mode: "drain" | "close" | "normal" = "normal") => {
      opts.metrics.reviews.inc({ endpoint, result: "bad_request" });
      opts.log.warn({ path: excerpt(path), status }, message);
      const body = JSON.stringify({ error: message });
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...(mode === "close" ? { connection: "close" } : {}) });
      if (mode === "drain" && !req.complete) {
        res.write(body);
        req.once("end", () => res.end());
      } else res.end(body);
    };
    if (!handler) return fail(404, `no such endpoint ${excerpt(path)}: use /mutate or /validate`);
    if (req.method !== "POST") return fail(405, `method ${excerpt(req.method ?? "")} not allowed: POST an AdmissionReview`);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > opts.maxBodyBytes) {
      // Answered before the body: a client that asked 100-continue sends none; any other is read and
      // discarded up to a bound so it gets the status instead of a reset mid-upload, and cut off past it.
      if (expectsContinue) return fail(413, `body of ${declared} bytes exceeds the limit of ${opts.maxBodyBytes}`, "close");
      discardBody(req, bodyLimits.discard);
      return fail(413, `body of ${declared} bytes exceeds the limit of ${opts.maxBodyBytes}`, "drain");
    }
    if (expectsContinue) res.writeContinue();
    const done = connections.busy(req.socket);
    res.once("close", done);
    readBody(req, bodyLimits).then(
      (r) => {
        if (!r.ok) return fail(413, `body exceeds the limit of ${opts.maxBodyBytes} bytes`, "drain");
        let response: AdmissionResponse;
        try {
          response = handler(parseAdmissionReview(r.body.toString("utf8")), opts);
        } catch (err) {
          if (err instanceof BadReviewError) return fail(err.httpStatus, err.message);
          opts.log.error({ err }, "unexpected error handling an AdmissionReview");
          return fail(500, "internal error");
        }
        opts.metrics.reviews.inc({ endpoint, result: resultOf(response) });
        opts.log.debug({ path, uid: excerpt(response.uid), result: resultOf(response) }, "admission review");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(reviewResponse(response));
      },
      (err: Error) => opts.log.debug({ err: err.message }, "request aborted"),
    );
  };

  const server = https.createServer(
    {
      cert: opts.certPem,
      key: opts.keyPem,
      minVersion: "TLSv1.2",
      handshakeTimeout: limits.handshakeTimeoutMs,
      // How often headersTimeout and requestTimeout are enforced (Node's default is every 30 s).
      connectionsCheckingInterval: 1_000,
    },
    guardedHandler(opts.log, (req, res, target) => handle(req, res, target.pathname, false)),
  );
  server.on("checkContinue", guardedHandler(opts.log, (req, res, target) => handle(req, res, target.pathname, true)));
  server.on("connection", (socket: net.Socket) => connections.admit(socket));
  server.on("tlsClientError", (err: Error) => opts.log.debug({ err: err.message }, "TLS handshake failed"));
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = 5_000;
  await listen(server, { port: opts.port, host: opts.host });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ host: opts.host, port }, `serving AdmissionReviews on https://${opts.host}:${port}/mutate and /validate`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
