import { constants, createECDH, publicDecrypt, type ECDH, type KeyObject } from 'node:crypto';
import { readChildren, readTlv, readUnsignedInteger } from '../encoding/der.js';
import { fromBase64 } from '../encoding/base64.js';
import { bytesEqual, concatBytes } from '../encoding/bytes.js';

/**
 * Signature verification over a digest when the signed bytes are not at hand (a verifier given only
 * "sha256:<hex>"). Node's crypto always hashes its input, so ECDSA is checked here directly from
 * SEC 1 v2 §4.1.4 over the curve's public parameters, and RSA PKCS#1 v1.5 by recovering the
 * DigestInfo (RFC 8017 §8.2.2). Only public values are involved, so no constant-time care is needed.
 * The two scalar multiplications of ECDSA verification run natively (OpenSSL, via ECDH); JavaScript
 * does only one point addition and a few modular inversions.
 * Ed25519 cannot be checked from a digest (RFC 8032 §5.1.7 hashes the message with R and A).
 */

interface Curve {
  /** Field and order sizes in bytes, and the order's size in bits. */
  pLen: number;
  nLen: number;
  nBits: number;
  p: bigint;
  a: bigint;
  b: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
}

// Domain parameters: SEC 2 v2 §2.4.2 (secp256r1), §2.5.1 (secp384r1), §2.6.1 (secp521r1).
const PARAMS: Record<string, Omit<Curve, 'pLen' | 'nLen' | 'nBits'>> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
  secp521r1: {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    gx: 0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
    gy: 0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
  },
};

const bitLength = (v: bigint): number => v.toString(2).length;

const CURVES: Record<string, Curve> = Object.fromEntries(
  Object.entries(PARAMS).map(([name, c]) => [name, { ...c, pLen: Math.ceil(bitLength(c.p) / 8), nLen: Math.ceil(bitLength(c.n) / 8), nBits: bitLength(c.n) }]),
);

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

const TWO_48 = 1n << 48n;

/**
 * a⁻¹ mod m for prime m and a not divisible by m: the extended Euclidean algorithm with Lehmer's
 * speed-up (Knuth, TAOCP vol. 2, §4.5.2, Algorithm L). While the remainders are large, the quotient
 * sequence is simulated on their leading 48 bits in double-precision Numbers (exact below 2^53), and the
 * accumulated 2×2 cofactor matrix is applied to the BigInts once per round; a round that cannot be
 * decided from the leading bits falls back to one full-precision division step. About 4× faster than
 * plain BigInt Euclid for 256-bit moduli, which matters because every prehashed verification needs two
 * inversions. The result is checked (a·a⁻¹ ≡ 1) before it is returned.
 */
function inv(a: bigint, m: bigint): bigint {
  const a0 = mod(a, m);
  // Invariants: u ≡ su·a and v ≡ sv·a (mod m).
  let u = m;
  let v = a0;
  let su = 0n;
  let sv = 1n;
  while (v !== 0n) {
    if (v >= TWO_48) {
      // Leading bits of u (and v, with the same shift) as Numbers below 2^49.
      const shift = BigInt(Math.max(0, Math.floor(Math.log2(Number(u))) - 47));
      let uh = Number(u >> shift);
      let vh = Number(v >> shift);
      let A = 1;
      let B = 0;
      let C = 0;
      let D = 1;
      for (;;) {
        // Step L2: the quotient is certain only when both bounds give the same value.
        if (vh + C === 0 || vh + D === 0) break;
        const q = Math.floor((uh + A) / (vh + C));
        if (q !== Math.floor((uh + B) / (vh + D))) break;
        let t = A - q * C;
        A = C;
        C = t;
        t = B - q * D;
        B = D;
        D = t;
        t = uh - q * vh;
        uh = vh;
        vh = t;
      }
      if (B !== 0) {
        // Step L4: apply the simulated quotients to the full-precision values at once.
        const bA = BigInt(A);
        const bB = BigInt(B);
        const bC = BigInt(C);
        const bD = BigInt(D);
        const nu = bA * u + bB * v;
        v = bC * u + bD * v;
        u = nu;
        const ns = bA * su + bB * sv;
        sv = bC * su + bD * sv;
        su = ns;
        continue;
      }
    }
    // Small values, or no quotient decided from the leading bits: one full-precision Euclidean step.
    const q = u / v;
    let t = u - q * v;
    u = v;
    v = t;
    t = su - q * sv;
    su = sv;
    sv = t;
  }
  const r = mod(su, m);
  if (u !== 1n || mod(r * a0, m) !== 1n) throw new Error('modular inverse does not exist');
  return r;
}

