// The libsgx_quote_ex calls (sgx_uae_quote_ex.h) over the AESM socket, encoded exactly as Intel's
// client encodes them: one connection per call, 256-byte key ids, `timeout` = the call's timeout in ms
// (15000 by default, IPC_LATENCY in release builds), buf_size only when non-zero.
import net from "node:net";
import { AesmError, SgxStatus, aesmErrorName, sgxStatusName, toSgxStatus, type QuoteExOp } from "./error-codes.js";
import { encodeFrame, readFrame, FrameError } from "./framing.js";
import { AesmDecodeError, decodeResponse, encodeRequest, type AesmRequest, type ResponseOf } from "./messages.js";
import { ATT_KEY_ID_SIZE, DEFAULT_AESM_SOCKET, DEFAULT_IPC_TIMEOUT_MS, QE_REPORT_INFO_SIZE, REPORT_SIZE, TARGET_INFO_SIZE } from "./sizes.js";

export interface QuoteExClientOptions {
  socketPath?: string;
  /** Per call, connect to response; also sent as the request's `timeout` field. */
  timeoutMs?: number;
  /** Largest response accepted; GetQuoteEx responses are as large as the requested buffer. */
  maxResponseSize?: number;
}

/** A failed call: the sgx_status_t Intel's client would return, and the AESM code when aesmd sent one. */
export class QuoteExError extends Error {
  readonly statusName: string;
  constructor(
    readonly status: SgxStatus,
    readonly aesmCode: number | undefined,
    detail: string,
  ) {
    const name = sgxStatusName(status);
    super(aesmCode === undefined ? `${name}: ${detail}` : `${name} (aesm ${aesmErrorName(aesmCode)} = ${aesmCode}): ${detail}`);
    this.name = "QuoteExError";
    this.statusName = name;
  }
}

export interface InitQuoteExResult {
  targetInfo: Buffer;
  pubKeyIdSize: number;
  pubKeyId?: Buffer;
}

export interface GetQuoteExResult {
  /** The whole buffer aesmd returns: `quoteSize` bytes, the quote at its start. */
  quote: Buffer;
  qeReportInfo?: Buffer;
}

export { DEFAULT_IPC_TIMEOUT_MS };

export class QuoteExClient {
  readonly socketPath: string;
  readonly timeoutMs: number;
  private readonly maxResponseSize: number;

  constructor(opts: QuoteExClientOptions = {}) {
    this.socketPath = opts.socketPath ?? DEFAULT_AESM_SOCKET;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_IPC_TIMEOUT_MS;
    this.maxResponseSize = opts.maxResponseSize ?? 16 * 1024 * 1024;
  }

  /** sgx_select_att_key_id; no list = every key the service supports is a candidate. */
  async selectAttKeyId(attKeyIdList?: Buffer): Promise<Buffer> {
    const res = await this.call({ kind: "selectAttKeyId", attKeyIdList, timeout: this.timeoutMs }, "select");
    return expectLength(res.selectedAttKeyId, ATT_KEY_ID_SIZE, "selected_att_key_id");
  }

  /**
   * sgx_init_quote_ex. Without `pubKeyIdBufSize` it is the size-only call (p_pub_key_id == NULL);
   * with it, the caller's buffer size, and the pub key id is returned when it fits.
   */
  async initQuoteEx(attKeyId: Buffer, pubKeyIdBufSize?: number): Promise<InitQuoteExResult> {
    checkKeyId(attKeyId);
    const withId = pubKeyIdBufSize !== undefined;
    const res = await this.call(
      { kind: "initQuoteEx", attKeyId, bPubKeyId: withId, bufSize: withId && pubKeyIdBufSize > 0 ? BigInt(pubKeyIdBufSize) : undefined, timeout: this.timeoutMs },
      "init",
    );
    const targetInfo = expectLength(res.targetInfo, TARGET_INFO_SIZE, "target_info");
    if (res.pubKeyIdSize === undefined) throw unexpected("response has no pub_key_id_size");
    const pubKeyIdSize = Number(res.pubKeyIdSize);
    const pubKeyId = withId && res.pubKeyId?.length === pubKeyIdSize && pubKeyIdSize <= pubKeyIdBufSize ? res.pubKeyId : undefined;
    if (withId && pubKeyId === undefined) throw unexpected(`pub_key_id of ${res.pubKeyId?.length ?? 0} bytes does not fit (size ${pubKeyIdSize}, buffer ${pubKeyIdBufSize})`);
    return { targetInfo, pubKeyIdSize, pubKeyId };
  }

  async getQuoteSizeEx(attKeyId: Buffer): Promise<number> {
    checkKeyId(attKeyId);
    const res = await this.call({ kind: "getQuoteSizeEx", attKeyId, timeout: this.timeoutMs }, "size");
    if (res.quoteSize === undefined) throw unexpected("response has no quote_size");
    return res.quoteSize;
  }

