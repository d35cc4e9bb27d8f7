import { ServerError } from '../errors.js';

export type IdentityErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'TOKEN_NOT_FOUND' | 'INVALID_TOKEN_REQUEST' | 'GRANT_INVALID' | 'GRANT_NOT_FOUND';

export class IdentityError extends ServerError<IdentityErrorCode> {}
