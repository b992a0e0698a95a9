// Which :authority values Node's HTTP/2 (nghttp2) accepts on a request, and what we put instead.
// nghttp2 allows RFC 3986 authority characters only; kubelets before 1.26 send the socket path.

const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;

export const REPLACEMENT_AUTHORITY = "localhost";

export function acceptableAuthority(value: string): boolean {
  return AUTHORITY.test(value);
}

/** The request's :authority, or undefined when it has none. */
export function authorityOf(headers: ReadonlyArray<{ name: string; value: string }>): string | undefined {
  return headers.find((h) => h.name === ":authority")?.value;
}
