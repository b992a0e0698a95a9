// Typed reading of the collateral JSON at the edge: every accessor names the step and the JSON path of
// a missing or mistyped field, so a bad TCB Info / QE Identity is rejected with a precise message.
import { fail } from "./errors.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class JsonObject {
  private constructor(
    private readonly step: string,
    readonly path: string,
    private readonly obj: { [k: string]: Json },
  ) {}

  /** Parses `text` as a JSON object, or fails the step. */
  static parse(step: string, what: string, text: string): JsonObject {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return fail(step, `${what} is not valid JSON: ${(e as Error).message}`);
    }
    return JsonObject.of(step, what, v as Json);
  }

  private static of(step: string, path: string, v: Json | undefined): JsonObject {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(step, `${path} must be an object`);
    return new JsonObject(step, path, v);
  }

  has(key: string): boolean {
    return key in this.obj;
  }

  private get(key: string): Json {
    if (!(key in this.obj)) return fail(this.step, `${this.path}.${key} is missing`);
    return this.obj[key];
  }

  private bad(key: string, expected: string): never {
    return fail(this.step, `${this.path}.${key} must be ${expected}, got ${JSON.stringify(this.obj[key])}`);
  }

  str(key: string): string {
    const v = this.get(key);
    return typeof v === "string" ? v : this.bad(key, "a string");
  }

  /** A non-negative integer no larger than `max`. */
  uint(key: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max ? v : this.bad(key, `an integer in [0, ${max}]`);
  }

  /** One of `allowed` (string literals). */
  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const v = this.str(key);
    return (allowed as readonly string[]).includes(v) ? (v as T) : this.bad(key, `one of ${allowed.join(", ")}`);
  }

  /** A hex string of exactly `bytes` bytes. */
  hex(key: string, bytes: number): Buffer {
    const v = this.str(key);
    return /^[0-9a-fA-F]*$/.test(v) && v.length === bytes * 2 ? Buffer.from(v, "hex") : this.bad(key, `${bytes} bytes of hex`);
  }

  /** An RFC 3339 UTC timestamp as PCS writes them ("2025-06-19T10:56:11Z"). */
  date(key: string): Date {
    const v = this.str(key);
    const d = new Date(v);
    return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && !Number.isNaN(d.getTime()) ? d : this.bad(key, "an ISO 8601 UTC date");
  }

  object(key: string): JsonObject {
    return JsonObject.of(this.step, `${this.path}.${key}`, this.get(key));
  }

  objects(key: string): JsonObject[] {
    const v = this.get(key);
    if (!Array.isArray(v)) return this.bad(key, "an array");
    return v.map((e, i) => JsonObject.of(this.step, `${this.path}.${key}[${i}]`, e));
  }

  strings(key: string): string[] {
    const v = this.get(key);
    return Array.isArray(v) && v.every((e) => typeof e === "string") ? (v as string[]) : this.bad(key, "an array of strings");
  }
}
