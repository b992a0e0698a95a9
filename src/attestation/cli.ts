// `confcom attestation-service`: the MAA-compatible attestation service as a daemon.
import { readFile } from "node:fs/promises";
import { createHash, X509Certificate } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { Option, type Command } from "commander";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { CliError, parseCount } from "../cli/errors.js";
import { issueWebhookTls } from "../addon/tls.js";
import { createLogger, type Logger } from "../common/log.js";
import { startOpsServer } from "../common/ops-server.js";
import { onShutdown } from "../common/shutdown.js";
import { fetchCollateral } from "../pccs/client.js";
import { PATHS } from "../pccs/api.js";
import { TCB_STATUSES, type VerificationStatus } from "../verify/index.js";
import { DEFAULT_ACCEPTED_STATUSES } from "./attester.js";
import { KeyError, generateSigningKey, signingKeyFromPem, SIGNING_ALGS, type SigningAlg, type SigningKey } from "./keys.js";
import { ensureStateDir, loadKeys, saveKeys } from "./key-store.js";
import { createAttestationMetrics } from "./metrics.js";
import { compilePolicy, PolicyParseError } from "./policy/index.js";
import { DEFAULTS, startAttestationService } from "./service.js";

interface Opts extends DaemonOptions {
  host: string;
  port: number;
  pccs: string;
  root?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsSan: string;
  publicUrl?: string;
  policy?: string;
  signingKey?: string;
  signingCert?: string;
  stateDir?: string;
  alg: SigningAlg;
  rotateDays: number;
  tokenLifetime: number;
  acceptTcbStatus: string;
  collateralMaxAge: number;
  maxBodyBytes: number;
  rateLimit: number;
  maxInFlight: number;
}

