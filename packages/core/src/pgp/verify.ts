import {
  CleartextMessage,
  PacketList,
  Signature,
  SignaturePacket,
  config as defaultConfig,
  createMessage,
  enums,
  readCleartextMessage,
  readSignature,
  verify as pgpVerify,
  type Config,
  type Key,
  type Message,
  type Subkey,
} from 'openpgp';
import { fromUtf8 } from '../encoding/bytes.js';
import { toHex } from '../encoding/hex.js';
import { SignetError } from '../errors.js';
import { artifactBytes } from '../verify/artifact.js';
import type { Artifact, PgpVerifier, TrustedKey, TrustMaterial, Verdict, VerifyPolicy } from '../verify/types.js';
import { VerdictBuilder, checkValidity } from '../verify/verdict.js';
import { detectPgp } from './detect.js';
import { algorithmName, errorMessage, fingerprintOf, keyIdOf, trustedKeysOf } from './keys.js';

type PgpTrustedKey = Extract<TrustedKey, { kind: 'pgp' }>;

/** A trusted primary key and the TrustedKey entry it came from. */
interface TrustEntry {
  entry: PgpTrustedKey;
  key: Key;
}

/** A signature packet whose issuer is among the trusted keys. */
interface Match {
  sig: SignaturePacket;
  entry: PgpTrustedKey;
  key: Key;
  /** The primary key itself or the subkey that issued the signature. */
  signer: Key | Subkey;
}

/** More signature packets than this in one input are refused as hostile. */
const MAX_SIGNATURES = 256;

/** RFC 4880 §5.2.1: only these two types are signatures over data. */
const DOCUMENT_SIGNATURE_TYPES: ReadonlySet<number> = new Set([enums.signature.binary, enums.signature.text]);

/** RSA moduli below this many bits are refused (OpenPGP.js's default minRSABits). */
const MIN_RSA_BITS = 2047;

const HASH_NAMES: Record<number, string> = {
  [enums.hash.md5]: 'MD5',
  [enums.hash.sha1]: 'SHA-1',
  [enums.hash.ripemd]: 'RIPEMD-160',
  [enums.hash.sha224]: 'SHA-224',
  [enums.hash.sha256]: 'SHA-256',
  [enums.hash.sha384]: 'SHA-384',
  [enums.hash.sha512]: 'SHA-512',
  [enums.hash.sha3_256]: 'SHA3-256',
  [enums.hash.sha3_512]: 'SHA3-512',
};

function hashName(id: number | null): string {
  return id === null ? 'an unknown hash' : (HASH_NAMES[id] ?? `hash algorithm ${id}`);
}

/**
 * A full openpgp configuration for one call: the library defaults with the security-relevant
 * settings stated here, and SHA-1 / DSA let through only when the policy asks. Never global.
 */
