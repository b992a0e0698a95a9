// Shared by the simulated-platform and PCCS tests: temporary state directories, openssl as an
// independent peer, and Intel's real certificates (from the Intel sample) to compare structure with.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { x509 } from "../../src/common/x509.js";
import { intelSampleCollateral, intelSampleQuote } from "../support/intel-sample.js";

export { needsIntelSample } from "../support/intel-sample.js";

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `confcom-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface OpensslResult {
  status: number;
  out: string;
}

/** Runs openssl with files written into `dir`; returns exit status and combined output. */
export function openssl(args: string[], cwd: string): OpensslResult {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8", timeout: 20_000 });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);
}

export function intelCollateral(): Record<string, string> {
  return intelSampleCollateral() as unknown as Record<string, string>;
}

/** The real PCK chain (leaf, Processor CA, root) from the certification data of Intel's sample quote. */
export function intelPckChain(): x509.X509Certificate[] {
  const quote = intelSampleQuote();
  const pem = quote.subarray(quote.indexOf("-----BEGIN")).toString("latin1").replace(/\0+$/, "");
  return splitPem(pem);
}

export function splitPem(pem: string): x509.X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((p) => new x509.X509Certificate(p));
}

/** `openssl asn1parse` of a certificate reduced to its shape: depth, tag and constructed/primitive. */
export function asn1Shape(pem: string, dir: string): string[] {
  const file = path.join(dir, `shape-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  const out = execFileSync("openssl", ["asn1parse", "-in", file, "-i"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => {
      const m = /d=(\d+)\s+hl=\s*\d+\s+l=\s*\d+\s+(cons|prim):\s+(\S+(?: \[ \d+ \])?)\s*(:[^\[]*)?/.exec(l);
      if (!m) throw new Error(`unexpected asn1parse line: ${l}`);
      // Keep OIDs (they are structure), drop values.
      const oidValue = m[3] === "OBJECT" ? (m[4] ?? "") : "";
      return `${m[1]} ${m[2]} ${m[3]}${oidValue}`;
    });
}
