import {
  constants,
  createHash,
  createSign,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  sign,
  verify,
  webcrypto
} from 'node:crypto'
import { RSA_KEY_SIZES, type RsaKeySize } from './constants.ts'
import { InvalidKeyError } from './errors.ts'

/**
 * RSA on node:crypto: RSA-PSS signatures (SHA-256, MGF1-SHA256, salt = maximum length as Python's
 * `PSS.MAX_LENGTH`), RSA-OAEP-SHA256 key wrapping, key generation and key fingerprints.
 */

export interface RsaKeyPairPem {
  readonly privateKeyPem: string
  readonly publicKeyPem: string
}

const SHA256_BYTES = 32
// Parsing a PEM costs far more than a verify; peers' keys are used over and over.
const keyCache = new Map<string, KeyObject>()
const KEY_CACHE_LIMIT = 256

function cached(pem: string, make: (pem: string) => KeyObject): KeyObject {
  let key = keyCache.get(pem)
  if (!key) {
    key = make(pem)
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(pem, key)
  }
  return key
}

// What is derived from a key (its fingerprint, a private key's public PEM) is asked per envelope.
const publicPemCache = new Map<string, string>()
const fingerprintCache = new Map<string, string>()

function derived(cache: Map<string, string>, pem: string, make: () => string): string {
  let value = cache.get(pem)
  if (value === undefined) {
    value = make()
    if (cache.size >= KEY_CACHE_LIMIT) cache.delete(cache.keys().next().value as string)
    cache.set(pem, value)
  }
  return value
}

function rsaPrivate(pem: string): KeyObject {
  try {
    const key = cached(pem, (p) => createPrivateKey({ key: p, format: 'pem' }))
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`not an RSA key (${key.asymmetricKeyType})`)
    return key
  } catch (err) {
    throw new InvalidKeyError('not a usable RSA private key PEM', { cause: err })
  }
}

function rsaPublic(pem: string): KeyObject {
  try {
    const key = cached(`pub:${pem}`, (p) => createPublicKey({ key: p.slice(4), format: 'pem' }))
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`not an RSA key (${key.asymmetricKeyType})`)
    return key
  } catch (err) {
    throw new InvalidKeyError('not a usable RSA public key PEM', { cause: err })
  }
}

/** RFC 8017 9.1.1: the largest PSS salt is emLen - hLen - 2, emLen = ceil((modBits - 1) / 8). */
function maxSaltLength(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  return Math.ceil((bits - 1) / 8) - SHA256_BYTES - 2
}

/** Generates an RSA key pair (e = 65537) as PKCS#8 / SPKI PEMs. */
export function generateRsaKeyPair(bits: RsaKeySize): Promise<RsaKeyPairPem> {
  if (!RSA_KEY_SIZES.includes(bits)) throw new InvalidKeyError(`RSA key size must be one of ${RSA_KEY_SIZES}`)
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicExponent: 0x10001,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
      },
      (err, publicKeyPem, privateKeyPem) => (err ? reject(err) : resolve({ privateKeyPem, publicKeyPem }))
    )
  })
}

/** The SPKI PEM of the public half of a private key. */
export function publicKeyPemOf(privateKeyPem: string): string {
  return derived(
    publicPemCache,
    privateKeyPem,
    () => createPublicKey(rsaPrivate(privateKeyPem)).export({ type: 'spki', format: 'pem' }) as string
  )
}

/** The modulus size of an RSA key PEM (private or public). */
export function rsaKeyBits(pem: string): number {
  const key = pem.includes('PRIVATE KEY') ? rsaPrivate(pem) : rsaPublic(pem)
  return key.asymmetricKeyDetails?.modulusLength ?? 0
}

/** Hex SHA-256 of the SPKI DER of a public key: the key id used in envelope headers and peer books. */
export function keyFingerprint(publicKeyPem: string): string {
  return derived(fingerprintCache, publicKeyPem, () => {
    const der = rsaPublic(publicKeyPem).export({ type: 'spki', format: 'der' })
    return createHash('sha256').update(der).digest('hex')
  })
}

/**
 * RSA-PSS signature (SHA-256, MGF1-SHA256, maximum salt length) over `data`, or over the
 * concatenation of its pieces in order (hashed where they lie, so a large message in pieces is not
 * copied together first).
 */
export function signPss(privateKeyPem: string, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const key = rsaPrivate(privateKeyPem)
  const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: maxSaltLength(key) }
  if (data instanceof Uint8Array) return sign('sha256', data, options)
  const signer = createSign('sha256')
  for (const piece of data) signer.update(piece)
  return signer.sign(options)
}

/**
 * `signPss` on libuv's thread pool: the same signature, while the event loop goes on (with other
 * streams, or a commit's fsync).
 */
export function signPssAsync(privateKeyPem: string, data: Uint8Array): Promise<Uint8Array> {
  const key = rsaPrivate(privateKeyPem)
  return new Promise((resolve, reject) => {
    sign(
      'sha256',
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: maxSaltLength(key) },
      (err, signature) => (err ? reject(err) : resolve(signature))
    )
  })
}

/**
 * Verifies an RSA-PSS SHA-256 signature made with the maximum salt length or with a salt as long as
 * the digest (what most other PSS signers use). Any other salt length is refused. False on any
 * mismatch; throws InvalidKeyError only for an unusable key.
 */
export function verifyPss(publicKeyPem: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = rsaPublic(publicKeyPem)
  for (const saltLength of [maxSaltLength(key), SHA256_BYTES]) {
    try {
      if (verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature)) {
        return true
      }
    } catch {
      // OpenSSL throws on some malformed signatures (wrong length); that is a failed verification.
    }
  }
  return false
}

/** RSA-OAEP (SHA-256, MGF1-SHA256) encryption of a short secret to a public key. */
export function oaepWrap(publicKeyPem: string, secret: Uint8Array): Uint8Array {
  return publicEncrypt(
    { key: rsaPublic(publicKeyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    secret
  )
}

/** Inverse of `oaepWrap`; throws OpenSSL's error on any failure (callers translate it). */
export function oaepUnwrap(privateKeyPem: string, wrapped: Uint8Array): Buffer {
  return privateDecrypt(
    { key: rsaPrivate(privateKeyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    wrapped
  )
}

// node:crypto's privateDecrypt has no asynchronous form; Web Crypto's RSA-OAEP runs on the thread pool.
const oaepKeyCache = new Map<string, webcrypto.CryptoKey>()

/**
 * `oaepUnwrap` on libuv's thread pool (Web Crypto RSA-OAEP, SHA-256 for the hash and MGF1, no
 * label: the same operation). Rejects on any failure (callers translate it).
 */
export async function oaepUnwrapAsync(privateKeyPem: string, wrapped: Uint8Array): Promise<Buffer> {
  let key = oaepKeyCache.get(privateKeyPem)
  if (!key) {
    key = rsaPrivate(privateKeyPem).toCryptoKey({ name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt'])
    if (oaepKeyCache.size >= KEY_CACHE_LIMIT) oaepKeyCache.delete(oaepKeyCache.keys().next().value as string)
    oaepKeyCache.set(privateKeyPem, key)
  }
  return Buffer.from(await webcrypto.subtle.decrypt({ name: 'RSA-OAEP' }, key, wrapped))
}
