// EPC size from the in-kernel SGX driver's sysfs ABI: one `sgx_total_bytes` per NUMA node
// (/sys/devices/system/node/nodeN/x86/sgx_total_bytes, Linux 5.17+), summed.
import { promises as fs } from "node:fs";
import path from "node:path";
import { EpcValueError } from "./types.js";
import { errnoText, notFound, type SourceAnswer } from "./source-answer.js";

export async function readSysfsEpc(hostRoot: string): Promise<SourceAnswer> {
  const nodeDir = path.join(hostRoot, "sys/devices/system/node");
  let entries: string[];
  try {
    entries = await fs.readdir(nodeDir);
  } catch (err) {
    return notFound(`sysfs: cannot list ${nodeDir}: ${errnoText(err)}`);
  }
  const nodes = entries.filter((e) => /^node\d+$/.test(e)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  let total = 0n;
  const parts: string[] = [];
  for (const node of nodes) {
    const file = path.join(nodeDir, node, "x86/sgx_total_bytes");
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch {
      continue; // this node has no EPC, or the driver is not loaded
    }
    if (!/^\d+\s*$/.test(text)) throw new EpcValueError(`sysfs: ${file} holds ${JSON.stringify(text.slice(0, 40))}, not a byte count`);
    const bytes = BigInt(text.trim());
    total += bytes;
    parts.push(`${node}=${bytes}`);
  }
  if (parts.length === 0) return notFound(`sysfs: no node*/x86/sgx_total_bytes under ${nodeDir} (no in-kernel SGX driver)`);
  return { found: true, bytes: total, detail: `sysfs sgx_total_bytes ${parts.join(" ")} (${total} bytes)` };
}
