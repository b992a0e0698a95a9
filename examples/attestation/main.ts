// The attestation sample's run: prints one final line and returns 0 only when the attestation held.
// Entry points: `node dist/examples/attestation/app.js` and `confcom sample attestation` (the image).
import { CommanderError } from "commander";
import { CliError } from "../../src/cli/errors.js";
import { attest, successLine } from "./attest.js";
import { parseOptions } from "./options.js";
import { AttestationFailure } from "./relying-party.js";

const EPC_ENV = "SGX_EPC_MIB";

/** One run of the sample: prints its lines and returns the exit code (0 only when the attestation held). */
export async function runAttestationApp(argv: string[]): Promise<number> {
  let json = argv.includes("--json");
  try {
    const o = parseOptions(argv);
    json = o.json;
    const say = (line: string) => {
      if (!json) process.stdout.write(`${line}\n`);
    };
    const epc = process.env[EPC_ENV];
    say(`EPC for this container: ${epc === undefined ? `unknown (${EPC_ENV} not set)` : `${epc} MiB`}`);
    const out = await attest(o, say);
    const line = successLine(out.result);
    if (json) {
      const r = out.result;
      process.stdout.write(
        JSON.stringify({ ok: true, mode: out.mode, epcMiB: epc === undefined ? null : Number(epc), message: out.message, quoteBytes: out.quoteBytes, tcbStatus: r.status, advisoryIds: r.advisoryIds, enclave: r.enclave, fmspc: r.fmspc, line }) + "\n",
      );
    } else say(line);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const code = e instanceof CliError ? e.exitCode : 1;
    const message = e instanceof AttestationFailure || e instanceof CliError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    const line = `attestation failed: ${message}`;
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: message, tcbStatus: e instanceof AttestationFailure ? e.result?.status : undefined, line }) + "\n");
    process.stderr.write(`${line}\n`);
    return code;
  }
}

