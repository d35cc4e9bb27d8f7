import { SignetError } from '../errors.js';
import type { SshPublicKeyInfo, TrustedKey, Validity } from '../verify/types.js';
import { looksLikeSshKeyType, parseSshPublicKey } from './keys.js';

/** One line of an allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS). */
export interface AllowedSigner {
  /** Principal patterns (comma list in the file; may contain * and ? wildcards and !negation). */
  principals: string[];
  /** cert-authority: the key signs SSH certificates, it does not sign data itself. */
  certAuthority: boolean;
  /** namespaces="a,b": the signature namespaces this key may be used for. */
  namespaces?: string[];
  validAfter?: Date;
  validBefore?: Date;
  key: SshPublicKeyInfo;
  /** 1-based line number in the file. */
  line: number;
}

/** An 'ssh' TrustedKey; cert-authority entries carry `certAuthority: true` and only match certificates. */
export type SshTrustedKey = Extract<TrustedKey, { kind: 'ssh' }> & { certAuthority?: boolean };

function lineError(line: number, message: string): never {
  throw new SignetError('KEY_PARSE_FAILED', `allowed signers line ${line}: ${message}`);
}

/** Reads one whitespace-delimited token, honouring double quotes (which may contain spaces and commas). */
function readToken(s: string, line: number): { token: string; rest: string } {
  let i = 0;
  let quoted = false;
  while (i < s.length) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) break;
    i++;
  }
  if (quoted) lineError(line, 'unterminated quote');
  return { token: s.slice(0, i), rest: s.slice(i).replace(/^[ \t]+/, '') };
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Splits on commas that are not inside double quotes. */
function splitOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of s) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * ssh-keygen(1) time format YYYYMMDD[HHMM[SS]], in local time unless suffixed with "Z" (UTC),
 * as OpenSSH's parse_absolute_time() reads it.
 */
export function parseSshTime(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?([Zz])?$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const date = m[7] ? new Date(Date.UTC(y, mo - 1, d, h, mi, s)) : new Date(y, mo - 1, d, h, mi, s);
  // Reject dates JavaScript silently rolled over (e.g. Feb 30).
  const day = m[7] ? date.getUTCDate() : date.getDate();
  return day === d ? date : undefined;
}

function parseOptions(opts: string, line: number): Pick<AllowedSigner, 'certAuthority' | 'namespaces' | 'validAfter' | 'validBefore'> {
  const out: Pick<AllowedSigner, 'certAuthority' | 'namespaces' | 'validAfter' | 'validBefore'> = { certAuthority: false };
  for (const opt of splitOptions(opts)) {
    const eq = opt.indexOf('=');
    const name = (eq < 0 ? opt : opt.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : unquote(opt.slice(eq + 1));
    if (name === 'cert-authority' && value === undefined) {
      out.certAuthority = true;
    } else if (name === 'namespaces' && value !== undefined) {
      out.namespaces = value.split(',').map((n) => n.trim()).filter((n) => n.length > 0);
    } else if ((name === 'valid-after' || name === 'valid-before') && value !== undefined) {
      const t = parseSshTime(value);
      if (!t) lineError(line, `${name}="${value}" is not a time of the form YYYYMMDD[HHMM[SS]][Z]`);
      if (name === 'valid-after') out.validAfter = t;
      else out.validBefore = t;
    } else {
      lineError(line, `unknown or malformed option "${opt}"`);
    }
  }
  return out;
}

/** Parses one non-empty, non-comment allowed_signers line. */
function parseAllowedSignerLine(raw: string, lineNo: number): AllowedSigner {
  const p = readToken(raw, lineNo);
  const principals = unquote(p.token)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (principals.length === 0) lineError(lineNo, 'no principals');
  let rest = p.rest;
  let options: ReturnType<typeof parseOptions> = { certAuthority: false };
  const next = readToken(rest, lineNo);
  if (!looksLikeSshKeyType(next.token)) {
    options = parseOptions(next.token, lineNo);
    rest = next.rest;
  }
  if (rest === '') lineError(lineNo, 'no public key');
  let key: SshPublicKeyInfo;
  try {
    key = parseSshPublicKey(rest);
  } catch (e) {
    lineError(lineNo, e instanceof Error ? e.message : 'invalid public key');
  }
  const entry: AllowedSigner = { principals, certAuthority: options.certAuthority, key, line: lineNo };
  if (options.namespaces) entry.namespaces = options.namespaces;
  if (options.validAfter) entry.validAfter = options.validAfter;
  if (options.validBefore) entry.validBefore = options.validBefore;
  return entry;
}

/** Parses an allowed_signers file: `principals [options] keytype base64-key [comment]` per line. */
export function parseAllowedSigners(text: string): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    out.push(parseAllowedSignerLine(raw, i + 1));
  }
  return out;
}

/**
 * Trust material from SSH text: one or more public key lines (a .pub file, authorized_keys-style) or an
 * allowed_signers file, in any mix. Lines starting with a key type are bare keys; others are allowed_signers lines.
 */
export function parseSshTrust(text: string, name?: string): TrustedKey[] {
  const out: TrustedKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const first = raw.split(/[ \t]/, 1)[0] ?? '';
    if (looksLikeSshKeyType(first)) {
      const key = parseSshPublicKey(raw);
      const entry: SshTrustedKey = { kind: 'ssh', key, principals: [] };
      const n = name ?? key.comment;
      if (n) entry.name = n;
      out.push(entry);
      continue;
    }
    const signer = parseAllowedSignerLine(raw, i + 1);
    const entry: SshTrustedKey = { kind: 'ssh', key: signer.key, principals: signer.principals };
    if (signer.certAuthority) entry.certAuthority = true;
    if (signer.namespaces) entry.namespaces = signer.namespaces;
    const n = name ?? signer.principals[0];
    if (n) entry.name = n;
    if (signer.validAfter || signer.validBefore) {
      const validity: Validity = {};
      if (signer.validAfter) validity.notBefore = signer.validAfter;
      if (signer.validBefore) validity.notAfter = signer.validBefore;
      entry.validity = validity;
    }
    out.push(entry);
  }
  if (out.length === 0) throw new SignetError('KEY_PARSE_FAILED', 'no SSH public keys found');
  return out;
}

/**
 * OpenSSH match_pattern_list() semantics for a comma list of principal patterns: `*` and `?` wildcards,
 * a `!`-prefixed pattern that matches vetoes the whole list.
 */
export function principalMatches(patterns: readonly string[], principal: string): boolean {
  let matched = false;
  for (const pat of patterns) {
    const negated = pat.startsWith('!');
    if (wildcard(negated ? pat.slice(1) : pat, principal)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function wildcard(pattern: string, s: string): boolean {
  // Iterative glob match with backtracking on the last '*'.
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === s[i])) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
