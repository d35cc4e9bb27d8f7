import { createHash, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';
import { readUnsignedInteger, type Tlv } from '../encoding/der.js';
import {
  derBitString,
  derExplicit,
  derGeneralizedTime,
  derImplicit,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derSetOf,
  derUtf8String,
} from '../encoding/der-writer.js';
import {
  OID,
  checkDigestLength,
  checkHashName,
  children,
  content,
  expectTag,
  hashAlgorithmDer,
  malformed,
  readAlgorithm,
  readBoolean,
  readGeneralizedTime,
  readHashAlgorithm,
  readInteger,
  readSignedInteger,
  readOid,
  readTop,
  whole,
  type TsaHash,
} from './asn1.js';
import { parseCertificate } from './certificate.js';
import { readExtensions, readMessageImprint, type TsaExtension } from './request.js';

/** PKIStatus (RFC 3161 §2.4.2). */
export const PKI_STATUS = {
  granted: 0,
  grantedWithMods: 1,
  rejection: 2,
  waiting: 3,
  revocationWarning: 4,
  revocationNotification: 5,
} as const;
export type PkiStatusName = keyof typeof PKI_STATUS;

/** PKIFailureInfo bit numbers (RFC 3161 §2.4.2). */
export const FAILURE_INFO = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;
export type FailureInfo = keyof typeof FAILURE_INFO;

export interface Accuracy {
  seconds?: number;
  millis?: number;
  micros?: number;
}

/** RFC 3161 §2.4.2 TSTInfo. */
export interface TstInfo {
  version: number;
  policy: string;
  hashAlgorithm: TsaHash;
  hashedMessage: Uint8Array;
  serialNumber: bigint;
  genTime: Date;
  accuracy?: Accuracy;
  ordering: boolean;
  nonce?: bigint;
  /** The tsa [0] GeneralName, complete TLV, when present. */
  tsaName?: Uint8Array;
  extensions?: TsaExtension[];
}

export interface CmsAttribute {
  oid: string;
  /** Each value's complete TLV. */
  values: Uint8Array[];
}

/** RFC 5652 §5.3 SignerInfo, as far as a time-stamp token needs it. */
export interface TsaSignerInfo {
  version: number;
  /** sid: issuerAndSerialNumber (issuer Name and serialNumber INTEGER as complete TLVs) or subjectKeyIdentifier. */
  sid: { issuer: Uint8Array; serialNumber: Uint8Array } | { subjectKeyIdentifier: Uint8Array };
  digestAlgorithm: TsaHash;
  /** The signedAttrs as carried ([0] IMPLICIT, tag 0xa0). */
  signedAttrs: Uint8Array;
  attributes: CmsAttribute[];
  /** The signatureAlgorithm OID. */
  signatureAlgorithm: string;
  signature: Uint8Array;
}

export interface TimeStampToken {
  /** The ContentInfo DER. */
  der: Uint8Array;
  tstInfo: TstInfo;
  /** The eContent: TSTInfo DER, as signed. */
  tstInfoDer: Uint8Array;
  eContentType: string;
  certificates: Uint8Array[];
  signerInfo: TsaSignerInfo;
}

export interface TimeStampResponse {
  status: number;
  statusStrings: string[];
  failInfo: FailureInfo[];
  /** The TimeStampToken (ContentInfo) DER, present when the status is granted or grantedWithMods. */
  token?: Uint8Array;
  tstInfo?: TstInfo;
  certificates: Uint8Array[];
  signerInfo?: TsaSignerInfo;
}

const ECDSA_OIDS: Record<TsaHash, string> = {
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
};

// ---------------------------------------------------------------------------------------------
// Writing

export interface TsaSigner {
  /** ECDSA P-256 or P-384 private key. */
  privateKey: KeyObject;
  /** The TSA certificate, DER. */
  certificate: Uint8Array;
  /** Further certificates (intermediates, root), DER, included with the leaf when certReq is set. */
  chain?: Uint8Array[];
}

export interface TimeStampResponseOptions {
  hashAlgorithm: TsaHash;
  hashedMessage: Uint8Array;
  nonce?: bigint;
  certReq?: boolean;
  /** TSA policy OID, dotted. */
  policy: string;
  serialNumber: bigint;
  genTime: Date;
  accuracy?: { seconds?: number; millis?: number };
  /**
   * 'seconds' (default) writes genTime truncated to the second, as Sigstore's own TSA does; 'millis' adds the
   * millisecond fraction when it is non-zero. DER (X.690 §11.7) drops trailing zeros, so ".5" is valid, but
   * @sigstore/core 3.2.1 only parses fractions of exactly three digits and rejects such a token: keep
   * 'seconds' for Sigstore clients.
   */
  genTimePrecision?: 'seconds' | 'millis';
  signer: TsaSigner;
}

function sha(h: TsaHash, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(h).update(data).digest());
}

