// EPC size from CPUID leaf 0x12 read through the Linux cpuid driver (/dev/cpu/N/cpuid): a 16-byte pread at
// file offset `leaf | subleaf << 32` returns EAX, EBX, ECX, EDX little-endian.
import { promises as fs } from "node:fs";
import path from "node:path";
import { errnoText, notFound, type SourceAnswer } from "./source-answer.js";

export interface CpuidRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** One CPUID query; `name` says where the answers come from (for messages). */
export interface CpuidReader {
  readonly name: string;
  read(leaf: number, subleaf: number): Promise<CpuidRegs>;
}

export interface EpcSection {
  base: bigint;
  size: bigint;
}

const SGX_LEAF = 0x12;
const FIRST_EPC_SUBLEAF = 2;
/** Sub-leaves we read at most; real parts have a handful of sections (one per socket or so). */
const MAX_EPC_SECTIONS = 64;

export function cpuidFileOffset(leaf: number, subleaf: number): bigint {
  return BigInt(leaf >>> 0) | (BigInt(subleaf >>> 0) << 32n);
}

export function decodeCpuidRegs(b: Buffer): CpuidRegs {
  return { eax: b.readUInt32LE(0), ebx: b.readUInt32LE(4), ecx: b.readUInt32LE(8), edx: b.readUInt32LE(12) };
}

/** Decodes an EPC sub-leaf (type 1): base and size are 52-bit, split across two registers each. */
export function decodeEpcSection(r: CpuidRegs): EpcSection {
  // `>>> 0`: bitwise results are signed 32-bit, and bit 31 of a base or size is a real address bit.
  const low = (reg: number): bigint => BigInt((reg & 0xfffff000) >>> 0);
  const high = (reg: number): bigint => BigInt(reg & 0xfffff) << 32n;
  return { base: high(r.ebx) | low(r.eax >>> 0), size: high(r.edx) | low(r.ecx >>> 0) };
}

/** Reads the SGX capability and EPC sections; `sections: null` with a reason when the CPU has no SGX. */
export async function readEpcSections(cpu: CpuidReader): Promise<{ sections: EpcSection[] } | { sections: null; reason: string }> {
  const maxLeaf = (await cpu.read(0, 0)).eax >>> 0;
  if (maxLeaf < SGX_LEAF) return { sections: null, reason: `max CPUID leaf is 0x${maxLeaf.toString(16)} (< 0x12)` };
  if (((await cpu.read(7, 0)).ebx & (1 << 2)) === 0) return { sections: null, reason: "CPUID.(7,0):EBX[2] (SGX) is clear" };
  if (((await cpu.read(SGX_LEAF, 0)).eax & 1) === 0) return { sections: null, reason: "CPUID.(0x12,0):EAX[0] (SGX1) is clear" };
  const sections: EpcSection[] = [];
  for (let sub = FIRST_EPC_SUBLEAF; sub < FIRST_EPC_SUBLEAF + MAX_EPC_SECTIONS; sub++) {
    const regs = await cpu.read(SGX_LEAF, sub);
    if ((regs.eax & 0xf) !== 1) break; // 0 = no more sections; others are reserved
    sections.push(decodeEpcSection(regs));
  }
  return { sections };
}

/** A CpuidReader over an open cpuid-driver file (or any file laid out the same way). */
export function cpuidFileReader(file: fs.FileHandle, name: string): CpuidReader {
  return {
    name,
    async read(leaf, subleaf) {
      const buf = Buffer.alloc(16);
      // Offsets stay far below 2^53 (sub-leaf < 2^21), so a number position is exact.
      const { bytesRead } = await file.read(buf, 0, 16, Number(cpuidFileOffset(leaf, subleaf)));
      if (bytesRead !== 16) throw new Error(`short read (${bytesRead} bytes) of CPUID 0x${leaf.toString(16)}.${subleaf} from ${name}`);
      return decodeCpuidRegs(buf);
    },
  };
}

/** The cpuid file of the lowest-numbered CPU under <hostRoot>/dev/cpu, or null. */
async function firstCpuidFile(hostRoot: string): Promise<string | null> {
  const cpuDir = path.join(hostRoot, "dev/cpu");
  const cpus = (await fs.readdir(cpuDir).catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
  if (cpus.length === 0) return null;
  return path.join(cpuDir, String(Math.min(...cpus.map(Number))), "cpuid");
}

export async function readCpuidEpc(hostRoot: string): Promise<SourceAnswer> {
  const file = await firstCpuidFile(hostRoot);
  if (!file) return notFound(`cpuid: no ${path.join(hostRoot, "dev/cpu")}/<n>/cpuid (cpuid driver not loaded?)`);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (err) {
    return notFound(`cpuid: cannot open ${file}: ${errnoText(err)}`);
  }
  try {
    const res = await readEpcSections(cpuidFileReader(handle, file));
    if (res.sections === null) return notFound(`cpuid: ${res.reason} on ${file}`);
    if (res.sections.length === 0) return notFound(`cpuid: SGX present but no EPC section on ${file}`);
    const total = res.sections.reduce((sum, s) => sum + s.size, 0n);
    const list = res.sections.map((s) => `0x${s.base.toString(16)}+0x${s.size.toString(16)}`).join(", ");
    return { found: true, bytes: total, detail: `cpuid leaf 0x12 via ${file}: ${res.sections.length} EPC section(s) ${list} (${total} bytes)` };
  } catch (err) {
    return notFound(`cpuid: reading ${file} failed: ${(err as Error).message}`);
  } finally {
    await handle.close();
  }
}
