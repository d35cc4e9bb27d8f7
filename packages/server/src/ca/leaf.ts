import { createHash, sign, randomBytes, type KeyObject } from 'node:crypto';
import {
  OID,
  authorityKeyIdentifier,
  derExplicit,
  derInteger,
  derOctetString,
  derSequence,
  derTime,
  extKeyUsage,
  fulcioExtensions,
  isSignetError,
  keyIdentifier,
  keyUsage,
  parseCertificate,
  readChildren,
  readTlv,
  signatureAlgorithmFor,
  spkiDer,
  subjectAltName,
  type FulcioClaims,
  type SanSpec,
} from '@signet/core';
import { CaError } from './errors.js';
import { encode, extension, node, oid, seq, unsignedInteger, type DerNode } from './der.js';
import type { SharedDigestSet } from '../workers/digest-set.js';

/** Leaf lifetime (Fulcio: NotAfter = NotBefore + 10 minutes). */
export const LEAF_LIFETIME_MS = 10 * 60 * 1000;

/** The identity half of a leaf: its one SAN and the Fulcio claims (plain data, so it can cross to a worker). */
export interface LeafIdentity {
  san: { type: 'email' | 'uri' | 'username'; value: string };
  claims: FulcioClaims;
  /** Whether the Fulcio extensions depend on the issuer alone (then they are encoded once per issuer). */
  claimsByIssuer: boolean;
}

function sanSpec(san: LeafIdentity['san']): SanSpec {
  switch (san.type) {
    case 'email':
      return { email: san.value };
    case 'uri':
      return { uri: san.value };
    case 'username':
      return { otherNameUsername: san.value };
  }
}

const ZERO = Uint8Array.of(0);

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/** 159 random bits: a positive serial of at most 20 octets once encoded (RFC 5280 §4.1.2.2), never 0. */
function serialBytes(): Uint8Array {
  for (;;) {
    const b = randomBytes(20);
    b[0] = (b[0] as number) & 0x7f;
    if (b.some((x) => x !== 0)) return b;
  }
}

