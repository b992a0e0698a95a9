// What one hardware source of the EPC size answers: a byte total with where it came from, or why not.
export type SourceAnswer = { found: true; bytes: bigint; detail: string } | { found: false; reason: string };

export const notFound = (reason: string): SourceAnswer => ({ found: false, reason });

/** A short reason from a filesystem error: `ENOENT` rather than a stack. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}
