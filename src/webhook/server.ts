// The webhook's HTTPS server: AdmissionReview v1 on /mutate and /validate.
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "../common/log.js";
import type { WebhookMetrics } from "./metrics.js";
import { mutatePod, type MutationOptions } from "./mutate.js";
import type { Pod } from "./pod.js";
import { BadReviewError, parseAdmissionReview, reviewResponse, type AdmissionRequest, type AdmissionResponse } from "./review.js";
import { validatePod } from "./validate.js";
import { listen } from "../common/listen.js";

export interface WebhookServerOptions extends MutationOptions {
  host: string;
  port: number;
  certPem: string | Buffer;
  keyPem: string | Buffer;
  resourceName: string;
  enclaveResourceName: string;
  maxBodyBytes: number;
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

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const server = https.createServer({ cert: opts.certPem, key: opts.keyPem, minVersion: "TLSv1.2" }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const handler: Handler | undefined = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    const endpoint = handler ? path.slice(1) : "other";
    const fail = (status: number, message: string) => {
      opts.metrics.reviews.inc({ endpoint, result: "bad_request" });
      opts.log.warn({ path, status }, message);
      res.writeHead(status, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ error: message }));
    };
    if (!handler) return fail(404, `no such endpoint ${path}: use /mutate or /validate`);
    if (req.method !== "POST") return fail(405, `method ${req.method} not allowed: POST an AdmissionReview`);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > opts.maxBodyBytes) {
      req.resume();
      return fail(413, `body of ${declared} bytes exceeds the limit of ${opts.maxBodyBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > opts.maxBodyBytes) {
        failed = true;
        chunks.length = 0;
        fail(413, `body exceeds the limit of ${opts.maxBodyBytes} bytes`);
        req.resume();
      } else chunks.push(c);
    });
    req.on("end", () => {
      if (failed) return;
      let response: AdmissionResponse;
      try {
        response = handler(parseAdmissionReview(Buffer.concat(chunks).toString("utf8")), opts);
      } catch (err) {
        if (err instanceof BadReviewError) return fail(err.httpStatus, err.message);
        opts.log.error({ err }, "unexpected error handling an AdmissionReview");
        return fail(500, "internal error");
      }
      opts.metrics.reviews.inc({ endpoint, result: resultOf(response) });
      opts.log.debug({ path, uid: response.uid, result: resultOf(response) }, "admission review");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(reviewResponse(response));
    });
    req.on("error", (err) => opts.log.warn({ err }, "request stream error"));
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
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
