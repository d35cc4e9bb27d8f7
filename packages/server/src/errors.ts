/**
 * The base for every domain's typed errors. Each domain declares its own literal-union `code`s in its
 * errors.ts; the HTTP boundary (http/errors.ts) maps each code to a status in one table.
 */
export class ServerError<C extends string = string> extends Error {
  readonly code: C;
  /** Extra response headers (e.g. Location on a conflict, Retry-After on overload). */
  readonly headers: Record<string, string>;

  constructor(code: C, message: string, opts: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.headers = opts.headers ?? {};
  }
}
