// Failures the service answers with, in MAA's error shape {"error":{"code","message"}}. Deterministic
// failures are 4xx (the Azure SDK retries 5xx); each carries a reason from a fixed set for metrics.

export const DENIAL_REASONS = [
  "malformed-request",
  "too-large",
  "rate-limited",
  "invalid-quote",
  "invalid-collateral",
  "expired-collateral",
  "collateral-unavailable",
  "runtime-data-mismatch",
  "init-time-data-mismatch",
  "tcb-status",
  "policy",
  "invalid-draft-policy",
] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

export type MaaErrorCode = "InvalidParameter" | "PolicyEvaluationError" | "PolicyParsingError" | "InvalidOperation" | "RequestTooLarge" | "TooManyRequests" | "ServiceUnavailable" | "NotFound" | "MethodNotAllowed";

const MAX_MESSAGE = 400;

/** Messages may quote parts of the input (a certificate's CN, a field): never unbounded. */
export const bounded = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s);

export class AttestationError extends Error {
  override name = "AttestationError";
  constructor(
    readonly status: number,
    readonly code: MaaErrorCode,
    readonly reason: DenialReason | undefined,
    message: string,
  ) {
    super(bounded(message));
  }
  body(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message } });
  }
}

export const invalid = (reason: DenialReason, message: string): never => {
  throw new AttestationError(400, "InvalidParameter", reason, message);
};