/** An affine point with full coordinates. */
interface Point {
  x: bigint;
  y: bigint;
}

function addAffine(c: Curve, P: Point, Q: Point): Point | undefined {
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, c.p) === 0n) return undefined; // P = -Q: the sum is the point at infinity
    const l = mod((3n * P.x * P.x + c.a) * inv(2n * P.y, c.p), c.p);
    const x = mod(l * l - 2n * P.x, c.p);
    return { x, y: mod(l * (P.x - x) - P.y, c.p) };
  }
  const l = mod((Q.y - P.y) * inv(Q.x - P.x, c.p), c.p);
  const x = mod(l * l - P.x - Q.x, c.p);
  return { x, y: mod(l * (P.x - x) - P.y, c.p) };
}

function toFixed(v: bigint, len: number): Buffer {
  return Buffer.from(v.toString(16).padStart(len * 2, '0'), 'hex');
}

/**
 * x(u1·G + u2·Q) with both scalar multiplications done natively by OpenSSL through ECDH:
 * u1·G + u2·Q = u2·(Q + w·G) with w = u1/u2 mod n. `setPrivateKey(w)` yields w·G with both coordinates;
 * one affine addition gives V = Q + w·G; `computeSecret` with private u2 and public V yields x(u2·V).
 */
function combinedX(c: Curve, curveName: string, u1: bigint, u2: bigint, u2Inv: bigint, Q: Point): bigint | undefined {
  const len = c.pLen;
  const nLen = c.nLen;
  const ecdh = ecdhFor(curveName);
  let V: Point | undefined = Q;
  const w = mod(u1 * u2Inv, c.n);
  if (w !== 0n) {
    ecdh.setPrivateKey(toFixed(w, nLen));
    const pub = ecdh.getPublicKey();
    V = addAffine(c, { x: toBig(pub.subarray(1, 1 + len)), y: toBig(pub.subarray(1 + len)) }, Q);
  }
  if (!V) return undefined;
  ecdh.setPrivateKey(toFixed(u2, nLen));
  return toBig(ecdh.computeSecret(Buffer.concat([Buffer.from([4]), toFixed(V.x, len), toFixed(V.y, len)])));
}

const ecdhObjects = new Map<string, ECDH>();

/** One ECDH object per curve, reused: setPrivateKey replaces its scalar each time (verification is synchronous). */
function ecdhFor(curveName: string): ECDH {
  let e = ecdhObjects.get(curveName);
  if (!e) {
    e = createECDH(curveName);
    ecdhObjects.set(curveName, e);
  }
  return e;
}

const toBig = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));

/** An ECDSA public key as its curve (OpenSSL's name) and affine point. */
export interface EcPublicKey {
  curve: 'prime256v1' | 'secp384r1' | 'secp521r1';
  x: bigint;
  y: bigint;
}

const JWK_CURVES: Record<string, EcPublicKey['curve']> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

