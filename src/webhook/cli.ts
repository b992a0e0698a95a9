// `confcom webhook`: the admission webhook daemon.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { CliError, parseCount } from "../cli/errors.js";
import { createLogger } from "../common/log.js";
import { INTEL_QUOTE_PROVIDER_ANNOTATION, QUOTE_HELPER_ANNOTATION, QUOTE_IN_PROCESS_ANNOTATION } from "../addon/config.js";
import { DEFAULT_ENCLAVE_RESOURCE_NAME, DEFAULT_PROVISION_RESOURCE_NAME } from "../deviceplugin/defaults.js";
import { DEFAULT_MAX_BODY_BYTES } from "./review.js";

interface WebhookFlags extends DaemonOptions {
  tlsCert: string;
  tlsKey: string;
  host: string;
  port: number;
  resourceName: string;
  enclaveResourceName: string;
  provisionResourceName: string;
  enforceEpcLimits?: boolean;
  maxBodyBytes: number;
}

export function registerWebhookCommand(program: Command): void {
  const cmd = program
    .command("webhook")
    .description("serve the SGX admission webhook (AdmissionReview v1 over HTTPS at /mutate and /validate)")
    .requiredOption("--tls-cert <file>", "serving certificate (PEM)")
    .requiredOption("--tls-key <file>", "its private key (PEM)")
    .option("--host <addr>", "address to listen on", "0.0.0.0")
    .option("--port <n>", "HTTPS port (0 picks a free one)", parseCount("--port", 65535), 8443)
    .option("--resource-name <name>", "the EPC extended resource", "kubernetes.azure.com/sgx_epc_mem_in_MiB")
    .option("--enclave-resource-name <name>", "the device plugin's enclave resource, 1 added to each EPC container", DEFAULT_ENCLAVE_RESOURCE_NAME)
    .option("--provision-resource-name <name>", "the device plugin's provision resource, 1 added to each container that quotes in process", DEFAULT_PROVISION_RESOURCE_NAME)
    .option("--enforce-epc-limits", "annotate each EPC container with its limit for the sgx-epc NRI plugin (epc-limit.nri.io/container.<name>, bytes)")
    .option("--max-body-bytes <n>", "largest AdmissionReview accepted", parseCount("--max-body-bytes"), DEFAULT_MAX_BODY_BYTES);
  addDaemonOptions(cmd, "0.0.0.0:9412");
  cmd.addHelpText(
    "after",
    `
/mutate: every container (init containers too) with EPC in its limits gets 1 of --enclave-resource-name
(request = limit; kept if already named), which brings the SGX device nodes in whichever EPC mode the
node's plugin runs. A pod annotated ${QUOTE_HELPER_ANNOTATION}: "true" also gets, in each app container
with EPC in its limits, env SGX_AESM_ADDR=1 and the host's /var/run/aesmd, read-only (init containers
get neither). Containers named in ${QUOTE_IN_PROCESS_ANNOTATION}: "<c1>,<c2>" (or Intel's
${INTEL_QUOTE_PROVIDER_ANNOTATION}: "<container>") that have EPC get 1 of --provision-resource-name
(/dev/sgx_provision); pods on the quote helper never do. With --enforce-epc-limits each EPC container
also gets the annotation epc-limit.nri.io/container.<name>: its limit in bytes.
/validate: EPC requests equal limits and are whole MiB. Also denied: a quote-helper pod that names
in-process containers or asks for the provision resource; a name in ${QUOTE_IN_PROCESS_ANNOTATION} that
is no EPC container; with --enforce-epc-limits, an EPC container whose name is too long (over 53
characters) for the annotation. Pods without EPC that ask for no provisioning are always allowed.`,
  );
  cmd.action(async (flags: WebhookFlags) => {
    const read = async (file: string, what: string) =>
      readFile(file).catch((err: Error) => {
        throw new CliError(`cannot read the ${what} ${file}: ${err.message}`);
      });
    const [certPem, keyPem] = await Promise.all([read(flags.tlsCert, "certificate"), read(flags.tlsKey, "key")]);
    const log = createLogger({ component: "webhook", level: flags.logLevel });
    const { startWebhookServer } = await import("./server.js");
    const { createWebhookMetrics } = await import("./metrics.js");
    const { serveOpsUntilShutdown } = await import("../common/ops-server.js");
    const metrics = createWebhookMetrics();
    const server = await startWebhookServer({ host: flags.host, port: flags.port, certPem, keyPem, resourceName: flags.resourceName, enclaveResourceName: flags.enclaveResourceName, provisionResourceName: flags.provisionResourceName, enforceEpcLimits: flags.enforceEpcLimits === true, maxBodyBytes: flags.maxBodyBytes, metrics, log }).catch(
      (err: Error) => {
        throw new CliError(`cannot serve the webhook: ${err.message}`);
      },
    );
    await serveOpsUntilShutdown({ addr: flags.metricsAddr, registry: metrics.registry, log, stop: () => server.close() });
  });
}
