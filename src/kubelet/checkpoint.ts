// The device manager's checkpoint, `kubelet_internal_checkpoint` in the device-plugin directory
// (pkg/kubelet/cm/devicemanager/checkpoint): which devices each pod's containers hold, with the
// plugin's Allocate response (replayed when a container restarts, without a new Allocate), and the
// resources that were registered. A restarted kubelet reads it, so allocated devices are never handed
// out twice. The JSON shape is the kubelet's; the checksum is ours (FNV-1a over the JSON of `Data`), as
// the kubelet's hashes Go's printed form of the struct.
import { promises as fs } from "node:fs";
import path from "node:path";
import { fnv1a32 } from "../common/fnv.js";

export const CHECKPOINT_FILE = "kubelet_internal_checkpoint";
/** The NUMA-node key of devices without topology (the kubelet's `nodeWithoutTopology`). */
export const NO_NUMA_NODE = "-1";
/** A checkpoint larger than this is not read (a 192 GiB EPC registered in full is ~1.6 MB). */
const MAX_CHECKPOINT_BYTES = 16 * 1024 * 1024;

export interface PodDevicesEntry {
  podUID: string;
  containerName: string;
  resourceName: string;
  deviceIds: string[];
  /** The plugin's ContainerAllocateResponse, protobuf-encoded. */
  allocResp: Buffer;
}

export interface CheckpointContents {
  entries: PodDevicesEntry[];
  /** Resource name -> the healthy device IDs when the checkpoint was written. */
  registered: Record<string, string[]>;
}

interface WireEntry {
  PodUID: string;
  ContainerName: string;
  ResourceName: string;
  DeviceIDs: Record<string, string[]>;
  AllocResp: string;
}

interface WireData {
  PodDeviceEntries: WireEntry[];
  RegisteredDevices: Record<string, string[]>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Our checksum of `Data` (see the top of the file): FNV-1a 32 over its JSON. */
const checksumOf = (data: WireData): number => fnv1a32(Buffer.from(JSON.stringify(data), "utf8"));

export function encodeCheckpoint(c: CheckpointContents): string {
  const data: WireData = {
    PodDeviceEntries: c.entries.map((e) => ({
      PodUID: e.podUID,
      ContainerName: e.containerName,
      ResourceName: e.resourceName,
      DeviceIDs: { [NO_NUMA_NODE]: e.deviceIds },
      AllocResp: e.allocResp.toString("base64"),
    })),
    RegisteredDevices: c.registered,
  };
  return JSON.stringify({ Data: data, Checksum: checksumOf(data) });
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

export function decodeCheckpoint(text: string): CheckpointContents {
  let doc: { Data?: WireData; Checksum?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw new CheckpointError(`not JSON: ${(err as Error).message.slice(0, 100)}`);
  }
  const data = doc.Data;
  if (typeof data !== "object" || data === null || !Array.isArray(data.PodDeviceEntries) || typeof data.RegisteredDevices !== "object") {
    throw new CheckpointError("no Data.PodDeviceEntries / Data.RegisteredDevices");
  }
  if (doc.Checksum !== checksumOf(data)) throw new CheckpointError("checksum mismatch (the file is corrupt)");
  const entries = data.PodDeviceEntries.map((e, i): PodDevicesEntry => {
    const ids = Object.values(e.DeviceIDs ?? {});
    if (typeof e.PodUID !== "string" || typeof e.ContainerName !== "string" || typeof e.ResourceName !== "string" || !ids.every(isStringArray) || typeof e.AllocResp !== "string") {
      throw new CheckpointError(`entry ${i} is malformed`);
    }
    return { podUID: e.PodUID, containerName: e.ContainerName, resourceName: e.ResourceName, deviceIds: ids.flat(), allocResp: Buffer.from(e.AllocResp, "base64") };
  });
  for (const [name, ids] of Object.entries(data.RegisteredDevices)) if (!isStringArray(ids)) throw new CheckpointError(`RegisteredDevices[${JSON.stringify(name.slice(0, 64))}] is malformed`);
  return { entries, registered: data.RegisteredDevices };
}

/** Reads `<dir>/kubelet_internal_checkpoint`: null when there is none; CheckpointError when unreadable. */
export async function readCheckpoint(dir: string): Promise<CheckpointContents | null> {
  const file = path.join(dir, CHECKPOINT_FILE);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CheckpointError(`cannot open ${file}: ${(err as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_CHECKPOINT_BYTES) throw new CheckpointError(`${file} is ${size} bytes, over ${MAX_CHECKPOINT_BYTES}`);
    return decodeCheckpoint(await handle.readFile("utf8"));
  } finally {
    await handle.close();
  }
}

/** Writes the checkpoint atomically: a temp file renamed over the old one. */
export async function writeCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  const file = path.join(dir, CHECKPOINT_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, encodeCheckpoint(c), { mode: 0o600 });
  await fs.rename(temp, file);
}

/**
 * Saves what `contents()` returns whenever asked, one write at a time: asks that arrive during a write
 * are folded into one more write after it, which sees the latest state.
 */
export class CheckpointStore {
  private writing: Promise<void> | null = null;
  private again = false;

  constructor(
    readonly dir: string,
    private readonly contents: () => CheckpointContents,
  ) {}

  /** Resolves once a write that started after this call has finished. */
  save(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      try {
        do {
          this.again = false;
          await writeCheckpoint(this.dir, this.contents());
        } while (this.again);
      } finally {
        this.writing = null;
      }
    })();
    return this.writing;
  }

  /** Waits for the write in progress, if any. */
  async flush(): Promise<void> {
    await this.writing?.catch(() => {});
  }
}
