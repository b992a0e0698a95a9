// A PCCS for one simulated platform: Intel's PCS/PCCS v4 HTTP API over the platform's collateral,
// CRLs and PCK certificate, so that standard DCAP tooling (and our verifier) can fetch them.
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, type Registry } from "prom-client";
import type { Collateral } from "../collateral/types.js";
import type { Logger } from "../common/log.js";
import { renewCollateral, renewPeriodically } from "../sim/collateral/renew.js";
import { crlPem } from "../sim/pki/issue.js";
import type { PlatformState } from "../sim/platform/load.js";
import { envelope, HEADERS, PATHS } from "./api.js";
import { listen } from "../common/listen.js";
import { BAD_TARGET_MESSAGE, excerpt, guardedHandler } from "../common/request-target.js";

export interface PccsOptions {
  stateDir: string;
  host: string;
  port: number;
  log: Logger;
  registry?: Registry;
  /** Reissue the CRLs and rebuild the collateral this often (ms; 0 or absent: only at start and reload). */
  renewMs?: number;
}

export interface PccsServer {
  /** Base URL, e.g. http://127.0.0.1:8081 */
  readonly url: string;
  address(): { host: string; port: number };
  /** The collateral being served (built from the state directory at start or at the last reload). */
  collateral(): Collateral;
  /** Re-reads the state directory (e.g. after `sim crl --revoke-pck`) and rebuilds the collateral. */
  reload(): Promise<void>;
  /** The served TCB Info's nextUpdate has passed (renewal off or failing). */
  expired(now?: Date): boolean;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Served {
  state: PlatformState;
  collateral: Collateral;
  nextUpdate: string;
}

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  contentType: string;
  body: string | Buffer;
}

