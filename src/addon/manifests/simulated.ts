// What a simulated cluster (`addon enable --simulate`) adds: the device plugin's simulated node (host
// /dev/null as the SGX nodes, this node's platform under a host directory, mounted into allocations), the
// quote helper on the simulated QE3 of that platform, the cluster's simulated root CA in a ConfigMap, and a
// PCCS serving the cluster's collateral over Intel's API. Simulated secrets (the seed included) are not secret.
import type { V1ConfigMap, V1Container, V1Deployment, V1Service, V1ServiceAccount, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { DEFAULT_SIM_STATE_ROOT } from "../../deviceplugin/sim-node-paths.js";
import { NAMES, PORTS, type AddonConfig, type SimulationConfig } from "../config.js";
import { hardenedContainer, metadata, selectorLabels, type AddonObject } from "./common.js";

/** The key of the simulated root CA in its ConfigMap (mount it and pass it as the verifier's --root). */
export const ROOT_CA_KEY = "root-ca.pem";
const PCCS_STATE = "/var/lib/confcom-pccs/platform";
/** The PCCS's own platform: a node name no Kubernetes node can have (it holds capitals). */
const PCCS_NODE_NAME = "PCCS";

/** No SGX labels on a simulated node: workloads that want real SGX must not land there. */
export function simulatedPluginArgs(sim: SimulationConfig): string[] {
  return ["--simulate", "--sim-host-devices", `--sim-epc-mib=${sim.epcMiB}`, `--sim-seed=${sim.seed}`, `--sim-state-root=${DEFAULT_SIM_STATE_ROOT}`, "--no-node-labels"];
}

/** The host directory where the plugin writes each node's platform (the allocations mount it from there). */
export const simStateVolume: V1Volume = { name: "sim-state", hostPath: { path: DEFAULT_SIM_STATE_ROOT, type: "DirectoryOrCreate" } };
export const simStateMount: V1VolumeMount = { name: "sim-state", mountPath: DEFAULT_SIM_STATE_ROOT };

/** `--simulate` alone: the platform comes from CONFCOM_SIM_STATE, which the plugin's allocation sets. */
export function quoteHelperBackendArgs(config: AddonConfig): string[] {
  return config.simulation ? ["--simulate"] : ["--backend=dcap"];
}

export function simRootCaConfigMap(config: AddonConfig, sim: SimulationConfig): V1ConfigMap & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(NAMES.simRootCa, NAMES.pccs, config.namespace),
    data: { [ROOT_CA_KEY]: sim.rootCaPem },
  };
}

function pccsServiceAccount(config: AddonConfig): V1ServiceAccount & { metadata: { name: string } } {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(NAMES.pccs, NAMES.pccs, config.namespace), automountServiceAccountToken: false };
}

function withoutProbes(c: V1Container): V1Container {
  const { livenessProbe: _l, readinessProbe: _r, ports: _p, ...rest } = c;
  return rest;
}

function pccsDeployment(config: AddonConfig, sim: SimulationConfig): V1Deployment & { metadata: { name: string } } {
  const state = [{ name: "state", mountPath: "/var/lib/confcom-pccs" }];
  const resources = { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "192Mi" } };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(NAMES.pccs, NAMES.pccs, config.namespace),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(NAMES.pccs) },
      template: {
        metadata: { labels: metadata(NAMES.pccs, NAMES.pccs).labels },
        spec: {
          serviceAccountName: NAMES.pccs,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          nodeSelector: { "kubernetes.io/os": "linux" },
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
          // The cluster's PKI and collateral depend on the seed alone: this platform serves every node's.
          initContainers: [
            withoutProbes(
              hardenedContainer({
                name: "sim-init",
                image: config.image,
                args: ["sim", "init", `--state=${PCCS_STATE}`, `--seed=${sim.seed}`, `--node-name=${PCCS_NODE_NAME}`, `--epc-mib=${sim.epcMiB}`, "--force"],
                metricsPort: PORTS.pccsMetrics,
                runAsRoot: false,
                resources,
                volumeMounts: state,
              }),
            ),
          ],
          containers: [
            hardenedContainer({
              name: "pccs",
              image: config.image,
              args: ["pccs", `--state=${PCCS_STATE}`, "--host=0.0.0.0", `--port=${PORTS.pccs}`, `--metrics-addr=0.0.0.0:${PORTS.pccsMetrics}`],
              metricsPort: PORTS.pccsMetrics,
              extraPorts: [{ name: "pccs", containerPort: PORTS.pccs, protocol: "TCP" }],
              runAsRoot: false,
              resources,
              volumeMounts: state,
            }),
          ],
          volumes: [{ name: "state", emptyDir: { sizeLimit: "16Mi" } }],
        },
      },
    },
  };
}

function pccsService(config: AddonConfig): V1Service & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(NAMES.pccs, NAMES.pccs, config.namespace),
    spec: { selector: selectorLabels(NAMES.pccs), ports: [{ name: "pccs", port: PORTS.pccs, targetPort: "pccs", protocol: "TCP" }] },
  };
}

/** The PCCS URL relying parties elsewhere in the cluster use. */
export function pccsUrl(config: AddonConfig): string {
  return `http://${NAMES.pccs}.${config.namespace}.svc:${PORTS.pccs}`;
}

/** The objects only a simulated cluster has (none otherwise). */
export function simulatedObjects(config: AddonConfig): AddonObject[] {
  const sim = config.simulation;
  if (!sim) return [];
  return [simRootCaConfigMap(config, sim), pccsServiceAccount(config), pccsService(config), pccsDeployment(config, sim)] as AddonObject[];
}
