import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { utf8 } from '../encoding/bytes.js';
import { readChildren, readTlv } from '../encoding/der.js';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derIa5String,
  derImplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derTime,
  derUtf8String,
} from '../encoding/der-writer.js';
import { signData, spkiDer } from '../keys/pkix.js';
import { encodeName, type Name } from './name.js';
import { OID } from './oids.js';
import { KEY_USAGE_FLAGS, type Extension, type KeyUsageFlag } from './parse.js';

export interface CertificateTemplate {
  /** Positive, at most 20 octets once encoded (RFC 5280 §4.1.2.2). */
  serialNumber: bigint;
  subject: Name;
  issuer: Name;
  notBefore: Date;
  notAfter: Date;
  /** The certified key (public, or a private key whose public half is used). */
  publicKey: KeyObject;
  extensions: Extension[];
  /** The issuer's private key (the subject's own for a self-signed root). */
  signingKey: KeyObject;
}

/**
 * The AlgorithmIdentifier for certificates signed by `key`: ecdsa-with-SHA256/384/512 by curve (parameters
 * absent, RFC 5758 §3.2), sha256WithRSAEncryption (NULL parameters, RFC 4055 §5), Ed25519 (RFC 8410 §3).
 */
export function signatureAlgorithmFor(key: KeyObject): Uint8Array {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const c = key.asymmetricKeyDetails?.namedCurve;
      const oid = c === 'secp384r1' ? OID.ecdsaWithSha384 : c === 'secp521r1' ? OID.ecdsaWithSha512 : c === 'prime256v1' ? OID.ecdsaWithSha256 : undefined;
      if (!oid) throw new SignetError('UNSUPPORTED_ALGORITHM', `cannot sign certificates with EC curve ${String(c)}`);
      return derSequence(derOid(oid));
    }
    case 'rsa':
      return derSequence(derOid(OID.sha256WithRsa), derNull());
    case 'ed25519':
      return derSequence(derOid(OID.ed25519));
    default:
      throw new SignetError('UNSUPPORTED_ALGORITHM', `cannot sign certificates with a ${String(key.asymmetricKeyType)} key`);
  }
}

/** A random positive serial of at most 20 octets (RFC 5280 §4.1.2.2; 159 random bits, top bit clear). */
export function randomSerial(): bigint {
  for (;;) {
    const b = randomBytes(20);
    b[0] = (b[0] as number) & 0x7f;
    const v = BigInt(`0x${b.toString('hex')}`);
    if (v > 0n) return v;
  }
}

/** Encodes one Extension (RFC 5280 §4.1): critical is written only when TRUE (DER omits DEFAULT values). */
export function encodeExtension(e: Extension): Uint8Array {
  return derSequence(derOid(e.oid), ...(e.critical ? [derBoolean(true)] : []), derOctetString(e.value));
}

/** The TBSCertificate (RFC 5280 §4.1.2), version 3. */
export function encodeTbs(t: Omit<CertificateTemplate, 'signingKey'>, signatureAlgorithm: Uint8Array): Uint8Array {
  if (typeof t.serialNumber !== 'bigint' || t.serialNumber <= 0n) throw new SignetError('INVALID_ARGUMENT', 'serialNumber must be a positive bigint');
  const serial = derInteger(t.serialNumber);
  if (serial.length - 2 > 20) throw new SignetError('INVALID_ARGUMENT', 'serialNumber must be at most 20 octets (RFC 5280 §4.1.2.2)');
  if (!(t.notBefore instanceof Date) || !(t.notAfter instanceof Date) || Number.isNaN(t.notBefore.getTime()) || Number.isNaN(t.notAfter.getTime())) {
    throw new SignetError('INVALID_ARGUMENT', 'notBefore and notAfter must be valid Dates');
  }
  if (t.notAfter < t.notBefore) throw new SignetError('INVALID_ARGUMENT', 'notAfter is before notBefore');
  const seen = new Set<string>();
  for (const e of t.extensions) {
    if (seen.has(e.oid)) throw new SignetError('INVALID_ARGUMENT', `extension ${e.oid} appears twice (RFC 5280 §4.2)`);
    seen.add(e.oid);
  }
  return derSequence(
    derExplicit(0, derInteger(2)),
    serial,
    signatureAlgorithm,
    encodeName(t.issuer),
    derSequence(derTime(t.notBefore), derTime(t.notAfter)),
    encodeName(t.subject),
    spkiDer(t.publicKey),
    ...(t.extensions.length ? [derExplicit(3, derSequence(...t.extensions.map(encodeExtension)))] : []),
  );
}

/** Signs a TBSCertificate with `signingKey` and wraps it as a Certificate (RFC 5280 §4.1.1). */
export async function signTbs(tbs: Uint8Array, signingKey: KeyObject): Promise<Uint8Array> {
  if (signingKey.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'signingKey must be a private key');
  const alg = readChildren(tbs, readTlv(tbs))[2];
  if (!alg) throw new SignetError('INVALID_ARGUMENT', 'not a TBSCertificate');
  const sig = await signData(signingKey, tbs);
  return derSequence(tbs, tbs.subarray(alg.start, alg.end), derBitString(sig));
}

/** Builds and signs an X.509 v3 certificate in strict DER. */
export async function buildCertificate(t: CertificateTemplate): Promise<Uint8Array> {
  if (t.signingKey?.type !== 'private') throw new SignetError('INVALID_ARGUMENT', 'signingKey must be a private key');
  return signTbs(encodeTbs(t, signatureAlgorithmFor(t.signingKey)), t.signingKey);
}

// ---- Extension helpers (RFC 5280 §4.2.1) ----

