// The plugin socket's authority front, byte by byte: hand-made HTTP/2 frames (RFC 9113) from a raw unix
// socket client, with the header block split, padded and prioritised as grpc-go may send it, and hostile
// byte streams that must end their own connection only.
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import hpack from "hpack.js";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { DevicePluginClient } from "../../src/kubelet/plugin-client.js";
import { makeRig, startPlugin, type Rig } from "./helpers.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const HEADERS = 1;
const RST_STREAM = 3;
const SETTINGS = 4;
const GOAWAY = 7;
const CONTINUATION = 9;
const DATA = 0;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

function requestBlock(authority: string, method: string): Buffer {
  // Incremental indexing with Huffman, as grpc-go's encoder does, so the dynamic table is in play.
  const c = hpack.compressor.create({ table: { size: 4096 } });
  c.write([
    { name: ":method", value: "POST" },
    { name: ":scheme", value: "http" },
    { name: ":path", value: method },
    { name: ":authority", value: authority },
    { name: "content-type", value: "application/grpc" },
    { name: "te", value: "trailers" },
  ]);
  const parts: Buffer[] = [];
  for (let b = c.read(); b !== null; b = c.read()) parts.push(b);
  return Buffer.concat(parts);
}

interface Seen {
  type: number;
  flags: number;
  stream: number;
}

const endsStream = (stream: number) => (f: Seen) => (f.type === HEADERS && (f.flags & 1) !== 0 && f.stream === stream) || f.type === RST_STREAM || f.type === GOAWAY;

/**
 * Sends `bytes` and collects the server's frames (acknowledging its SETTINGS) until `until` holds for
 * one, the server closes the connection, or `ms` pass.
 */
function exchange(socket: string, bytes: Buffer, until: (f: Seen) => boolean = endsStream(1), ms = 3000): Promise<{ frames: Seen[]; closed: boolean }> {
  return new Promise((resolve) => {
    const frames: Seen[] = [];
    let buf = Buffer.alloc(0);
    const c = net.connect(socket);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve({ frames, closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    c.on("connect", () => c.write(bytes));
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
        const len = buf.readUIntBE(0, 3);
        const f = { type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff };
        frames.push(f);
        buf = buf.subarray(9 + len);
        if (f.type === SETTINGS && !(f.flags & 1)) c.write(frame(SETTINGS, 1, 0, Buffer.alloc(0)));
        if (until(f)) return finish(false);
      }
    });
    c.on("close", () => finish(true));
    c.on("error", () => finish(true));
  });
}

const EMPTY_GRPC_MESSAGE = Buffer.from([0, 0, 0, 0, 0]);

describe("the device plugin's authority front", () => {
  let rig: Rig;
  let daemon: DevicePluginDaemon;
  let socket: string;
  before(async () => {
    rig = await makeRig();
    daemon = await startPlugin(rig, { epcMiB: 8 });
    socket = path.join(rig.socketDir, "sgx-epc.sock");
  });
  after(async () => {
    await daemon.stop();
    await rig.cleanup();
  });

  test("a padded, prioritised header block split over CONTINUATION, with the socket path as :authority, gets a full answer", async () => {
    const block = requestBlock(socket, "/v1beta1.DevicePlugin/GetDevicePluginOptions");
    const cut = Math.floor(block.length / 2);
    const pad = 7;
    // PADDED (0x8) | PRIORITY (0x20), no END_HEADERS: pad length, 5 priority bytes, fragment, padding.
    const first = Buffer.concat([Buffer.from([pad]), Buffer.from([0, 0, 0, 0, 15]), block.subarray(0, cut), Buffer.alloc(pad)]);
    const bytes = Buffer.concat([
      PREFACE,
      frame(SETTINGS, 0, 0, Buffer.alloc(0)),
      frame(HEADERS, 0x8 | 0x20, 1, first),
      frame(CONTINUATION, 0x4, 1, block.subarray(cut)),
      frame(DATA, 0x1, 1, EMPTY_GRPC_MESSAGE),
    ]);
    const { frames } = await exchange(socket, bytes);
    assert.ok(!frames.some((f) => f.type === RST_STREAM), `no stream reset: ${JSON.stringify(frames)}`);
    const onStream = frames.filter((f) => f.stream === 1);
    assert.deepEqual(
      onStream.map((f) => f.type),
      [HEADERS, DATA, HEADERS],
      "response headers, the DevicePluginOptions message, trailers",
    );
  });

  test("a second request on the same connection resolves :authority from the client's dynamic table", async () => {
    const c = hpack.compressor.create({ table: { size: 4096 } });
    const blockFor = (stream: string) => {
      c.write([
        { name: ":method", value: "POST" },
        { name: ":scheme", value: "http" },
        { name: ":path", value: stream },
        { name: ":authority", value: socket },
        { name: "content-type", value: "application/grpc" },
        { name: "te", value: "trailers" },
      ]);
      const parts: Buffer[] = [];
      for (let b = c.read(); b !== null; b = c.read()) parts.push(b);
      return Buffer.concat(parts);
    };
    const one = blockFor("/v1beta1.DevicePlugin/GetDevicePluginOptions");
    const two = blockFor("/v1beta1.DevicePlugin/GetDevicePluginOptions");
    assert.ok(two.length < one.length / 2, "the second block refers to the first's dynamic-table entries");
    const bytes = Buffer.concat([
      PREFACE,
      frame(SETTINGS, 0, 0, Buffer.alloc(0)),
      frame(HEADERS, 0x4, 1, one),
      frame(DATA, 0x1, 1, EMPTY_GRPC_MESSAGE),
      frame(HEADERS, 0x4, 3, two),
      frame(DATA, 0x1, 3, EMPTY_GRPC_MESSAGE),
    ]);
    const { frames } = await exchange(socket, bytes, endsStream(3));
    assert.ok(!frames.some((f) => f.type === RST_STREAM || f.type === GOAWAY), JSON.stringify(frames));
    for (const stream of [1, 3]) {
      const trailers = frames.filter((f) => f.stream === stream && f.type === HEADERS && f.flags & 1);
      assert.equal(trailers.length, 1, `stream ${stream} completed`);
    }
  });

  for (const [what, bytes] of [
    ["an HTTP/1.1 request", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["a frame longer than SETTINGS_MAX_FRAME_SIZE", Buffer.concat([PREFACE, Buffer.from([0xff, 0xff, 0xff, DATA, 0, 0, 0, 0, 1])])],
    ["a header block of 80 KiB in CONTINUATION frames", headerFlood()],
    ["a DATA frame inside an open header block", Buffer.concat([PREFACE, frame(HEADERS, 0, 1, Buffer.from([0x82])), frame(DATA, 0, 1, Buffer.alloc(1))])],
    ["a malformed HPACK block", Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), frame(HEADERS, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))])],
  ] as const) {
    test(`${what} closes that connection only; the plugin keeps serving`, async () => {
      const { closed } = await exchange(socket, bytes);
      assert.ok(closed, "the connection was closed");
      const client = new DevicePluginClient(socket);
      try {
        await client.connect(3000);
        const opts = await client.getDevicePluginOptions();
        assert.equal(opts.getPreferredAllocationAvailable, true);
      } finally {
        client.close();
      }
    });
  }
});

function headerFlood(): Buffer {
  const parts = [PREFACE, frame(HEADERS, 0, 1, Buffer.alloc(16_000, 0x82))];
  for (let i = 0; i < 4; i++) parts.push(frame(CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x82)));
  parts.push(frame(CONTINUATION, 0x4, 1, Buffer.alloc(16_000, 0x82)));
  return Buffer.concat(parts);
}
