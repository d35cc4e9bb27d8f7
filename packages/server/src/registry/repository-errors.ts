import { ServerError } from '../errors.js';

/**
 * Errors of the repositories API and generic file repositories (/api/v1/repositories, /files/). They are answered
 * by the shared /api/ error boundary as `{code, message}` (http/errors.ts STATUS, docs/errors.md).
 */
export type RepositoryErrorCode =
  | 'REPOSITORY_INVALID'
  | 'REPOSITORY_NOT_FOUND'
  | 'REPOSITORY_EXISTS'
  | 'REPOSITORY_NOT_EMPTY'
  | 'REPOSITORY_KIND_MISMATCH'
  | 'FILE_PATH_INVALID'
  | 'FILE_NOT_FOUND'
  | 'CHECKSUM_MISMATCH'
  | 'RANGE_NOT_SATISFIABLE';

export class RepositoryError extends ServerError<RepositoryErrorCode> {}
