// MAA's policy language: parser, evaluator, the documented default SGX policy.
export { compilePolicy, policyHash, type CompiledPolicy } from "./compiled.js";
export { parsePolicy } from "./parser.js";
export { evaluatePolicy, PolicyEvaluationError, type Claim, type ClaimIssuer, type PolicyOutcome } from "./evaluate.js";
export { PolicyParseError } from "./lexer.js";
export { DEFAULT_SGX_POLICY } from "./default-policy.js";
export type * from "./ast.js";
