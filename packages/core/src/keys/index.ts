export * from './pkix.js';
export { verifyPrehashed, verifyEcdsaPrehashed, ecPublicKeyFromSpki, type EcPublicKey } from './prehashed.js';
export { encryptCosignKey, decryptCosignKey, isCosignEncryptedKey } from './cosign.js';
export { secretboxSeal, secretboxOpen } from './secretbox.js';
