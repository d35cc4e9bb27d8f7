import { createHash, sign, type KeyObject } from 'node:crypto';
import {
  bytesEqual,
  derExplicit,
  derGeneralizedTime,
  derImplicit,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derSetOf,
  parseCertificate,
  readChildren,
  readTlv,
  spkiDer,
  type TsaHash,
} from '@signet/core';

/**
 * Builds granted RFC 3161 responses with everything that does not change between tokens encoded once.
 *
 * Core's createTimeStampResponse produces the same structure, but re-parses the TSA certificate (node's
 * X509Certificate) and re-exports both keys through OpenSSL on every call to check they match: about 1.9 ms of
 * event-loop time per token with OpenSSL 3.0, which caps a TSA near 500 tokens a second. Here that check runs once,
 * at construction, and a token costs one TSTInfo, one SHA-256, the signed attributes and one ECDSA signature, made
 * on the calling thread (a TSA worker). Tests check the output against core's builder and verifier and against openssl ts.
 */

// RFC 5652, RFC 3161, RFC 5035 object identifiers.
const OIDS = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
} as const;

const HASH_OIDS: Record<TsaHash, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

/** A SHA-2 AlgorithmIdentifier with parameters absent (RFC 5754 §2). */
const hashAlgorithm = (h: TsaHash): Uint8Array => derSequence(derOid(HASH_OIDS[h]));
const attribute = (oid: Uint8Array, value: Uint8Array): Uint8Array => derSequence(oid, derSetOf(value));
// Encoded once: derOid is exact but slow (BigInt arcs), and each token needs these three.
const MESSAGE_DIGEST_OID = derOid(OIDS.messageDigest);
const TST_INFO_OID = derOid(OIDS.tstInfo);
const SIGNED_DATA_OID = derOid(OIDS.signedData);
const HASH_ALGORITHMS: Record<TsaHash, Uint8Array> = { sha256: hashAlgorithm('sha256'), sha384: hashAlgorithm('sha384'), sha512: hashAlgorithm('sha512') };

export interface TokenRequest {
  hashAlgorithm: TsaHash;
  hashedMessage: Uint8Array;
  nonce?: bigint;
  certReq: boolean;
  serialNumber: bigint;
  genTime: Date;
}

export class PreparedTsaSigner {
  private readonly digest: 'sha256' | 'sha384';
  private readonly policy: Uint8Array;
  private readonly accuracy: Uint8Array | undefined;
  private readonly contentTypeAttr: Uint8Array;
  private readonly signingCertificateAttr: Uint8Array;
  private readonly sid: Uint8Array;
  private readonly digestAlgorithm: Uint8Array;
  private readonly signatureAlgorithm: Uint8Array;
  private readonly certificates: Uint8Array;
  private readonly grantedStatus = derSequence(derInteger(0));

  /**
   * `certificate` is the TSA leaf (DER) certifying `privateKey` (ECDSA P-256 or P-384); `chain` the certificates
   * included after it when a request sets certReq; `accuracySeconds` goes into every TSTInfo.
   */
  constructor(
    private readonly privateKey: KeyObject,
    certificate: Uint8Array,
    chain: Uint8Array[],
    policyOid: string,
    accuracySeconds?: number,
  ) {
    const curve = privateKey.asymmetricKeyType === 'ec' ? privateKey.asymmetricKeyDetails?.namedCurve : undefined;
    if (curve === 'prime256v1') this.digest = 'sha256';
    else if (curve === 'secp384r1') this.digest = 'sha384';
    else throw new Error('the TSA key must be ECDSA P-256 or P-384');
    const cert = parseCertificate(certificate);
    if (!bytesEqual(cert.spki, spkiDer(privateKey))) throw new Error('the TSA private key does not belong to the TSA certificate');
    const tbsFields = readChildren(cert.tbs, readTlv(cert.tbs));
    const serialT = tbsFields[tbsFields[0]?.tag === 0xa0 ? 1 : 0]!;
    const serial = cert.tbs.slice(serialT.start, serialT.end);

    this.policy = derOid(policyOid);
    this.accuracy = accuracySeconds ? derSequence(derInteger(accuracySeconds)) : undefined;
    this.contentTypeAttr = attribute(derOid(OIDS.contentType), TST_INFO_OID);
    // RFC 5035: SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 }, ESSCertIDv2 { hashAlgorithm DEFAULT sha256
    // (omitted), certHash, issuerSerial { issuer GeneralNames ([4] directoryName, EXPLICIT as Name is a CHOICE),
    // serialNumber } }.
    const certHash = derOctetString(new Uint8Array(createHash('sha256').update(certificate).digest()));
    const essCertId = derSequence(certHash, derSequence(derSequence(derExplicit(4, cert.issuer)), serial));
    this.signingCertificateAttr = attribute(derOid(OIDS.signingCertificateV2), derSequence(derSequence(essCertId)));
    this.sid = derSequence(cert.issuer, serial);
    this.digestAlgorithm = HASH_ALGORITHMS[this.digest];
    this.signatureAlgorithm = derSequence(derOid(this.digest === 'sha256' ? OIDS.ecdsaWithSha256 : OIDS.ecdsaWithSha384));
    this.certificates = derImplicit(0, derSetOf(certificate, ...chain));
  }

  /** A granted TimeStampResp (RFC 3161 §2.4.2) holding a CMS SignedData token (RFC 5652 §5) over the TSTInfo. */
  response(r: TokenRequest): Uint8Array {
    // TSTInfo; ordering FALSE is the DEFAULT and so omitted; genTime to the second (DER, no fraction).
    const tst = [derInteger(1), this.policy, derSequence(HASH_ALGORITHMS[r.hashAlgorithm], derOctetString(r.hashedMessage)), derInteger(r.serialNumber), derGeneralizedTime(r.genTime)];
    if (this.accuracy) tst.push(this.accuracy);
    if (r.nonce !== undefined) tst.push(derInteger(r.nonce));
    const tstInfo = derSequence(...tst);

    const signedAttrs = derSetOf(
      this.contentTypeAttr,
      attribute(MESSAGE_DIGEST_OID, derOctetString(new Uint8Array(createHash(this.digest).update(tstInfo).digest()))),
      this.signingCertificateAttr,
    );
    // RFC 5652 §5.4: the signature covers the DER SET OF the attributes (not their [0] IMPLICIT form).
    // Signed synchronously: this runs on a TSA worker thread (tsa-worker.ts), off the event loop.
    const signature = new Uint8Array(sign(this.digest, signedAttrs, this.privateKey));
    const signerInfo = derSequence(derInteger(1), this.sid, this.digestAlgorithm, derImplicit(0, signedAttrs), this.signatureAlgorithm, derOctetString(signature));
    const signedData = derSequence(
      derInteger(3),
      derSetOf(this.digestAlgorithm),
      derSequence(TST_INFO_OID, derExplicit(0, derOctetString(tstInfo))),
      ...(r.certReq ? [this.certificates] : []),
      derSetOf(signerInfo),
    );
    return derSequence(this.grantedStatus, derSequence(SIGNED_DATA_OID, derExplicit(0, signedData)));
  }
}
