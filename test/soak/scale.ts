// The soak tests' counts: small by default (npm test), the full hardening run with SOAK_SCALE=full
// (npm run test:soak).
export const FULL = process.env.SOAK_SCALE === "full";

export const scale = <T>(small: T, full: T): T => (FULL ? full : small);

/** One summary line per scenario, for the README's Reliability section. */
export function summary(scenario: string, figures: Record<string, string | number>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${v}`);
  console.log(`SOAK ${scenario} [${FULL ? "full" : "small"}]: ${parts.join(" ")}`);
}

export const mib = (kib: number) => `${(kib / 1024).toFixed(1)}MiB`;
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