function signAsync(hash: TsaHash, data: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    cryptoSign(hash, data, key, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig))));
  });
}

/** The hash an ECDSA TSA key signs with: SHA-256 for P-256, SHA-384 for P-384 (RFC 5753 §2.1.1). */
function signerHash(key: KeyObject): TsaHash {
  if (!key || typeof key !== 'object' || key.type !== 'private') {
    throw new SignetError('INVALID_ARGUMENT', 'createTimeStampResponse: signer.privateKey must be a private KeyObject');
  }
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  if (curve === 'prime256v1') return 'sha256';
  if (curve === 'secp384r1') return 'sha384';
  throw new SignetError('UNSUPPORTED_ALGORITHM', `createTimeStampResponse: the TSA key must be ECDSA P-256 or P-384, got ${key.asymmetricKeyType} ${curve ?? ''}`.trim());
}

const attribute = (oid: string, value: Uint8Array): Uint8Array => derSequence(derOid(oid), derSetOf(value));

/** Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL, micros [1] ... } */
function accuracyDer(a: { seconds?: number; millis?: number }): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  if (a.seconds !== undefined) {
    if (!Number.isSafeInteger(a.seconds) || a.seconds < 0) throw new SignetError('INVALID_ARGUMENT', 'accuracy.seconds must be a non-negative integer');
    if (a.seconds > 0) parts.push(derInteger(a.seconds));
  }
  if (a.millis !== undefined) {
    if (!Number.isInteger(a.millis) || a.millis < 1 || a.millis > 999) throw new SignetError('INVALID_ARGUMENT', 'accuracy.millis must be 1..999');
    parts.push(derImplicit(0, derInteger(a.millis)));
  }
  return parts.length ? derSequence(...parts) : undefined;
}

/**
 * A granted TimeStampResp (RFC 3161 §2.4.2) whose token is a CMS SignedData v3 (RFC 5652 §5) over the
 * TSTInfo, signed by `signer` with sid = issuerAndSerialNumber and signed attributes contentType,
 * messageDigest and signingCertificateV2 (RFC 5035 §3, RFC 5816 §2.2.1).
 */
