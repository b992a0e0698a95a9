// The sample's enclave. On a real SGX node this is an enclave built with the Open Enclave or Intel SGX
// SDK, and EREPORT is a CPU instruction; here a simulated enclave of the simulated platform makes the
// same 432-byte report, MACed with a key only that platform's QE can derive.
import { createHash } from "node:crypto";
import { decodeTargetInfo } from "../../src/sgx/report.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";

const tag = (s: string) => createHash("sha256").update(s).digest();

/** The sample enclave's fixed identity, what the relying party trusts by default. */
export const SAMPLE_MRENCLAVE = tag("confcom attestation sample enclave v1");
export const SAMPLE_MRSIGNER = tag("confcom attestation sample signer v1");

/** Report data binding a message: SHA-256 of it in the first 32 bytes, zeros after. */
export function reportDataFor(message: string): Buffer {
  const data = Buffer.alloc(64);
  createHash("sha256").update(message, "utf8").digest().copy(data);
  return data;
}

export class SampleEnclave {
  constructor(
    private readonly platform: SimPlatform,
    readonly mrEnclave: Buffer,
    readonly mrSigner: Buffer,
  ) {}

  /** EREPORT for the enclave whose 512-byte target info is given (the QE), over `message`'s hash. */
  report(targetInfo: Buffer, message: string): Buffer {
    const identity = simEnclaveIdentity({ mrEnclave: this.mrEnclave, mrSigner: this.mrSigner });
    return ereportBytes(this.platform, identity, decodeTargetInfo(targetInfo), reportDataFor(message));
  }
}
