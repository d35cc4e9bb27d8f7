import { concatBytes, utf8 } from '../encoding/bytes.js';

/**
 * DSSE Pre-Authentication Encoding (DSSE protocol v1, "Signature definition"):
 * "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII decimal byte counts.
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}