const read = async (file: string, what: string): Promise<string> => {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as Error).message}`, 2);
  }
};

async function policyFrom(file: string): Promise<string> {
  const text = await read(file, "policy");
  try {
    compilePolicy(text);
  } catch (e) {
    if (e instanceof PolicyParseError) throw new CliError(`${file}: ${e.message}`, 2);
    throw e;
  }
  return text;
}

function parseStatuses(list: string): VerificationStatus[] {
  const all = [...TCB_STATUSES, "TcbNotSupported"] as string[];
  return list.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const found = all.find((t) => t.toLowerCase() === s.toLowerCase());
    if (!found) throw new CliError(`--accept-tcb-status: unknown status "${s.slice(0, 60)}" (one of ${all.join(", ")})`, 2);
    return found as VerificationStatus;
  });
}

async function signingKeys(o: Opts, log: Logger): Promise<SigningKey[]> {
  try {
    if (o.signingKey) return [await signingKeyFromPem(await read(o.signingKey, "signing key"), o.signingCert ? await read(o.signingCert, "signing certificate") : undefined, "confcom attestation token signing")];
    if (o.stateDir) {
      await ensureStateDir(o.stateDir);
      const stored = await loadKeys(o.stateDir);
      if (stored) {
        log.info({ keys: stored.length, stateDir: o.stateDir }, "signing keys loaded from the state directory");
        return stored;
      }
    }
    const key = await generateSigningKey(o.alg, "confcom attestation token signing");
    if (o.stateDir) {
      await saveKeys(o.stateDir, [key]);
      log.info({ kid: key.kid, file: path.join(o.stateDir, "signing-keys.json") }, "generated a signing key and saved it (0600)");
    } else log.warn({ kid: key.kid }, "generated an ephemeral signing key: tokens stop verifying after a restart (give --state-dir or --signing-key)");
    return [key];
  } catch (e) {
    if (e instanceof KeyError) throw new CliError(e.message, 2);
    throw e;
  }
}

async function tlsOf(o: Opts, log: Logger): Promise<{ certPem: string; keyPem: string }> {
  if (o.tlsCert || o.tlsKey) {
    if (!o.tlsCert || !o.tlsKey) throw new CliError("--tls-cert and --tls-key go together", 2);
    return { certPem: await read(o.tlsCert, "TLS certificate"), keyPem: await read(o.tlsKey, "TLS key") };
  }
  const sans = o.tlsSan.split(",").map((s) => s.trim()).filter(Boolean);
  const ips = sans.filter((s) => /^[0-9.]+$|:/.test(s));
  const dns = sans.filter((s) => !ips.includes(s));
  const t = await issueWebhookTls({ dnsNames: dns.length ? dns : ["localhost"], ipAddresses: ips });
  const fp = createHash("sha256").update(new X509Certificate(t.caPem).raw).digest("hex");
  log.warn({ sans, caSha256: fp, caPem: t.caPem }, "no --tls-cert/--tls-key: serving a generated self-signed certificate; clients must trust this CA");
  return { certPem: t.certPem, keyPem: t.keyPem };
}

export function registerAttestationCommand(program: Command): void {
  const cmd = program
    .command("attestation-service")
    .description("an attestation service compatible with Microsoft Azure Attestation (SGX): verifies DCAP quotes with collateral from a PCCS and issues signed tokens; SIGHUP reloads --policy")
    .addOption(new Option("--pccs <url>", "PCCS (or Intel PCS) to fetch collateral from").env("PCCS_URL").makeOptionMandatory())
    .option("--host <host>", "listen address", "0.0.0.0")
    .option("--port <port>", "HTTPS port (0 picks a free one)", parseCount("--port", 65535), 8443)
    .option("--root <pem>", "trusted root CA (PEM file); default the Intel SGX Root CA")
    .option("--tls-cert <pem>", "serving certificate (PEM); generated self-signed when absent")
    .option("--tls-key <pem>", "serving key (PEM)")
    .option("--tls-san <list>", "names of the generated certificate (comma-separated DNS names and IPs)", `localhost,127.0.0.1,${os.hostname()}`)
    .option("--public-url <url>", "the service's public base URL: the tokens' iss, and jku = <url>/certs (default https://<host>:<port>)")
    .option("--policy <file>", "attestation policy in MAA's language (default: MAA's default SGX policy); SIGHUP reloads it")
    .option("--signing-key <pem>", "token signing key (RSA >= 2048 or EC P-256, PEM); not rotated")
    .option("--signing-cert <pem>", "its certificate, published in /certs as x5c (self-signed when absent)")
    .option("--state-dir <dir>", "keep generated signing keys here (0600), rotated every --rotate-days")
    .addOption(new Option("--alg <alg>", "signing algorithm of generated keys").choices(SIGNING_ALGS).default("RS256"))
    .option("--rotate-days <n>", "rotate generated signing keys this often (0: never); old keys stay in /certs until their tokens expire", parseCount("--rotate-days"), 30)
    .option("--token-lifetime <seconds>", "token lifetime (exp - iat)", parseCount("--token-lifetime"), DEFAULTS.tokenLifetimeSeconds)
    .option("--accept-tcb-status <list>", "TCB statuses that can get a token at all (the policy can narrow them)", DEFAULT_ACCEPTED_STATUSES.join(","))
    .option("--collateral-max-age <seconds>", "refetch collateral at least this often (also refreshed before its nextUpdate)", parseCount("--collateral-max-age"), DEFAULTS.collateralMaxAgeMs / 1000)
    .option("--max-body-bytes <n>", "largest attest request body", parseCount("--max-body-bytes"), DEFAULTS.maxBodyBytes)
    .option("--rate-limit <n>", "attest requests per second per client address (0: unlimited)", parseCount("--rate-limit"), DEFAULTS.rateLimitPerSecond)
    .option("--max-in-flight <n>", "attest requests processed at once; beyond, 503 with Retry-After", parseCount("--max-in-flight"), DEFAULTS.maxInFlight);
  addDaemonOptions(cmd, "127.0.0.1:9476").action(async (o: Opts) => {
    const log = createLogger({ component: "attestation-service", level: o.logLevel });
    const policyText = o.policy ? await policyFrom(o.policy) : undefined;
    const acceptedStatuses = parseStatuses(o.acceptTcbStatus);
    const trustedRootPem = o.root ? await read(o.root, "root certificate") : undefined;
    const keys = await signingKeys(o, log);
    const tls = await tlsOf(o, log);
    const metrics = createAttestationMetrics();
    const pccs = o.pccs.replace(/\/+$/, "");
    let service;
    try {
      service = await startAttestationService({
        host: o.host,
        port: o.port,
        tls,
        issuerUrl: o.publicUrl,
        fetchCollateral: (fmspc, caType) => fetchCollateral(pccs, fmspc, caType),
        readiness: async () => {
          const res = await fetch(`${pccs}${PATHS.qeIdentity}`, { signal: AbortSignal.timeout(5_000) });
          if (!res.ok) throw new Error(`PCCS ${pccs} answered ${res.status} for the QE identity`);
        },
        trustedRootPem,
        keys,
        stateDir: o.signingKey ? undefined : o.stateDir,
        rotateAfterMs: o.signingKey || !o.stateDir ? 0 : o.rotateDays * 86400_000,
        alg: o.alg,
        tokenLifetimeSeconds: o.tokenLifetime,
        policyText,
        acceptedStatuses,
        collateralMaxAgeMs: o.collateralMaxAge * 1000,
        maxBodyBytes: o.maxBodyBytes,
        rateLimitPerSecond: o.rateLimit,
        maxInFlight: o.maxInFlight,
        log,
        metrics,
      });
    } catch (e) {
      throw new CliError(`cannot start the attestation service on ${o.host}:${o.port}: ${(e as Error).message}`);
    }
    const ops = await startOpsServer({ addr: o.metricsAddr, registry: metrics.registry, log, healthy: () => ({ ok: true }), ready: () => service.ready() });
    process.stdout.write(`${service.url}\n`);
    if (o.policy) {
      const file = o.policy;
      process.on("SIGHUP", () => {
        readFile(file, "utf8").then(
          (text) => {
            try {
              service.setPolicy(text);
              metrics.policyReloads.inc({ result: "ok" });
              log.info({ file, policyHash: service.policy().hash }, "policy reloaded");
            } catch (e) {
              metrics.policyReloads.inc({ result: "error" });
              log.error({ file, err: (e as Error).message }, "policy reload refused; the previous policy stays in force");
            }
          },
          (err: unknown) => {
            metrics.policyReloads.inc({ result: "error" });
            log.error({ file, err: String(err) }, "cannot read the policy; the previous policy stays in force");
          },
        );
      });
    }
    onShutdown(log, async () => {
      await service.close();
      await ops.close();
    });
  });
}
