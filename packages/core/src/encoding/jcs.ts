import { SignetError } from '../errors.js';

/**
 * RFC 8785 JSON Canonicalization Scheme. Object keys are sorted by their UTF-16 code units
 * (§3.2.3); numbers use the ECMAScript Number-to-String form (§3.2.2.3), which JSON.stringify
 * already produces; strings use JSON.stringify's minimal escaping (§3.2.2.2).
 */
export function canonicalize(value: unknown): string {
  return write(value, 0);
}

function write(v: unknown, depth: number): string {
  if (depth > 100) throw new SignetError('MALFORMED_INPUT', 'JSON nesting deeper than 100 levels');
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new SignetError('INVALID_ARGUMENT', 'JCS cannot encode a non-finite number');
      return JSON.stringify(v);
    case 'string':
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x) => write(x, depth + 1)).join(',')}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(o[k], depth + 1)}`).join(',')}}`;
    }
    default:
      throw new SignetError('INVALID_ARGUMENT', `JCS cannot encode a value of type ${typeof v}`);
  }
}
