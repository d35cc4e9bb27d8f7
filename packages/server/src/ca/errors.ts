import { ServerError } from '../errors.js';

/**
 * CERT_REQUEST_INVALID: the signingCert body is malformed (no key or both key forms, a key or CSR that cannot be
 * read). KEY_NOT_ALLOWED: the key is readable but outside the allowed set. PROOF_OF_POSSESSION_FAILED: the
 * signature over the principal (or the CSR's self-signature) does not verify with the submitted key.
 */
export type CaErrorCode = 'CERT_REQUEST_INVALID' | 'KEY_NOT_ALLOWED' | 'PROOF_OF_POSSESSION_FAILED';

export class CaError extends ServerError<CaErrorCode> {}