function configFor(policy: VerifyPolicy): Config {
  const h = enums.hash;
  const pk = enums.publicKey;
  return {
    ...defaultConfig,
    v6Keys: false,
    minRSABits: MIN_RSA_BITS,
    rejectHashAlgorithms: new Set([h.md5, h.ripemd]),
    rejectMessageHashAlgorithms: new Set(policy.allowSha1 ? [h.md5, h.ripemd] : [h.md5, h.ripemd, h.sha1]),
    rejectPublicKeyAlgorithms: new Set(policy.allowDsa ? [pk.elgamal] : [pk.elgamal, pk.dsa]),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function loadTrust(trust: TrustMaterial): Promise<TrustEntry[]> {
  if (!trust || !Array.isArray(trust.keys)) throw new SignetError('INVALID_ARGUMENT', 'trust material must have a keys array');
  const out: TrustEntry[] = [];
  for (const entry of trust.keys) {
    if (entry.kind !== 'pgp') continue;
    if (!(entry.data instanceof Uint8Array)) {
      throw new SignetError('INVALID_ARGUMENT', 'a trusted OpenPGP key must carry its data as a Uint8Array');
    }
    for (const key of await trustedKeysOf(entry.data)) out.push({ entry, key });
  }
  return out;
}

/** The trusted key (primary or subkey) that issued `sig`, matched on key ID and, when present, issuer fingerprint. */
function findSigner(trusted: TrustEntry[], sig: SignaturePacket): Omit<Match, 'sig'> | undefined {
  const issuerFpr = sig.issuerFingerprint ? toHex(sig.issuerFingerprint) : undefined;
  for (const t of trusted) {
    for (const k of t.key.getKeys(sig.issuerKeyID)) {
      if (issuerFpr !== undefined && k.getFingerprint() !== issuerFpr) continue;
      return { entry: t.entry, key: t.key, signer: k };
    }
  }
  return undefined;
}

function describeSigner(m: Omit<Match, 'sig'>): string {
  const primary = fingerprintOf(m.key);
  const uid = m.key.getUserIDs()[0];
  const who = m.signer === m.key ? `key ${primary}` : `subkey ${fingerprintOf(m.signer)} of key ${primary}`;
  return uid === undefined ? who : `${who} (${uid})`;
}

/** 'algorithm': the hash of the signature and the algorithms of the signing key and its primary key. */
function algorithmCheck(m: Match, policy: VerifyPolicy): { ok: boolean; detail: string } {
  const hash = hashName(m.sig.hashAlgorithm);
  if (m.sig.hashAlgorithm === enums.hash.sha1 && !policy.allowSha1) {
    return { ok: false, detail: 'signature uses SHA-1, refused by default (SHA-1 is broken for signatures); set allowSha1 to accept' };
  }
  if (m.sig.hashAlgorithm === enums.hash.md5 || m.sig.hashAlgorithm === enums.hash.ripemd) {
    return { ok: false, detail: `signature uses ${hash}, which is not accepted` };
  }
  const keys = m.signer === m.key ? [m.key] : [m.signer, m.key];
  const notes: string[] = [];
  for (const k of keys) {
    const info = k.getAlgorithmInfo();
    const what = k === m.key ? `key ${fingerprintOf(k)}` : `signing subkey ${fingerprintOf(k)}`;
    if (info.algorithm === 'dsa') {
      if (!policy.allowDsa) return { ok: false, detail: `${what} uses DSA, refused by default; set allowDsa to accept` };
      notes.push('DSA accepted by allowDsa');
    }
    if (info.algorithm === 'elgamal') return { ok: false, detail: `${what} is an ElGamal key, which cannot sign` };
    if (info.algorithm.startsWith('rsa') && (info.bits ?? 0) < MIN_RSA_BITS) {
      return { ok: false, detail: `${what} uses RSA-${info.bits ?? '?'}, refused (RSA keys shorter than ${MIN_RSA_BITS} bits are too weak)` };
    }
  }
  if (m.sig.hashAlgorithm === enums.hash.sha1) notes.push('SHA-1 accepted by allowSha1');
  const base = `${algorithmName(m.signer.getAlgorithmInfo())} key, ${hash}`;
  return { ok: true, detail: notes.length ? `${base} (${notes.join('; ')})` : base };
}

/** Says why a key (or subkey) is not valid at `now`, from the error openpgp gives. */
async function invalidReason(k: Key | Subkey, label: string, e: unknown, now: Date): Promise<string> {
  const msg = errorMessage(e);
  if (/revoked/i.test(msg)) {
    const reason = k.revocationSignatures.find((s) => s.reasonForRevocationString)?.reasonForRevocationString;
    return `${label} is revoked${reason ? `: "${reason}"` : ''} (${msg})`;
  }
  if (k.getCreationTime().getTime() > now.getTime()) {
    return `${label} was created at ${k.getCreationTime().toISOString()}, after the verification time ${now.toISOString()}`;
  }
  if (/expired/i.test(msg)) {
    const exp = await k.getExpirationTime().catch(() => null);
    return exp instanceof Date ? `${label} expired at ${exp.toISOString()}` : `${label} is expired`;
  }
  return `${label} has no valid self-signature at ${now.toISOString()}: ${msg}`;
}

/**
 * 'key-validity': the TrustedKey's own validity window, then the OpenPGP key and signing subkey
 * at `now` (not revoked, not expired, valid self-signature and binding; RFC 4880 §5.2.3.6, §5.2.3.23).
 */
async function validityCheck(m: Match, now: Date, config: Config): Promise<{ ok: boolean; detail: string }> {
  const primary = fingerprintOf(m.key);
  const trustedAs = m.entry.name ? `trusted key "${m.entry.name}"` : `trusted key ${primary}`;
  const window = checkValidity(m.entry.validity, now);
  if (window && !window.ok) return { ok: false, detail: `${trustedAs}: ${window.detail}` };
  try {
    await m.key.verifyPrimaryKey(now, undefined, config);
  } catch (e) {
    return { ok: false, detail: await invalidReason(m.key, `key ${primary}`, e, now) };
  }
  if (m.signer !== m.key) {
    const sub = m.signer as Subkey;
    try {
      await sub.verify(now, config);
    } catch (e) {
      return { ok: false, detail: await invalidReason(sub, `signing subkey ${fingerprintOf(sub)}`, e, now) };
    }
  }
  const expiries: Date[] = [];
  for (const k of m.signer === m.key ? [m.key] : [m.key, m.signer]) {
    const t = await k.getExpirationTime().catch(() => null);
    if (t instanceof Date) expiries.push(t);
  }
  const until = expiries.length ? `until ${new Date(Math.min(...expiries.map((d) => d.getTime()))).toISOString()}` : 'with no expiry';
  let detail = `key ${primary} is valid at ${now.toISOString()}, ${until}`;
  if (window) detail += `; ${trustedAs}: ${window.detail}`;
  return { ok: true, detail };
}

/** Sorts an error from openpgp's signature verification into the check it concerns. */
function classify(e: unknown, m: Match, subject: string): { name: string; detail: string } {
  const msg = errorMessage(e);
  const who = describeSigner(m);
  const created = m.sig.created ? m.sig.created.toISOString() : 'an unknown time';
  if (/Could not find valid signing key packet|Could not verify primary key/.test(msg)) {
    if (/expired|revoked|in the future/i.test(msg)) {
      return { name: 'key-validity', detail: `${who} was not valid when the signature was made (${created}): ${msg}` };
    }
    if (/too weak|Insecure|not supported/i.test(msg)) return { name: 'algorithm', detail: `${who} was refused: ${msg}` };
    return { name: 'key', detail: `${who} is not a valid signing key: ${msg}` };
  }
  if (/Signed digest did not match|Signature verification failed/.test(msg)) {
    return { name: 'signature', detail: `signature does not match the ${subject} (issuer: ${who})` };
  }
  if (/Signature creation time is in the future/.test(msg)) {
    return { name: 'signature', detail: `signature was made at ${created}, after the verification time` };
  }
  if (/Signature is expired/.test(msg)) return { name: 'signature', detail: `signature by ${who} has expired` };
  if (/Key is newer than the signature/.test(msg)) {
    return { name: 'key-validity', detail: `${who} was created after the signature (${created})` };
  }
  if (/too weak|Insecure/i.test(msg)) {
    return { name: 'algorithm', detail: `signature by ${who} (${hashName(m.sig.hashAlgorithm)}) was refused: ${msg}` };
  }
  return { name: 'signature', detail: `signature by ${who} could not be verified: ${msg}` };
}

/** A Signature holding one packet, so that each signature is verified (and reported) on its own. */
function single(sig: SignaturePacket): Signature {
  const list = new PacketList<SignaturePacket>();
  list.push(sig);
  return new Signature(list);
}

/** openpgp's CleartextMessage constructor (text, signature); its type declarations leave it out. */
const NewCleartextMessage = CleartextMessage as unknown as new (text: string, signature: Signature) => CleartextMessage;

interface Signed {
  /** 'detached signature' or 'cleartext-signed message', for details. */
  label: string;
  /** What the signature covers, for details: 'artifact' or 'signed text'. */
  subject: string;
  packets: SignaturePacket[];
  /** Verifies one signature packet against one key; rejects when it does not verify. */
  verifyOne(sig: SignaturePacket, key: Key, now: Date, config: Config): Promise<void>;
}

/** Checks for one trusted signature; true when it verified. */
async function checkOne(vb: VerdictBuilder, m: Match, signed: Signed, policy: VerifyPolicy, now: Date, config: Config): Promise<boolean> {
  const who = describeSigner(m);
  vb.pass('key', `signed by ${who}${m.entry.name ? `, trusted as "${m.entry.name}"` : ''}`);
  const alg = algorithmCheck(m, policy);
  if (!vb.check('algorithm', alg.ok, alg.detail)) return false;
  const validity = await validityCheck(m, now, config);
  if (!vb.check('key-validity', validity.ok, validity.detail)) return false;
  try {
    await signed.verifyOne(m.sig, m.key, now, config);
  } catch (e) {
    const c = classify(e, m, signed.subject);
    vb.fail(c.name, c.detail);
    return false;
  }
  vb.pass('signature', `good signature by ${who}, made ${m.sig.created ? m.sig.created.toISOString() : 'at an unknown time'}`);
  return true;
}

/** Does one of the key's valid user IDs carry `identity` as its email address or its full text? */
async function identityOf(key: Key, identity: string, now: Date, config: Config): Promise<string | undefined> {
  const wanted = identity.toLowerCase();
  for (const user of key.users) {
    const uid = user.userID;
    if (!uid) continue;
    if (uid.userID !== identity && (uid.email === '' || uid.email.toLowerCase() !== wanted)) continue;
    try {
      await user.verify(now, config);
      return uid.userID;
    } catch {
      // a revoked or unsigned user ID does not count
    }
  }
  return undefined;
}

async function primaryUserId(key: Key, now: Date, config: Config): Promise<string | undefined> {
  try {
    const { user } = await key.getPrimaryUser(now, undefined, config);
    if (user.userID) return user.userID.userID;
  } catch {
    // fall back to the first user ID below
  }
  return key.getUserIDs()[0];
}

/**
 * The common part: RFC 4880 §5.2 signature packets, matched against the trusted keys. The verdict
 * is ok when at least one signature by a trusted key verifies and no signature by a trusted key
 * fails; signatures by other keys are noted in the 'format' check and otherwise ignored.
 */
async function verifySigned(vb: VerdictBuilder, signed: Signed, trusted: TrustEntry[], policy: VerifyPolicy): Promise<Verdict> {
  const now = policy.now ?? new Date();
  const config = configFor(policy);
  const { packets, label } = signed;
  if (packets.length === 0) return vb.failWith('format', `${label} holds no signature packets`);
  if (packets.length > MAX_SIGNATURES) return vb.failWith('format', `${label} holds ${packets.length} signatures; at most ${MAX_SIGNATURES} are accepted`);
  for (const [i, sig] of packets.entries()) {
    if (sig.signatureType === null || !DOCUMENT_SIGNATURE_TYPES.has(sig.signatureType)) {
      const type = sig.signatureType === null ? 'unknown' : `0x${sig.signatureType.toString(16).padStart(2, '0')}`;
      return vb.failWith('format', `signature ${i + 1} of the ${label} has type ${type}, not a signature over data (RFC 4880 §5.2.1)`);
    }
  }
  const matches: Match[] = [];
  const unknownIds: string[] = [];
  for (const sig of packets) {
    const found = findSigner(trusted, sig);
    if (found) matches.push({ sig, ...found });
    else unknownIds.push(sig.issuerKeyID.toHex().toUpperCase());
  }
  const parsed = `${label}, ${plural(packets.length, 'signature')}`;
  if (trusted.length === 0) {
    vb.pass('format', parsed);
    return vb.failWith('key', 'the trust material holds no OpenPGP keys (kind "pgp")');
  }
  if (matches.length === 0) {
    vb.pass('format', parsed);
    return vb.failWith('key', `no trusted key with key ID ${[...new Set(unknownIds)].join(', ')}`);
  }
  vb.pass(
    'format',
    unknownIds.length === 0
      ? parsed
      : `${parsed}; ${plural(unknownIds.length, 'signature')} by keys not in the trust material ${unknownIds.length === 1 ? 'was' : 'were'} ignored (key ID ${[...new Set(unknownIds)].join(', ')})`,
  );

  const good: Match[] = [];
  for (const m of matches) if (await checkOne(vb, m, signed, policy, now, config)) good.push(m);
  if (good.length === 0) return vb.done();

  let chosen = good[0] as Match;
  let identity = await primaryUserId(chosen.key, now, config);
  if (policy.identity !== undefined) {
    let matched: string | undefined;
    for (const m of good) {
      matched = await identityOf(m.key, policy.identity, now, config);
      if (matched !== undefined) {
        chosen = m;
        identity = matched;
        break;
      }
    }
    if (matched === undefined) {
      const seen = good.flatMap((m) => m.key.getUserIDs());
      return vb.failWith(
        'identity',
        `no user ID of the signing key matches "${policy.identity}" (user IDs: ${seen.length ? seen.map((u) => `"${u}"`).join(', ') : 'none'})`,
      );
    }
    vb.pass('identity', `user ID "${matched}" matches "${policy.identity}"`);
  }
  vb.signer({
    keyId: fingerprintOf(chosen.key),
    ...(identity !== undefined ? { identity } : {}),
    ...(chosen.sig.created ? { timestamp: chosen.sig.created.toISOString() } : {}),
  });
  return vb.done();
}

function signaturePackets(sig: Signature): SignaturePacket[] | string {
  const other = sig.packets.filter((p) => !(p instanceof SignaturePacket));
  if (other.length > 0) {
    return `holds ${plural(other.length, 'packet')} that could not be read as ${other.length === 1 ? 'a signature' : 'signatures'} (unsupported version or type)`;
  }
  return [...sig.packets];
}

/** Reads a detached signature, armored or binary; a string is the reason it could not be read. */
async function readDetached(signature: Uint8Array): Promise<Signature | string> {
  const kind = detectPgp(signature);
  try {
    if (kind === 'armored-signature') return await readSignature({ armoredSignature: fromUtf8(signature) });
    if (kind === 'binary-signature') return await readSignature({ binarySignature: signature });
  } catch (e) {
    return `signature could not be parsed: ${errorMessage(e)}`;
  }
  if (kind === 'cleartext') return 'this is a cleartext-signed message (BEGIN PGP SIGNED MESSAGE), not a detached signature';
  if (kind === 'armored-key' || kind === 'binary-key') return 'this is an OpenPGP key, not a signature';
  return 'not an OpenPGP signature: expected an armored signature (BEGIN PGP SIGNATURE) or a binary signature packet (RFC 4880 §4.2, tag 2)';
}

/**
 * Verifies a detached OpenPGP signature (armored or binary; RFC 4880 §11.4) over the artifact
 * bytes. The data is always taken as binary; text-mode signatures (type 0x01) are canonicalised by
 * their type.
 */
export async function verifyPgpDetached(
  artifact: Artifact,
  signature: Uint8Array,
  trust: TrustMaterial,
  policy: VerifyPolicy = {},
): Promise<Verdict> {
  if (!(signature instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'the signature must be a Uint8Array');
  const vb = new VerdictBuilder('pgp');
  const trusted = await loadTrust(trust);
  const bytes = artifactBytes(artifact);
  if (!bytes) return vb.failWith('artifact', 'an OpenPGP signature covers the artifact bytes; a digest alone cannot be verified');
  const sig = await readDetached(signature);
  if (typeof sig === 'string') return vb.failWith('format', sig);
  const packets = signaturePackets(sig);
  if (typeof packets === 'string') return vb.failWith('format', `the detached signature ${packets}`);
  let message: Message<Uint8Array> | undefined;
  return verifySigned(
    vb,
    {
      label: 'detached signature',
      subject: 'artifact',
      packets,
      async verifyOne(one, key, now, config) {
        message ??= await createMessage({ binary: bytes });
        const r = await pgpVerify({ message, signature: single(one), verificationKeys: [key], date: now, config, format: 'binary' });
        const [result] = r.signatures;
        if (!result) throw new Error('signature was not checked');
        await result.verified;
      },
    },
    trusted,
    policy,
  );
}

/**
 * Verifies a cleartext-signed message (RFC 4880 §7). When it verifies, the verdict's `text` is the
 * signed text as OpenPGP.js gives it: dash-escaping removed, LF line ends, no final newline.
 */
export async function verifyPgpCleartext(message: Uint8Array, trust: TrustMaterial, policy: VerifyPolicy = {}): Promise<Verdict> {
  if (!(message instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'the message must be a Uint8Array');
  const vb = new VerdictBuilder('pgp');
  const trusted = await loadTrust(trust);
  if (detectPgp(message) !== 'cleartext') {
    return vb.failWith('format', 'not a cleartext-signed message: expected a "-----BEGIN PGP SIGNED MESSAGE-----" line (RFC 4880 §7)');
  }
  let cleartext: CleartextMessage;
  try {
    cleartext = await readCleartextMessage({ cleartextMessage: fromUtf8(message) });
  } catch (e) {
    return vb.failWith('format', `cleartext-signed message could not be parsed: ${errorMessage(e)}`);
  }
  // The parsed signature block; openpgp's type declarations leave the property out.
  const packets = signaturePackets((cleartext as unknown as { signature: Signature }).signature);
  if (typeof packets === 'string') return vb.failWith('format', `the cleartext signature ${packets}`);
  const text = cleartext.getText();
  vb.set({ text });
  return verifySigned(
    vb,
    {
      label: 'cleartext-signed message',
      subject: 'signed text',
      packets,
      async verifyOne(one, key, now, config) {
        const r = await pgpVerify({ message: new NewCleartextMessage(text, single(one)), verificationKeys: [key], date: now, config });
        const [result] = r.signatures;
        if (!result) throw new Error('signature was not checked');
        await result.verified;
      },
    },
    trusted,
    policy,
  );
}

/** Both verifiers, for verify() in the main @signet/core entry. */
export const pgpVerifier: PgpVerifier = {
  verifyDetached: verifyPgpDetached,
  verifyCleartext: verifyPgpCleartext,
};
