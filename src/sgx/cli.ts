// `confcom quote inspect QUOTE [--json]`: decode a quote file and print every field.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError } from "../cli/errors.js";
import { SgxCodecError } from "./errors.js";
import { formatQuote, quoteToJson } from "./inspect.js";
import { parseQuote } from "./quote.js";

export function registerQuoteInspect(quote: Command): void {
  quote
    .command("inspect")
    .description("decode a DCAP quote (v3) and print every field")
    .argument("<quote>", "quote file (binary)")
    .option("--json", "print JSON (bytes as hex, u64 as decimal strings)")
    .action(async (file: string, opts: { json?: boolean }) => {
      let buf: Buffer;
      try {
        buf = await readFile(file);
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
      }
      let q;
      try {
        q = parseQuote(buf);
      } catch (err) {
        if (err instanceof SgxCodecError) throw new CliError(`${file} (${buf.length} bytes) is not a valid quote: ${err.message}`);
        throw err;
      }
      process.stdout.write(opts.json ? JSON.stringify(quoteToJson(q), null, 2) + "\n" : formatQuote(q));
    });
}
