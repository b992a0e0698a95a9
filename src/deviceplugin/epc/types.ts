// What EPC discovery answers, and its errors.

export type EpcSource = "flag" | "sysfs" | "cpuid" | "simulated";

export interface EpcDiscovery {
  /** Usable EPC in whole MiB (floored). */
  epcMiB: number;
  source: EpcSource;
  /** Where the number came from, for one log line. */
  detail: string;
}

/** Largest EPC we believe: 16 TiB. Anything above is a broken source, not a big machine. */
export const MAX_EPC_MIB = 16 * 1024 * 1024;
export const MIB = 1024n * 1024n;

/** A source answered with a value that cannot be an EPC size. */
export class EpcValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EpcValueError";
  }
}

/** No source found SGX; `reasons` has one entry per source tried. */
export class NoSgxError extends Error {
  constructor(readonly reasons: readonly string[]) {
    super(`no SGX on this node (${reasons.join("; ")})`);
    this.name = "NoSgxError";
  }
}

/** Checks a MiB count given by a person (flag, simulated size): a whole number in 1..16 TiB. */
export function checkEpcMiB(value: number, what: string): number {
  if (!Number.isInteger(value)) throw new EpcValueError(`${what} must be a whole number of MiB, got ${value}`);
  if (value < 1) throw new EpcValueError(`${what} must be at least 1 MiB, got ${value}`);
  if (value > MAX_EPC_MIB) throw new EpcValueError(`${what} of ${value} MiB is absurd (more than 16 TiB)`);
  return value;
}

/** Converts a byte total read from the host to MiB; refuses totals above 16 TiB. Returns 0 below 1 MiB. */
export function bytesToEpcMiB(bytes: bigint, what: string): number {
  const mib = bytes / MIB;
  if (mib > BigInt(MAX_EPC_MIB)) throw new EpcValueError(`${what}: ${bytes} bytes of EPC is absurd (more than 16 TiB)`);
  return Number(mib);
}
