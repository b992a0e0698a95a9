// Reading an AdmissionReview v1 request defensively: bounded size and nesting, exact apiVersion and
// kind, a request with a uid. Anything else is the caller's mistake and answered with HTTP 400.
export const ADMISSION_API_VERSION = "admission.k8s.io/v1";
export const DEFAULT_MAX_BODY_BYTES = 3 << 20;
export const MAX_JSON_DEPTH = 64;

export class BadReviewError extends Error {
  constructor(
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = "BadReviewError";
  }
}

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  namespace?: string;
  name?: string;
  object?: unknown;
}

/** Rejects nesting deeper than `max` before JSON.parse and the tree walks that follow it. */
export function checkDepth(text: string, max: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw new BadReviewError(`JSON nested deeper than ${max} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseAdmissionReview(text: string): AdmissionRequest {
  checkDepth(text, MAX_JSON_DEPTH);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BadReviewError(`body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(body)) throw new BadReviewError("body is not a JSON object");
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    throw new BadReviewError(`apiVersion must be "${ADMISSION_API_VERSION}", got ${JSON.stringify(body.apiVersion ?? null)}`);
  }
  if (body.kind !== "AdmissionReview") throw new BadReviewError(`kind must be "AdmissionReview", got ${JSON.stringify(body.kind ?? null)}`);
  const req = body.request;
  if (!isObject(req)) throw new BadReviewError("AdmissionReview has no request");
  if (typeof req.uid !== "string" || req.uid.length === 0 || req.uid.length > 128) throw new BadReviewError("request.uid must be a non-empty string");
  if (req.object !== undefined && req.object !== null && !isObject(req.object)) throw new BadReviewError("request.object must be an object");
  return req as unknown as AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  patchType?: "JSONPatch";
  patch?: string;
  warnings?: string[];
}

export function reviewResponse(response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response });
}
