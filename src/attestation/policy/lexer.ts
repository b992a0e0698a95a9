// Tokens of MAA's policy language (claim rule grammar), each with the line and column it starts at,
// so every parse error can point at the exact place in the operator's file.

export class PolicyParseError extends Error {
  override name = "PolicyParseError";
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`policy line ${line}, column ${column}: ${reason}`);
  }
}

export type TokenKind = "ident" | "string" | "number" | "punct" | "eof";

export interface Token {
  kind: TokenKind;
  text: string;
  /** For strings: the unescaped value. */
  value?: string;
  line: number;
  column: number;
}

// Longest first, so "==" wins over "=" and "=>" over "=".
const PUNCTUATION = ["==", "!=", "<=", ">=", "&&", "=>", "{", "}", "[", "]", "(", ")", ";", ",", ":", "=", "<", ">", "."];
/** A policy is a small text; anything larger is not one. */
export const MAX_POLICY_CHARS = 256 * 1024;
const MAX_STRING_CHARS = 8192;

/** Printable form of a token for messages, never unbounded. */
export function describe(t: Token): string {
  if (t.kind === "eof") return "the end of the policy";
  const s = t.text.length > 40 ? `${t.text.slice(0, 40)}…` : t.text;
  return JSON.stringify(s);
}

export function tokenize(text: string): Token[] {
  if (text.length > MAX_POLICY_CHARS) throw new PolicyParseError(1, 1, `policy is ${text.length} characters; the limit is ${MAX_POLICY_CHARS}`);
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const col = () => i - lineStart + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "\r" || ch === "\uFEFF") {
      i++;
      continue;
    }
    if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    const start = { line, column: col() };
    if (/[A-Za-z_$]/.test(ch)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_$]/.test(text[j]!)) j++;
      tokens.push({ kind: "ident", text: text.slice(i, j), ...start });
      i = j;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === "-" && /[0-9]/.test(text[i + 1] ?? ""))) {
      let j = i + 1;
      while (j < text.length && /[0-9.]/.test(text[j]!)) j++;
      const num = text.slice(i, j);
      if (!/^-?\d+(\.\d+)?$/.test(num)) throw new PolicyParseError(start.line, start.column, `malformed number ${JSON.stringify(num.slice(0, 40))}`);
      tokens.push({ kind: "number", text: num, ...start });
      i = j;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let value = "";
      for (;;) {
        if (j >= text.length || text[j] === "\n") throw new PolicyParseError(start.line, start.column, "unterminated string");
        const c = text[j]!;
        if (c === '"') break;
        if (c === "\\") {
          const n = text[j + 1];
          if (n !== '"' && n !== "\\") throw new PolicyParseError(line, j - lineStart + 1, `unknown escape \\${n ?? ""} in a string (only \\" and \\\\)`);
          value += n;
          j += 2;
        } else {
          value += c;
          j++;
        }
        if (value.length > MAX_STRING_CHARS) throw new PolicyParseError(start.line, start.column, `string longer than ${MAX_STRING_CHARS} characters`);
      }
      tokens.push({ kind: "string", text: text.slice(i, j + 1), value, ...start });
      i = j + 1;
      continue;
    }
    const p = PUNCTUATION.find((q) => text.startsWith(q, i));
    if (!p) throw new PolicyParseError(start.line, start.column, `unexpected character ${JSON.stringify(ch)}`);
    tokens.push({ kind: "punct", text: p, ...start });
    i += p.length;
  }
  tokens.push({ kind: "eof", text: "", line, column: col() });
  return tokens;
}
