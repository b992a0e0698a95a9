// `confcom sim init | collateral | crl` and `confcom pccs`: the simulated platform's state, its
// collateral and revocation, and the PCCS that serves them.
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError, parseCount } from "../../cli/errors.js";
import { createLogger } from "../../common/log.js";
import { buildCollateral } from "../collateral/build.js";
import { parseQeStatus, parseTcbPreset, TCB_PRESETS, QE_STATUSES, type CollateralConfig } from "../collateral/config.js";
import type { CertRole, Validity } from "../pki/issue.js";
import type { PckCaType } from "../pki/names.js";
import { DEFAULT_CRL_BASE_URL, DEFAULT_EPC_MIB, DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_QE_SVN, DEFAULT_TCB_COMPONENTS, initPlatform, InitError } from "./init.js";
import { loadPlatformState, SimStateError } from "./load.js";
import { reissueCrls } from "./reissue.js";
import { StateDirError } from "./state-files.js";

const LOG_LEVEL_HELP = "trace, debug, info, warn, error or silent";
const defaultLogLevel = () => process.env.CONFCOM_LOG_LEVEL ?? "info";

const DAY = 86_400_000;
const CERT_ROLES: CertRole[] = ["root", "pckCa", "pck", "tcbSigning"];

const asCli = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
};
const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
const isoDate = (name: string) => (s: string) => {
  if (Number.isNaN(Date.parse(s))) throw new CliError(`${name} must be an ISO 8601 date, got "${s}"`, 2);
  return new Date(s).toISOString();
};
const tcbComponents = (s: string) => {
  const parts = list(s).map(parseCount("--tcb component", 255));
  if (parts.length !== 16) throw new CliError(`--tcb needs 16 comma-separated SVNs, got ${parts.length}`, 2);
  return parts;
};
const certRoles = (s: string) =>
  list(s).map((r) => {
    if (!CERT_ROLES.includes(r as CertRole)) throw new CliError(`--expire: unknown certificate "${r}" (expected ${CERT_ROLES.join(", ")})`, 2);
    return r as CertRole;
  });

/** A window that ended a day ago: what "expired" means for certificates and CRLs here. */
const expiredWindow = (now: Date): Validity => ({ notBefore: new Date(now.getTime() - 60 * DAY), notAfter: new Date(now.getTime() - DAY) });

async function withStateErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof SimStateError || e instanceof InitError || e instanceof StateDirError) throw new CliError(e.message);
    throw e;
  }
}

interface CollateralFlags {
  tcbStatus?: string;
  advisoryIds?: string;
  qeStatus?: string;
  qeAdvisoryIds?: string;
  tcbEvaluationDataNumber?: number;
  issueDate?: string;
  nextUpdate?: string;
  validityDays?: number;
}

function addCollateralFlags(cmd: Command, statusFlag: string): Command {
  return cmd
    .option(`${statusFlag} <status>`, `TCB status of the platform's level: ${TCB_PRESETS.join(", ")}`)
    .option("--advisory-ids <ids>", "comma-separated advisory IDs of the platform's level (default per status)")
    .option("--qe-status <status>", `QE identity status of the QE's ISVSVN: ${QE_STATUSES.join(", ")}`)
    .option("--qe-advisory-ids <ids>", "comma-separated advisory IDs of the QE's level")
    .option("--tcb-evaluation-data-number <n>", "tcbEvaluationDataNumber", parseCount("--tcb-evaluation-data-number", 0xffffffff))
    .option("--issue-date <iso>", "fixed issueDate (default: when the collateral is built)", isoDate("--issue-date"))
    .option("--next-update <iso>", "fixed nextUpdate (default: issueDate + validity days)", isoDate("--next-update"))
    .option("--validity-days <n>", "days from issueDate to nextUpdate", parseCount("--validity-days", 36500));
}

