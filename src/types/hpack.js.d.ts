// The part of hpack.js (RFC 7541) that the kubelet-compat front uses; the package ships no types.
declare module "hpack.js" {
  export interface HpackHeader {
    name: string;
    value: string;
    neverIndex?: boolean | number;
    huffman?: boolean;
    incremental?: boolean;
  }
  interface Table {
    size: number;
  }
  export interface Decompressor {
    write(block: Buffer): void;
    execute(cb?: (err: Error | null) => void): void;
    read(): HpackHeader | null;
    updateTableSize(size: number): void;
    on(event: "error", listener: (err: Error) => void): this;
    off(event: "error", listener: (err: Error) => void): this;
  }
  export interface Compressor {
    write(headers: HpackHeader[]): void;
    read(): Buffer | null;
  }
  const hpack: {
    decompressor: { create(options: { table: Table }): Decompressor };
    compressor: { create(options: { table: Table }): Compressor };
  };
  export default hpack;
}
