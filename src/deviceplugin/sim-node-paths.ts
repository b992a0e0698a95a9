// Where a simulated cluster node keeps its platform, apart from ./sim-node.ts so that registering the
// command (and rendering the add-on) loads none of the simulator.
/** Where allocations mount the node's simulated platform in containers (what CONFCOM_SIM_STATE says). */
export const SIM_STATE_CONTAINER_PATH = "/run/confcom/sim";
/** The variable src/quoting reads for an in-process simulated QE, and the sample for its platform. */
export const SIM_STATE_ENV = "CONFCOM_SIM_STATE";
/** The host directory holding one simulated platform per node name. */
export const DEFAULT_SIM_STATE_ROOT = "/var/lib/confcom/sim";
