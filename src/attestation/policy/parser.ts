// Recursive-descent parser for MAA's policy language (version 1.0/1.1 claim rules). A policy either
// parses completely and passes every check here, or is refused with the line and column of the first
// problem: the evaluator never sees a half-understood policy.
import { ACTIONS, OPERATORS, PROPERTIES, SECTIONS, type Action, type ActionName, type ClaimProperty, type ClaimValue, type Condition, type Expr, type Operator, type Policy, type PropertyTest, type Rule, type SectionName } from "./ast.js";
import { describe, PolicyParseError, tokenize, type Token } from "./lexer.js";

/** Which section each action may appear in. */
const ALLOWED: Record<ActionName, SectionName[]> = {
  permit: ["authorizationrules"],
  deny: ["authorizationrules"],
  add: ["authorizationrules", "issuancerules"],
  issue: ["issuancerules"],
  issueproperty: ["configurationrules"],
};

const MAX_RULES = 4096;
const MAX_TESTS = 64;

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.i++;
    return t;
  }
  private error(t: Token, reason: string): never {
    throw new PolicyParseError(t.line, t.column, reason);
  }
  private isPunct(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === "punct" && t.text === text;
  }
  private expect(text: string, where: string): Token {
    const t = this.next();
    if (t.kind !== "punct" || t.text !== text) this.error(t, `expected "${text}" ${where}, found ${describe(t)}`);
    return t;
  }
  private ident(where: string): Token {
    const t = this.next();
    if (t.kind !== "ident") this.error(t, `expected a name ${where}, found ${describe(t)}`);
    return t;
  }

  policy(): Policy {
    const v = this.ident("(the policy starts with version=1.0; or version=1.1;)");
    if (v.text.toLowerCase() !== "version") this.error(v, `the policy must start with "version=", found ${describe(v)}`);
    this.expect("=", "after version");
    const num = this.next();
    if (num.kind !== "number" || !["1.0", "1.1", "1.2"].includes(num.text)) this.error(num, `unsupported policy version ${describe(num)} (supported: 1.0, 1.1, 1.2)`);
    this.expect(";", "after the version");
    const policy: Policy = { version: num.text as Policy["version"], sections: {} };
    let rules = 0;
    while (this.peek().kind !== "eof") {
      const nameTok = this.ident("of a section (configurationrules, authorizationrules or issuancerules)");
      const name = nameTok.text.toLowerCase() as SectionName;
      if (!SECTIONS.includes(name)) this.error(nameTok, `unknown section ${describe(nameTok)} (expected configurationrules, authorizationrules or issuancerules)`);
      if (policy.sections[name]) this.error(nameTok, `section ${name} appears twice`);
      if (name === "configurationrules" && policy.version === "1.0") this.error(nameTok, "configurationrules needs policy version 1.1 or later");
      this.expect("{", `to open section ${name}`);
      const list: Rule[] = [];
      while (!this.isPunct("}")) {
        if (this.peek().kind === "eof") this.error(this.peek(), `section ${name} is not closed with "}"`);
        list.push(this.rule(name));
        if (++rules > MAX_RULES) this.error(this.peek(), `more than ${MAX_RULES} rules`);
      }
      this.next();
      if (this.isPunct(";")) this.next();
      policy.sections[name] = list;
    }
    return policy;
  }

  private rule(section: SectionName): Rule {
    const start = this.peek();
    const conditions: Condition[] = [];
    if (!this.isPunct("=>")) {
      conditions.push(this.condition());
      while (this.isPunct("&&")) {
        this.next();
        conditions.push(this.condition());
      }
    }
    this.expect("=>", "between a rule's conditions and its action");
    const action = this.action(section, conditions);
    this.expect(";", "after a rule");
    return { line: start.line, column: start.column, conditions, action };
  }

  private condition(): Condition {
    const start = this.peek();
    let id: string | undefined;
    if (start.kind === "ident") {
      id = this.next().text;
      this.expect(":", `after the claim identifier "${id}"`);
    }
    this.expect("[", "to open a claim condition");
    const tests: PropertyTest[] = [];
    do {
      if (tests.length > 0) this.next();
      tests.push(this.test());
      if (tests.length > MAX_TESTS) this.error(this.peek(), `more than ${MAX_TESTS} tests in one condition`);
    } while (this.isPunct(","));
    this.expect("]", "to close a claim condition");
    return { line: start.line, column: start.column, id, tests };
  }

  private test(): PropertyTest {
    const p = this.ident("of a claim property (type, value, valueType or issuer)");
    const property = PROPERTIES.find((q) => q.toLowerCase() === p.text.toLowerCase());
    if (!property) this.error(p, `unknown claim property ${describe(p)} (expected type, value, valueType or issuer)`);
    const opTok = this.next();
    const op = OPERATORS.find((o) => opTok.kind === "punct" && o === opTok.text);
    if (!op) this.error(opTok, `expected a comparison (== != < <= > >=) after ${property}, found ${describe(opTok)}`);
    const valTok = this.peek();
    const value = this.literal(`to compare ${property} with`);
    if (property !== "value" && typeof value !== "string") this.error(valTok, `${property} is compared with a string, found ${describe(valTok)}`);
    if (op !== "==" && op !== "!=" && typeof value !== "number") this.error(opTok, `${op} compares integers only; ${describe(valTok)} is not one`);
    return { line: p.line, column: p.column, property, op: op as Operator, value };
  }

  private literal(where: string): ClaimValue {
    const t = this.next();
    if (t.kind === "string") return t.value!;
    if (t.kind === "number") {
      if (!/^-?\d+$/.test(t.text)) this.error(t, `claim values are integers, strings or booleans; ${describe(t)} is not an integer`);
      const n = Number(t.text);
      if (!Number.isSafeInteger(n)) this.error(t, `integer ${describe(t)} is out of range`);
      return n;
    }
    if (t.kind === "ident" && (t.text === "true" || t.text === "false")) return t.text === "true";
    return this.error(t, `expected a value ${where} (a "string", an integer, true or false), found ${describe(t)}`);
  }

  private action(section: SectionName, conditions: Condition[]): Action {
    const nameTok = this.ident("of an action (permit, deny, add, issue, issueproperty)");
    const name = ACTIONS.find((a) => a === nameTok.text.toLowerCase());
    if (!name) this.error(nameTok, `unknown action ${describe(nameTok)} (expected permit, deny, add, issue or issueproperty)`);
    if (!ALLOWED[name].includes(section)) this.error(nameTok, `${name}() is not allowed in ${section} (only in ${ALLOWED[name].join(", ")})`);
    const bound = new Set<string>();
    for (const c of conditions) {
      if (c.id === undefined) continue;
      if (bound.has(c.id)) throw new PolicyParseError(c.line, c.column, `claim identifier "${c.id}" is bound twice in one rule`);
      bound.add(c.id);
    }
    this.expect("(", `after ${name}`);
    const args = new Map<string, Expr>();
    while (!this.isPunct(")")) {
      if (args.size > 0) this.expect(",", "between arguments");
      const key = this.ident("of an argument (type=, value= or claim=)");
      const k = key.text.toLowerCase();
      if (!["type", "value", "claim"].includes(k)) this.error(key, `unknown argument ${describe(key)} of ${name}() (expected type, value or claim)`);
      if (args.has(k)) this.error(key, `argument ${k} given twice`);
      this.expect("=", `after ${k}`);
      args.set(k, this.expr(k, bound));
    }
    this.next();
    const act = { line: nameTok.line, column: nameTok.column, name, args };
    this.checkArgs(act, nameTok);
    return act;
  }

  private expr(arg: string, bound: Set<string>): Expr {
    const t = this.peek();
    if (t.kind === "ident" && t.text !== "true" && t.text !== "false") {
      this.next();
      if (!bound.has(t.text)) this.error(t, `"${t.text}" is not bound by a condition of this rule (write ${t.text}:[...] first)`);
      if (arg === "claim") return { kind: "claim", id: t.text };
      this.expect(".", `after "${t.text}" (e.g. ${t.text}.value)`);
      const p = this.ident("of a claim property");
      const property = PROPERTIES.find((q) => q.toLowerCase() === p.text.toLowerCase());
      if (!property) this.error(p, `unknown claim property ${describe(p)}`);
      return { kind: "property", id: t.text, property: property as ClaimProperty };
    }
    if (arg === "claim") this.error(t, `claim= takes a bound claim identifier, found ${describe(t)}`);
    return { kind: "literal", value: this.literal(`for ${arg}=`) };
  }

  private checkArgs(a: Action, at: Token): void {
    const keys = [...a.args.keys()].sort().join(",");
    if (a.name === "permit" || a.name === "deny") {
      if (keys !== "") this.error(at, `${a.name}() takes no arguments`);
      return;
    }
    const ok = keys === "type,value" || (a.name !== "issueproperty" && keys === "claim");
    if (!ok) this.error(at, `${a.name}() takes (type=..., value=...)${a.name === "issueproperty" ? "" : " or (claim=c)"}`);
    const type = a.args.get("type");
    if (type?.kind === "literal" && (typeof type.value !== "string" || type.value === "")) this.error(at, `${a.name}(): type must be a non-empty string`);
  }
}

export function parsePolicy(text: string): Policy {
  return new Parser(tokenize(text)).policy();
}
