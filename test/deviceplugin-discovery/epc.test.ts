// EPC size discovery against fake host trees (real files, sparse cpuid files) and the real host.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  DEFAULT_SIM_EPC_MIB,
  EpcValueError,
  NoSgxError,
  discoverEpc,
  discoverEpcOrThrow,
  probeEpc,
} from "../../src/deviceplugin/epc/index.js";
import { sgxCpu, writeCpuidFile, writeSysfs } from "./fake-host.js";

const GiB = 1024n ** 3n;
const MiB = 1024n ** 2n;
let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "confcom-epc-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

// 4 GiB above 2^32 (uses EDX) + 126 MiB: 4222 MiB in total.
const TWO_SECTIONS = [
  { base: 0x10_0000_0000n, size: 4n * GiB },
  { base: 0x20_0000_0000n, size: 126n * MiB },
];

test("the --epc-mib flag wins over every other source", async () => {
  writeSysfs(root, { node0: 64n * GiB });
  await writeCpuidFile(root, 0, sgxCpu(TWO_SECTIONS));
  assert.deepEqual(await discoverEpc({ epcMiB: 512, hostRoot: root, simulate: true, simEpcMiB: 8 }), {
    epcMiB: 512,
    source: "flag",
    detail: "--epc-mib 512",
  });
});

test("sysfs: sgx_total_bytes of every NUMA node summed, floored to MiB, and preferred to cpuid", async () => {
  writeSysfs(root, { node0: 64n * GiB, node1: 64n * GiB + 512n * 1024n, node2: "0\n" });
  await writeCpuidFile(root, 0, sgxCpu(TWO_SECTIONS));
  const found = await discoverEpc({ hostRoot: root });
  assert.equal(found?.source, "sysfs");
  assert.equal(found?.epcMiB, 128 * 1024);
  assert.match(found!.detail, /node0=68719476736 node1=68720001024 node2=0/);
});

test("cpuid: two EPC sections from a sparse cpuid-driver file, lowest-numbered CPU used", async () => {
  const file = await writeCpuidFile(root, 0, sgxCpu(TWO_SECTIONS));
  await writeCpuidFile(root, 10, sgxCpu([], { sgxBit: false }));
  await writeCpuidFile(root, 2, sgxCpu([], { sgxBit: false }));
  assert.ok(statSync(file).size > 8 * 2 ** 30, "records sit at offsets beyond 2^32");
  assert.ok(statSync(file).blocks * 512 < 1024 * 1024, "and the file is sparse");
  const probe = await probeEpc({ hostRoot: root });
  assert.equal(probe.found?.source, "cpuid");
  assert.equal(probe.found?.epcMiB, 4096 + 126);
  assert.match(probe.found!.detail, /2 EPC section\(s\) 0x1000000000\+0x100000000, 0x2000000000\+0x7e00000/);
  assert.match(probe.reasons[0]!, /^sysfs: /);
});

test("cpuid: a CPU without the SGX feature bit, or with max leaf below 0x12, is no SGX", async () => {
  await writeCpuidFile(root, 0, sgxCpu(TWO_SECTIONS, { sgxBit: false }));
  let probe = await probeEpc({ hostRoot: root });
  assert.equal(probe.found, null);
  assert.match(probe.reasons.join("\n"), /CPUID\.\(7,0\):EBX\[2\] \(SGX\) is clear/);
  await writeCpuidFile(root, 0, sgxCpu(TWO_SECTIONS, { maxLeaf: 0x10 }));
  probe = await probeEpc({ hostRoot: root });
  assert.equal(probe.found, null);
  assert.match(probe.reasons.join("\n"), /max CPUID leaf is 0x10 \(< 0x12\)/);
});

test("simulate answers only when no real source does; its size defaults and is checked", async () => {
  assert.deepEqual(await discoverEpc({ hostRoot: root, simulate: true, simEpcMiB: 96 }), {
    epcMiB: 96,
    source: "simulated",
    detail: "simulated platform, 96 MiB",
  });
  assert.equal((await discoverEpc({ hostRoot: root, simulate: true }))?.epcMiB, DEFAULT_SIM_EPC_MIB);
  await assert.rejects(discoverEpc({ hostRoot: root, simulate: true, simEpcMiB: 0 }), EpcValueError);
  writeSysfs(root, { node0: 8n * GiB });
  assert.equal((await discoverEpc({ hostRoot: root, simulate: true }))?.source, "sysfs");
});

