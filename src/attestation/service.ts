// The attestation service over HTTPS, with MAA's routes: POST /attest/SgxEnclave (and OpenEnclave),
// GET /certs, GET /.well-known/openid-configuration, GET /policies/SgxEnclave. Bodies are bounded in
// size and time, clients are rate-limited per address, concurrent attestations are capped, and close()
// drains what was accepted.
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { UnsecuredJWT } from "jose";
import type { Logger } from "../common/log.js";
import { listen } from "../common/listen.js";
import type { Collateral } from "../collateral/types.js";
import { QuoteVerifier, type VerificationStatus } from "../verify/index.js";
import { Attester, DEFAULT_ACCEPTED_STATUSES } from "./attester.js";
import { CollateralCache, type PckCa } from "./collateral-cache.js";
import { AttestationError } from "./errors.js";
import { generateSigningKey, KeySet, type SigningAlg, type SigningKey } from "./keys.js";
import { saveKeys } from "./key-store.js";
import { createAttestationMetrics, type AttestationMetrics } from "./metrics.js";
import { compilePolicy, DEFAULT_SGX_POLICY, type CompiledPolicy } from "./policy/index.js";
import { RateLimiter } from "./rate-limit.js";
import { TokenIssuer } from "./token-issuer.js";

export interface AttestationServiceOptions {
  host: string;
  port: number;
  tls: { certPem: string; keyPem: string };
  /** Public base URL (iss, jku); default https://<host>:<bound port>. */
  issuerUrl?: string;
  /** Where collateral comes from (a PCCS, through fetchCollateral). */
  fetchCollateral: (fmspc: string, caType: PckCa) => Promise<Collateral>;
  /** Resolves once collateral can be had (e.g. the PCCS answered): gates /readyz. */
  readiness?: () => Promise<void>;
  trustedRootPem?: string;
  /** The signing keys (at least one active). */
  keys: SigningKey[];
  /** Persist rotated keys here (0600), when set. */
  stateDir?: string;
  /** Rotate the active key when it is older than this (0: never). */
  rotateAfterMs?: number;
  alg?: SigningAlg;
  tokenLifetimeSeconds?: number;
  policyText?: string;
  acceptedStatuses?: readonly VerificationStatus[];
  collateralMaxAgeMs?: number;
  maxBodyBytes?: number;
  rateLimitPerSecond?: number;
  rateLimitBurst?: number;
  maxInFlight?: number;
  requestTimeoutMs?: number;
  log: Logger;
  metrics?: AttestationMetrics;
  now?: () => Date;
}

export interface AttestationService {
  readonly url: string;
  readonly issuer: TokenIssuer;
  readonly keys: KeySet;
  readonly metrics: AttestationMetrics;
  address(): { host: string; port: number };
  policy(): CompiledPolicy;
  /** Compiles and swaps in a new policy; on a parse error the old one stays and the error is thrown. */
  setPolicy(text: string): void;
  /** Makes a fresh key active now (the old one stays published until its tokens have expired). */
  rotateKeys(): Promise<SigningKey>;
  ready(): { ok: boolean; reason?: string };
  close(graceMs?: number): Promise<void>;
}

export const DEFAULTS = {
  tokenLifetimeSeconds: 8 * 3600,
  collateralMaxAgeMs: 3600_000,
  maxBodyBytes: 128 * 1024,
  rateLimitPerSecond: 50,
  maxInFlight: 256,
  requestTimeoutMs: 15_000,
};