function collateralConfigFrom(f: CollateralFlags): Partial<CollateralConfig> {
  const c: Partial<CollateralConfig> = {};
  if (f.tcbStatus !== undefined) c.tcbStatus = asCli(() => parseTcbPreset(f.tcbStatus!));
  if (f.qeStatus !== undefined) c.qeStatus = asCli(() => parseQeStatus(f.qeStatus!));
  if (f.advisoryIds !== undefined) c.advisoryIds = list(f.advisoryIds);
  if (f.qeAdvisoryIds !== undefined) c.qeAdvisoryIds = list(f.qeAdvisoryIds);
  if (f.tcbEvaluationDataNumber !== undefined) c.tcbEvaluationDataNumber = f.tcbEvaluationDataNumber;
  if (f.issueDate !== undefined) c.issueDate = f.issueDate;
  if (f.nextUpdate !== undefined) c.nextUpdate = f.nextUpdate;
  if (f.validityDays !== undefined) c.validityDays = f.validityDays;
  return c;
}

function registerInit(sim: Command): void {
  const cmd = sim
    .command("init")
    .description(
      "create a simulated SGX platform (identities, TCB, keys, an Intel-like PKI, CRLs) in a state directory (0700, files 0600; " +
        "an existing directory must be ours and writable by nobody else). " +
        "With --seed every secret and key is derived from the seed (HKDF-SHA256) and the certificates are reproducible " +
        "(fixed dates, deterministic signatures); CRL, collateral and quote signatures stay randomized. Without --seed everything is random. " +
        "With --node-name the platform is one node of a simulated cluster: its own CPU (PPID, keys, platform secret) from (seed, node name), " +
        "the cluster's PKI and collateral from the seed alone.",
    )
    .requiredOption("--state <dir>", "state directory to create (a private one, e.g. under /var/lib; never a shared temp directory)")
    .option("--seed <seed>", "derive every secret from this seed")
    .option("--node-name <name>", "this node of the seeded cluster (needs --seed)")
    .option("--readable", "make the state readable by every user (0755, files 0644), for non-root containers of a simulated cluster: simulated secrets are not secret")
    .option("--epc-mib <n>", `EPC size in MiB (default ${DEFAULT_EPC_MIB}: an Azure Standard_DC4s_v3)`, parseCount("--epc-mib", 1 << 30))
    .option("--fmspc <hex>", "FMSPC, 12 hex digits", DEFAULT_FMSPC)
    .option("--pce-id <hex>", "PCE-ID, 4 hex digits", "0000")
    .option("--tcb <svns>", "16 comma-separated TCB component SVNs (the CPUSVN)", tcbComponents, DEFAULT_TCB_COMPONENTS)
    .option("--pce-svn <n>", "PCESVN", parseCount("--pce-svn", 0xffff), DEFAULT_PCE_SVN)
    .option("--qe-svn <n>", "QE3 ISVSVN", parseCount("--qe-svn", 0xffff), DEFAULT_QE_SVN)
    .option("--ca <type>", "PCK CA: processor or platform", "processor")
    .option("--crl-base-url <url>", "base URL of the CRL distribution points in the certificates", DEFAULT_CRL_BASE_URL)
    .option("--expire <certs>", `comma-separated certificates to issue already expired: ${CERT_ROLES.join(", ")}`, certRoles)
    .option("--force", "replace a platform already in the directory")
    .option("--log-level <level>", LOG_LEVEL_HELP, defaultLogLevel());
  cmd.addHelpText("after", "\nExample:\n  confcom sim init --state /var/lib/confcom/sim/node-1 --seed my-cluster --node-name node-1");
  addCollateralFlags(cmd, "--tcb-status").action(
    async (o: CollateralFlags & { state: string; seed?: string; nodeName?: string; readable?: boolean; epcMib?: number; fmspc: string; pceId: string; tcb: number[]; pceSvn: number; qeSvn: number; ca: string; crlBaseUrl: string; expire?: CertRole[]; force?: boolean; logLevel: string }) => {
      const log = createLogger({ component: "sim-init", level: o.logLevel });
      if (o.ca !== "processor" && o.ca !== "platform") throw new CliError(`--ca must be processor or platform, got "${o.ca}"`, 2);
      if (o.nodeName !== undefined && o.seed === undefined) throw new CliError("--node-name needs --seed (the cluster's PKI is derived from it)", 2);
      const now = new Date();
      const validity: Partial<Record<CertRole, Validity>> = {};
      for (const r of o.expire ?? []) validity[r] = expiredWindow(now);
      const p = await withStateErrors(() =>
        initPlatform(o.state, {
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
          readable: o.readable === true,
          ...(o.epcMib !== undefined ? { epcMiB: o.epcMib } : {}),
          fmspc: o.fmspc,
          pceId: o.pceId,
          tcbComponents: o.tcb,
          pceSvn: o.pceSvn,
          qeSvn: o.qeSvn,
          caType: o.ca as PckCaType,
          crlBaseUrl: o.crlBaseUrl,
          validity,
          collateral: collateralConfigFrom(o),
          force: o.force === true,
          now,
        }),
      );
      const summary = {
        state: p.dir,
        seeded: o.seed !== undefined,
        ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
        ppid: p.ppid.toString("hex"),
        fmspc: p.fmspc.toString("hex").toUpperCase(),
        pceId: p.pceId.toString("hex").toUpperCase(),
        cpuSvn: p.cpuSvn.toString("hex"),
        pceSvn: p.tcb.pceSvn,
        qeSvn: p.qe.isvSvn,
        epcMiB: p.epcMiB,
        caType: o.ca,
        rootCa: `${p.dir}/root-ca.pem`,
      };
      log.info(summary, "simulated platform initialized");
      process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    },
  );
}