test("no source: null, and a NoSgxError listing every reason on one line", async () => {
  assert.equal(await discoverEpc({ hostRoot: root }), null);
  await assert.rejects(discoverEpcOrThrow({ hostRoot: root }), (err: Error) => {
    assert.ok(err instanceof NoSgxError);
    assert.equal(err.reasons.length, 3);
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /^no SGX on this node \(sysfs: .*; cpuid: no .*dev\/cpu\/<n>\/cpuid.*; simulation not requested\)$/);
    return true;
  });
});

test("a sysfs total under 1 MiB is not an EPC: the next source is tried", async () => {
  writeSysfs(root, { node0: "4096\n" });
  const probe = await probeEpc({ hostRoot: root, simulate: true, simEpcMiB: 16 });
  assert.equal(probe.found?.source, "simulated");
  assert.match(probe.reasons[0]!, /sysfs: less than 1 MiB of EPC/);
});

test("nonsense values are refused with a clear error", async () => {
  for (const [value, why] of [
    [0, /at least 1 MiB/],
    [1.5, /whole number/],
    [Number.NaN, /whole number/],
    [16 * 1024 * 1024 + 1, /absurd/],
    [-4, /at least 1 MiB/],
  ] as const) {
    await assert.rejects(discoverEpc({ epcMiB: value }), (err: Error) => err instanceof EpcValueError && why.test(err.message) && /--epc-mib/.test(err.message));
  }
  assert.equal((await discoverEpc({ epcMiB: 16 * 1024 * 1024 }))?.epcMiB, 16 * 1024 * 1024);
  writeSysfs(root, { node0: "lots\n" });
  await assert.rejects(discoverEpc({ hostRoot: root }), /sysfs: .*sgx_total_bytes holds "lots\\n", not a byte count/);
  writeSysfs(root, { node0: 17n * 1024n * GiB * 1024n });
  await assert.rejects(discoverEpc({ hostRoot: root }), /sysfs: \d+ bytes of EPC is absurd/);
});

test("the real host of this test run says no SGX (it has none), through its real cpuid driver", async (t) => {
  if (/\bsgx\b/.test(readFileSync("/proc/cpuinfo", "utf8"))) return t.skip("this host has SGX");
  const probe = await probeEpc();
  assert.equal(probe.found, null);
  assert.match(probe.reasons[0]!, /^sysfs: /);
  assert.match(probe.reasons[1]!, /^cpuid: /);
});

test("the fixture is the documented layout: EPC section 0x1000000000+4 GiB is these 16 bytes at offset 0x2_0000_0012", async () => {
  const file = await writeCpuidFile(root, 0, sgxCpu([{ base: 0x10_0000_0000n, size: 4n * GiB }]));
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(16);
    await fh.read(buf, 0, 16, 0x2_0000_0012);
    // EAX = type 1, base[31:12] = 0; EBX = base[51:32] = 0x10; ECX = property 1, size[31:12] = 0; EDX = size[51:32] = 1
    assert.equal(buf.toString("hex"), "01000000" + "10000000" + "01000000" + "01000000");
    // Records of neighbouring leaves overlap in a flat file (the driver computes each read); the
    // decoder reads only leading registers of leaves 0, 7 and 0x12.0, which writing in ascending order keeps.
    await fh.read(buf, 0, 8, 0x7);
    assert.equal(buf.subarray(0, 8).toString("hex"), "00000000" + "0c000000", "leaf 7: EBX bits 2 (SGX) and 3");
  } finally {
    await fh.close();
  }
});

test("cpuid: bit 31 of a base or size in EAX/ECX is an address bit like the others", async () => {
  // base 0x40_8000_0000 (EBX 0x40, EAX 0x80000001), size 6 GiB (EDX 1, ECX 0x80000001)
  await writeCpuidFile(root, 0, sgxCpu([{ base: 0x40_8000_0000n, size: 6n * GiB }, { base: 0x2_0000_0000n, size: 0x7fe0_0000n }]));
  const probe = await probeEpc({ hostRoot: root });
  assert.equal(probe.found?.epcMiB, 6144 + 2046);
  assert.match(probe.found!.detail, /2 EPC section\(s\) 0x4080000000\+0x180000000, 0x200000000\+0x7fe00000/);
});
