// Bridges protobuf-es service descriptors (generated, typed) to @grpc/grpc-js service definitions, so the
// wire codec is always the generated one and method paths come from the .proto, never typed by hand.
import type { DescMessage, DescMethod, DescService, MessageShape } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/** Raised when a peer sends bytes that do not decode as the method's message. */
export class MalformedMessageError extends Error {
  constructor(typeName: string, cause: unknown) {
    super(`malformed ${typeName}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "MalformedMessageError";
  }
}

function codec<D extends DescMessage>(desc: D) {
  return {
    serialize: (msg: MessageShape<D>): Buffer => Buffer.from(toBinary(desc, msg)),
    deserialize: (bytes: Buffer): MessageShape<D> => {
      try {
        return fromBinary(desc, bytes);
      } catch (err) {
        throw new MalformedMessageError(desc.typeName, err);
      }
    },
  };
}

function methodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  const input = codec(method.input);
  const output = codec(method.output);
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: input.serialize as (v: unknown) => Buffer,
    requestDeserialize: input.deserialize,
    responseSerialize: output.serialize as (v: unknown) => Buffer,
    responseDeserialize: output.deserialize,
    originalName: method.localName,
  };
}

/** A grpc-js ServiceDefinition keyed by each method's localName (e.g. `listAndWatch`). */
export function grpcService(service: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) def[method.localName] = methodDefinition(method);
  return def as ServiceDefinition;
}

/** `unix:` target for grpc-js from an absolute socket path. */
export function unixTarget(socketPath: string): string {
  return `unix://${socketPath.startsWith("/") ? socketPath : `${process.cwd()}/${socketPath}`}`;
}
