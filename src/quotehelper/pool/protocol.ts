// Messages between the pool and its workers. Buffers cross as Uint8Arrays (structured clone).
export type BackendOp = "supportedAttKeyIds" | "initQuote" | "quoteSize" | "getQuote";

export interface WorkerInit {
  /** URL of a module exporting `createBackend(options): QuotingBackend | Promise<QuotingBackend>`. */
  module: string;
  options: unknown;
}

export interface TaskMessage {
  id: number;
  op: BackendOp;
  args: (Uint8Array | undefined)[];
}

export type WorkerMessage =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; code: number; message: string };
