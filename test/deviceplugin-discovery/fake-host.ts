// Builds fake host trees for EPC discovery: sysfs sgx_total_bytes files and sparse cpuid-driver files.
import { mkdirSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { cpuidFileOffset, encodeCpuidRegs, type CpuidRegs } from "../../src/deviceplugin/epc/index.js";

export function writeSysfs(root: string, perNode: Record<string, string | bigint>): void {
  for (const [node, bytes] of Object.entries(perNode)) {
    const dir = path.join(root, "sys/devices/system/node", node, "x86");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "sgx_total_bytes"), typeof bytes === "bigint" ? `${bytes}\n` : bytes);
  }
}

export type CpuidRecord = [leaf: number, subleaf: number, regs: CpuidRegs];

/** Writes 16-byte records at `leaf | subleaf << 32`: a sparse file, however far the offsets. */
export async function writeCpuidFile(root: string, cpu: number, records: CpuidRecord[]): Promise<string> {
  const dir = path.join(root, "dev/cpu", String(cpu));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "cpuid");
  const fh = await open(file, "w");
  try {
    for (const [leaf, subleaf, regs] of records) await fh.write(encodeCpuidRegs(regs), 0, 16, Number(cpuidFileOffset(leaf, subleaf)));
  } finally {
    await fh.close();
  }
  return file;
}

const zero: CpuidRegs = { eax: 0, ebx: 0, ecx: 0, edx: 0 };

/** CPUID answers of an SGX part with the given EPC sections (sizes and bases are 52-bit). */
export function sgxCpu(sections: Array<{ base: bigint; size: bigint }>, opts: { maxLeaf?: number; sgxBit?: boolean } = {}): CpuidRecord[] {
  const split = (v: bigint, lowNibble: number) => ({
    low: Number(v & 0xfffff000n) | lowNibble,
    high: Number((v >> 32n) & 0xfffffn),
  });
  const records: CpuidRecord[] = [
    [0, 0, { ...zero, eax: opts.maxLeaf ?? 0x20 }],
    [7, 0, { ...zero, ebx: opts.sgxBit === false ? 0 : 0b100 | 0b1000 }],
    [0x12, 0, { ...zero, eax: 0b11 }],
  ];
  sections.forEach((s, i) => {
    const base = split(s.base, 1); // EAX[3:0] = 1: an EPC section
    const size = split(s.size, 1); // ECX[3:0] = 1: confidentiality+integrity protected
    records.push([0x12, 2 + i, { eax: base.low, ebx: base.high, ecx: size.low, edx: size.high }]);
  });
  records.push([0x12, 2 + sections.length, zero]); // type 0: no more sections
  return records;
}
