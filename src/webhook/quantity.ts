// Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity) as exact fractions, so that
// "10", "1e1" and "10240Ki"-style spellings compare exactly and "1.5" or "500m" are seen as fractional.
export interface Fraction {
  num: bigint;
  den: bigint;
}

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXP: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
/** Larger exponents are valid Kubernetes syntax, but no EPC size needs them and they cost big-integer work. */
const MAX_EXPONENT = 30;

/** The exact value of a quantity, or null when it is not one. Numbers (from YAML integers) are accepted too. */
export function parseQuantity(value: unknown): Fraction | null {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string" || text.length > 64) return null;
  const m = QUANTITY.exec(text);
  if (!m) return null;
  const [, sign, digits, suffix] = m as unknown as [string, string, string, string | undefined];
  const [whole = "", frac = ""] = digits.split(".");
  let num = BigInt((whole || "0") + frac) * (sign === "-" ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  let exp = 0;
  if (suffix && BINARY_EXP[suffix] !== undefined) num *= 1n << BigInt(BINARY_EXP[suffix]);
  else if (suffix && DECIMAL_EXP[suffix] !== undefined) exp = DECIMAL_EXP[suffix];
  else if (suffix) exp = Number(suffix.slice(1));
  if (Math.abs(exp) > MAX_EXPONENT) return null;
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den *= 10n ** BigInt(-exp);
  return { num, den };
}

export function isWhole(q: Fraction): boolean {
  return q.num % q.den === 0n;
}

export function sameValue(a: Fraction, b: Fraction): boolean {
  return a.num * b.den === b.num * a.den;
}
