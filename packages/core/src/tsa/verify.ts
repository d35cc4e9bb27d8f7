import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';
import { readTlv } from '../encoding/der.js';
import type { Check } from '../verify/types.js';
import { derOid } from '../encoding/der-writer.js';
import { OID, checkDigestLength, checkHashName, children, content, expectTag, readHashAlgorithm, readTop, whole, type TsaHash } from './asn1.js';
import {
  basicConstraints,
  extendedKeyUsage,
  extension,
  hasKeyCertSign,
  isSelfSigned,
  parseCertificate,
  sameCert,
  serialHex,
  subjectKeyIdentifier,
  type TsaCertificate,
} from './certificate.js';
import { PKI_STATUS, parseTimeStampResponse, parseTimeStampToken, signedAttrsForSignature, type TimeStampToken, type TstInfo } from './response.js';

export interface TimeStampVerifyOptions {
  /** The time-stamped bytes (for Sigstore: the signature bytes). */
  data?: Uint8Array;
  /** Or their digest, which must use the token's hash algorithm. */
  digest?: { algorithm: TsaHash; value: Uint8Array };
  /** Trusted TSA certificates, DER: the TSA leaf and its chain up to a self-signed root. */
  tsaCertificates: Uint8Array[];
  /** The nonce sent in the request, when one was. */
  nonce?: bigint;
  /** The verifier's clock, to reject tokens dated in the future; defaults to now. */
  now?: Date;
}

export interface TimeStampVerdict {
  /** True only when every check passed, including 'signature' and 'signer'. */
  ok: boolean;
  /** The time the TSA vouches for; set only when ok. */
  genTime?: Date;
  tstInfo?: TstInfo;
  /** The TSA certificate's subject, when ok. */
  tsa?: string;
  checks: Check[];
}

/** How far genTime may lie ahead of the verifier's clock, beyond the token's stated accuracy. */
const CLOCK_SKEW_MS = 60_000;

