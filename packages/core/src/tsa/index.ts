/**
 * RFC 3161 time-stamping: requests, responses and tokens (CMS SignedData over a TSTInfo, RFC 5652,
 * with the RFC 5035 signingCertificateV2 attribute), and token verification against trusted TSA
 * certificates. No I/O: the TSA server and clients live outside @signet/core.
 */
export type { TsaHash } from './asn1.js';
export { parseTimeStampReq, buildTimeStampReq, type TimeStampRequest, type TimeStampRequestOptions, type TsaExtension } from './request.js';
export {
  PKI_STATUS,
  FAILURE_INFO,
  createTimeStampResponse,
  timeStampErrorResponse,
  parseTimeStampResponse,
  parseTimeStampToken,
  parseTstInfo,
  type PkiStatusName,
  type FailureInfo,
  type Accuracy,
  type TstInfo,
  type CmsAttribute,
  type TsaSignerInfo,
  type TimeStampToken,
  type TimeStampResponse,
  type TsaSigner,
  type TimeStampResponseOptions,
} from './response.js';
export { verifyTimeStampToken, type TimeStampVerifyOptions, type TimeStampVerdict } from './verify.js';
