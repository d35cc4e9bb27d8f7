import { SignetError } from '../errors.js';
import { utf8 } from '../encoding/bytes.js';

/**
 * OLPC canonical JSON, the form TUF signs (TUF spec 1.0 §4.2 "canonical JSON"; as tuf-js and
 * securesystemslib produce it):
 *  - object members sorted by key (JavaScript's default string order, i.e. UTF-16 code units),
 *    no whitespace anywhere;
 *  - strings wrapped in double quotes with ONLY `\` and `"` escaped: every other character,
 *    control characters and non-ASCII included, is written as itself (so the result is not always
 *    valid JSON: a PEM key's newlines stay raw). The bytes signed are the UTF-8 of this text;
 *  - numbers must be integers (written in decimal); true, false and null as in JSON.
 * Floats, non-finite numbers, undefined members and non-plain objects are refused. Integers beyond
 * ±(2^53−1) are refused as well: they have no exact decimal form here.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, 0, out);
  return out.join('');
}

/** UTF-8 bytes of canonicalJson(value): what a TUF signature covers. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

const MAX_DEPTH = 100;

function writeString(s: string, out: string[]): void {
  out.push('"', s.replace(/[\\"]/g, (c) => `\\${c}`), '"');
}

function write(v: unknown, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) throw new SignetError('INVALID_ARGUMENT', `canonical JSON nesting deeper than ${MAX_DEPTH} levels`);
  if (v === null) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isSafeInteger(v)) {
        throw new SignetError('INVALID_ARGUMENT', `canonical JSON encodes integers only, not ${String(v)}`);
      }
      out.push(Object.is(v, -0) ? '0' : String(v));
      return;
    case 'string':
      writeString(v, out);
      return;
    case 'object': {
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          const item: unknown = v[i];
          if (item === undefined) throw new SignetError('INVALID_ARGUMENT', `canonical JSON cannot encode undefined (array item ${i})`);
          write(item, depth + 1, out);
        }
        out.push(']');
        return;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new SignetError('INVALID_ARGUMENT', 'canonical JSON encodes plain objects and arrays only');
      }
      const o = v as Record<string, unknown>;
      out.push('{');
      Object.keys(o)
        .sort()
        .forEach((k, i) => {
          if (i > 0) out.push(',');
          writeString(k, out);
          out.push(':');
          const member = o[k];
          if (member === undefined) throw new SignetError('INVALID_ARGUMENT', `canonical JSON cannot encode undefined (member "${k}")`);
          write(member, depth + 1, out);
        });
      out.push('}');
      return;
    }
    default:
      throw new SignetError('INVALID_ARGUMENT', `canonical JSON cannot encode a value of type ${typeof v}`);
  }
}