export async function createTimeStampResponse(o: TimeStampResponseOptions): Promise<Uint8Array> {
  const hashAlgorithm = checkHashName(o.hashAlgorithm, 'createTimeStampResponse');
  checkDigestLength(hashAlgorithm, o.hashedMessage, 'createTimeStampResponse hashedMessage', 'INVALID_ARGUMENT');
  if (typeof o.serialNumber !== 'bigint' || o.serialNumber < 0n) throw new SignetError('INVALID_ARGUMENT', 'createTimeStampResponse: serialNumber must be a non-negative bigint');
  if (o.nonce !== undefined && (typeof o.nonce !== 'bigint' || o.nonce < 0n)) throw new SignetError('INVALID_ARGUMENT', 'createTimeStampResponse: nonce must be a non-negative bigint');
  if (!(o.genTime instanceof Date) || Number.isNaN(o.genTime.getTime())) throw new SignetError('INVALID_ARGUMENT', 'createTimeStampResponse: genTime must be a valid Date');
  if (o.genTimePrecision !== undefined && o.genTimePrecision !== 'seconds' && o.genTimePrecision !== 'millis') {
    throw new SignetError('INVALID_ARGUMENT', "createTimeStampResponse: genTimePrecision must be 'seconds' or 'millis'");
  }
  if (!o.signer) throw new SignetError('INVALID_ARGUMENT', 'createTimeStampResponse: signer is required');
  const digestAlg = signerHash(o.signer.privateKey);
  const cert = parseCertificate(o.signer.certificate);
  const spki = (k: KeyObject): Uint8Array => new Uint8Array(k.export({ type: 'spki', format: 'der' }));
  if (!bytesEqual(spki(createPublicKey(o.signer.privateKey)), spki(cert.x509.publicKey))) {
    throw new SignetError('INVALID_ARGUMENT', `createTimeStampResponse: the private key does not belong to the certificate "${cert.name}"`);
  }

  // TSTInfo (RFC 3161 §2.4.2); ordering FALSE is the DEFAULT and so is omitted (X.690 §11.5).
  const tst: Uint8Array[] = [
    derInteger(1),
    derOid(o.policy),
    derSequence(hashAlgorithmDer(hashAlgorithm), derOctetString(o.hashedMessage)),
    derInteger(o.serialNumber),
    derGeneralizedTime(o.genTime, o.genTimePrecision === 'millis'),
  ];
  const acc = o.accuracy ? accuracyDer(o.accuracy) : undefined;
  if (acc) tst.push(acc);
  if (o.nonce !== undefined) tst.push(derInteger(o.nonce));
  const tstInfo = derSequence(...tst);

  // ESSCertIDv2 with hashAlgorithm omitted (DEFAULT id-sha256) and issuerSerial naming the certificate
  // (RFC 5035 §4); GeneralName directoryName [4] is EXPLICIT because Name is a CHOICE.
  const issuerSerial = derSequence(derSequence(derExplicit(4, cert.issuer)), cert.serial);
  const essCertId = derSequence(derOctetString(sha('sha256', cert.der)), issuerSerial);
  const signingCertificateV2 = derSequence(derSequence(essCertId));

  const signedAttrs = derSetOf(
    attribute(OID.contentType, derOid(OID.tstInfo)),
    attribute(OID.messageDigest, derOctetString(sha(digestAlg, tstInfo))),
    attribute(OID.signingCertificateV2, signingCertificateV2),
  );
  // RFC 5652 §5.4: the signature covers the DER SET OF the attributes, not the [0] IMPLICIT form.
  const signature = await signAsync(digestAlg, signedAttrs, o.signer.privateKey);

  const signerInfo = derSequence(
    derInteger(1),
    derSequence(cert.issuer, cert.serial),
    hashAlgorithmDer(digestAlg),
    derImplicit(0, signedAttrs),
    derSequence(derOid(ECDSA_OIDS[digestAlg])),
    derOctetString(signature),
  );
  const sd: Uint8Array[] = [
    derInteger(3),
    derSetOf(hashAlgorithmDer(digestAlg)),
    derSequence(derOid(OID.tstInfo), derExplicit(0, derOctetString(tstInfo))),
  ];
  if (o.certReq) {
    for (const c of o.signer.chain ?? []) parseCertificate(c);
    sd.push(derImplicit(0, derSetOf(cert.der, ...(o.signer.chain ?? []))));
  }
  sd.push(derSetOf(signerInfo));
  const contentInfo = derSequence(derOid(OID.signedData), derExplicit(0, derSequence(...sd)));
  return derSequence(derSequence(derInteger(PKI_STATUS.granted)), contentInfo);
}