/** basicConstraints (§4.2.1.9), critical. cA is omitted when false (DEFAULT FALSE). */
export function basicConstraints(ca: boolean, pathLen?: number): Extension {
  if (pathLen !== undefined && (!ca || !Number.isInteger(pathLen) || pathLen < 0)) {
    throw new SignetError('INVALID_ARGUMENT', 'pathLen needs ca=true and a non-negative integer');
  }
  return {
    oid: OID.basicConstraints,
    critical: true,
    value: derSequence(...(ca ? [derBoolean(true)] : []), ...(pathLen !== undefined ? [derInteger(pathLen)] : [])),
  };
}

/** keyUsage (§4.2.1.3), critical; a named-bit BIT STRING with trailing zero bits removed (X.690 §11.2.2). */
export function keyUsage(flags: KeyUsageFlag[]): Extension {
  let bits = 0;
  let last = -1;
  for (const f of flags) {
    const i = KEY_USAGE_FLAGS.indexOf(f);
    if (i < 0) throw new SignetError('INVALID_ARGUMENT', `unknown key usage "${String(f)}"`);
    bits |= 1 << i;
    last = Math.max(last, i);
  }
  if (last < 0) throw new SignetError('INVALID_ARGUMENT', 'keyUsage needs at least one flag');
  const nbytes = (last >> 3) + 1;
  const bytes = new Uint8Array(nbytes);
  for (let i = 0; i <= last; i++) if (bits & (1 << i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return { oid: OID.keyUsage, critical: true, value: derBitString(bytes, nbytes * 8 - 1 - last) };
}

const EKU_NAMES: Record<string, string> = {
  serverAuth: OID.serverAuth,
  clientAuth: OID.clientAuth,
  codeSigning: OID.codeSigning,
  emailProtection: OID.emailProtection,
  timeStamping: OID.timeStamping,
  anyExtendedKeyUsage: OID.anyExtendedKeyUsage,
};

/** extKeyUsage (§4.2.1.12) from names (codeSigning, timeStamping, …) or dotted OIDs; non-critical unless told. */
export function extKeyUsage(purposes: string[], critical = false): Extension {
  if (purposes.length === 0) throw new SignetError('INVALID_ARGUMENT', 'extKeyUsage needs at least one purpose');
  return { oid: OID.extKeyUsage, critical, value: derSequence(...purposes.map((p) => derOid(EKU_NAMES[p] ?? p))) };
}

/** The key identifier of RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(publicKey: KeyObject): Uint8Array {
  const spki = spkiDer(publicKey);
  const bits = readChildren(spki, readTlv(spki))[1];
  if (!bits || bits.tag !== 0x03) throw new SignetError('INVALID_ARGUMENT', 'cannot read the subjectPublicKey');
  return new Uint8Array(createHash('sha1').update(spki.subarray(bits.contentStart + 1, bits.end)).digest());
}

/** subjectKeyIdentifier (§4.2.1.2), non-critical. */
export function subjectKeyIdentifier(publicKey: KeyObject): Extension {
  return { oid: OID.subjectKeyIdentifier, critical: false, value: derOctetString(keyIdentifier(publicKey)) };
}

/** authorityKeyIdentifier (§4.2.1.1) with keyIdentifier [0] only: the issuer's SKI (or its key, to derive it). */
export function authorityKeyIdentifier(issuerSki: Uint8Array | KeyObject): Extension {
  const ski = issuerSki instanceof Uint8Array ? issuerSki : keyIdentifier(issuerSki);
  return { oid: OID.authorityKeyIdentifier, critical: false, value: derSequence(derImplicit(0, derOctetString(ski))) };
}

export type SanSpec = { email: string } | { uri: string } | { otherNameUsername: string };

/**
 * subjectAltName (§4.2.1.6) with exactly one name, as Fulcio issues: rfc822Name, URI, or an OtherName of type
 * 1.3.6.1.4.1.57264.1.7 holding a UTF8String username. Critical when the subject is empty (§4.2.1.6).
 */
export function subjectAltName(san: SanSpec, critical: boolean): Extension {
  const keys = Object.keys(san);
  if (keys.length !== 1) throw new SignetError('INVALID_ARGUMENT', 'subjectAltName takes exactly one of email, uri, otherNameUsername');
  let gn: Uint8Array;
  if ('email' in san) gn = derImplicit(1, derIa5String(san.email));
  else if ('uri' in san) gn = derImplicit(6, derIa5String(san.uri));
  else if ('otherNameUsername' in san) gn = derImplicit(0, derSequence(derOid(OID.fulcioOtherNameSan), derExplicit(0, derUtf8String(san.otherNameUsername))));
  else throw new SignetError('INVALID_ARGUMENT', 'subjectAltName takes exactly one of email, uri, otherNameUsername');
  if (('email' in san || 'uri' in san) && !/^[\x20-\x7e]+$/.test('email' in san ? san.email : san.uri)) {
    throw new SignetError('INVALID_ARGUMENT', 'email and URI names must be printable ASCII (IA5String)');
  }
  return { oid: OID.subjectAltName, critical, value: derSequence(gn) };
}

/** The CT precertificate poison (RFC 6962 §3.1): critical, value NULL. */
export function ctPoison(): Extension {
  return { oid: OID.ctPoison, critical: true, value: derNull() };
}

/** The embedded SCT list extension (RFC 6962 §3.3): an OCTET STRING holding the TLS SignedCertificateTimestampList. */
export function sctListExtension(serializedList: Uint8Array): Extension {
  return { oid: OID.sctList, critical: false, value: derOctetString(serializedList) };
}

/** An extension whose value is the given bytes as-is (e.g. Fulcio's deprecated raw `.1`–`.6`). */
export function rawExtension(oid: string, value: Uint8Array | string, critical = false): Extension {
  return { oid, critical, value: typeof value === 'string' ? utf8(value) : value };
}
