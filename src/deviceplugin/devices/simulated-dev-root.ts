// A dev root that looks like a host with the in-kernel SGX driver: dir/dev/sgx_enclave and dir/dev/sgx_provision
// as character devices. They are made with mknod as 1:3 (the /dev/null numbers, so opening one is harmless) when
// this process may, else as symlinks to /dev/null, which stat also reports as a character device.
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type SimulatedNodeKind = "mknod" | "symlink";

export interface SimulatedDevRootOptions {
  /** "auto" (default) tries mknod first; "symlink" skips it. */
  method?: "auto" | "symlink";
}

export const SIMULATED_NODES = ["dev/sgx_enclave", "dev/sgx_provision"] as const;

/** Creates (or re-creates) the nodes under `dir` and returns `dir`, the dev root to scan. */
export async function createSimulatedDevRoot(dir: string, opts: SimulatedDevRootOptions = {}): Promise<string> {
  await fs.mkdir(path.join(dir, "dev"), { recursive: true });
  for (const rel of SIMULATED_NODES) await makeNode(path.join(dir, rel), opts.method ?? "auto");
  return dir;
}

/** How the node at `file` was made, or null when it is neither kind. */
export async function simulatedNodeKind(file: string): Promise<SimulatedNodeKind | null> {
  const l = await fs.lstat(file).catch(() => null);
  if (l?.isCharacterDevice()) return "mknod";
  if (l?.isSymbolicLink() && (await fs.stat(file).catch(() => null))?.isCharacterDevice()) return "symlink";
  return null;
}

async function makeNode(file: string, method: "auto" | "symlink"): Promise<void> {
  await fs.rm(file, { force: true });
  if (method === "auto") {
    try {
      await run("mknod", ["-m", "0666", file, "c", "1", "3"]);
      return;
    } catch {
      // no CAP_MKNOD (or no mknod binary): fall back to a symlink
    }
  }
  await fs.symlink("/dev/null", file);
}

/**
 * The device nodes of a simulated node in a real cluster: the host's /dev/null (1:3, harmless, on every
 * host) handed to containers as /dev/sgx_enclave and /dev/sgx_provision. Nothing is made on the host:
 * no mknod, no privilege; the runtime creates the nodes inside the container from the host's.
 */
export const HOST_NULL = "/dev/null";
export function hostNullDeviceNodes(): { containerPath: string; hostPath: string; role: "enclave" | "provision" }[] {
  return [
    { containerPath: "/dev/sgx_enclave", hostPath: HOST_NULL, role: "enclave" },
    { containerPath: "/dev/sgx_provision", hostPath: HOST_NULL, role: "provision" },
  ];
}