/** A TimeStampResp without a token (RFC 3161 §2.4.2), for rejected requests. */
export function timeStampErrorResponse(status: PkiStatusName | number, failInfo?: FailureInfo | FailureInfo[], statusString?: string): Uint8Array {
  const code = typeof status === 'number' ? status : PKI_STATUS[status];
  if (code === undefined || !Number.isInteger(code) || code < 2 || code > 5) {
    throw new SignetError('INVALID_ARGUMENT', `timeStampErrorResponse: status ${String(status)} is not an error status (rejection, waiting, revocationWarning, revocationNotification)`);
  }
  const parts = [derInteger(code)];
  if (statusString !== undefined) parts.push(derSequence(derUtf8String(statusString)));
  const fails = failInfo === undefined ? [] : Array.isArray(failInfo) ? failInfo : [failInfo];
  if (fails.length) {
    const bitsSet = fails.map((f) => {
      const n = FAILURE_INFO[f];
      if (n === undefined) throw new SignetError('INVALID_ARGUMENT', `timeStampErrorResponse: unknown failInfo "${String(f)}"`);
      return n;
    });
    // Named BIT STRING in DER: trailing zero bits removed (X.690 §11.2.2).
    const top = Math.max(...bitsSet);
    const bytes = new Uint8Array((top >> 3) + 1);
    for (const n of bitsSet) bytes[n >> 3]! |= 0x80 >> (n & 7);
    parts.push(derBitString(bytes, 7 - (top & 7)));
  }
  return derSequence(derSequence(...parts));
}

// ---------------------------------------------------------------------------------------------
// Reading

const RESP = 'RFC 3161 TimeStampResp';
const TOKEN = 'RFC 3161 TimeStampToken';

/** Parses a TimeStampResp (RFC 3161 §2.4.2), and its token when one is present. */
export function parseTimeStampResponse(der: Uint8Array): TimeStampResponse {
  const top = readTop(der, RESP);
  const [statusT, tokenT, ...rest] = children(der, top);
  if (rest.length) malformed(RESP, 'unexpected fields after timeStampToken');
  const si = children(der, expectTag(statusT, 0x30, `${RESP} status`));
  const status = readInteger(der, si[0], `${RESP} status`);
  if (status > 5n) malformed(RESP, `unknown PKIStatus ${status}`);
  const out: TimeStampResponse = { status: Number(status), statusStrings: [], failInfo: [], certificates: [] };
  let i = 1;
  if (si[i]?.tag === 0x30) {
    out.statusStrings = children(der, si[i++]!).map((s) => new TextDecoder('utf-8', { fatal: true }).decode(content(der, expectTag(s, 0x0c, `${RESP} statusString`))));
  }
  if (si[i]?.tag === 0x03) out.failInfo = readFailInfo(der, si[i++]!);
  if (i !== si.length) malformed(RESP, 'unexpected field in PKIStatusInfo');
  const granted = out.status === 0 || out.status === 1;
  if (granted && !tokenT) malformed(RESP, 'status is granted but there is no timeStampToken');
  if (!granted && tokenT) malformed(RESP, `status ${out.status} carries a timeStampToken`);
  if (tokenT) {
    const tokenDer = Uint8Array.from(whole(der, tokenT));
    const token = parseTimeStampToken(tokenDer);
    out.token = tokenDer;
    out.tstInfo = token.tstInfo;
    out.certificates = token.certificates;
    out.signerInfo = token.signerInfo;
  }
  return out;
}

function readFailInfo(der: Uint8Array, t: Tlv): FailureInfo[] {
  const b = content(der, t);
  if (b.length === 0 || (b[0] as number) > 7) malformed(RESP, 'bad failInfo BIT STRING');
  const names: FailureInfo[] = [];
  for (const [name, bit] of Object.entries(FAILURE_INFO) as [FailureInfo, number][]) {
    const byte = b[1 + (bit >> 3)];
    if (byte !== undefined && byte & (0x80 >> (bit & 7))) names.push(name);
  }
  return names;
}