// The DER of a SubjectPublicKeyInfo for a named-curve EC key with an uncompressed point, up to the point's
// coordinates (RFC 5480 §2.1.1 id-ecPublicKey with namedCurve, §2.2 ECPoint as SEC 1 §2.3.3 0x04 || X || Y).
const SPKI_PREFIXES: [EcPublicKey['curve'], Uint8Array][] = [
  ['prime256v1', Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex')],
  ['secp384r1', Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex')],
  ['secp521r1', Buffer.from('30819b301006072a8648ce3d020106052b810400230381860004', 'hex')],
];

/** SEC 1 §3.2.2.1 steps 2–3: both coordinates in [0, p) and y² = x³ + ax + b (mod p). */
function onCurve(c: Curve, x: bigint, y: bigint): boolean {
  return x >= 0n && x < c.p && y >= 0n && y < c.p && mod(y * y - (x * x * x + c.a * x + c.b), c.p) === 0n;
}

/**
 * The key in a SubjectPublicKeyInfo DER when it has the form nearly every ECDSA key takes (a named P-256, P-384 or
 * P-521 curve and an uncompressed point), with the point checked to lie on the curve; undefined for anything else
 * (other key types, compressed points, explicit parameters), which callers verify through a KeyObject instead.
 * Reading the point straight from the DER skips OpenSSL's key decoders, which cost hundreds of microseconds per key.
 */
export function ecPublicKeyFromSpki(spki: Uint8Array): EcPublicKey | undefined {
  for (const [curve, prefix] of SPKI_PREFIXES) {
    const c = CURVES[curve] as Curve;
    if (spki.length !== prefix.length + 2 * c.pLen || !bytesEqual(spki.subarray(0, prefix.length), prefix)) continue;
    const x = toBig(spki.subarray(prefix.length, prefix.length + c.pLen));
    const y = toBig(spki.subarray(prefix.length + c.pLen));
    return onCurve(c, x, y) ? { curve, x, y } : undefined;
  }
  return undefined;
}

const pointCache = new WeakMap<KeyObject, EcPublicKey | null>();

/** The EC public key's curve and point, read once per KeyObject (OpenSSL validated the point on import). */
function ecPublicKeyOf(key: KeyObject): EcPublicKey | undefined {
  let p = pointCache.get(key);
  if (p === undefined) {
    const jwk = key.export({ format: 'jwk' });
    const curve = JWK_CURVES[String(jwk.crv)];
    p = curve ? { curve, x: toBig(fromBase64(String(jwk.x))), y: toBig(fromBase64(String(jwk.y))) } : null;
    pointCache.set(key, p);
  }
  return p ?? undefined;
}

/**
 * ECDSA verification over a digest (SEC 1 v2 §4.1.4) with a DER Ecdsa-Sig-Value; false for anything malformed. `key`
 * comes from ecPublicKeyFromSpki or a KeyObject, whose points are known to be on the curve.
 */
export function verifyEcdsaPrehashed(key: EcPublicKey, digest: Uint8Array, sigDer: Uint8Array): boolean {
  const c = CURVES[key.curve];
  if (!c) return false;
  let r: bigint;
  let s: bigint;
  try {
    const seq = readTlv(sigDer);
    if (seq.tag !== 0x30 || seq.end !== sigDer.length) return false;
    const kids = readChildren(sigDer, seq);
    if (kids.length !== 2) return false;
    r = readUnsignedInteger(sigDer, kids[0]!);
    s = readUnsignedInteger(sigDer, kids[1]!);
  } catch {
    return false;
  }
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  // SEC 1 §4.1.4 step 5: e = leftmost bitlen(n) bits of the digest.
  const nBits = c.nBits;
  let e = toBig(digest);
  const dBits = digest.length * 8;
  if (dBits > nBits) e >>= BigInt(dBits - nBits);
  // One inversion for both s⁻¹ and r⁻¹ (Montgomery's trick): u1 = e·s⁻¹, u2 = r·s⁻¹, u2⁻¹ = s·r⁻¹.
  const rsInv = inv(mod(r * s, c.n), c.n);
  const sInv = mod(r * rsInv, c.n);
  const rInv = mod(s * rsInv, c.n);
  let x: bigint | undefined;
  try {
    x = combinedX(c, key.curve, mod(e * sInv, c.n), mod(r * sInv, c.n), mod(s * rInv, c.n), key);
  } catch {
    return false;
  }
  return x !== undefined && mod(x, c.n) === r;
}

// DER DigestInfo prefixes, RFC 8017 §9.2 note 1.
const DIGEST_INFO: Record<string, Uint8Array> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

function verifyRsaPkcs1Prehashed(key: KeyObject, digest: Uint8Array, sig: Uint8Array, hash: string): boolean {
  const prefix = DIGEST_INFO[hash];
  if (!prefix) return false;
  try {
    const em = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, sig);
    return bytesEqual(new Uint8Array(em), concatBytes(prefix, digest));
  } catch {
    return false;
  }
}

/**
 * Verifies a signature given only the message digest. `hash` names the digest's algorithm; false for
 * key types that cannot be checked from a digest (Ed25519, RSA-PSS).
 */
export function verifyPrehashed(key: KeyObject, hash: 'sha256' | 'sha384' | 'sha512', digest: Uint8Array, signature: Uint8Array): boolean {
  if (key.asymmetricKeyType === 'ec') {
    const ec = ecPublicKeyOf(key);
    return ec !== undefined && verifyEcdsaPrehashed(ec, digest, signature);
  }
  if (key.asymmetricKeyType === 'rsa') return verifyRsaPkcs1Prehashed(key, digest, signature, hash);
  return false;
}
