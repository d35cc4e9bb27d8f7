import { ServerError } from '../errors.js';

export type PolicyErrorCode = 'INVALID_POLICY' | 'POLICY_NOT_FOUND' | 'POLICY_EXISTS' | 'INVALID_VERIFY_REQUEST' | 'POLICY_NOT_SATISFIED';

export class PolicyError extends ServerError<PolicyErrorCode> {}
