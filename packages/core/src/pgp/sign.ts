import {
  createCleartextMessage,
  createMessage,
  decryptKey,
  generateKey,
  readPrivateKey,
  sign,
  type PartialConfig,
  type PrivateKey,
  type UserID,
} from 'openpgp';
import { SignetError } from '../errors.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { detectPgp } from './detect.js';
import { errorMessage, fingerprintOf } from './keys.js';

/**
 * v4 keys only (RFC 4880): v6 keys (RFC 9580) are not understood by gpg 2.2, gpgv or sqv on
 * Debian bookworm. These are OpenPGP.js's defaults; they are restated so a changed global
 * openpgp config cannot turn them on.
 */
const V4_ONLY: PartialConfig = { v6Keys: false, enableParsingV5Entities: false };

export interface GeneratePgpKeyOptions {
  name?: string;
  email: string;
  /** 'ed25519' (default; legacy EdDSA, algorithm 22, as gpg makes) or 'rsa4096'. */
  type?: 'ed25519' | 'rsa4096';
  /** Protects the armored private key (iterated-salted S2K, RFC 4880 §3.7.1.3). */
  passphrase?: string;
}

/**
 * Generates a v4 signing key: a primary key with the certify and sign flags and no subkeys.
 * Returns the armored private and public keys and the fingerprint (40 uppercase hex).
 */
export async function generatePgpKey(
  opts: GeneratePgpKeyOptions,
): Promise<{ privateKey: string; publicKey: string; fingerprint: string }> {
  if (!opts || typeof opts.email !== 'string' || opts.email.trim() === '') {
    throw new SignetError('INVALID_ARGUMENT', 'generatePgpKey needs an email address');
  }
  const type = opts.type ?? 'ed25519';
  if (type !== 'ed25519' && type !== 'rsa4096') {
    throw new SignetError('UNSUPPORTED_ALGORITHM', `unsupported OpenPGP key type "${String(type)}" (use ed25519 or rsa4096)`);
  }
  if (opts.passphrase !== undefined && (typeof opts.passphrase !== 'string' || opts.passphrase === '')) {
    throw new SignetError('INVALID_ARGUMENT', 'the passphrase must be a non-empty string (omit it for an unprotected key)');
  }
  const userID: UserID = opts.name ? { name: opts.name, email: opts.email } : { email: opts.email };
  const common = {
    userIDs: [userID],
    subkeys: [],
    format: 'object' as const,
    config: V4_ONLY,
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
  };
  try {
    const { privateKey, publicKey } =
      type === 'ed25519'
        ? await generateKey({ ...common, type: 'ecc', curve: 'ed25519Legacy' })
        : await generateKey({ ...common, type: 'rsa', rsaBits: 4096 });
    return { privateKey: privateKey.armor(), publicKey: publicKey.armor(), fingerprint: fingerprintOf(privateKey) };
  } catch (e) {
    throw new SignetError('INVALID_ARGUMENT', `could not generate the OpenPGP key: ${errorMessage(e)}`, { cause: e });
  }
}

/** Reads an armored or binary private key and decrypts it with the passphrase when it is protected. */
async function signingKey(input: string | Uint8Array, passphrase: string | undefined): Promise<PrivateKey> {
  let key: PrivateKey;
  try {
    if (typeof input === 'string') key = await readPrivateKey({ armoredKey: input, config: V4_ONLY });
    else if (input instanceof Uint8Array && detectPgp(input) === 'armored-key') {
      key = await readPrivateKey({ armoredKey: fromUtf8(input), config: V4_ONLY });
    } else if (input instanceof Uint8Array) key = await readPrivateKey({ binaryKey: input, config: V4_ONLY });
    else throw new Error('expected a string or a Uint8Array');
  } catch (e) {
    throw new SignetError('KEY_PARSE_FAILED', `not a usable OpenPGP private key: ${errorMessage(e)}`, { cause: e });
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) {
    throw new SignetError('KEY_ENCRYPTED', 'the OpenPGP private key is protected by a passphrase; pass the passphrase option');
  }
  try {
    return await decryptKey({ privateKey: key, passphrase });
  } catch (e) {
    throw new SignetError('DECRYPTION_FAILED', `could not decrypt the OpenPGP private key (wrong passphrase?): ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

function signFailed(e: unknown): SignetError {
  return new SignetError('INVALID_ARGUMENT', `the OpenPGP key cannot sign: ${errorMessage(e)}`, { cause: e });
}

/**
 * A detached signature (RFC 4880 §11.4, signature type 0x00 over the bytes as they are), armored
 * (returned as UTF-8 bytes) unless `armor` is false.
 */
export async function signPgpDetached(
  data: Uint8Array,
  privateKey: string | Uint8Array,
  opts: { armor?: boolean; passphrase?: string } = {},
): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', 'data to sign must be a Uint8Array');
  const key = await signingKey(privateKey, opts.passphrase);
  const message = await createMessage({ binary: data });
  try {
    if (opts.armor === false) {
      return await sign({ message, signingKeys: key, detached: true, format: 'binary', config: V4_ONLY });
    }
    return utf8(await sign({ message, signingKeys: key, detached: true, format: 'armored', config: V4_ONLY }));
  } catch (e) {
    throw signFailed(e);
  }
}

/**
 * A cleartext-signed message (RFC 4880 §7): the text, dash-escaped, followed by an armored text
 * signature (type 0x01). Trailing whitespace on each line is not signed (§7.1). As with
 * `gpg --clearsign`, a final line ending ends the last line and is not signed as an empty line
 * of its own, so verifiers (gpg, signet) give back the text without it.
 */
export async function clearsignPgp(
  text: string | Uint8Array,
  privateKey: string | Uint8Array,
  opts: { passphrase?: string } = {},
): Promise<string> {
  let s: string;
  if (typeof text === 'string') s = text;
  else if (text instanceof Uint8Array) {
    try {
      s = fromUtf8(text);
    } catch {
      throw new SignetError('INVALID_ARGUMENT', 'text to clearsign is not valid UTF-8');
    }
  } else throw new SignetError('INVALID_ARGUMENT', 'text to clearsign must be a string or a Uint8Array');
  const key = await signingKey(privateKey, opts.passphrase);
  const message = await createCleartextMessage({ text: s.replace(/\r?\n$/, '') });
  try {
    return await sign({ message, signingKeys: key, config: V4_ONLY });
  } catch (e) {
    throw signFailed(e);
  }
}
