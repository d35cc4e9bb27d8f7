import { createHash } from 'node:crypto';

/**
 * A small reader of OpenPGP transferable keys (RFC 4880 §11.1, RFC 9580 §10.1) for what @signet/core/pgp does
 * not report: whether any secret key packet is present, and each key's capabilities from the Key Flags
 * subpacket (RFC 4880 §5.2.3.21) of its newest self-signature. Parsing, expiry and user IDs come from core.
 */

/** RFC 4880 §4.3 packet tags. */
const TAG_SIGNATURE = 2;
const TAG_SECRET_KEY = 5;
const TAG_PUBLIC_KEY = 6;
const TAG_SECRET_SUBKEY = 7;
const TAG_USER_ID = 13;
const TAG_PUBLIC_SUBKEY = 14;
const TAG_USER_ATTRIBUTE = 17;

export type Capability = 'certify' | 'sign' | 'encrypt' | 'authenticate';

export interface PacketScan {
  hasSecret: boolean;
  /** Uppercase hex fingerprint → capabilities from the key flags of its newest self-signature. */
  capabilities: Map<string, Capability[]>;
}

/** Decodes every ASCII-armored block (RFC 4880 §6.2) in a text; undefined when there is none. */
export function dearmor(text: string): Uint8Array | undefined {
  const blocks = [...text.matchAll(/-----BEGIN PGP [A-Z ,/0-9]+-----\r?\n([\s\S]*?)-----END PGP [A-Z ,/0-9]+-----/g)];
  if (blocks.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const m of blocks) {
    const lines = (m[1] ?? '').split(/\r?\n/);
    // Armor headers end at the first blank line; a line starting "=" is the CRC-24 checksum.
    const blank = lines.findIndex((l) => l.trim() === '');
    const body = lines.slice(blank >= 0 && lines.slice(0, blank).every((l) => /^[A-Za-z-]+: /.test(l)) ? blank + 1 : 0);
    parts.push(Buffer.from(body.filter((l) => !l.startsWith('=')).join(''), 'base64'));
  }
  return new Uint8Array(Buffer.concat(parts));
}

interface Packet {
  tag: number;
  body: Uint8Array;
}

/** Splits a packet sequence (RFC 4880 §4.2). Partial body lengths never occur in keys and end the scan. */
function* packets(b: Uint8Array): Generator<Packet> {
  let i = 0;
  while (i < b.length) {
    const h = b[i]!;
    if ((h & 0x80) === 0) return;
    let tag: number;
    let len: number;
    let off: number;
    if (h & 0x40) {
      tag = h & 0x3f;
      const l0 = b[i + 1];
      if (l0 === undefined) return;
      if (l0 < 192) [len, off] = [l0, 2];
      else if (l0 < 224) [len, off] = [((l0 - 192) << 8) + (b[i + 2] ?? 0) + 192, 3];
      else if (l0 === 255) [len, off] = [((b[i + 2] ?? 0) * 2 ** 24) + ((b[i + 3] ?? 0) << 16) + ((b[i + 4] ?? 0) << 8) + (b[i + 5] ?? 0), 6];
      else return;
    } else {
      tag = (h >> 2) & 0x0f;
      const lt = h & 3;
      if (lt === 0) [len, off] = [b[i + 1] ?? 0, 2];
      else if (lt === 1) [len, off] = [((b[i + 1] ?? 0) << 8) + (b[i + 2] ?? 0), 3];
      else if (lt === 2) [len, off] = [((b[i + 1] ?? 0) * 2 ** 24) + ((b[i + 2] ?? 0) << 16) + ((b[i + 3] ?? 0) << 8) + (b[i + 4] ?? 0), 5];
      else [len, off] = [b.length - i - 1, 1];
    }
    if (i + off + len > b.length) return;
    yield { tag, body: b.subarray(i + off, i + off + len) };
    i += off + len;
  }
}

/** The key's fingerprint: v4 SHA-1(0x99 ‖ len16 ‖ body) (RFC 4880 §12.2), v6 SHA-256(0x9B ‖ len32 ‖ body) (RFC 9580 §5.5.4). */
function fingerprint(keyBody: Uint8Array): string | undefined {
  const version = keyBody[0];
  const n = keyBody.length;
  if (version === 4) return createHash('sha1').update(Uint8Array.of(0x99, n >> 8, n & 0xff)).update(keyBody).digest('hex').toUpperCase();
  const prefix = version === 6 ? 0x9b : version === 5 ? 0x9a : undefined;
  if (prefix === undefined) return undefined;
  return createHash('sha256').update(Uint8Array.of(prefix, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)).update(keyBody).digest('hex').toUpperCase();
}

