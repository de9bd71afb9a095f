import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  KeyObject,
  randomBytes,
  timingSafeEqual
} from 'node:crypto'
import { fromUrlsafeBase64, toUrlsafeBase64 } from './base64.ts'
import { FERNET_MAX_CLOCK_SKEW_SECONDS, FERNET_MIN_TOKEN_BYTES, FERNET_VERSION } from './constants.ts'
import {
  FernetBadMacError,
  FernetBadPaddingError,
  FernetBadVersionError,
  FernetExpiredTokenError,
  FernetFutureTokenError,
  FernetInvalidKeyError,
  FernetMalformedTokenError,
  FernetTruncatedTokenError
} from './errors.ts'
import { type BytePieces, joinPieces, piecesOf } from './pieces.ts'

/**
 * Fernet (https://github.com/fernet/spec/blob/master/Spec.md) on node:crypto:
 * 0x80 | timestamp (u64 BE seconds) | IV (16) | AES-128-CBC-PKCS7 ciphertext | HMAC-SHA256 of all before.
 * Key = url-safe base64 of signing key (16) | encryption key (16).
 */

/** Version, timestamp and IV: the bytes before the ciphertext. */
const FERNET_HEAD_BYTES = 1 + 8 + 16

export interface FernetEncryptOptions {
  /** Unix seconds written into the token; now by default. */
  readonly now?: number
  /** 16-byte IV; random by default. Only for test vectors: a repeated IV leaks equal prefixes. */
  readonly iv?: Uint8Array
}

export interface FernetDecryptOptions {
  /** Refuse tokens older than this many seconds (and dated more than 60 s ahead). No TTL by default. */
  readonly ttlSeconds?: number
  /** Unix seconds taken as now. */
  readonly now?: number
}

/**
 * A Fernet key split into its HMAC and AES halves (16 bytes each), as bytes or as KeyObjects made
 * once (parseFernetKey's, kept by the key ring for its data keys).
 */
export interface FernetKeyParts {
  readonly signing: Uint8Array | KeyObject
  readonly encryption: Uint8Array | KeyObject
}

/**
 * A key half as node:crypto takes it fastest. Given bytes, createCipheriv and createHmac make a key
 * object of their own on every call, which for a 1 KiB token costs more than the cipher and the MAC
 * on it: measured here, a Fernet encryption of 1 KiB took about 40 us with the halves as bytes,
 * 15 us with a KeyObject made for the call, 10 us with one made once.
 */
function secretKeyOf(half: Uint8Array | KeyObject): KeyObject {
  return half instanceof KeyObject ? half : createSecretKey(half)
}

/** A fresh random Fernet key (url-safe base64 of 32 bytes). */
export function generateFernetKey(): string {
  return toUrlsafeBase64(randomBytes(32))
}

/** Splits a key; throws FernetInvalidKeyError unless it is url-safe base64 of exactly 32 bytes. */
export function parseFernetKey(key: string): FernetKeyParts {
  const raw = typeof key === 'string' ? fromUrlsafeBase64(key) : undefined
  if (raw?.length !== 32) {
    throw new FernetInvalidKeyError('a Fernet key must be url-safe base64 of 32 bytes')
  }
  const parts = {
    signing: createSecretKey(raw.subarray(0, 16)),
    encryption: createSecretKey(raw.subarray(16, 32))
  }
  raw.fill(0)
  return parts
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/**
 * Encrypts to the token's pieces (pieces.ts), in order: version, timestamp and IV (25 bytes), the
 * AES-CBC output of `update` and of `final`, the HMAC (computed over the pieces where they are).
 */
export function fernetEncryptPieces(
  key: string | FernetKeyParts,
  plaintext: Uint8Array,
  opts: FernetEncryptOptions = {}
): BytePieces {
  const parts = typeof key === 'string' ? parseFernetKey(key) : key
  const iv = opts.iv ? Buffer.from(opts.iv) : randomBytes(16)
  if (iv.length !== 16) throw new RangeError('a Fernet IV is 16 bytes')
  const head = Buffer.allocUnsafe(FERNET_HEAD_BYTES)
  head[0] = FERNET_VERSION
  head.writeBigUInt64BE(BigInt(Math.floor(opts.now ?? nowSeconds())), 1)
  iv.copy(head, 9)
  const cipher = createCipheriv('aes-128-cbc', secretKeyOf(parts.encryption), iv)
  const body = cipher.update(plaintext)
  const last = cipher.final()
  const mac = createHmac('sha256', secretKeyOf(parts.signing)).update(head).update(body).update(last).digest()
  return piecesOf(head, body, last, mac)
}

/** Encrypts to the token's raw bytes (before base64): one buffer, the ciphertext copied into it once. */
export function fernetEncryptBytes(
  key: string | FernetKeyParts,
  plaintext: Uint8Array,
  opts: FernetEncryptOptions = {}
): Buffer {
  return joinPieces(fernetEncryptPieces(key, plaintext, opts))
}

/** Decrypts a token's raw bytes; the checks and errors are those of `fernetDecrypt`. */
export function fernetDecryptBytes(
  key: string | FernetKeyParts,
  data: Uint8Array,
  opts: FernetDecryptOptions = {}
): Uint8Array {
  const parts = typeof key === 'string' ? parseFernetKey(key) : key
  if (data.length < FERNET_MIN_TOKEN_BYTES || (data.length - 57) % 16 !== 0) {
    throw new FernetTruncatedTokenError(`a Fernet token cannot be ${data.length} bytes long`)
  }
  if (data[0] !== FERNET_VERSION) throw new FernetBadVersionError('Fernet token version is not 0x80')
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length)
  const macAt = buf.length - 32
  const expected = createHmac('sha256', secretKeyOf(parts.signing)).update(buf.subarray(0, macAt)).digest()
  // Constant time: the comparison must not reveal how many leading MAC bytes were right.
  if (!timingSafeEqual(expected, buf.subarray(macAt))) {
    throw new FernetBadMacError('Fernet token MAC does not match (wrong key or altered token)')
  }
  // Time checks after the MAC so an unauthenticated token never gets a time-specific answer.
  if (opts.ttlSeconds !== undefined) {
    const timestamp = Number(buf.readBigUInt64BE(1))
    const now = opts.now ?? nowSeconds()
    if (timestamp + opts.ttlSeconds < now) throw new FernetExpiredTokenError('Fernet token has expired')
    if (now + FERNET_MAX_CLOCK_SKEW_SECONDS < timestamp) {
      throw new FernetFutureTokenError('Fernet token is dated too far in the future')
    }
  }
  // The padding is checked here rather than by OpenSSL, so the plaintext is the decipher's one output
  // buffer, not a concatenation of it and `final()`'s. The MAC matched: no padding oracle to fear.
  const decipher = createDecipheriv(
    'aes-128-cbc',
    secretKeyOf(parts.encryption),
    buf.subarray(9, FERNET_HEAD_BYTES)
  )
  decipher.setAutoPadding(false)
  const out = decipher.update(buf.subarray(FERNET_HEAD_BYTES, macAt))
  decipher.final()
  const length = out.length - pkcs7PaddingLength(out)
  return new Uint8Array(out.buffer, out.byteOffset, length)
}