/** ECDSA P-256 / SHA-256 through the async callback form (the libuv threadpool), for callers on the event loop. */
function signAsync(data: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) => sign('sha256', data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

/** The same on the calling thread: in an issuance worker a threadpool hop only adds dispatch and wake-ups. */
const signSync = (data: Uint8Array, key: KeyObject): Promise<Uint8Array> => Promise.resolve(sign('sha256', data, key));

/**
 * What an RFC 6962 v1 SCT for a precert_entry signs (§3.2): sct_version 0, signature_type certificate_timestamp (0),
 * uint64 timestamp, entry_type precert_entry (1), issuer_key_hash, uint24-length TBS, uint16-length (empty) extensions.
 */
function precertSignedData(timestamp: number, issuerKeyHash: Uint8Array, tbs: Uint8Array): Uint8Array {
  const out = Buffer.alloc(2 + 8 + 2 + 32 + 3 + tbs.length + 2);
  out.writeBigUInt64BE(BigInt(timestamp), 2);
  out.writeUInt16BE(1, 10);
  out.set(issuerKeyHash, 12);
  out.writeUIntBE(tbs.length, 44, 3);
  out.set(tbs, 47);
  return out;
}

/**
 * A SignedCertificateTimestampList (RFC 6962 §3.3) holding one v1 SCT: version 0, log_id, timestamp, empty
 * extensions, and the signature as TLS digitally-signed (hash sha256 = 4, signature ecdsa = 3).
 */
function sctListBytes(logId: Uint8Array, timestamp: number, signature: Uint8Array): Uint8Array {
  const sctLen = 1 + 32 + 8 + 2 + 2 + 2 + signature.length;
  const out = Buffer.alloc(2 + 2 + sctLen);
  out.writeUInt16BE(2 + sctLen, 0);
  out.writeUInt16BE(sctLen, 2);
  let p = 4;
  out[p++] = 0;
  out.set(logId, p);
  p += 32;
  out.writeBigUInt64BE(BigInt(timestamp), p);
  p += 8;
  out.writeUInt16BE(0, p);
  p += 2;
  out[p++] = 4;
  out[p++] = 3;
  out.writeUInt16BE(signature.length, p);
  out.set(signature, p + 2);
  return out;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits, read from the SPKI DER. */
function keyIdOfSpki(spki: Uint8Array): Uint8Array {
  const bits = readChildren(spki, readTlv(spki))[1];
  if (!bits || bits.tag !== 0x03) throw new CaError('CERT_REQUEST_INVALID', 'the public key has no subjectPublicKey BIT STRING');
  return new Uint8Array(createHash('sha1').update(spki.subarray(bits.contentStart + 1, bits.end)).digest());
}

/**
 * Issues Fulcio-profile leaves under the intermediate, each with an embedded SCT from the internal CT log. Used on
 * the main thread and in the issuance workers (issue-worker.ts), which build it from the same sealed keys.
 *
 * The certificate is written with a one-pass DER writer (der.ts) rather than core's buildCertificate and
 * signPrecertSct: those re-encode every nested TLV and export the keys' SPKI through OpenSSL per call, which together
 * cost more than the two signatures. The profile is the same; tests check it with core's parser and verifiers and
 * with openssl.
 */
export class LeafSigner {
  // Leaf TBS parts that never change, encoded once: version, signature algorithm, issuer (the intermediate's
  // subject, byte for byte), the empty subject, and the KeyUsage, EKU and AKI extensions.
  private readonly tbsVersion = derExplicit(0, derInteger(2));
  private readonly signatureAlgorithm: Uint8Array;
  private readonly issuerName: Uint8Array;
  private readonly emptySubject = derSequence();
  private readonly fixedExtensions: Uint8Array[];
  private readonly akiExtension: Uint8Array;
  /** RFC 6962 §3.2 issuer_key_hash (SHA-256 of the intermediate's SPKI) and the log ID (SHA-256 of the log's SPKI). */
  private readonly issuerKeyHash: Uint8Array;
  private readonly logId: Uint8Array;
  /** Encoded Fulcio extensions by issuer, for issuers whose extensions depend on the issuer alone. */
  private readonly issuerExtensions = new Map<string, Uint8Array[]>();

  private readonly sign: (data: Uint8Array, key: KeyObject) => Promise<Uint8Array>;

  private readonly issued: SharedDigestSet | undefined;

  /**
   * `syncCrypto`: sign on the calling thread (for worker threads) rather than in the libuv threadpool. `issued`: the
   * CA's shared set of issued leaves, which gets each leaf's SHA-256 (the log's verifiers consult it).
   */
  constructor(
    private readonly interKey: KeyObject,
    interCertDer: Uint8Array,
    private readonly ctlogKey: KeyObject,
    opts: { syncCrypto?: boolean; issued?: SharedDigestSet } = {},
  ) {
    this.sign = opts.syncCrypto ? signSync : signAsync;
    this.issued = opts.issued;
    for (const [k, what] of [
      [interKey, 'intermediate'],
      [ctlogKey, 'CT log'],
    ] as const) {
      if (k.type !== 'private' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error(`the ${what} key must be a private ECDSA P-256 key`);
    }
    const inter = parseCertificate(interCertDer);
    this.signatureAlgorithm = signatureAlgorithmFor(interKey);
    this.issuerName = inter.subject;
    this.fixedExtensions = [encode(extension(keyUsage(['digitalSignature']))), encode(extension(extKeyUsage(['codeSigning'])))];
    this.akiExtension = encode(extension(authorityKeyIdentifier(inter.subjectKeyId ?? keyIdentifier(interKey))));
    this.issuerKeyHash = sha256(spkiDer(interKey));
    this.logId = sha256(spkiDer(ctlogKey));
  }

  /**
   * A leaf for `spki` (a SubjectPublicKeyInfo DER, used as is): NotBefore now, NotAfter now + 10 min, KeyUsage
   * digitalSignature (critical), EKU codeSigning, one critical SAN, empty subject, random positive serial, SKI, AKI =
   * the intermediate's SKI, the Fulcio extensions and an embedded SCT (log ID = SHA-256 of the log's SPKI).
   */
  async issue(spki: Uint8Array, id: LeafIdentity): Promise<Uint8Array> {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const head: DerNode[] = [
      this.tbsVersion,
      unsignedInteger(serialBytes()),
      this.signatureAlgorithm,
      this.issuerName,
      seq(derTime(notBefore), derTime(new Date(notBefore.getTime() + LEAF_LIFETIME_MS))),
      this.emptySubject,
      spki,
    ];
    let san: DerNode;
    try {
      san = extension(subjectAltName(sanSpec(id.san), true));
    } catch (e) {
      // e.g. an email or URI that is not printable ASCII cannot go into an IA5String
      if (isSignetError(e)) throw new CaError('CERT_REQUEST_INVALID', `this identity cannot be certified: ${e.message}`);
      throw e;
    }
    const extensions: DerNode[] = [
      ...this.fixedExtensions,
      extension({ oid: OID.subjectKeyIdentifier, critical: false, value: derOctetString(keyIdOfSpki(spki)) }),
      this.akiExtension,
      san,
      ...this.fulcioExtensions(id),
    ];
    // RFC 6962 §3.2: the log signs the precertificate's TBS with the poison extension removed, which is exactly the
    // final TBS without its SCT list. The SCT list goes last in the final certificate, so verifiers that drop it
    // from the final TBS rebuild these bytes; the poisoned precertificate itself is never needed because the log is
    // internal (nothing is submitted anywhere), so it is neither signed nor kept.
    const precertTbs = encode(seq(...head, node(0xa3, seq(...extensions))));
    const timestamp = Date.now();
    const sctSignature = await this.sign(precertSignedData(timestamp, this.issuerKeyHash, precertTbs), this.ctlogKey);
    const sctList = node(0x04, sctListBytes(this.logId, timestamp, sctSignature));
    const tbs = encode(seq(...head, node(0xa3, seq(...extensions, seq(oid(OID.sctList), node(0x04, sctList))))));
    const signature = await this.sign(tbs, this.interKey);
    const der = encode(seq(tbs, this.signatureAlgorithm, node(0x03, ZERO, signature)), true);
    this.issued?.add(sha256(der));
    return der;
  }

  private fulcioExtensions(id: LeafIdentity): Uint8Array[] {
    const make = (): Uint8Array[] => fulcioExtensions(id.claims).map((e) => encode(extension(e)));
    if (!id.claimsByIssuer) return make();
    let cached = this.issuerExtensions.get(id.claims.issuer);
    if (!cached) {
      cached = make();
      if (this.issuerExtensions.size < 1024) this.issuerExtensions.set(id.claims.issuer, cached);
    }
    return cached;
  }
}