/** Hashed subpackets of a v4/v5/v6 signature: key flags, creation time, issuer. */
function readSignature(body: Uint8Array): { type: number; flags?: number; created: number; issuer?: string } | undefined {
  const version = body[0];
  if (version !== 4 && version !== 5 && version !== 6) return undefined;
  const type = body[1]!;
  const lenBytes = version === 4 ? 2 : 4;
  let hashedLen = 0;
  for (let k = 0; k < lenBytes; k++) hashedLen = hashedLen * 256 + (body[4 + k] ?? 0);
  const start = 4 + lenBytes;
  const end = Math.min(body.length, start + hashedLen);
  const out: { type: number; flags?: number; created: number; issuer?: string } = { type, created: 0 };
  let i = start;
  while (i < end) {
    // RFC 4880 §5.2.3.1 subpacket lengths.
    const o = body[i]!;
    let len: number;
    if (o < 192) [len, i] = [o, i + 1];
    else if (o < 255) [len, i] = [((o - 192) << 8) + (body[i + 1] ?? 0) + 192, i + 2];
    else [len, i] = [((body[i + 1] ?? 0) * 2 ** 24) + ((body[i + 2] ?? 0) << 16) + ((body[i + 3] ?? 0) << 8) + (body[i + 4] ?? 0), i + 5];
    if (len === 0 || i + len > end) break;
    const st = body[i]! & 0x7f;
    const data = body.subarray(i + 1, i + len);
    if (st === 27 && data.length > 0) out.flags = data[0]!;
    else if (st === 2 && data.length === 4) out.created = ((data[0]! * 2 ** 24) + (data[1]! << 16) + (data[2]! << 8) + data[3]!);
    else if (st === 16 && data.length === 8) out.issuer = Buffer.from(data).toString('hex').toUpperCase();
    else if (st === 33 && data.length > 1) out.issuer = Buffer.from(data.subarray(1)).toString('hex').toUpperCase();
    i += len;
  }
  return out;
}

function capabilitiesOf(flags: number): Capability[] {
  const out: Capability[] = [];
  if (flags & 0x01) out.push('certify');
  if (flags & 0x02) out.push('sign');
  if (flags & 0x0c) out.push('encrypt');
  if (flags & 0x20) out.push('authenticate');
  return out;
}

/**
 * Walks the packets. Signatures after a primary key or its user IDs (certifications 0x10–0x13, direct key
 * 0x1F) give the primary's flags; signatures after a subkey (binding 0x18) give the subkey's; only
 * self-signatures count (issuer absent or the primary's key ID / fingerprint), the newest one wins.
 */
export function scanPackets(bytes: Uint8Array): PacketScan {
  const scan: PacketScan = { hasSecret: false, capabilities: new Map() };
  let primary: string | undefined;
  let current: string | undefined;
  let currentIsSub = false;
  const newest = new Map<string, number>();
  for (const p of packets(bytes)) {
    if (p.tag === TAG_SECRET_KEY || p.tag === TAG_SECRET_SUBKEY) scan.hasSecret = true;
    if (p.tag === TAG_PUBLIC_KEY || p.tag === TAG_SECRET_KEY) {
      primary = fingerprint(p.body);
      current = primary;
      currentIsSub = false;
    } else if (p.tag === TAG_PUBLIC_SUBKEY || p.tag === TAG_SECRET_SUBKEY) {
      current = fingerprint(p.body);
      currentIsSub = true;
    } else if (p.tag === TAG_USER_ID || p.tag === TAG_USER_ATTRIBUTE) {
      current = primary;
      currentIsSub = false;
    } else if (p.tag === TAG_SIGNATURE && current && primary) {
      const s = readSignature(p.body);
      if (!s || s.flags === undefined) continue;
      const selfSig = s.issuer === undefined || primary.endsWith(s.issuer);
      const fits = currentIsSub ? s.type === 0x18 : (s.type >= 0x10 && s.type <= 0x13) || s.type === 0x1f;
      if (!selfSig || !fits) continue;
      if ((newest.get(current) ?? -1) > s.created) continue;
      newest.set(current, s.created);
      scan.capabilities.set(current, capabilitiesOf(s.flags));
    }
  }
  return scan;
}
