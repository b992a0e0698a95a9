// Builds fake host trees for EPC discovery: sysfs sgx_total_bytes files and sparse cpuid-driver files.
// The cpuid records are written from the documents, not with the code under test:
// - Linux cpuid driver (arch/x86/kernel/cpuid.c, cpuid(4)): reading 16 bytes at file offset
//   `leaf | subleaf << 32` returns EAX, EBX, ECX, EDX of CPUID(leaf, subleaf), each little-endian.
// - Intel SDM vol. 2A, CPUID leaf 0x12 sub-leaf >= 2: EAX[3:0] = 1 for an EPC section, EAX[31:12] =
//   base bits 31:12, EBX[19:0] = base bits 51:32, ECX[3:0] = the section's property (1: confidentiality
//   and integrity protected), ECX[31:12] = size bits 31:12, EDX[19:0] = size bits 51:32; type 0 ends the
//   list. CPUID.(7,0):EBX[2] is the SGX feature bit, CPUID.(0x12,0):EAX[0] SGX1; CPUID.0:EAX the max leaf.
import { mkdirSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";

export function writeSysfs(root: string, perNode: Record<string, string | bigint>): void {
  for (const [node, bytes] of Object.entries(perNode)) {
    const dir = path.join(root, "sys/devices/system/node", node, "x86");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "sgx_total_bytes"), typeof bytes === "bigint" ? `${bytes}\n` : bytes);
  }
}

/** EAX, EBX, ECX, EDX as the CPU returns them. */
export type Registers = [eax: number, ebx: number, ecx: number, edx: number];
export type CpuidRecord = [leaf: number, subleaf: number, regs: Registers];

/** The cpuid driver's file offset of (leaf, subleaf): the leaf in the low 32 bits, the sub-leaf above. */
export function driverOffset(leaf: number, subleaf: number): number {
  return leaf + subleaf * 2 ** 32;
}

/** The 16 bytes the driver returns: four little-endian u32, EAX first. */
export function driverRecord(regs: Registers): Buffer {
  const b = Buffer.alloc(16);
  regs.forEach((r, i) => b.writeUInt32LE(r >>> 0, i * 4));
  return b;
}

/** Writes 16-byte records at their driver offsets: a sparse file, however far the offsets. */
export async function writeCpuidFile(root: string, cpu: number, records: CpuidRecord[]): Promise<string> {
  const dir = path.join(root, "dev/cpu", String(cpu));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "cpuid");
  const fh = await open(file, "w");
  try {
    for (const [leaf, subleaf, regs] of records) await fh.write(driverRecord(regs), 0, 16, driverOffset(leaf, subleaf));
  } finally {
    await fh.close();
  }
  return file;
}

const SGX_LEAF = 0x12;
const LOW_20_BITS = 0xfffff;
const BITS_31_12 = 0xfffff000;

/** The SDM's sub-leaf >= 2 registers of one EPC section. */
export function epcSectionRegisters(base: bigint, size: bigint): Registers {
  const low = (v: bigint, nibble: number) => (Number(v & BigInt(BITS_31_12)) | nibble) >>> 0;
  const high = (v: bigint) => Number((v >> 32n) & BigInt(LOW_20_BITS));
  return [low(base, 0x1), high(base), low(size, 0x1), high(size)];
}

/** CPUID answers of an SGX part with the given EPC sections (sizes and bases are 52-bit). */
export function sgxCpu(sections: Array<{ base: bigint; size: bigint }>, opts: { maxLeaf?: number; sgxBit?: boolean } = {}): CpuidRecord[] {
  const records: CpuidRecord[] = [
    [0, 0, [opts.maxLeaf ?? 0x20, 0, 0, 0]],
    [7, 0, [0, opts.sgxBit === false ? 0 : (1 << 2) | (1 << 3), 0, 0]], // EBX[2] SGX, EBX[3] BMI1
    [SGX_LEAF, 0, [0b11, 0, 0, 0]], // SGX1 and SGX2
  ];
  sections.forEach((s, i) => records.push([SGX_LEAF, 2 + i, epcSectionRegisters(s.base, s.size)]));
  records.push([SGX_LEAF, 2 + sections.length, [0, 0, 0, 0]]); // type 0: no more sections
  return records;
}
