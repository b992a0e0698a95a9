// The parsed form of an MAA policy: what the evaluator runs. Every node keeps where it came from.

export type ClaimValue = string | number | boolean;

export const SECTIONS = ["configurationrules", "authorizationrules", "issuancerules"] as const;
export type SectionName = (typeof SECTIONS)[number];

export const PROPERTIES = ["type", "value", "valueType", "issuer"] as const;
export type ClaimProperty = (typeof PROPERTIES)[number];

export const OPERATORS = ["==", "!=", "<", "<=", ">", ">="] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Position {
  line: number;
  column: number;
}

export interface PropertyTest extends Position {
  property: ClaimProperty;
  op: Operator;
  value: ClaimValue;
}

export interface Condition extends Position {
  /** The identifier the matching claim is bound to (`c` in `c:[...]`), if any. */
  id?: string;
  tests: PropertyTest[];
}

/** An action argument: a literal, a property of a bound claim (`c.value`), or a bound claim (`c`). */
export type Expr = { kind: "literal"; value: ClaimValue } | { kind: "property"; id: string; property: ClaimProperty } | { kind: "claim"; id: string };

export const ACTIONS = ["permit", "deny", "add", "issue", "issueproperty"] as const;
export type ActionName = (typeof ACTIONS)[number];

export interface Action extends Position {
  name: ActionName;
  args: Map<string, Expr>;
}

export interface Rule extends Position {
  conditions: Condition[];
  action: Action;
}

export interface Policy {
  version: "1.0" | "1.1" | "1.2";
  sections: Partial<Record<SectionName, Rule[]>>;
}
