import { decodeOid, fromBase64, fromUtf8, isSignetError, parsePemBlocks, readChildren, readTlv, readUnsignedInteger, type Tlv } from '@signet/core';
import { CaError } from './errors.js';
import { checkAllowedKey, verifySignature } from './keys.js';
import { readClientKey, type ClientKey } from './spki.js';

/** A PKCS#10 certification request (RFC 2986 §4), as far as the CA needs it. */
export interface ParsedCsr {
  /** The certificationRequestInfo TLV: what the signature covers. */
  info: Uint8Array;
  publicKey: ClientKey;
  /** signatureAlgorithm OID, dotted. */
  signatureAlgorithm: string;
  signature: Uint8Array;
}

const MAX_CSR_BYTES = 32_768;

/** Signature algorithms accepted on a CSR: the hash and the key type each implies. */
const CSR_ALGORITHMS: Record<string, { hash: string | null; key: string; name: string; nullParams: boolean }> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ec', name: 'ecdsa-with-SHA256', nullParams: false },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec', name: 'ecdsa-with-SHA384', nullParams: false },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec', name: 'ecdsa-with-SHA512', nullParams: false },
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa', name: 'sha256WithRSAEncryption', nullParams: true },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa', name: 'sha384WithRSAEncryption', nullParams: true },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa', name: 'sha512WithRSAEncryption', nullParams: true },
  '1.3.101.112': { hash: null, key: 'ed25519', name: 'Ed25519', nullParams: false },
};

function bad(msg: string): never {
  throw new CaError('CERT_REQUEST_INVALID', `the certificate signing request is malformed: ${msg}`);
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) bad(`expected ${what}`);
  return t;
}

/**
 * Reads `certificateSigningRequest` as Fulcio takes it: the base64 of a PEM "CERTIFICATE REQUEST" (the base64 of
 * the DER, or the PEM text itself, is accepted too) and returns the DER.
 */
export function csrDer(field: string): Uint8Array {
  if (typeof field !== 'string' || field.trim() === '') bad('certificateSigningRequest is empty');
  let text: string | undefined;
  let bytes: Uint8Array | undefined;
  if (field.includes('-----BEGIN')) text = field;
  else {
    try {
      bytes = fromBase64(field.trim(), 'certificateSigningRequest');
    } catch {
      bad('certificateSigningRequest is not base64 (of a PEM or DER PKCS#10 request)');
    }
    if (bytes.length > MAX_CSR_BYTES) bad('it is too large');
    if (bytes[0] !== 0x30) {
      try {
        text = fromUtf8(bytes);
      } catch {
        bad('it is neither PEM nor DER');
      }
    }
  }
  if (text !== undefined) {
    let blocks;
    try {
      blocks = parsePemBlocks(text).filter((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
    } catch (e) {
      bad(isSignetError(e) ? e.message : 'unreadable PEM');
    }
    if (blocks.length !== 1) bad(`expected one PEM "CERTIFICATE REQUEST" block, found ${blocks.length}`);
    bytes = blocks[0]!.der;
  }
  if (!bytes || bytes.length > MAX_CSR_BYTES) bad('it is too large');
  return bytes;
}

/**
 * Parses a PKCS#10 request strictly (RFC 2986 §4.1, DER):
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm AlgorithmIdentifier, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name, subjectPKInfo SubjectPublicKeyInfo,
 *     attributes [0] IMPLICIT SET OF Attribute }
 * The subject and attributes are not used (Fulcio takes the identity from the token, not from the request).
 */
export function parseCsr(der: Uint8Array): ParsedCsr {
  try {
    const top = readTlv(der);
    if (top.tag !== 0x30 || top.end !== der.length) bad('it is not one DER SEQUENCE');
    const [infoT, algT, sigT, ...rest] = readChildren(der, top);
    if (rest.length) bad('CertificationRequest has more than three fields');
    const info = expect(infoT, 0x30, 'certificationRequestInfo SEQUENCE');
    const [verT, subjT, spkiT, attrT, ...more] = readChildren(der, info);
    if (more.length) bad('certificationRequestInfo has more than four fields');
    if (readUnsignedInteger(der, expect(verT, 0x02, 'version INTEGER')) !== 0n) bad('version must be 0 (v1)');
    expect(subjT, 0x30, 'subject Name');
    const spki = expect(spkiT, 0x30, 'subjectPKInfo');
    expect(attrT, 0xa0, 'attributes [0]');
    readChildren(der, attrT!); // well-formed
    const alg = expect(algT, 0x30, 'signatureAlgorithm');
    const [oidT, paramsT, ...extra] = readChildren(der, alg);
    if (extra.length) bad('signatureAlgorithm has extra fields');
    const oid = decodeOid(der, expect(oidT, 0x06, 'signature algorithm OID'));
    const known = CSR_ALGORITHMS[oid];
    if (!known) bad(`signature algorithm ${oid} is not supported (supported: ${Object.values(CSR_ALGORITHMS).map((a) => a.name).join(', ')})`);
    if (paramsT && !(known.nullParams && paramsT.tag === 0x05 && paramsT.end === paramsT.contentStart)) bad(`${known.name} takes ${known.nullParams ? 'NULL or absent' : 'absent'} parameters`);
    const sig = expect(sigT, 0x03, 'signature BIT STRING');
    if (sig.end === sig.contentStart || der[sig.contentStart] !== 0) bad('the signature BIT STRING must have 0 unused bits');
    let publicKey: ClientKey;
    try {
      publicKey = readClientKey(der.slice(spki.start, spki.end), 'the CSR subjectPKInfo');
    } catch (e) {
      if (e instanceof CaError && e.code === 'KEY_NOT_ALLOWED') throw e;
      bad('its subjectPKInfo is not a readable public key');
    }
    return {
      info: der.slice(info.start, info.end),
      publicKey,
      signatureAlgorithm: oid,
      signature: der.slice(sig.contentStart + 1, sig.end),
    };
  } catch (e) {
    if (e instanceof CaError) throw e;
    bad(isSignetError(e) ? e.message : 'unreadable');
  }
}

/**
 * Reads, checks and verifies a CSR: its key must be in the allowed set and its self-signature (the proof of
 * possession for this form) must verify. Returns the key to certify.
 */
export function verifiedCsrKey(field: string): ClientKey {
  const csr = parseCsr(csrDer(field));
  const key = csr.publicKey.key;
  checkAllowedKey(key);
  const alg = CSR_ALGORITHMS[csr.signatureAlgorithm]!;
  if (alg.key !== key.asymmetricKeyType) {
    throw new CaError('PROOF_OF_POSSESSION_FAILED', `the CSR is signed with ${alg.name}, which does not fit its ${String(key.asymmetricKeyType)} key (proof of possession fails)`);
  }
  if (!verifySignature(alg.hash, csr.info, key, csr.signature)) {
    throw new CaError('PROOF_OF_POSSESSION_FAILED', 'the CSR signature does not verify with its own public key (proof of possession fails)');
  }
  return csr.publicKey;
}
