export { fromBase64, toBase64, toBase64Url, isBase64 } from './base64.js';
export { fromHex, toHex } from './hex.js';
export { utf8, fromUtf8, concatBytes, bytesEqual, looksLikeText } from './bytes.js';
export { parsePem, parsePemBlocks, toPem, type PemBlock } from './pem.js';
export { canonicalize } from './jcs.js';
export * from './der-writer.js';
export { readTlv, readChildren, readUnsignedInteger, type Tlv } from './der.js';
