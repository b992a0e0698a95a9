// The one error every codec in this folder throws on malformed input: it names the structure being
// decoded, the field (a dotted path for nested structures), the byte offset and, for truncation, the
// sizes, so an operator can tell exactly which length disagreed with which.
export class SgxCodecError extends Error {
  constructor(
    readonly structure: string,
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
    readonly need?: number,
    readonly have?: number,
  ) {
    super(
      `${structure}: ${field} ${reason} at offset ${offset}` + (need !== undefined ? `: need ${need} bytes, have ${have}` : ""),
    );
    this.name = "SgxCodecError";
  }
}