function registerCollateral(sim: Command): void {
  const cmd = sim
    .command("collateral")
    .description("write the platform's quote verification collateral (collateral.json shape) signed by its TCB Signing key")
    .requiredOption("--state <dir>", "platform state directory")
    .requiredOption("--out <file>", "output file, or - for stdout")
    .option("--log-level <level>", LOG_LEVEL_HELP, defaultLogLevel());
  addCollateralFlags(cmd, "--status").action(async (o: CollateralFlags & { state: string; out: string; status?: string; logLevel: string }) => {
    const log = createLogger({ component: "sim-collateral", level: o.logLevel });
    const flags = { ...o, ...(o.status !== undefined ? { tcbStatus: o.status } : {}) };
    const collateral = await withStateErrors(() => buildCollateral(o.state, { config: collateralConfigFrom(flags) }));
    const text = JSON.stringify(collateral, null, 2) + "\n";
    if (o.out === "-") process.stdout.write(text);
    else
      await writeFile(o.out, text).catch((e: Error) => {
        throw new CliError(`cannot write ${o.out}: ${e.message}`);
      });
    log.info({ state: o.state, out: o.out }, "collateral written");
  });
}

function registerCrl(sim: Command): void {
  sim
    .command("crl")
    .description("reissue the platform's root CA CRL and PCK CRL (revoke or reinstate its PCK certificate, expire the CRLs)")
    .requiredOption("--state <dir>", "platform state directory")
    .option("--revoke-pck", "list the PCK certificate on the PCK CRL")
    .option("--unrevoke-pck", "take the PCK certificate off the PCK CRL")
    .option("--expired", "issue CRLs whose nextUpdate has passed")
    .action(async (o: { state: string; revokePck?: boolean; unrevokePck?: boolean; expired?: boolean }) => {
      if (o.revokePck && o.unrevokePck) throw new CliError("--revoke-pck and --unrevoke-pck exclude each other", 2);
      const now = new Date();
      const expired = o.expired ? { thisUpdate: new Date(now.getTime() - 60 * DAY), nextUpdate: new Date(now.getTime() - DAY) } : undefined;
      await withStateErrors(() =>
        reissueCrls(o.state, {
          now,
          ...(o.revokePck ? { revokePck: true } : o.unrevokePck ? { revokePck: false } : {}),
          ...(expired ? { root: expired, pck: expired } : {}),
        }),
      );
      const s = await withStateErrors(() => loadPlatformState(o.state));
      process.stdout.write(
        JSON.stringify({ pckCrlEntries: s.crls.pck.entries.map((e) => e.serialNumber), pckCrlNextUpdate: s.crls.pck.nextUpdate?.toISOString() }, null, 2) + "\n",
      );
    });
}

export function registerSimPlatformCommands(sim: Command): void {
  registerInit(sim);
  registerCollateral(sim);
  registerCrl(sim);
}