  async getQuoteEx(report: Buffer, attKeyId: Buffer, quoteSize: number, qeReportInfo?: Buffer): Promise<GetQuoteExResult> {
    checkKeyId(attKeyId);
    if (report.length !== REPORT_SIZE) throw invalidParameter(`report must be ${REPORT_SIZE} bytes, got ${report.length}`);
    if (qeReportInfo && qeReportInfo.length !== QE_REPORT_INFO_SIZE) throw invalidParameter(`qe_report_info must be ${QE_REPORT_INFO_SIZE} bytes`);
    if (!Number.isInteger(quoteSize) || quoteSize <= 0 || quoteSize > 0xffffffff) throw invalidParameter(`quote size ${quoteSize} is not a positive u32`);
    const res = await this.call({ kind: "getQuoteEx", report, attKeyId, qeReportInfo, bufSize: quoteSize, timeout: this.timeoutMs }, "get");
    if (!res.quote || res.quote.length > quoteSize) throw unexpected(`quote of ${res.quote?.length ?? 0} bytes for a ${quoteSize}-byte buffer`);
    if (qeReportInfo) return { quote: res.quote, qeReportInfo: expectLength(res.qeReportInfo, QE_REPORT_INFO_SIZE, "qe_report_info") };
    return { quote: res.quote };
  }

  async getSupportedAttKeyIdNum(): Promise<number> {
    const res = await this.call({ kind: "getSupportedAttKeyIdNum", timeout: this.timeoutMs }, "other");
    if (res.attKeyIdNum === undefined) throw unexpected("response has no att_key_id_num");
    return res.attKeyIdNum;
  }

  /** sgx_get_supported_att_key_ids: `num` must be the count from getSupportedAttKeyIdNum. */
  async getSupportedAttKeyIds(num: number): Promise<Buffer[]> {
    const res = await this.call({ kind: "getSupportedAttKeyIds", bufSize: num * ATT_KEY_ID_SIZE, timeout: this.timeoutMs }, "other");
    const ids = expectLength(res.attKeyIds, num * ATT_KEY_ID_SIZE, "att_key_ids");
    return Array.from({ length: num }, (_, i) => ids.subarray(i * ATT_KEY_ID_SIZE, (i + 1) * ATT_KEY_ID_SIZE));
  }

  /** One request, one connection; a non-zero errorCode becomes a QuoteExError. */
  private async call<R extends AesmRequest>(req: R, op: QuoteExOp): Promise<ResponseOf<R["kind"]>> {
    const bytes = await this.transact(encodeRequest(req));
    let res: ResponseOf<R["kind"]>;
    try {
      res = decodeResponse(bytes, req.kind as R["kind"]);
    } catch (err) {
      if (err instanceof AesmDecodeError) throw unexpected(err.message);
      throw err;
    }
    if (res.errorCode !== AesmError.SUCCESS) throw new QuoteExError(toSgxStatus(res.errorCode, op), res.errorCode, `${req.kind} failed`);
    return res;
  }

  private transact(payload: Uint8Array): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const fail = (err: QuoteExError) => {
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new QuoteExError(SgxStatus.SGX_ERROR_SERVICE_TIMEOUT, undefined, `no answer from ${this.socketPath} within ${this.timeoutMs} ms`)), this.timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        fail(new QuoteExError(SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE, AesmError.SERVICE_UNAVAILABLE, `cannot connect to ${this.socketPath}: ${err.message}`));
      });
      socket.once("connect", () => {
        socket.removeAllListeners("error");
        // readFrame reports errors while it reads; one arriving after it settled must not go unhandled.
        socket.on("error", () => undefined);
        socket.write(encodeFrame(payload));
        // The call's own timer is the deadline: no second timer per call.
        readFrame(socket, { maxSize: this.maxResponseSize, timeoutMs: 0 }).then(
          (frame) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(frame);
          },
          (err: Error) => {
            clearTimeout(timer);
            const status = err instanceof FrameError && err.reason === "timeout" ? SgxStatus.SGX_ERROR_SERVICE_TIMEOUT : SgxStatus.SGX_ERROR_UNEXPECTED;
            fail(new QuoteExError(status, undefined, `reading the response: ${err.message}`));
          },
        );
      });
    });
  }
}

function checkKeyId(attKeyId: Buffer): void {
  if (attKeyId.length !== ATT_KEY_ID_SIZE) throw invalidParameter(`att key id must be ${ATT_KEY_ID_SIZE} bytes (sgx_att_key_id_t), got ${attKeyId.length}`);
}

function invalidParameter(detail: string): QuoteExError {
  return new QuoteExError(SgxStatus.SGX_ERROR_INVALID_PARAMETER, undefined, detail);
}

function unexpected(detail: string): QuoteExError {
  return new QuoteExError(SgxStatus.SGX_ERROR_UNEXPECTED, undefined, detail);
}

function expectLength(value: Buffer | undefined, size: number, field: string): Buffer {
  if (value?.length !== size) throw unexpected(`${field} is ${value?.length ?? "absent"}, expected ${size} bytes`);
  return value;
}
