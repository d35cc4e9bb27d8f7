import type { KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { fromBase64, toBase64 } from '../encoding/base64.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { signData } from '../keys/pkix.js';
import { pae } from './pae.js';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

/** A DSSE envelope as JSON (DSSE envelope.md). N signatures over the same PAE are allowed. */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Validates the shape of a parsed envelope; throws MALFORMED_INPUT naming the bad field. */
export function parseEnvelope(value: unknown): DsseEnvelope {
  const o = value as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new SignetError('MALFORMED_INPUT', 'DSSE envelope must be a JSON object');
  if (typeof o['payloadType'] !== 'string') throw new SignetError('MALFORMED_INPUT', 'DSSE envelope: payloadType must be a string');
  if (typeof o['payload'] !== 'string') throw new SignetError('MALFORMED_INPUT', 'DSSE envelope: payload must be a base64 string');
  fromBase64(o['payload'], 'DSSE payload');
  const sigs = o['signatures'];
  if (!Array.isArray(sigs) || sigs.length === 0) throw new SignetError('MALFORMED_INPUT', 'DSSE envelope: signatures must be a non-empty array');
  const signatures: DsseSignature[] = sigs.map((s: unknown, i) => {
    const so = s as Record<string, unknown> | null;
    if (!so || typeof so['sig'] !== 'string') throw new SignetError('MALFORMED_INPUT', `DSSE envelope: signatures[${i}].sig must be a base64 string`);
    fromBase64(so['sig'], `DSSE signatures[${i}].sig`);
    return { keyid: typeof so['keyid'] === 'string' ? so['keyid'] : '', sig: so['sig'] };
  });
  return { payloadType: o['payloadType'], payload: o['payload'], signatures };
}

export function envelopePayload(env: DsseEnvelope): Uint8Array {
  return fromBase64(env.payload, 'DSSE payload');
}

export function envelopePae(env: DsseEnvelope): Uint8Array {
  return pae(env.payloadType, envelopePayload(env));
}

/** Signs a payload into an envelope; further signers can be added with addSignature. */
export async function signEnvelope(payloadType: string, payload: Uint8Array, key: KeyObject, keyid = ''): Promise<DsseEnvelope> {
  const sig = await signData(key, pae(payloadType, payload));
  return { payloadType, payload: toBase64(payload), signatures: [{ keyid, sig: toBase64(sig) }] };
}

export async function addSignature(env: DsseEnvelope, key: KeyObject, keyid = ''): Promise<DsseEnvelope> {
  const sig = await signData(key, envelopePae(env));
  return { ...env, signatures: [...env.signatures, { keyid, sig: toBase64(sig) }] };
}

export function payloadJson(env: DsseEnvelope): unknown {
  try {
    return JSON.parse(fromUtf8(envelopePayload(env)));
  } catch {
    throw new SignetError('MALFORMED_INPUT', 'DSSE payload is not UTF-8 JSON');
  }
}
