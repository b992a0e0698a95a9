// The sample's settings: each a flag, or an environment variable as a Kubernetes Job sets them.
import { existsSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { CliError } from "../../src/cli/errors.js";
import { DEFAULT_AESM_SOCKET } from "../../src/aesm/sizes.js";
import { SIM_STATE_ENV } from "../../src/quoting/index.js";
import { STATE_FILES } from "../../src/sim/platform/state-files.js";
import { SAMPLE_MRENCLAVE, SAMPLE_MRSIGNER } from "./enclave.js";

export interface AttestationOptions {
  simState?: string;
  mrenclave: Buffer;
  mrsigner: Buffer;
  expectedMrenclave: Buffer;
  expectedMrsigner?: Buffer;
  message?: string;
  pccsUrl?: string;
  collateral?: string;
  rootCa?: string;
  aesmSocket: string;
  acceptStatus: string[];
  json: boolean;
  attestationUrl?: string;
  attestationCa?: string;
}

const SIM_COLLATERAL_FILE = STATE_FILES.collateral;

const hex32 = (name: string) => (v: string): Buffer => {
  const s = v.trim().replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new CliError(`${name} must be 32 bytes of hex (64 digits), got "${v}"`, 2);
  return Buffer.from(s, "hex");
};

/** Flags win over environment variables (commander reads the latter from process.env). */
export function parseOptions(argv: string[]): AttestationOptions {
  const program = new Command("attestation-app")
    .description(
      "Remote attestation sample: a (simulated) enclave binds a nonce into its report, gets a DCAP quote " +
        "(out of process through the AESM socket when SGX_AESM_ADDR is set, in process otherwise), and a relying " +
        "party verifies the quote, the enclave identity and the nonce binding. Exit 0 only when all held.",
    )
    .addOption(new Option("--sim-state <dir>", "simulated platform state (the enclave's platform secret)").env(SIM_STATE_ENV))
    .addOption(new Option("--mrenclave <hex>", "MRENCLAVE of the simulated enclave").env("ENCLAVE_MRENCLAVE").argParser(hex32("--mrenclave")).default(SAMPLE_MRENCLAVE, "the sample's"))
    .addOption(new Option("--mrsigner <hex>", "MRSIGNER of the simulated enclave").env("ENCLAVE_MRSIGNER").argParser(hex32("--mrsigner")).default(SAMPLE_MRSIGNER, "the sample's"))
    .addOption(new Option("--expected-mrenclave <hex>", "MRENCLAVE the relying party trusts").env("EXPECTED_MRENCLAVE").argParser(hex32("--expected-mrenclave")).default(SAMPLE_MRENCLAVE, "the sample's"))
    .addOption(new Option("--expected-mrsigner <hex>", "MRSIGNER the relying party trusts (default: not checked)").env("EXPECTED_MRSIGNER").argParser(hex32("--expected-mrsigner")))
    .addOption(new Option("--message <text>", "message bound into the report data (default: a fresh random nonce)").env("ATTESTATION_MESSAGE"))
    .addOption(new Option("--pccs-url <url>", "PCCS to fetch collateral from").env("PCCS_URL").conflicts("collateral"))
    .addOption(new Option("--collateral <file>", "collateral JSON instead of a PCCS (default with a simulated platform: its collateral.json)").env("COLLATERAL_FILE"))
    .addOption(new Option("--root-ca <pem>", "trusted root CA (default: the Intel SGX Root CA)").env("SGX_ROOT_CA"))
    .addOption(new Option("--aesm-socket <path>", "AESM socket, out of process (Intel's client only knows the default)").env("AESM_SOCKET").default(DEFAULT_AESM_SOCKET))
    .addOption(new Option("--accept-status <list>", "comma-separated TCB statuses the relying party accepts").env("ACCEPT_TCB_STATUS").default("UpToDate"))
    .option("--json", "print the result as one JSON document")
    .addOption(new Option("--attestation-url <url>", "send the quote to this MAA-compatible attestation service and trust its verified token instead of verifying here").env("ATTESTATION_URL"))
    .addOption(new Option("--attestation-ca <pem>", "CA of the attestation service's TLS certificate (default: the system's)").env("ATTESTATION_CA"))
    .exitOverride()
    .showHelpAfterError();
  program.parse(argv, { from: "user" });
  const o = program.opts<Omit<AttestationOptions, "acceptStatus" | "json"> & { acceptStatus: string; json?: boolean }>();
  // A simulated cluster's node platform (mounted by the device plugin) carries a current collateral
  // file: the relying party on the node verifies offline unless told otherwise. The trust anchor stays
  // Intel's unless SGX_ROOT_CA says otherwise, so a simulated quote never verifies by accident.
  if (!o.pccsUrl && !o.collateral && o.simState && existsSync(path.join(o.simState, SIM_COLLATERAL_FILE))) o.collateral = path.join(o.simState, SIM_COLLATERAL_FILE);
  if (!o.pccsUrl && !o.collateral && !o.attestationUrl) {
    throw new CliError(
      `the relying party needs collateral: set PCCS_URL (--pccs-url) or COLLATERAL_FILE (--collateral), CONFCOM_SIM_STATE to a platform holding ${SIM_COLLATERAL_FILE}, or ATTESTATION_URL (--attestation-url)`,
      2,
    );
  }
  return { ...o, acceptStatus: o.acceptStatus.split(",").map((s) => s.trim()).filter(Boolean), json: o.json === true };
}
