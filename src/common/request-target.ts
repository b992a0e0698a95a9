// What every HTTP server we run does with the request line before any route sees it: the target is
// decoded once, here, and anything that is not an origin-form path is refused with a 400; and a handler
// that throws answers 500 instead of escaping into the process ('uncaughtException' exits the daemon).
import type http from "node:http";
import type { Logger } from "./log.js";

export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/** Longest request target we look at; Node's header limit (16 KiB) bounds it anyway. */
export const MAX_TARGET_LENGTH = 8192;

// RFC 9112 origin-form: absolute-path [ "?" query ], visible ASCII only (a raw space, a control byte or
// a non-ASCII byte is not a valid target even where the parser lets it through).
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

/** The parsed origin-form target, or undefined for anything else (`//[`, `http://[`, `*`, `//a b`). */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined || raw.length > MAX_TARGET_LENGTH || !ORIGIN_FORM.test(raw)) return undefined;
  try {
    // A fixed origin in front, so a target starting with "//" is a path, never an authority.
    const u = new URL(`http://origin.invalid${raw}`);
    return u.host === "origin.invalid" ? { pathname: u.pathname, searchParams: u.searchParams } : undefined;
  } catch {
    return undefined;
  }
}

/** A short, printable excerpt of client input for a log line or an error message. */
export function excerpt(value: string, max = 64): string {
  const printable = value.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > max ? `${printable.slice(0, max)}... (${value.length} chars)` : printable;
}

export const BAD_TARGET_MESSAGE = "bad request target: expected an absolute path such as /metrics";

function plainBadTarget(res: http.ServerResponse): void {
  res.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end(`${BAD_TARGET_MESSAGE}\n`);
}

export type TargetHandler = (req: http.IncomingMessage, res: http.ServerResponse, target: RequestTarget) => void | Promise<void>;

/**
 * A request listener that answers 400 for an invalid target and 500 for a handler that throws (or
 * rejects), so nothing a client sends reaches the process as an uncaught exception.
 */
export function guardedHandler(log: Logger, handler: TargetHandler, badTarget: (res: http.ServerResponse) => void = plainBadTarget): http.RequestListener {
  const internalError = (res: http.ServerResponse, err: unknown) => {
    log.error({ err }, "HTTP handler failed");
    if (res.headersSent) res.destroy();
    else res.writeHead(500, { "content-type": "text/plain; charset=utf-8", connection: "close" }).end("internal error\n");
  };
  return (req, res) => {
    const target = parseRequestTarget(req.url);
    if (!target) {
      req.resume();
      res.shouldKeepAlive = false;
      badTarget(res);
      return;
    }
    try {
      const done = handler(req, res, target);
      if (done) done.catch((err: unknown) => internalError(res, err));
    } catch (err) {
      internalError(res, err);
    }
  };
}