const SIGNATURE_ALGS: Record<string, { key: 'ec' | 'rsa'; hash?: TsaHash }> = {
  '1.2.840.10045.4.3.2': { key: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { key: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { key: 'ec', hash: 'sha512' },
  '1.2.840.10045.2.1': { key: 'ec' },
  '1.2.840.113549.1.1.1': { key: 'rsa' },
  '1.2.840.113549.1.1.11': { key: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'sha512' },
};

const hashOf = (h: string, data: Uint8Array): Uint8Array => new Uint8Array(createHash(h).update(data).digest());

function verifyAsync(hash: TsaHash, data: Uint8Array, key: KeyObject, sig: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      cryptoVerify(hash, data, key, sig, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const iso = (d: Date): string => d.toISOString();

/** Accepts a TimeStampResp (what a TSA returns, and what Sigstore bundles carry) or a bare TimeStampToken. */
function parseEither(der: Uint8Array): { token?: TimeStampToken; refused?: string } {
  const top = readTlv(der, 0);
  const first = top.tag === 0x30 ? readTlv(der, top.contentStart, top.end) : undefined;
  if (first?.tag === 0x06) return { token: parseTimeStampToken(der) };
  const resp = parseTimeStampResponse(der);
  if (!resp.token) {
    const name = Object.entries(PKI_STATUS).find(([, v]) => v === resp.status)?.[0] ?? String(resp.status);
    const why = [...resp.failInfo, ...resp.statusStrings.map((s) => JSON.stringify(s))].join(', ');
    return { refused: `the TSA did not grant a time-stamp: status ${name}${why ? ` (${why})` : ''}` };
  }
  return { token: parseTimeStampToken(resp.token) };
}

function matchesSid(c: TsaCertificate, sid: TimeStampToken['signerInfo']['sid']): boolean {
  if ('issuer' in sid) return bytesEqual(c.issuer, sid.issuer) && bytesEqual(c.serial, sid.serialNumber);
  const ski = subjectKeyIdentifier(c);
  return ski !== undefined && bytesEqual(ski, sid.subjectKeyIdentifier);
}

function safeVerifyCert(c: TsaCertificate, issuer: TsaCertificate): boolean {
  try {
    return c.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Builds the path from the TSA leaf to a self-signed root among the trusted certificates; intermediates
 * may also come from the token. Each signature is checked, and each issuer must be a CA (RFC 5280 §4.2.1.9)
 * allowed to sign certificates (§4.2.1.3) within its pathLenConstraint.
 */
function buildChain(leaf: TsaCertificate, trusted: TsaCertificate[], extra: TsaCertificate[]): { chain: TsaCertificate[]; error?: string } {
  const chain = [leaf];
  let cur = leaf;
  for (let depth = 0; depth < 8; depth++) {
    if (isSelfSigned(cur)) {
      if (trusted.some((t) => sameCert(t, cur))) return { chain };
      return { chain, error: `the chain ends at the self-signed "${cur.name}", which is not among the trusted TSA certificates` };
    }
    const candidates = [...trusted, ...extra].filter((c) => bytesEqual(c.subject, cur.issuer) && !chain.some((x) => sameCert(x, c)));
    const issuer = candidates.find((c) => safeVerifyCert(cur, c));
    if (!issuer) {
      const issuerName = cur.x509.issuer.replace(/\n/g, ', ');
      return {
        chain,
        error: candidates.length
          ? `the signature on "${cur.name}" does not verify with the key of "${issuerName}"`
          : `the issuer "${issuerName}" of "${cur.name}" is not among the trusted TSA certificates`,
      };
    }
    let bc: { ca: boolean; pathLen?: number };
    let certSign: boolean | undefined;
    try {
      bc = basicConstraints(issuer);
      certSign = hasKeyCertSign(issuer);
    } catch (e) {
      return { chain, error: `"${issuer.name}" has a malformed extension: ${message(e)}` };
    }
    if (!bc.ca) return { chain, error: `"${issuer.name}" issued "${cur.name}" but is not a CA (basicConstraints cA is not set)` };
    if (certSign === false) return { chain, error: `"${issuer.name}" issued "${cur.name}" but its keyUsage lacks keyCertSign` };
    if (bc.pathLen !== undefined && chain.length - 1 > bc.pathLen) {
      return { chain, error: `"${issuer.name}" allows ${bc.pathLen} intermediate CA(s) below it, the chain has ${chain.length - 1}` };
    }
    chain.push(issuer);
    cur = issuer;
  }
  return { chain, error: 'the certificate chain is longer than 8' };
}

/**
 * The signingCertificateV2 (RFC 5035 §3) or signingCertificate (RFC 2634 §5.4) attribute: its first
 * ESSCertID must name the signer certificate by hash and, when present, by issuer and serial.
 */
function checkEssCertId(token: TimeStampToken, signer: TsaCertificate): string | undefined {
  const attrs = token.signerInfo.attributes;
  const v2 = attrs.filter((a) => a.oid === OID.signingCertificateV2);
  const v1 = attrs.filter((a) => a.oid === OID.signingCertificate);
  if (v2.length + v1.length === 0) return 'the token has no signingCertificate or signingCertificateV2 attribute (RFC 3161 §2.4.2, RFC 5816)';
  if (v2.length > 1 || v1.length > 1) return 'the signingCertificate attribute appears more than once';
  const attr = (v2[0] ?? v1[0])!;
  if (attr.values.length !== 1) return 'the signingCertificate attribute must have exactly one value';
  const b = attr.values[0]!;
  try {
    const [certs] = children(b, readTop(b, 'SigningCertificate'));
    const [first] = children(b, expectTag(certs, 0x30, 'SigningCertificate certs'));
    const f = children(b, expectTag(first, 0x30, 'ESSCertID'));
    let i = 0;
    let hash = 'sha1';
    if (v2.length) hash = f[i]?.tag === 0x30 ? readHashAlgorithm(b, f[i++], 'ESSCertIDv2 hashAlgorithm') : 'sha256';
    const certHash = content(b, expectTag(f[i++], 0x04, 'ESSCertID certHash'));
    if (!bytesEqual(certHash, hashOf(hash, signer.der))) {
      return `the ${v2.length ? 'signingCertificateV2' : 'signingCertificate'} attribute names another certificate than "${signer.name}"`;
    }
    if (f[i]) {
      const [names, serial] = children(b, expectTag(f[i], 0x30, 'ESSCertID issuerSerial'));
      const dirNames = children(b, expectTag(names, 0x30, 'IssuerSerial issuer')).filter((n) => n.tag === 0xa4);
      const issuerOk = dirNames.some((n) => bytesEqual(content(b, n), signer.issuer));
      if (!issuerOk || !bytesEqual(whole(b, expectTag(serial, 0x02, 'IssuerSerial serialNumber')), signer.serial)) {
        return `the signingCertificate issuerSerial does not match "${signer.name}"`;
      }
    }
    return undefined;
  } catch (e) {
    return `the signingCertificate attribute is malformed: ${message(e)}`;
  }
}

/** The one value of a signed attribute that must appear exactly once (RFC 5652 §5.3). */
function singleValue(token: TimeStampToken, oid: string, name: string): Uint8Array | string {
  const found = token.signerInfo.attributes.filter((a) => a.oid === oid);
  if (found.length !== 1) return found.length ? `the ${name} attribute appears ${found.length} times` : `the ${name} signed attribute is missing`;
  const values = found[0]!.values;
  if (values.length !== 1) return `the ${name} attribute must have exactly one value`;
  return values[0]!;
}

async function checkSignature(token: TimeStampToken, signer: TsaCertificate): Promise<{ ok: boolean; detail: string }> {
  const si = token.signerInfo;
  const ct = singleValue(token, OID.contentType, 'contentType');
  if (typeof ct === 'string') return { ok: false, detail: ct };
  if (!bytesEqual(ct, derOid(OID.tstInfo))) return { ok: false, detail: 'the contentType signed attribute is not id-ct-TSTInfo' };
  const md = singleValue(token, OID.messageDigest, 'messageDigest');
  if (typeof md === 'string') return { ok: false, detail: md };
  let mdValue: Uint8Array;
  try {
    mdValue = content(md, readTop(md, 'messageDigest', 0x04));
  } catch (e) {
    return { ok: false, detail: `the messageDigest attribute is malformed: ${message(e)}` };
  }
  if (!bytesEqual(mdValue, hashOf(si.digestAlgorithm, token.tstInfoDer))) {
    return { ok: false, detail: 'the messageDigest attribute does not match the TSTInfo: the TSTInfo was changed after signing' };
  }
  const alg = SIGNATURE_ALGS[si.signatureAlgorithm];
  const key = signer.x509.publicKey;
  if (!alg) return { ok: false, detail: `unsupported signature algorithm ${si.signatureAlgorithm}` };
  if (key.asymmetricKeyType !== alg.key) return { ok: false, detail: `signature algorithm ${si.signatureAlgorithm} does not fit the ${key.asymmetricKeyType} key of "${signer.name}"` };
  const ok = await verifyAsync(alg.hash ?? si.digestAlgorithm, signedAttrsForSignature(si), key, si.signature);
  return ok
    ? { ok: true, detail: `the signature over the signed attributes verifies with the key of "${signer.name}"` }
    : { ok: false, detail: `the signature over the signed attributes does not verify with the key of "${signer.name}": the signed attributes were changed, or another key signed` };
}

function checkEku(leaf: TsaCertificate): { ok: boolean; detail: string } {
  const ext = extension(leaf, OID.extKeyUsage);
  if (!ext) return { ok: false, detail: `"${leaf.name}" has no extendedKeyUsage extension; RFC 3161 §2.3 requires a critical id-kp-timeStamping` };
  let purposes: string[];
  try {
    purposes = extendedKeyUsage(leaf);
  } catch (e) {
    return { ok: false, detail: `"${leaf.name}" has a malformed extendedKeyUsage: ${message(e)}` };
  }
  if (!purposes.includes(OID.timeStamping)) return { ok: false, detail: `"${leaf.name}" is not a time-stamping certificate: its extendedKeyUsage lacks id-kp-timeStamping` };
  if (purposes.length !== 1) return { ok: false, detail: `"${leaf.name}" has extendedKeyUsage purposes besides id-kp-timeStamping (RFC 3161 §2.3 allows only that one)` };
  if (!ext.critical) return { ok: false, detail: `the extendedKeyUsage of "${leaf.name}" is not critical, as RFC 3161 §2.3 requires` };
  return { ok: true, detail: `"${leaf.name}" has the critical extendedKeyUsage id-kp-timeStamping` };
}

/**
 * Verifies an RFC 3161 time-stamp token (or the TimeStampResp carrying it) over `data` or its digest,
 * against trusted TSA certificates. A token that does not verify gives ok=false with the failed check
 * named; only misuse (no data nor digest, unparseable trusted certificates) throws.
 */
export async function verifyTimeStampToken(token: Uint8Array, opts: TimeStampVerifyOptions): Promise<TimeStampVerdict> {
  if (!opts || !Array.isArray(opts.tsaCertificates)) throw new SignetError('INVALID_ARGUMENT', 'verifyTimeStampToken: tsaCertificates (DER) are required');
  if (!opts.data && !opts.digest) throw new SignetError('INVALID_ARGUMENT', 'verifyTimeStampToken: give the time-stamped data or its digest');
  if (opts.digest) {
    checkHashName(opts.digest.algorithm, 'verifyTimeStampToken digest');
    checkDigestLength(opts.digest.algorithm, opts.digest.value, 'verifyTimeStampToken digest', 'INVALID_ARGUMENT');
  }
  const trusted = opts.tsaCertificates.map((c) => parseCertificate(c));
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string): boolean => {
    checks.push({ name, ok, detail });
    return ok;
  };
  const finish = (tok?: TimeStampToken, leaf?: TsaCertificate): TimeStampVerdict => {
    const passed = (n: string): boolean => checks.some((c) => c.name === n && c.ok);
    const ok = checks.every((c) => c.ok) && passed('signature') && passed('signer');
    const v: TimeStampVerdict = { ok, checks };
    if (tok) v.tstInfo = tok.tstInfo;
    if (ok && tok) v.genTime = tok.tstInfo.genTime;
    if (ok && leaf) v.tsa = leaf.name;
    return v;
  };

  // format
  let tok: TimeStampToken;
  try {
    const parsed = parseEither(token);
    if (!parsed.token) {
      add('format', false, parsed.refused ?? 'no time-stamp token');
      return finish();
    }
    tok = parsed.token;
  } catch (e) {
    const unsupported = e instanceof SignetError && e.code === 'UNSUPPORTED_ALGORITHM';
    add(unsupported ? 'algorithm' : 'format', false, `not a valid RFC 3161 time-stamp token: ${message(e)}`);
    return finish();
  }
  const tst = tok.tstInfo;
  add('format', true, `RFC 3161 time-stamp token, serial ${tst.serialNumber.toString(16)}, policy ${tst.policy}, genTime ${iso(tst.genTime)}`);

  // message-imprint
  if (opts.digest) {
    if (opts.digest.algorithm !== tst.hashAlgorithm) {
      add('message-imprint', false, `the token's message imprint is ${tst.hashAlgorithm}, the digest given is ${opts.digest.algorithm}`);
    } else {
      const same = bytesEqual(opts.digest.value, tst.hashedMessage);
      add('message-imprint', same, same ? `the message imprint matches the ${tst.hashAlgorithm} digest` : 'the message imprint does not match the digest: the token time-stamps other data');
    }
  } else {
    const same = bytesEqual(hashOf(tst.hashAlgorithm, opts.data!), tst.hashedMessage);
    add('message-imprint', same, same ? `the message imprint matches the ${tst.hashAlgorithm} of the data` : 'the message imprint does not match the data: the token time-stamps other data');
  }

  // signer certificate: from the token or the trusted list, by sid
  const fromToken: TsaCertificate[] = [];
  for (const c of tok.certificates) {
    try {
      fromToken.push(parseCertificate(c));
    } catch {
      // an unparseable embedded certificate cannot be the signer; the sid lookup reports a missing one
    }
  }
  const sid = tok.signerInfo.sid;
  const leaf = [...trusted, ...fromToken].find((c) => matchesSid(c, sid));
  if (!leaf) {
    const who = 'issuer' in sid ? `serial ${serialHex(sid.serialNumber)}` : 'the given subjectKeyIdentifier';
    add('signer', false, `no certificate with ${who} from the token's issuer is in the token or among the trusted TSA certificates`);
    return finish(tok);
  }

  const sig = await checkSignature(tok, leaf);
  add('signature', sig.ok, sig.detail);

  const { chain, error } = buildChain(leaf, trusted, fromToken);
  const ess = checkEssCertId(tok, leaf);
  if (error) add('signer', false, error);
  else if (ess) add('signer', false, ess);
  else add('signer', true, `signed by "${leaf.name}" (serial ${serialHex(leaf.serial)}), which chains to the trusted root "${chain[chain.length - 1]!.name}"`);

  const eku = checkEku(leaf);
  add('eku', eku.ok, eku.detail);

  const invalid = chain.find((c) => tst.genTime < c.notBefore || tst.genTime > c.notAfter);
  add(
    'validity',
    !invalid,
    invalid
      ? `"${invalid.name}" was not valid at genTime ${iso(tst.genTime)}: it is valid from ${iso(invalid.notBefore)} to ${iso(invalid.notAfter)}`
      : `every certificate in the chain was valid at genTime ${iso(tst.genTime)}`,
  );

  if (opts.nonce !== undefined) {
    if (tst.nonce === undefined) add('nonce', false, 'the request had a nonce, the token has none');
    else add('nonce', tst.nonce === opts.nonce, tst.nonce === opts.nonce ? 'the nonce matches the request' : `the token's nonce ${tst.nonce} is not the request's ${opts.nonce}`);
  }

  const now = opts.now ?? new Date();
  const acc = tst.accuracy;
  const slack = CLOCK_SKEW_MS + (acc ? (acc.seconds ?? 0) * 1000 + (acc.millis ?? 0) + Math.ceil((acc.micros ?? 0) / 1000) : 0);
  if (tst.genTime.getTime() - slack > now.getTime()) add('gen-time', false, `genTime ${iso(tst.genTime)} is in the future (now is ${iso(now)})`);

  return finish(tok, leaf);
}
