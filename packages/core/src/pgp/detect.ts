/**
 * Recognises OpenPGP data by its first bytes, without loading openpgp (the main @signet/core entry
 * imports this file, and openpgp lives only behind the @signet/core/pgp subpath).
 */

export type PgpDetected = 'armored-signature' | 'cleartext' | 'binary-signature' | 'armored-key' | 'binary-key';

/** RFC 4880 §6.2 armor header lines and what each one starts. */
const ARMOR_HEADERS: ReadonlyArray<readonly [string, PgpDetected]> = [
  ['-----BEGIN PGP SIGNATURE-----', 'armored-signature'],
  ['-----BEGIN PGP SIGNED MESSAGE-----', 'cleartext'],
  ['-----BEGIN PGP PUBLIC KEY BLOCK-----', 'armored-key'],
  ['-----BEGIN PGP PRIVATE KEY BLOCK-----', 'armored-key'],
];

/** RFC 4880 §4.3 packet tags. */
const TAG_SIGNATURE = 2;
const TAG_SECRET_KEY = 5;
const TAG_PUBLIC_KEY = 6;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function detectArmor(bytes: Uint8Array): PgpDetected | undefined {
  let i = 0;
  // A UTF-8 byte order mark, then leading blank lines, are tolerated.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && isSpace(bytes[i] ?? 0)) i++;
  for (const [header, kind] of ARMOR_HEADERS) {
    if (i + header.length > bytes.length) continue;
    let match = true;
    for (let j = 0; j < header.length; j++) {
      if (bytes[i + j] !== header.charCodeAt(j)) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    // The header must be the whole line (trailing whitespace allowed, RFC 4880 §6.2).
    let k = i + header.length;
    while (k < bytes.length && (bytes[k] === 0x20 || bytes[k] === 0x09)) k++;
    if (k === bytes.length || bytes[k] === 0x0a || bytes[k] === 0x0d) return kind;
  }
  return undefined;
}

/**
 * The tag and the offset of the body of the first packet (RFC 4880 §4.2), or undefined when the
 * first byte is not a packet header. Partial body lengths (§4.2.2.4) are refused: signature and
 * key packets never use them.
 */
function firstPacket(bytes: Uint8Array): { tag: number; bodyOffset: number } | undefined {
  const b0 = bytes[0];
  if (b0 === undefined || (b0 & 0x80) === 0) return undefined;
  if (b0 & 0x40) {
    // New format (§4.2.2): tag in bits 5..0, then a one-, two- or five-octet length.
    const tag = b0 & 0x3f;
    const l0 = bytes[1];
    if (l0 === undefined) return undefined;
    if (l0 < 192) return { tag, bodyOffset: 2 };
    if (l0 < 224) return { tag, bodyOffset: 3 };
    if (l0 === 255) return { tag, bodyOffset: 6 };
    return undefined;
  }
  // Old format (§4.2.1): tag in bits 5..2, length type in bits 1..0.
  const tag = (b0 >> 2) & 0x0f;
  const lengthType = b0 & 0x03;
  const bodyOffset = lengthType === 0 ? 2 : lengthType === 1 ? 3 : lengthType === 2 ? 5 : 1;
  return { tag, bodyOffset };
}

/**
 * What kind of OpenPGP data `bytes` holds: an armored signature, a cleartext-signed message
 * (RFC 4880 §7), an armored key, or a binary signature or key judged by the tag of the first
 * packet and the version octet that starts its body. Undefined when it is none of these.
 */
export function detectPgp(bytes: Uint8Array): PgpDetected | undefined {
  const armored = detectArmor(bytes);
  if (armored) return armored;
  const p = firstPacket(bytes);
  if (!p) return undefined;
  const version = bytes[p.bodyOffset];
  if (version === undefined) return undefined;
  // Signature packets are versions 3 and 4 (RFC 4880 §5.2), 6 in RFC 9580 (5 in LibrePGP).
  if (p.tag === TAG_SIGNATURE) return version >= 3 && version <= 6 ? 'binary-signature' : undefined;
  // Key packets are versions 2 to 4 (RFC 4880 §5.5.2), 6 in RFC 9580 (5 in LibrePGP).
  if (p.tag === TAG_PUBLIC_KEY || p.tag === TAG_SECRET_KEY) return version >= 2 && version <= 6 ? 'binary-key' : undefined;
  return undefined;
}
