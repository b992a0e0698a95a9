// Errors a command reports to its user: message on stderr, no stack trace, a chosen exit code.
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Parses a whole, non-negative integer option value, or throws a CliError naming the option. */
export function parseCount(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new CliError(`${name} must be a whole number, got "${value}"`, 2);
    const n = Number(value);
    if (n > max) throw new CliError(`${name} must be at most ${max}, got ${n}`, 2);
    return n;
  };
}
