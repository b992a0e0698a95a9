// A simulated SGX node, its PCCS, and the attestation service in this process over real HTTPS, for
// the attestation tests. Collateral comes from the PCCS unless a test swaps in a variant.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AttestationClient } from "@azure/attestation";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { silentLogger } from "../../src/common/log.js";
import type { Collateral } from "../../src/collateral/types.js";
import { fetchCollateral } from "../../src/pccs/client.js";
import { startPccs, type PccsServer } from "../../src/pccs/server.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/index.js";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import type { CollateralConfig } from "../../src/sim/collateral/config.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity, type SimEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { initPlatform, type InitOptions } from "../../src/sim/platform/init.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";
import { generateSigningKey, type SigningAlg } from "../../src/attestation/keys.js";
import { startAttestationService, type AttestationService, type AttestationServiceOptions } from "../../src/attestation/service.js";

export interface Rig {
  dir: string;
  platform: SimPlatform;
  pccs: PccsServer;
  service: AttestationService;
  caPem: string;
  tls: { certPem: string; keyPem: string };
  /** A quote whose report data starts with SHA-256(runtimeData). */
  quote(runtimeData: Buffer, id?: Partial<SimEnclaveIdentity> & { debug?: boolean }): Buffer;
  /** Make the service fetch this collateral variant instead of the PCCS's (undefined: the PCCS again). */
  useCollateral(config: Partial<CollateralConfig> | undefined): void;
  fetches: number;
  /** Microsoft's client for this rig's service (or another instance's URL), trusting the rig's CA. */
  client(url?: string): AttestationClient;
  /** Starts another service instance on the same node (its own options). */
  restart(over: Partial<AttestationServiceOptions>): Promise<AttestationService>;
  close(): Promise<void>;
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest();

export async function startRig(name: string, over: Partial<AttestationServiceOptions> & { alg?: SigningAlg; platform?: InitOptions } = {}): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), `confcom-attest-${name}-`));
  const platform = await initPlatform(path.join(dir, "state"), { seed: `attest-${name}`, ...over.platform });
  const qe = new SimulatedQuotingEnclave(platform);
  const pccs = await startPccs({ stateDir: path.join(dir, "state"), host: "127.0.0.1", port: 0, log: silentLogger() });
  const tlsAll = await issueWebhookTls({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const tls = { certPem: tlsAll.certPem, keyPem: tlsAll.keyPem };
  let variant: Partial<CollateralConfig> | undefined;
  const make = async (o: Partial<AttestationServiceOptions>) =>
    startAttestationService({
      host: "127.0.0.1",
      port: 0,
      tls,
      trustedRootPem: platform.rootCaPem,
      fetchCollateral: async (fmspc, caType): Promise<Collateral> => {
        rig.fetches++;
        return variant ? buildCollateral(path.join(dir, "state"), { config: variant }) : fetchCollateral(pccs.url, fmspc, caType);
      },
      keys: [await generateSigningKey(over.alg ?? "RS256", "test signing key")],
      log: silentLogger(),
      ...over,
      ...o,
    });
  const extra: AttestationService[] = [];
  const rig: Rig = {
    dir,
    platform,
    pccs,
    caPem: tlsAll.caPem,
    tls,
    service: undefined as unknown as AttestationService,
    fetches: 0,
    quote: (runtimeData, id = {}) => {
      const reportData = Buffer.concat([sha256(runtimeData), Buffer.alloc(32)]);
      return qe.getQuoteSync(ereportBytes(platform, simEnclaveIdentity(id), qe.identity, reportData), DEFAULT_ECDSA_ATT_KEY_ID).quote;
    },
    useCollateral: (c) => {
      variant = c;
    },
    client: (url) => new AttestationClient(url ?? rig.service.url, { tlsOptions: { ca: tlsAll.caPem } } as never),
    restart: async (o) => {
      const s = await make(o);
      extra.push(s);
      return s;
    },
    close: async () => {
      for (const s of [rig.service, ...extra]) await s.close(1000);
      await pccs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  rig.service = await make({});
  return rig;
}

/** A JWT's parts, decoded without verifying (the test verifies separately). */
export function decodeJwt(token: string): { header: Record<string, unknown>; body: Record<string, unknown> } {
  const [h, b] = token.split(".");
  return { header: JSON.parse(Buffer.from(h!, "base64url").toString()), body: JSON.parse(Buffer.from(b!, "base64url").toString()) };
}

/** POSTs JSON over HTTPS trusting the rig's CA; resolves with status and parsed body. */
export async function post(rig: Rig, pathAndQuery: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Record<string, string | string[] | undefined> }> {
  const https = await import("node:https");
  const u = new URL(rig.service.url + pathAndQuery);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: "POST", ca: rig.caPem, agent: false, headers: { "content-type": "application/json", ...headers }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}
