export { parseSshPublicKey, sshPublicKeyFromKeyObject, formatSshPublicKey, sshFingerprint } from './keys.js';
export { parseAllowedSigners, parseSshTrust, principalMatches, type AllowedSigner, type SshTrustedKey } from './allowed-signers.js';
export { parseSshPrivateKey } from './private-key.js';
export {
  signSshSig,
  parseSshSignature,
  verifySshSig,
  isSshSignature,
  type SshSignature,
  type SshSigHash,
} from './signature.js';