/** The PKCS7 padding length at the end of a whole number of 16-byte blocks; throws FernetBadPaddingError. */
function pkcs7PaddingLength(blocks: Uint8Array): number {
  const n = blocks[blocks.length - 1] ?? 0
  let bad = n < 1 || n > 16 || n > blocks.length
  for (let i = blocks.length - n; !bad && i < blocks.length; i++) bad = blocks[i] !== n
  if (bad) throw new FernetBadPaddingError('Fernet token has invalid padding')
  return n
}

/** Fernet-encrypts `plaintext` under `key`; returns the url-safe base64 token. */
export function fernetEncrypt(key: string, plaintext: Uint8Array, opts: FernetEncryptOptions = {}): string {
  return toUrlsafeBase64(fernetEncryptBytes(key, plaintext, opts))
}

/**
 * Verifies and decrypts a Fernet token. Each failure has its own error class (see errors.ts), all
 * subclasses of FernetInvalidTokenError.
 */
export function fernetDecrypt(key: string, token: string, opts: FernetDecryptOptions = {}): Uint8Array {
  const parts = parseFernetKey(key)
  const data = typeof token === 'string' ? fromUrlsafeBase64(token) : undefined
  if (!data) throw new FernetMalformedTokenError('Fernet token is not url-safe base64')
  return fernetDecryptBytes(parts, data, opts)
}

/**
 * Tries each key in order, as Python's MultiFernet. A key whose MAC matches decides the outcome (an
 * expired token stays expired); if no key matches, FernetBadMacError.
 */
export function fernetDecryptAny(
  keys: readonly string[],
  token: string,
  opts: FernetDecryptOptions = {}
): Uint8Array {
  const data = typeof token === 'string' ? fromUrlsafeBase64(token) : undefined
  if (!data) throw new FernetMalformedTokenError('Fernet token is not url-safe base64')
  for (const key of keys) {
    try {
      return fernetDecryptBytes(parseFernetKey(key), data, opts)
    } catch (err) {
      if (!(err instanceof FernetBadMacError)) throw err
    }
  }
  throw new FernetBadMacError('Fernet token MAC matches none of the keys')
}

/** The timestamp (unix seconds) of an authentic token; throws as `fernetDecrypt` does otherwise. */
export function fernetTimestamp(key: string, token: string): number {
  fernetDecrypt(key, token)
  return Number(Buffer.from(fromUrlsafeBase64(token) as Uint8Array).readBigUInt64BE(1))
}

/**
 * MultiFernet.rotate: decrypts with any of `keys` and re-encrypts under the first, keeping the
 * original timestamp so a TTL keeps counting from the first encryption.
 */
export function fernetRotate(keys: readonly string[], token: string): string {
  const [primary] = keys
  if (primary === undefined) throw new FernetInvalidKeyError('rotate needs at least one key')
  const plaintext = fernetDecryptAny(keys, token)
  const timestamp = Number(Buffer.from(fromUrlsafeBase64(token) as Uint8Array).readBigUInt64BE(1))
  return fernetEncrypt(primary, plaintext, { now: timestamp })
}
