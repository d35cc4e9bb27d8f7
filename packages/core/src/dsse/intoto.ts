import { SignetError } from '../errors.js';
import { toHex } from '../encoding/hex.js';

export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

export interface Subject {
  name?: string;
  digest: Record<string, string>;
  annotations?: Record<string, unknown>;
}

/** An in-toto Statement (in-toto attestation framework, v0.1 and v1 layers). */
export interface Statement {
  _type: typeof STATEMENT_V01 | typeof STATEMENT_V1;
  subject: Subject[];
  predicateType: string;
  predicate?: unknown;
}

/**
 * cosign's --type names mapped to predicate types (cosign options/predicate.go); any other value
 * that is a URI is used as-is.
 */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};

export function predicateTypeFor(type: string): string {
  const t = PREDICATE_TYPES[type];
  if (t) return t;
  if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(type)) return type;
  throw new SignetError(
    'INVALID_ARGUMENT',
    `unknown predicate type "${type}": use one of ${Object.keys(PREDICATE_TYPES).join(', ')} or a URI`,
  );
}

/**
 * Builds the predicate for a --type from the predicate file's text. `custom` wraps raw text as cosign
 * does ({Data, Timestamp}); every other type must be JSON.
 */
export function buildPredicate(type: string, text: string, now = new Date()): unknown {
  if (type === 'custom') return { Data: text, Timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  try {
    return JSON.parse(text);
  } catch {
    throw new SignetError('MALFORMED_INPUT', `the predicate for --type ${type} must be JSON`);
  }
}

export function makeStatement(opts: {
  subjects: { name: string; digest: Record<string, Uint8Array | string> }[];
  predicateType: string;
  predicate: unknown;
  version?: 'v1' | 'v0.1';
}): Statement {
  return {
    _type: opts.version === 'v0.1' ? STATEMENT_V01 : STATEMENT_V1,
    subject: opts.subjects.map((s) => ({
      name: s.name,
      digest: Object.fromEntries(Object.entries(s.digest).map(([k, v]) => [k, typeof v === 'string' ? v : toHex(v)])),
    })),
    predicateType: opts.predicateType,
    predicate: opts.predicate,
  };
}

/** Validates a parsed statement (v0.1 or v1); throws MALFORMED_INPUT naming what is wrong. */
export function parseStatement(value: unknown): Statement {
  const o = value as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new SignetError('MALFORMED_INPUT', 'in-toto statement must be a JSON object');
  if (o['_type'] !== STATEMENT_V01 && o['_type'] !== STATEMENT_V1) {
    throw new SignetError('MALFORMED_INPUT', `in-toto statement has unknown _type ${JSON.stringify(o['_type'])}`);
  }
  if (typeof o['predicateType'] !== 'string' || o['predicateType'] === '') {
    throw new SignetError('MALFORMED_INPUT', 'in-toto statement needs a predicateType');
  }
  const subj = o['subject'];
  if (!Array.isArray(subj) || subj.length === 0) throw new SignetError('MALFORMED_INPUT', 'in-toto statement needs at least one subject');
  for (const [i, s] of subj.entries()) {
    const d = (s as Record<string, unknown> | null)?.['digest'];
    if (!d || typeof d !== 'object' || Object.values(d).some((v) => typeof v !== 'string')) {
      throw new SignetError('MALFORMED_INPUT', `in-toto statement subject[${i}] needs a digest map of strings`);
    }
  }
  return o as unknown as Statement;
}

/** Subjects match by digest only (in-toto attestation v1, "subject" field semantics). */
export function findSubject(st: Statement, algorithm: string, digestHex: string): Subject | undefined {
  const want = digestHex.toLowerCase();
  return st.subject.find((s) => s.digest[algorithm]?.toLowerCase() === want);
}
