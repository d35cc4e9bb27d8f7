import type { FastifyError, FastifyInstance } from 'fastify';
import { ServerError } from '../errors.js';
import type { ConfigErrorCode } from '../config/errors.js';
import type { IdentityErrorCode } from '../identity/errors.js';
import type { TlogErrorCode } from '../tlog/errors.js';
import type { CaErrorCode } from '../ca/errors.js';
import { REGISTRY_STATUS, type RegistryErrorCode } from '../registry/errors.js';
import type { KeyErrorCode } from '../keys/errors.js';
import type { AuditErrorCode } from '../audit/errors.js';
import type { ArtifactErrorCode } from '../artifacts/errors.js';
import type { PolicyErrorCode } from '../policy/errors.js';
import type { RepositoryErrorCode } from '../registry/repository-errors.js';

export type HttpErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'METHOD_NOT_ALLOWED' | 'INTERNAL';

export class HttpError extends ServerError<HttpErrorCode> {}

export type ErrorCode = HttpErrorCode | ConfigErrorCode | IdentityErrorCode | TlogErrorCode | CaErrorCode | KeyErrorCode | AuditErrorCode | RegistryErrorCode | ArtifactErrorCode | RepositoryErrorCode | PolicyErrorCode;

/** The one table from typed error codes to HTTP status (docs/errors.md lists the same codes). */
export const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  CONFIG_INVALID: 500,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  TOKEN_NOT_FOUND: 404,
  INVALID_TOKEN_REQUEST: 400,
  GRANT_INVALID: 400,
  GRANT_NOT_FOUND: 404,
  ENTRY_INVALID: 400,
  ENTRY_EXISTS: 409,
  ENTRY_NOT_FOUND: 404,
  TOO_MANY_ITEMS: 422,
  OVERLOADED: 503,
  CERT_REQUEST_INVALID: 400,
  KEY_NOT_ALLOWED: 400,
  PROOF_OF_POSSESSION_FAILED: 400,
  INVALID_KEY_REQUEST: 400,
  KEY_INVALID: 400,
  KEY_TYPE_MISMATCH: 400,
  PRIVATE_KEY_REFUSED: 400,
  KEY_ALGORITHM_REFUSED: 400,
  KEY_NOT_FOUND: 404,
  KEY_EXISTS: 409,
  KEY_STATE_CONFLICT: 409,
  INVALID_AUDIT_QUERY: 400,
  INVALID_AUDIT_EVENT: 500,
  ARTIFACT_REFERENCE_INVALID: 400,
  ARTIFACT_NOT_FOUND: 404,
  INVALID_POLICY: 400,
  POLICY_NOT_FOUND: 404,
  POLICY_EXISTS: 409,
  INVALID_VERIFY_REQUEST: 400,
  POLICY_NOT_SATISFIED: 403,
  REPOSITORY_INVALID: 400,
  REPOSITORY_NOT_FOUND: 404,
  REPOSITORY_EXISTS: 409,
  REPOSITORY_NOT_EMPTY: 409,
  REPOSITORY_KIND_MISMATCH: 409,
  FILE_PATH_INVALID: 400,
  FILE_NOT_FOUND: 404,
  CHECKSUM_MISMATCH: 400,
  RANGE_NOT_SATISFIABLE: 416,
  // The OCI registry's codes, with the registry's own table; under /v2/ it answers them in the spec's format.
  ...REGISTRY_STATUS,
};

function fromFastify(e: FastifyError): { status: number; code: ErrorCode; message: string } | undefined {
  if (e.validation) return { status: 400, code: 'BAD_REQUEST', message: `invalid request: ${e.message}` };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than the server accepts' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported Content-Type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'BAD_REQUEST', message: 'request body is empty; JSON was expected' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'BAD_REQUEST', message: 'request body is not valid JSON' };
    default:
      break;
  }
  if (e instanceof SyntaxError || /Unexpected token|JSON/.test(e.message) && e.statusCode === 400) {
    return { status: 400, code: 'BAD_REQUEST', message: 'request body is not valid JSON' };
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: e.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: e.message };
  }
  return undefined;
}

/**
 * The single error boundary: typed errors map to their status with a `{code, message}` body; anything
 * else is a 500 whose body says nothing and whose detail goes only to the log.
 */
export function installErrorBoundary(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ServerError) {
      const status = STATUS[err.code as ErrorCode] ?? 500;
      if (status >= 500) req.log.error({ err }, 'request failed');
      for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
      return reply.status(status).send(status >= 500 && status !== 503 ? { code: 'INTERNAL', message: 'internal error' } : { code: err.code, message: err.message });
    }
    const mapped = fromFastify(err as FastifyError);
    if (mapped) return reply.status(mapped.status).send({ code: mapped.code, message: mapped.message });
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0]}` }));
}
