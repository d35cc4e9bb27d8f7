/**
 * @signet/core/pgp: OpenPGP (v4 keys, RFC 4880) signing and verification over OpenPGP.js.
 * The only part of @signet/core that loads openpgp.
 */
export { detectPgp, type PgpDetected } from './detect.js';
export { readPgpKeys, pgpFingerprintOf, type PgpKeyInfo, type PgpSubkeyInfo } from './keys.js';
export { generatePgpKey, signPgpDetached, clearsignPgp, type GeneratePgpKeyOptions } from './sign.js';
export { verifyPgpDetached, verifyPgpCleartext, pgpVerifier } from './verify.js';
