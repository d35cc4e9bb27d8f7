import { ServerError } from '../errors.js';

export type IdentityErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'TOKEN_NOT_FOUND' | 'INVALID_TOKEN_REQUEST';

export class IdentityError extends ServerError<IdentityErrorCode> {}