/** Parses a TimeStampToken: ContentInfo { id-signedData, SignedData } carrying a TSTInfo (RFC 3161 §2.4.2, RFC 5652). */
export function parseTimeStampToken(der: Uint8Array): TimeStampToken {
  const top = readTop(der, TOKEN);
  const [ct, explicit, ...rest] = children(der, top);
  if (rest.length) malformed(TOKEN, 'ContentInfo has more than two fields');
  const contentType = readOid(der, ct, `${TOKEN} contentType`);
  if (contentType !== OID.signedData) malformed(TOKEN, `contentType is ${contentType}, not id-signedData`);
  const [sdT, ...more] = children(der, expectTag(explicit, 0xa0, `${TOKEN} content`));
  if (more.length) malformed(TOKEN, 'trailing data after SignedData');
  const sd = children(der, expectTag(sdT, 0x30, `${TOKEN} SignedData`));
  let i = 0;
  const version = readInteger(der, sd[i++], `${TOKEN} SignedData version`);
  if (version !== 3n) malformed(TOKEN, `SignedData version must be 3 for id-ct-TSTInfo content (RFC 5652 §5.1), got ${version}`);
  const digestAlgs = expectTag(sd[i++], 0x31, `${TOKEN} digestAlgorithms`);
  for (const a of children(der, digestAlgs)) readAlgorithm(der, a, `${TOKEN} digestAlgorithms`);
  const encap = children(der, expectTag(sd[i++], 0x30, `${TOKEN} encapContentInfo`));
  const eContentType = readOid(der, encap[0], `${TOKEN} eContentType`);
  const eContentExplicit = expectTag(encap[1], 0xa0, `${TOKEN} eContent`);
  if (encap.length !== 2) malformed(TOKEN, 'encapContentInfo has unexpected fields');
  const inner = children(der, eContentExplicit);
  if (inner.length !== 1) malformed(TOKEN, 'eContent must hold one OCTET STRING');
  const tstInfoDer = Uint8Array.from(content(der, expectTag(inner[0], 0x04, `${TOKEN} eContent`)));
  const certificates: Uint8Array[] = [];
  if (sd[i]?.tag === 0xa0) {
    // CertificateChoices: only plain certificates (SEQUENCE) are of use; other choices are skipped.
    for (const c of children(der, sd[i++]!)) if (c.tag === 0x30) certificates.push(Uint8Array.from(whole(der, c)));
  }
  if (sd[i]?.tag === 0xa1) i++;
  const infos = children(der, expectTag(sd[i++], 0x31, `${TOKEN} signerInfos`));
  if (i !== sd.length) malformed(TOKEN, 'unexpected fields after signerInfos');
  // RFC 3161 §2.4.2: the token MUST NOT carry any signature other than the TSA's.
  if (infos.length !== 1) malformed(TOKEN, `expected exactly one SignerInfo, found ${infos.length}`);
  const signerInfo = readSignerInfo(der, infos[0]!);
  if (eContentType !== OID.tstInfo) malformed(TOKEN, `eContentType is ${eContentType}, not id-ct-TSTInfo`);
  return { der: Uint8Array.from(der), tstInfo: parseTstInfo(tstInfoDer), tstInfoDer, eContentType, certificates, signerInfo };
}

const SI = `${TOKEN} SignerInfo`;

function readSignerInfo(der: Uint8Array, t: Tlv): TsaSignerInfo {
  const f = children(der, expectTag(t, 0x30, SI));
  let i = 0;
  const version = Number(readInteger(der, f[i++], `${SI} version`));
  const sidT = f[i++];
  let sid: TsaSignerInfo['sid'];
  if (sidT?.tag === 0x30) {
    const [issuer, serial, ...rest] = children(der, sidT);
    if (rest.length) malformed(SI, 'issuerAndSerialNumber has extra fields');
    sid = {
      issuer: Uint8Array.from(whole(der, expectTag(issuer, 0x30, `${SI} issuer`))),
      serialNumber: Uint8Array.from(whole(der, expectTag(serial, 0x02, `${SI} serialNumber`))),
    };
    if (version !== 1) malformed(SI, `version must be 1 with issuerAndSerialNumber, got ${version}`);
  } else if (sidT?.tag === 0x80) {
    sid = { subjectKeyIdentifier: Uint8Array.from(content(der, sidT)) };
    if (version !== 3) malformed(SI, `version must be 3 with subjectKeyIdentifier, got ${version}`);
  } else {
    return malformed(SI, 'sid is neither issuerAndSerialNumber nor subjectKeyIdentifier');
  }
  const digestAlgorithm = readHashAlgorithm(der, f[i++], `${SI} digestAlgorithm`);
  if (f[i]?.tag !== 0xa0) malformed(SI, 'signedAttrs are missing (RFC 3161 tokens carry contentType, messageDigest and signingCertificate)');
  const attrsT = f[i++]!;
  const attributes = children(der, attrsT).map((a): CmsAttribute => {
    const [o, set, ...rest] = children(der, expectTag(a, 0x30, `${SI} attribute`));
    if (rest.length) malformed(SI, 'attribute has extra fields');
    const oid = readOid(der, o, `${SI} attribute type`);
    return { oid, values: children(der, expectTag(set, 0x31, `${SI} attribute ${oid} values`)).map((v) => Uint8Array.from(whole(der, v))) };
  });
  const signatureAlgorithm = readAlgorithm(der, f[i++], `${SI} signatureAlgorithm`).oid;
  const signature = Uint8Array.from(content(der, expectTag(f[i++], 0x04, `${SI} signature`)));
  if (f[i]?.tag === 0xa1) i++;
  if (i !== f.length) malformed(SI, 'unexpected fields');
  return { version, sid, digestAlgorithm, signedAttrs: Uint8Array.from(whole(der, attrsT)), attributes, signatureAlgorithm, signature };
}

