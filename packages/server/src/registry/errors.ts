import { ServerError } from '../errors.js';

/**
 * The OCI distribution-spec error codes (§Error Codes). Under /v2/ they are answered in the spec's
 * `{"errors":[{"code","message","detail"}]}` shape by the registry's own error handler, never by the
 * /api/ boundary.
 */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

/** The status each code answers with unless the error names another (416 for out-of-order chunks, 412 for If-Match…). */
export const REGISTRY_STATUS: Record<RegistryErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 415,
  TOOMANYREQUESTS: 429,
};

export class RegistryError extends ServerError<RegistryErrorCode> {
  readonly status: number;
  readonly detail: unknown;

  constructor(code: RegistryErrorCode, message: string, opts: { status?: number; detail?: unknown; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(code, message, { ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.cause !== undefined ? { cause: opts.cause } : {}) });
    this.status = opts.status ?? REGISTRY_STATUS[code];
    this.detail = opts.detail ?? null;
  }
}

/** The distribution-spec error body. */
export function ociErrorBody(code: string, message: string, detail: unknown = null): { errors: { code: string; message: string; detail: unknown }[] } {
  return { errors: [{ code, message, detail }] };
}
