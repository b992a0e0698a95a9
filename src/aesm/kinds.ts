// The AESM request kinds: each is one field number, shared by the Request and Response sub-messages
// (aesm-and-dcap.md section 2). Field names are those of the generated messages_pb.ts.
export const REQUEST_KINDS = {
  initQuote: { no: 1, req: "initQuoteReq", res: "initQuoteRes" },
  getQuote: { no: 2, req: "getQuoteReq", res: "getQuoteRes" },
  getLaunchToken: { no: 3, req: "getLicTokenReq", res: "getLicTokenRes" },
  reportAttestationError: { no: 4, req: "reportErrReq", res: "reportErrRes" },
  getWhiteListSize: { no: 10, req: "getWhiteListSizeReq", res: "getWhiteListSizeRes" },
  getWhiteList: { no: 11, req: "getWhiteListReq", res: "getWhiteListRes" },
  getExtendedEpidGroupId: { no: 12, req: "sgxGetExtendedEpidGroupIdReq", res: "sgxGetExtendedEpidGroupIdRes" },
  switchExtendedEpidGroup: { no: 13, req: "sgxSwitchExtendedEpidGroupReq", res: "sgxSwitchExtendedEpidGroupRes" },
  sgxRegister: { no: 14, req: "sgxRegisterReq", res: "sgxRegisterRes" },
  initQuoteEx: { no: 15, req: "initQuoteExReq", res: "initQuoteExRes" },
  getQuoteSizeEx: { no: 16, req: "getQuoteSizeExReq", res: "getQuoteSizeExRes" },
  getQuoteEx: { no: 17, req: "getQuoteExReq", res: "getQuoteExRes" },
  checkUpdateStatus: { no: 18, req: "checkUpdateStatusReq", res: "checkUpdateStatusRes" },
  selectAttKeyId: { no: 19, req: "selectAttKeyIDReq", res: "selectAttKeyIDRes" },
  getSupportedAttKeyIdNum: { no: 21, req: "getSupportedAttKeyIDNumReq", res: "getSupportedAttKeyIDNumRes" },
  getSupportedAttKeyIds: { no: 22, req: "getSupportedAttKeyIDsReq", res: "getSupportedAttKeyIDsRes" },
} as const;

export type RequestKind = keyof typeof REQUEST_KINDS;

/** EPID, launch-token and platform-services requests: parsed so they can be answered, never served. */
export const LEGACY_KINDS = [
  "initQuote",
  "getQuote",
  "getLaunchToken",
  "reportAttestationError",
  "getWhiteListSize",
  "getWhiteList",
  "getExtendedEpidGroupId",
  "switchExtendedEpidGroup",
  "sgxRegister",
  "checkUpdateStatus",
] as const satisfies readonly RequestKind[];

export type LegacyKind = (typeof LEGACY_KINDS)[number];
export type QuoteExKind = Exclude<RequestKind, LegacyKind>;

export const ALL_KINDS = Object.keys(REQUEST_KINDS) as RequestKind[];

export function isLegacyKind(kind: RequestKind): kind is LegacyKind {
  return (LEGACY_KINDS as readonly RequestKind[]).includes(kind);
}
