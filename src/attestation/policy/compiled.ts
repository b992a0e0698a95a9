// A policy ready to serve: its text, parsed form and x-ms-policy-hash, made together or not at all.
import { createHash } from "node:crypto";
import type { Policy } from "./ast.js";
import { evaluatePolicy, type Claim, type PolicyOutcome } from "./evaluate.js";
import { parsePolicy } from "./parser.js";

export interface CompiledPolicy {
  readonly text: string;
  readonly policy: Policy;
  /** x-ms-policy-hash: BASE64URL(SHA256(ASCII(BASE64URL(UTF8(text))))), as MAA computes it. */
  readonly hash: string;
  evaluate(claims: readonly Claim[]): PolicyOutcome;
}

export function policyHash(text: string): string {
  const b64 = Buffer.from(text, "utf8").toString("base64url");
  return createHash("sha256").update(b64, "ascii").digest("base64url");
}

/** Parses and checks `text`; throws PolicyParseError (with line and column) when it is not a valid policy. */
export function compilePolicy(text: string): CompiledPolicy {
  const policy = parsePolicy(text);
  return { text, policy, hash: policyHash(text), evaluate: (claims) => evaluatePolicy(policy, claims) };
}
