import { ServerError } from '../errors.js';

export type AuditErrorCode = 'INVALID_AUDIT_QUERY' | 'INVALID_AUDIT_EVENT';

export class AuditError extends ServerError<AuditErrorCode> {}
