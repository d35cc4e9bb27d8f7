import { ServerError } from '../errors.js';

export type KeyErrorCode =
  | 'INVALID_KEY_REQUEST'
  | 'KEY_INVALID'
  | 'KEY_TYPE_MISMATCH'
  | 'PRIVATE_KEY_REFUSED'
  | 'KEY_ALGORITHM_REFUSED'
  | 'KEY_NOT_FOUND'
  | 'KEY_EXISTS'
  | 'KEY_STATE_CONFLICT';

export class KeyError extends ServerError<KeyErrorCode> {}