const TST = 'RFC 3161 TSTInfo';

/** TSTInfo (RFC 3161 §2.4.2). */
export function parseTstInfo(der: Uint8Array): TstInfo {
  const f = children(der, readTop(der, TST));
  let i = 0;
  const version = readInteger(der, f[i++], `${TST} version`);
  if (version !== 1n) malformed(TST, `version must be 1, got ${version}`);
  const policy = readOid(der, f[i++], `${TST} policy`);
  const imprint = readMessageImprint(der, expectTag(f[i++], 0x30, `${TST} messageImprint`), `${TST} messageImprint`);
  const serialNumber = readSignedInteger(der, f[i++], `${TST} serialNumber`);
  const genTime = readGeneralizedTime(der, f[i++], `${TST} genTime`);
  const out: TstInfo = { version: 1, policy, ...imprint, serialNumber, genTime, ordering: false };
  if (f[i]?.tag === 0x30) out.accuracy = readAccuracy(der, f[i++]!);
  if (f[i]?.tag === 0x01) out.ordering = readBoolean(der, f[i++]!, `${TST} ordering`);
  if (f[i]?.tag === 0x02) out.nonce = readInteger(der, f[i++], `${TST} nonce`);
  if (f[i]?.tag === 0xa0) out.tsaName = Uint8Array.from(content(der, f[i++]!));
  if (f[i]?.tag === 0xa1) out.extensions = readExtensions(der, f[i++]!, `${TST} extensions`);
  if (i !== f.length) malformed(TST, `unexpected field with tag 0x${f[i]!.tag.toString(16)}`);
  return out;
}

function readAccuracy(der: Uint8Array, t: Tlv): Accuracy {
  const a: Accuracy = {};
  const implicitInt = (x: Tlv, what: string): number => {
    const v = Number(readUnsignedInteger(der, { ...x, tag: 0x02 }));
    if (v < 1 || v > 999) malformed(TST, `accuracy ${what} must be 1..999`);
    return v;
  };
  for (const x of children(der, t)) {
    if (x.tag === 0x02 && a.seconds === undefined && a.millis === undefined && a.micros === undefined) a.seconds = Number(readInteger(der, x, `${TST} accuracy seconds`));
    else if (x.tag === 0x80 && a.millis === undefined && a.micros === undefined) a.millis = implicitInt(x, 'millis');
    else if (x.tag === 0x81 && a.micros === undefined) a.micros = implicitInt(x, 'micros');
    else malformed(TST, 'bad Accuracy');
  }
  return a;
}

/** The signedAttrs re-tagged as SET OF (0x31): the bytes the signature covers (RFC 5652 §5.4). */
export function signedAttrsForSignature(si: TsaSignerInfo): Uint8Array {
  const b = Uint8Array.from(si.signedAttrs);
  b[0] = 0x31;
  return b;
}