const JSON_TYPE = "application/json; charset=utf-8";

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > max) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startAttestationService(o: AttestationServiceOptions): Promise<AttestationService> {
  const now = o.now ?? (() => new Date());
  const metrics = o.metrics ?? createAttestationMetrics();
  const log = o.log;
  const lifetime = o.tokenLifetimeSeconds ?? DEFAULTS.tokenLifetimeSeconds;
  const keys = new KeySet(o.keys, lifetime * 1000);
  let policy = compilePolicy(o.policyText ?? DEFAULT_SGX_POLICY);
  const maxBody = o.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  const limiter = new RateLimiter(o.rateLimitPerSecond ?? DEFAULTS.rateLimitPerSecond, o.rateLimitBurst ?? Math.max(1, 2 * (o.rateLimitPerSecond ?? DEFAULTS.rateLimitPerSecond)));
  const maxInFlight = o.maxInFlight ?? DEFAULTS.maxInFlight;
  const cache = new CollateralCache({
    fetch: o.fetchCollateral,
    maxAgeMs: o.collateralMaxAgeMs ?? DEFAULTS.collateralMaxAgeMs,
    now: () => now().getTime(),
    onEvent: (e) => metrics.collateralCache.inc({ event: e }),
    onRefreshError: (key, err) => log.warn({ platform: key, err: String(err).slice(0, 300) }, "collateral refresh failed; serving the cached copy while it is valid"),
  });
  const verifier = new QuoteVerifier({ trustedRootPem: o.trustedRootPem, allowDebug: true });

  let inFlight = 0;
  let stopping = false;
  let collateralReady = !o.readiness;
  let issuer!: TokenIssuer;
  let attester!: Attester;
  let base = "";

  const send = (res: ServerResponse, route: string, status: number, body: string, type = JSON_TYPE, extra: Record<string, string> = {}) => {
    metrics.requests.inc({ route, code: String(status) });
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...extra });
    res.end(body);
  };
  const fail = (res: ServerResponse, route: string, e: AttestationError, extra: Record<string, string> = {}) => {
    if (e.reason) metrics.denials.inc({ reason: e.reason });
    send(res, route, e.status, e.body(), JSON_TYPE, extra);
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, q: URLSearchParams) => Promise<void> | void> = {
    "GET /certs": (_req, res) => send(res, "certs", 200, JSON.stringify(issuer.jwks(now()))),
    "GET /.well-known/openid-configuration": (_req, res) =>
      send(
        res,
        "openid",
        200,
        JSON.stringify({
          issuer: base,
          jwks_uri: `${base}/certs`,
          response_types_supported: ["token", "none"],
          id_token_signing_alg_values_supported: [...new Set(keys.published(now()).map((k) => k.alg))],
          revocation_endpoint: `${base}/revoke`,
          claims_supported: ["is-debuggable", "sgx-mrsigner", "sgx-mrenclave", "product-id", "svn", "tee", "x-ms-sgx-mrenclave", "x-ms-sgx-mrsigner", "x-ms-sgx-product-id", "x-ms-sgx-svn", "x-ms-sgx-is-debuggable", "x-ms-sgx-ehd", "x-ms-runtime", "x-ms-sgx-collateral", "x-ms-policy-hash"],
        }),
      ),
    "GET /policies/SgxEnclave": async (_req, res, q) => {
      requireApiVersion(q);
      const stored = new UnsecuredJWT({ AttestationPolicy: Buffer.from(policy.text, "utf8").toString("base64url") }).encode();
      send(res, "policies", 200, JSON.stringify({ token: await issuer.issue({ "x-ms-policy": stored, "x-ms-policy-hash": policy.hash }, now()) }));
    },
    "PUT /policies/SgxEnclave": (_req, res) => fail(res, "policies", new AttestationError(400, "InvalidOperation", undefined, "this service's policy is set with --policy FILE (reloaded on SIGHUP), not over the API")),
    "POST /attest/SgxEnclave": (req, res, q) => attest(req, res, q, "SgxEnclave"),
    "POST /attest/OpenEnclave": (req, res, q) => attest(req, res, q, "OpenEnclave"),
  };

  function requireApiVersion(q: URLSearchParams): void {
    if (!q.get("api-version")) throw new AttestationError(400, "InvalidParameter", "malformed-request", "the api-version query parameter is required (e.g. api-version=2022-08-01)");
  }

  async function attest(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, kind: "SgxEnclave" | "OpenEnclave"): Promise<void> {
    const route = `attest-${kind}`;
    const client = req.socket.remoteAddress ?? "unknown";
    if (!limiter.take(client)) return fail(res, route, new AttestationError(429, "TooManyRequests", "rate-limited", "too many requests from this client; retry later"), { "retry-after": "1" });
    if (inFlight >= maxInFlight) return fail(res, route, new AttestationError(503, "ServiceUnavailable", undefined, "the service is at its concurrency limit; retry later"), { "retry-after": "1" });
    inFlight++;
    metrics.inFlight.set(inFlight);
    try {
      requireApiVersion(q);
      let raw: Buffer;
      try {
        raw = await readBody(req, maxBody);
      } catch (e) {
        if (e instanceof BodyTooLarge) throw new AttestationError(413, "RequestTooLarge", "too-large", `the request body is over ${maxBody} bytes`);
        throw e;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new AttestationError(400, "InvalidParameter", "malformed-request", "the request body is not JSON");
      }
      const { token, result } = await attester.attest(body, kind, now());
      metrics.tokens.inc({ type: kind, draft: String(typeof body === "object" && body !== null && "draftPolicyForAttestation" in body && (body as { draftPolicyForAttestation?: unknown }).draftPolicyForAttestation != null) });
      log.debug({ route, status: result.status, mrenclave: result.enclave.mrEnclave, fmspc: result.fmspc }, "token issued");
      send(res, route, 200, JSON.stringify({ token }));
    } finally {
      inFlight--;
      metrics.inFlight.set(inFlight);
    }
  }

  const requestTimeout = o.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const server = https.createServer(
    { cert: o.tls.certPem, key: o.tls.keyPem, requestTimeout, headersTimeout: Math.min(10_000, requestTimeout), maxHeaderSize: 16 * 1024, keepAliveTimeout: 5_000 },
    (req, res) => {
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "https://x");
      } catch {
        url = new URL("https://x/");
      }
      const path = url.pathname.replace(/\/+$/, "") || "/";
      const key = `${req.method} ${path}`;
      const handler = Object.hasOwn(routes, key) ? routes[key] : undefined;
      // Metrics labels come from the route table only, never from the request's path.
      const label = handler ? key : "unknown";
      const run = async () => {
        if (!handler) {
          const known = Object.keys(routes).some((r) => r.endsWith(` ${path}`));
          throw new AttestationError(known ? 405 : 404, known ? "MethodNotAllowed" : "NotFound", undefined, `${known ? "method not allowed on" : "no route"} ${path.slice(0, 100)}`);
        }
        await handler(req, res, url.searchParams);
      };
      run().catch((e: unknown) => {
        if (res.headersSent) return res.destroy();
        if (e instanceof AttestationError) {
          if (e.reason) log.info({ path: path.slice(0, 100), code: e.code, reason: e.reason, msg: e.message }, "attestation refused");
          fail(res, label, e);
          if (e.reason === "too-large") res.on("finish", () => req.socket.destroy());
          return;
        }
        log.error({ err: String(e).slice(0, 300) }, "internal error");
        send(res, "internal", 500, new AttestationError(500, "InvalidOperation", undefined, "internal error").body());
      });
    },
  );
  server.maxConnections = 8192;
  await listen(server, { port: o.port, host: o.host });
  const bound = server.address() as AddressInfo;
  const shownHost = o.host === "0.0.0.0" || o.host === "::" ? "localhost" : bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  base = (o.issuerUrl ?? `https://${shownHost}:${bound.port}`).replace(/\/+$/, "");
  issuer = new TokenIssuer({ keys, issuer: base, lifetimeSeconds: lifetime });
  attester = new Attester({ verifier, collateral: cache, issuer, policy: () => policy, acceptedStatuses: o.acceptedStatuses ?? DEFAULT_ACCEPTED_STATUSES, onVerified: (s) => metrics.verification.observe(s) });
  metrics.signingKeys.set(keys.published(now()).length);

  let readinessTimer: NodeJS.Timeout | undefined;
  if (o.readiness) {
    const probe = () =>
      o.readiness!().then(
        () => {
          collateralReady = true;
          log.info("collateral source reachable: ready");
        },
        (err: unknown) => {
          log.warn({ err: String(err).slice(0, 300) }, "collateral source not reachable yet; retrying in 5 s");
          readinessTimer = setTimeout(probe, 5_000);
          readinessTimer.unref();
        },
      );
    void probe();
  }

  const rotateKeys = async (): Promise<SigningKey> => {
    const next = await generateSigningKey(o.alg ?? keys.active().alg, "confcom attestation token signing", now());
    keys.rotate(next, now());
    if (o.stateDir) await saveKeys(o.stateDir, keys.all());
    metrics.signingKeys.set(keys.published(now()).length);
    log.info({ kid: next.kid, published: keys.published(now()).length }, "signing key rotated");
    return next;
  };
  let rotationTimer: NodeJS.Timeout | undefined;
  if (o.rotateAfterMs && o.rotateAfterMs > 0) {
    const check = () => {
      metrics.signingKeys.set(keys.published(now()).length);
      if (now().getTime() - keys.active().createdAt.getTime() >= o.rotateAfterMs!) rotateKeys().catch((err: unknown) => log.error({ err: String(err) }, "key rotation failed"));
    };
    check();
    rotationTimer = setInterval(check, Math.min(o.rotateAfterMs, 3600_000));
    rotationTimer.unref();
  }

  log.info({ url: base, alg: keys.active().alg, kid: keys.active().kid, policyHash: policy.hash }, `attestation service on ${base}`);
  return {
    url: base,
    issuer,
    keys,
    metrics,
    address: () => ({ host: bound.address, port: bound.port }),
    policy: () => policy,
    setPolicy(text: string) {
      policy = compilePolicy(text);
    },
    rotateKeys,
    ready: () => (stopping ? { ok: false, reason: "shutting down" } : collateralReady ? { ok: true } : { ok: false, reason: "collateral source not reached yet" }),
    async close(graceMs = 10_000) {
      stopping = true;
      clearTimeout(readinessTimer);
      clearInterval(rotationTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
    },
  };
}
