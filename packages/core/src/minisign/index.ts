export {
  parseMinisignPublicKey,
  parseMinisignTrust,
  minisignKeyIdHex,
  generateMinisignKeyPair,
  generateSignifyKeyPair,
  parseMinisignSecretKey,
  parseSignifySecretKey,
  scryptParams,
  type MinisignPublicKey,
  type MinisignSecretKey,
  type GeneratedKeyPair,
} from './keys.js';
export {
  signMinisign,
  signSignify,
  verifyMinisign,
  verifySignify,
  isMinisignSignature,
  isSignifySignature,
  type MinisignSignOptions,
} from './signature.js';
export { blake2b } from './blake2b.js';
