// SGX device-node discovery: the module's public surface.
export { SGX_DEVICE_CANDIDATES, enclaveAvailable, findSgxDeviceNodes, sameDeviceNodes, type SgxDeviceNode, type SgxNodeRole } from "./nodes.js";
export { watchDeviceNodes, type DeviceNodeWatcher, type WatchOptions } from "./watch.js";
export { SIMULATED_NODES, createSimulatedDevRoot, simulatedNodeKind, type SimulatedDevRootOptions, type SimulatedNodeKind } from "./simulated-dev-root.js";
