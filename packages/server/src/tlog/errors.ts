import { ServerError } from '../errors.js';

export type TlogErrorCode = 'ENTRY_INVALID' | 'ENTRY_EXISTS' | 'ENTRY_NOT_FOUND' | 'TOO_MANY_ITEMS' | 'OVERLOADED';

export class TlogError extends ServerError<TlogErrorCode> {}
