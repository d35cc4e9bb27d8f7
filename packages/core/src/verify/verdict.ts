import type { Check, CheckName, Signer, SignatureKind, Validity, Verdict } from './types.js';

/**
 * Collects checks for one verification. A verdict is ok only when every check passed and a
 * 'signature' check was among them, so a format that forgets to check the signature cannot pass.
 */
export class VerdictBuilder {
  readonly kind: SignatureKind;
  private readonly checks: Check[] = [];
  private signerInfo: Signer | undefined;
  private extra: Partial<Pick<Verdict, 'statement' | 'text'>> = {};

  constructor(kind: SignatureKind) {
    this.kind = kind;
  }

  pass(name: CheckName | (string & {}), detail: string): this {
    this.checks.push({ name, ok: true, detail });
    return this;
  }

  fail(name: CheckName | (string & {}), detail: string): this {
    this.checks.push({ name, ok: false, detail });
    return this;
  }

  check(name: CheckName | (string & {}), ok: boolean, detail: string): boolean {
    this.checks.push({ name, ok, detail });
    return ok;
  }

  get failed(): boolean {
    return this.checks.some((c) => !c.ok);
  }

  signer(s: Omit<Signer, 'kind'>): this {
    this.signerInfo = { kind: this.kind, ...s };
    return this;
  }

  set(extra: Partial<Pick<Verdict, 'statement' | 'text'>>): this {
    this.extra = { ...this.extra, ...extra };
    return this;
  }

  /** Adds a failing check and returns the finished verdict. */
  failWith(name: CheckName | (string & {}), detail: string): Verdict {
    this.fail(name, detail);
    return this.done();
  }

  done(): Verdict {
    const signed = this.checks.some((c) => c.name === 'signature' && c.ok);
    const ok = signed && !this.failed;
    const v: Verdict = { ok, kind: this.kind, checks: [...this.checks] };
    if (this.signerInfo && ok) v.signer = this.signerInfo;
    if (ok) Object.assign(v, this.extra);
    return v;
  }
}

/**
 * Judges a key's validity window at `now`. Returns undefined when the key carries no window, so
 * callers add no check at all for keys that never expire.
 */
export function checkValidity(validity: Validity | undefined, now: Date): { ok: boolean; detail: string } | undefined {
  if (!validity) return undefined;
  if (validity.revokedAt && validity.revokedAt.getTime() <= now.getTime()) {
    return { ok: false, detail: `key was revoked at ${validity.revokedAt.toISOString()}` };
  }
  if (validity.notBefore && now.getTime() < validity.notBefore.getTime()) {
    return { ok: false, detail: `key is not valid before ${validity.notBefore.toISOString()}` };
  }
  if (validity.notAfter && now.getTime() > validity.notAfter.getTime()) {
    return { ok: false, detail: `key expired at ${validity.notAfter.toISOString()}` };
  }
  if (!validity.notBefore && !validity.notAfter && !validity.revokedAt) return undefined;
  return {
    ok: true,
    detail: validity.notAfter ? `key valid until ${validity.notAfter.toISOString()}` : 'key is within its validity period',
  };
}
