import { SignetError } from '../errors.js';

/** One line of a checksum list. */
export interface ChecksumEntry {
  algorithm: 'sha256' | 'sha512';
  /** Lowercase hex digest. */
  digest: string;
  /** File name as listed (unescaped). */
  name: string;
  /** GNU "binary mode" marker ('*'); informational only, the digest is always over the bytes. */
  binary: boolean;
}

const HEX_LEN = { sha256: 64, sha512: 128 } as const;

function escapeName(name: string): { name: string; escaped: boolean } {
  // GNU coreutils (sha256sum): names with a backslash or newline are escaped and the line starts with '\'.
  if (!/[\\\n\r]/.test(name)) return { name, escaped: false };
  return { name: name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r'), escaped: true };
}

function unescapeName(name: string): string {
  return name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** Formats entries exactly as `sha256sum` prints them ("<hex>  <name>"), so `sha256sum -c` accepts the list. */
export function formatChecksums(entries: readonly Pick<ChecksumEntry, 'digest' | 'name'>[]): string {
  return entries
    .map((e) => {
      const n = escapeName(e.name);
      return `${n.escaped ? '\\' : ''}${e.digest}  ${n.name}\n`;
    })
    .join('');
}

/**
 * Parses a checksum list in the GNU form ("<hex>  name", "<hex> *name", '\'-escaped names) or the BSD
 * tag form ("SHA256 (name) = <hex>", as `sha256sum --tag` and signify write). Blank lines and '#'
 * comments are skipped; any other line is an error naming its line number.
 */
export function parseChecksums(text: string): ChecksumEntry[] {
  const out: ChecksumEntry[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const bsd = /^(SHA256|SHA512) \((.*)\) = ([0-9a-fA-F]+)$/.exec(line);
    if (bsd) {
      const algorithm = bsd[1] === 'SHA512' ? 'sha512' : 'sha256';
      const digest = (bsd[3] ?? '').toLowerCase();
      if (digest.length !== HEX_LEN[algorithm]) throw new SignetError('MALFORMED_INPUT', `checksum line ${i + 1}: wrong digest length`);
      out.push({ algorithm, digest, name: bsd[2] ?? '', binary: false });
      continue;
    }
    const gnu = /^(\\?)([0-9a-fA-F]{64}|[0-9a-fA-F]{128}) ([ *])(.+)$/.exec(line);
    if (!gnu) throw new SignetError('MALFORMED_INPUT', `checksum line ${i + 1} is not "<hex digest>  <file name>"`);
    const digest = (gnu[2] ?? '').toLowerCase();
    const name = gnu[1] ? unescapeName(gnu[4] ?? '') : (gnu[4] ?? '');
    out.push({ algorithm: digest.length === 128 ? 'sha512' : 'sha256', digest, name, binary: gnu[3] === '*' });
  }
  return out;
}
