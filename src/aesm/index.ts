// The AESM protocol: framing, typed messages, the quote-ex client and the out-of-proc quoting backend.
export * from "./error-codes.js";
export * from "./framing.js";
export * from "./kinds.js";
export * from "./messages.js";
export * from "./sizes.js";
export * from "./client.js";
export * from "./quoting-backend.js";
