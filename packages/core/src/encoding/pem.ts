import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from './base64.js';

export interface PemBlock {
  label: string;
  headers: Record<string, string>;
  der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Parses every PEM block in a text (RFC 7468), in order. Text outside blocks is ignored. */
export function parsePemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const label = m[1] ?? '';
    const lines = (m[2] ?? '').split(/\r?\n/);
    const headers: Record<string, string> = {};
    // RFC 1421-style headers ("Proc-Type: ..."), as some legacy tools write, end at an empty line.
    if (lines.some((l) => /^[A-Za-z-]+: /.test(l))) {
      while (lines.length > 0 && lines[0] !== '') {
        const h = lines.shift() ?? '';
        const i = h.indexOf(': ');
        if (i > 0) headers[h.slice(0, i)] = h.slice(i + 2);
      }
    }
    const body = lines.join('').trim();
    out.push({ label, headers, der: fromBase64(body, `PEM block "${label}"`) });
  }
  return out;
}

export function parsePem(text: string, label?: string): PemBlock {
  const blocks = parsePemBlocks(text).filter((b) => label === undefined || b.label === label);
  const first = blocks[0];
  if (!first) {
    throw new SignetError('MALFORMED_INPUT', label ? `no PEM block "${label}" found` : 'no PEM block found');
  }
  return first;
}

/** Encodes DER as PEM, wrapping base64 at 64 columns (RFC 7468 §2). */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
