/**
 * Typed errors for @signet/core. Verification never throws on a bad signature: it returns a
 * verdict. These errors are for misuse and for input that cannot be parsed at all.
 */
export const CORE_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'MALFORMED_INPUT',
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_FORMAT',
  'KEY_PARSE_FAILED',
  'KEY_ENCRYPTED',
  'DECRYPTION_FAILED',
  'SIGNATURE_PARSE_FAILED',
  'PGP_NOT_LOADED',
] as const;

export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

export class SignetError extends Error {
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignetError';
    this.code = code;
  }
}

export function isSignetError(e: unknown): e is SignetError {
  return e instanceof SignetError;
}