const HEX = (bytes: number) => new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`);
const chainHeader = (pem: string) => encodeURIComponent(pem);

function param(q: URLSearchParams, name: string, pattern: RegExp, what: string): string {
  const v = q.get(name);
  if (v === null) throw new HttpError(400, "InvalidRequestSyntax", `missing query parameter ${name} (${what})`);
  if (!pattern.test(v)) throw new HttpError(400, "InvalidRequestSyntax", `query parameter ${name} must be ${what}, got "${excerpt(v)}"`);
  return v;
}

function onlyParams(q: URLSearchParams, allowed: string[]): void {
  for (const k of q.keys()) if (!allowed.includes(k)) throw new HttpError(400, "InvalidRequestSyntax", `unknown query parameter ${excerpt(k)} (allowed: ${allowed.join(", ") || "none"})`);
}

function route(s: Served, path: string, q: URLSearchParams): Reply {
  const c = s.collateral;
  const caType = s.state.record.caType;
  switch (path) {
    case PATHS.tcb: {
      onlyParams(q, ["fmspc", "update", "tcbEvaluationDataNumber"]);
      const fmspc = param(q, "fmspc", HEX(6), "an FMSPC of 12 hex digits");
      if (fmspc.toUpperCase() !== s.state.record.fmspc.toUpperCase()) throw new HttpError(404, "NotFound", `no TCB info for FMSPC ${fmspc.toUpperCase()}`);
      return {
        contentType: "application/json",
        headers: { [HEADERS.tcbInfoIssuerChain]: chainHeader(c.tcb_info_issuer_chain) },
        body: envelope("tcbInfo", c.tcb_info, c.tcb_info_signature),
      };
    }
    case PATHS.qeIdentity:
      onlyParams(q, ["update", "tcbEvaluationDataNumber"]);
      return {
        contentType: "application/json",
        headers: { [HEADERS.enclaveIdentityIssuerChain]: chainHeader(c.qe_identity_issuer_chain) },
        body: envelope("enclaveIdentity", c.qe_identity, c.qe_identity_signature),
      };
    case PATHS.pckCrl: {
      onlyParams(q, ["ca", "encoding"]);
      const ca = param(q, "ca", /^(processor|platform)$/i, "processor or platform").toLowerCase();
      const encoding = q.get("encoding")?.toLowerCase() ?? "pem";
      if (encoding !== "der" && encoding !== "pem") throw new HttpError(400, "InvalidRequestSyntax", `query parameter encoding must be der or pem, got "${excerpt(encoding)}"`);
      if (ca !== caType) throw new HttpError(404, "NotFound", `this PCCS serves a PCK ${caType} CA, not a ${ca} CA`);
      const headers = { [HEADERS.pckCrlIssuerChain]: chainHeader(c.pck_crl_issuer_chain) };
      return encoding === "der"
        ? { contentType: "application/pkix-crl", headers, body: Buffer.from(s.state.crls.pck.rawData) }
        : { contentType: "application/x-pem-file", headers, body: crlPem(s.state.crls.pck) };
    }
    case PATHS.rootCaCrl: {
      onlyParams(q, ["encoding"]);
      const der = Buffer.from(s.state.crls.root.rawData);
      // Intel's PCCS answers with the DER as hex text (its clients, e.g. dcap-qvl, hex-decode it);
      // encoding=der (what the simulated certificates' CRL distribution point asks for) gives DER.
      const encoding = q.get("encoding")?.toLowerCase() ?? "hex";
      if (encoding !== "der" && encoding !== "hex") throw new HttpError(400, "InvalidRequestSyntax", `query parameter encoding must be der or hex, got "${excerpt(encoding)}"`);
      return encoding === "der" ? { contentType: "application/pkix-crl", body: der } : { contentType: "text/plain", body: der.toString("hex") };
    }
    case PATHS.pckCert: {
      onlyParams(q, ["encrypted_ppid", "cpusvn", "pcesvn", "pceid"]);
      param(q, "encrypted_ppid", HEX(384), "an RSA-3072 encrypted PPID (768 hex digits)");
      const cpusvn = Buffer.from(param(q, "cpusvn", HEX(16), "a CPUSVN of 32 hex digits"), "hex");
      const pcesvn = Buffer.from(param(q, "pcesvn", HEX(2), "a PCESVN of 4 hex digits (little-endian)"), "hex").readUInt16LE(0);
      const pceid = param(q, "pceid", HEX(2), "a PCE-ID of 4 hex digits");
      const p = s.state.platform;
      if (pceid.toUpperCase() !== s.state.record.pceId.toUpperCase()) throw new HttpError(404, "NotFound", `no PCK certificate for PCE-ID ${pceid.toUpperCase()}`);
      // PCS returns the certificate of the highest TCB level not above the raw TCB; here there is one.
      const belowCert = p.tcb.components.some((svn, i) => cpusvn[i]! < svn) || pcesvn < p.tcb.pceSvn;
      if (belowCert) throw new HttpError(404, "NotFound", "no PCK certificate for a TCB this low (CPUSVN/PCESVN below the certified TCB)");
      const tcbm = Buffer.concat([p.cpuSvn, Buffer.from([p.tcb.pceSvn & 0xff, p.tcb.pceSvn >> 8])]);
      return {
        contentType: "application/x-pem-file",
        headers: {
          [HEADERS.pckCertIssuerChain]: chainHeader(c.pck_crl_issuer_chain),
          [HEADERS.tcbm]: tcbm.toString("hex").toUpperCase(),
          [HEADERS.fmspc]: s.state.record.fmspc.toUpperCase(),
          [HEADERS.pckCaType]: caType,
        },
        body: s.state.certs.pck.toString("pem") + "\n",
      };
    }
    default:
      throw new HttpError(404, "NotFound", `no such endpoint ${excerpt(path)}`);
  }
}

export async function startPccs(opts: PccsOptions): Promise<PccsServer> {
  let served = await renewCollateral(opts.stateDir, false);
  const requests = new Counter({
    name: "confcom_pccs_requests_total",
    help: "PCCS requests by endpoint and HTTP status",
    labelNames: ["endpoint", "status"] as const,
    registers: opts.registry ? [opts.registry] : [],
  });
  const answerError = (res: http.ServerResponse, requestId: string, err: HttpError) => {
    res.writeHead(err.status, {
      "Content-Type": "application/json",
      [HEADERS.requestId]: requestId,
      [HEADERS.errorCode]: err.code,
      [HEADERS.errorMessage]: encodeURIComponent(err.message),
      ...(err.status === 405 ? { Allow: "GET, HEAD" } : {}),
    });
    res.end(JSON.stringify({ error: err.code, message: err.message }) + "\n");
  };
  const badTarget = (res: http.ServerResponse) => {
    requests.inc({ endpoint: "other", status: "400" });
    answerError(res, crypto.randomBytes(16).toString("hex"), new HttpError(400, "InvalidRequestSyntax", BAD_TARGET_MESSAGE));
  };
  const handler = guardedHandler(
    opts.log,
    (req, res, url) => {
      const requestId = crypto.randomBytes(16).toString("hex");
      const endpoint = Object.values(PATHS).includes(url.pathname as (typeof PATHS)[keyof typeof PATHS]) ? url.pathname : "other";
      let status = 200;
      try {
        if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "MethodNotAllowed", `method ${excerpt(req.method ?? "")} not allowed (GET only)`);
        const r = route(served, url.pathname, url.searchParams);
        status = r.status ?? 200;
        res.writeHead(status, { "Content-Type": r.contentType, [HEADERS.requestId]: requestId, ...r.headers });
        res.end(req.method === "HEAD" ? undefined : r.body);
      } catch (e) {
        const err = e instanceof HttpError ? e : new HttpError(500, "InternalError", "internal error");
        if (!(e instanceof HttpError)) opts.log.error({ err: e, requestId }, "PCCS request failed");
        status = err.status;
        answerError(res, requestId, err);
      }
      requests.inc({ endpoint, status: String(status) });
      opts.log.debug({ requestId, method: req.method, path: excerpt(url.pathname), status }, "PCCS request");
    },
    badTarget,
  );
  const server = http.createServer(handler);
  // A request body is never read: a client that sends one (or never finishes its headers) is cut off.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  await listen(server, { port: opts.port, host: opts.host });
  const bound = server.address() as AddressInfo;
  const hostForUrl = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  const url = `http://${hostForUrl}:${bound.port}`;
  opts.log.info({ url, fmspc: served.state.record.fmspc, caType: served.state.record.caType, nextUpdate: served.nextUpdate }, `PCCS serving ${url}${PATHS.tcb.replace("/tcb", "")}`);
  const stopRenewing = renewPeriodically(opts.stateDir, opts.renewMs ?? 0, opts.log, (r) => {
    served = r;
  });
  return {
    url,
    address: () => ({ host: bound.address, port: bound.port }),
    collateral: () => served.collateral,
    reload: async () => {
      served = await renewCollateral(opts.stateDir, false);
      opts.log.info({ nextUpdate: served.nextUpdate }, "PCCS reloaded the platform state");
    },
    expired: (now = new Date()) => !(Date.parse(served.nextUpdate) > now.getTime()),
    close: () =>
      new Promise<void>((resolve) => {
        stopRenewing();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
