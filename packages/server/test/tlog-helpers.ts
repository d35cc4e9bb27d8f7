import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { INTOTO_PAYLOAD_TYPE, pae, toBase64, utf8 } from '@signet/core';

export interface Signer {
  privateKey: KeyObject;
  publicKey: KeyObject;
  pemB64: string;
}

export function newSigner(curve: 'P-256' | 'P-384' = 'P-256'): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return { privateKey, publicKey, pemB64: Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string).toString('base64') };
}

/** A hashedrekord 0.0.1 proposed entry for `data`, signed as cosign/sigstore-js do. */
export function hashedrekord(s: Signer, data: Uint8Array | string): { entry: Record<string, unknown>; digest: string } {
  const bytes = typeof data === 'string' ? utf8(data) : data;
  const digest = createHash('sha256').update(bytes).digest('hex');
  const sig = sign('sha256', bytes, s.privateKey);
  return {
    digest,
    entry: { apiVersion: '0.0.1', kind: 'hashedrekord', spec: { data: { hash: { algorithm: 'sha256', value: digest } }, signature: { content: sig.toString('base64'), publicKey: { content: s.pemB64 } } } },
  };
}

export function statement(subjectDigest: string): string {
  return JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a', digest: { sha256: subjectDigest } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
}

export function dsseEntry(s: Signer, payload: string): Record<string, unknown> {
  const sig = sign('sha256', pae(INTOTO_PAYLOAD_TYPE, utf8(payload)), s.privateKey).toString('base64');
  const envelope = JSON.stringify({ payloadType: INTOTO_PAYLOAD_TYPE, payload: toBase64(utf8(payload)), signatures: [{ keyid: '', sig }] });
  return { apiVersion: '0.0.1', kind: 'dsse', spec: { proposedContent: { envelope, verifiers: [s.pemB64] } } };
}

export function intotoEntry(s: Signer, payload: string): Record<string, unknown> {
  const sig = sign('sha256', pae(INTOTO_PAYLOAD_TYPE, utf8(payload)), s.privateKey).toString('base64');
  const b64 = (x: string): string => Buffer.from(x).toString('base64');
  return {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: { content: { envelope: { payloadType: INTOTO_PAYLOAD_TYPE, payload: b64(toBase64(utf8(payload))), signatures: [{ sig: b64(sig), publicKey: s.pemB64 }] } } },
  };
}
