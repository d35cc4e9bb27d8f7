export * from './pkix.js';
export { verifyPrehashed } from './prehashed.js';
export { encryptCosignKey, decryptCosignKey, isCosignEncryptedKey } from './cosign.js';
export { secretboxSeal, secretboxOpen } from './secretbox.js';
