// Runs a parsed policy over a claim set, as MAA does: configuration rules set properties,
// authorization rules must reach permit() and no deny(), issuance rules add claims to the token.
// A condition holds when any claim matches all its tests; a bound claim (c:[...]) makes the rule
// run once per matching claim.
import type { Action, ClaimProperty, ClaimValue, Condition, Expr, Policy, PropertyTest, Rule } from "./ast.js";

export type ClaimIssuer = "AttestationService" | "AttestationPolicy" | "CustomClaim";

export interface Claim {
  type: string;
  value: ClaimValue;
  issuer: ClaimIssuer;
}

export interface PolicyOutcome {
  /** permit() was reached and deny() was not. */
  permitted: boolean;
  /** Why not, when not permitted. */
  reason?: string;
  /** Claims the issuance rules issued, in order (they go into the token). */
  issued: Claim[];
  /** Properties set by issueproperty(). */
  properties: Map<string, ClaimValue>;
}

export class PolicyEvaluationError extends Error {
  override name = "PolicyEvaluationError";
}

/** Bound on the claim combinations one rule may try: a policy cannot make one request spin. */
const MAX_BINDINGS = 4096;

const valueTypeOf = (v: ClaimValue): string => (typeof v === "string" ? "String" : typeof v === "number" ? "Integer" : "Boolean");

function propertyOf(c: Claim, p: ClaimProperty): ClaimValue {
  switch (p) {
    case "type":
      return c.type;
    case "value":
      return c.value;
    case "valueType":
      return valueTypeOf(c.value);
    case "issuer":
      return c.issuer;
  }
}

function holds(t: PropertyTest, c: Claim): boolean {
  const a = propertyOf(c, t.property);
  const b = t.value;
  if (typeof a !== typeof b) return false;
  switch (t.op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return (a as number) < (b as number);
    case "<=":
      return (a as number) <= (b as number);
    case ">":
      return (a as number) > (b as number);
    case ">=":
      return (a as number) >= (b as number);
  }
}

const matching = (cond: Condition, claims: readonly Claim[]) => claims.filter((c) => cond.tests.every((t) => holds(t, c)));

/** Every binding of the rule's claim identifiers under which all its conditions hold. */
function bindings(rule: Rule, claims: readonly Claim[], firstOnly: boolean): Map<string, Claim>[] {
  const out: Map<string, Claim>[] = [];
  let tried = 0;
  const walk = (k: number, bound: Map<string, Claim>): void => {
    if (firstOnly && out.length > 0) return;
    if (k === rule.conditions.length) {
      out.push(new Map(bound));
      return;
    }
    const cond = rule.conditions[k]!;
    const m = matching(cond, claims);
    if (m.length === 0) return;
    if (cond.id === undefined) return walk(k + 1, bound);
    for (const c of m) {
      if (++tried > MAX_BINDINGS) throw new PolicyEvaluationError(`the rule at line ${rule.line} matches more than ${MAX_BINDINGS} claim combinations`);
      bound.set(cond.id, c);
      walk(k + 1, bound);
      bound.delete(cond.id);
      if (firstOnly && out.length > 0) return;
    }
  };
  walk(0, new Map());
  return out;
}

function value(e: Expr, bound: Map<string, Claim>): ClaimValue {
  if (e.kind === "literal") return e.value;
  const c = bound.get(e.id)!;
  return e.kind === "property" ? propertyOf(c, e.property) : c.value;
}

function claimOf(a: Action, bound: Map<string, Claim>): { type: string; value: ClaimValue } {
  const ref = a.args.get("claim");
  if (ref?.kind === "claim") {
    const c = bound.get(ref.id)!;
    return { type: c.type, value: c.value };
  }
  const type = value(a.args.get("type")!, bound);
  return { type: String(type), value: value(a.args.get("value")!, bound) };
}

export function evaluatePolicy(policy: Policy, incoming: readonly Claim[]): PolicyOutcome {
  const claims: Claim[] = [...incoming];
  const properties = new Map<string, ClaimValue>();
  for (const rule of policy.sections.configurationrules ?? []) {
    for (const b of bindings(rule, claims, false)) {
      const c = claimOf(rule.action, b);
      properties.set(c.type, c.value);
    }
  }

  let permitted = false;
  let deniedAt: Rule | undefined;
  for (const rule of policy.sections.authorizationrules ?? []) {
    const name = rule.action.name;
    const bs = bindings(rule, claims, name === "permit" || name === "deny");
    if (bs.length === 0) continue;
    if (name === "permit") permitted = true;
    else if (name === "deny") deniedAt ??= rule;
    else for (const b of bs) claims.push({ ...claimOf(rule.action, b), issuer: "AttestationPolicy" });
  }
  const issued: Claim[] = [];
  if (deniedAt) return { permitted: false, reason: `deny() at policy line ${deniedAt.line}`, issued, properties };
  if (!permitted) return { permitted: false, reason: "no authorization rule reached permit()", issued, properties };

  for (const rule of policy.sections.issuancerules ?? []) {
    for (const b of bindings(rule, claims, false)) {
      const c: Claim = { ...claimOf(rule.action, b), issuer: "AttestationPolicy" };
      claims.push(c);
      if (rule.action.name === "issue") issued.push(c);
    }
  }
  return { permitted: true, issued, properties };
}
