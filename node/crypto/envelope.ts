import { randomBytes } from 'node:crypto'
import { MAX_DATA_BYTES } from '../core/share.ts'
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, MAX_ENVELOPE_BYTES } from './constants.ts'
import { gcmOpen, gcmSealPieces } from './content-cipher.ts'
import {
  decodeEnvelope,
  ENVELOPE_FORMAT_VERSION,
  type EnvelopeHeader,
  type EnvelopeParts,
  encodeHeader,
  joinEnvelope,
  layoutEnvelope,
  signedPieces
} from './envelope-codec.ts'
import {
  EnvelopeDecryptError,
  EnvelopeError,
  EnvelopeKeyMismatchError,
  EnvelopeMalformedError,
  EnvelopeRecipientMismatchError,
  EnvelopeSignatureError,
  EnvelopeTooLargeError
} from './errors.ts'
import { fernetDecryptBytes, fernetEncryptPieces } from './fernet.ts'
import type { BytePieces } from './pieces.ts'
import type { ReplayGuard } from './replay-guard.ts'
import {
  keyFingerprint,
  oaepUnwrap,
  oaepUnwrapAsync,
  oaepWrap,
  publicKeyPemOf,
  rsaKeyBits,
  signPss,
  signPssAsync,
  verifyPss
} from './rsa.ts'

/**
 * The hybrid envelope of one share for one recipient (README "Cryptography"): a fresh 32-byte
 * content key, Fernet content encryption for `standard` and AES-256-GCM (header as associated data)
 * for `high`/`maximum`, the content key wrapped with RSA-OAEP-SHA256 to the recipient, and the
 * sender's RSA-PSS signature over header, wrapped key, IV, ciphertext and tag.
 *
 * Content keys are zeroed (`Buffer.fill(0)`) as soon as they are used. That is best effort: Node
 * lets us scrub only the Buffers we hold; the copies inside cipher contexts and in the KeyObjects
 * the ciphers are given are left to OpenSSL and Node (which cleanse them when they are freed, at
 * garbage collection), and key material held as
 * JS strings or KeyObjects (PEMs) cannot be wiped at all. The content key never becomes a string.
 */

const EMPTY = new Uint8Array(0)

export interface SealEnvelopeInput {
  readonly header: Omit<EnvelopeHeader, 'v' | 'nonce' | 'timestamp'> &
    Partial<Pick<EnvelopeHeader, 'nonce' | 'timestamp'>>
  readonly plaintext: Uint8Array
  readonly senderSigningPrivateKeyPem: string
  readonly recipientEncryptionPublicKeyPem: string
}

export interface OpenEnvelopeOptions {
  readonly senderSigningPublicKeyPem: string
  readonly recipientEncryptionPrivateKeyPem: string
  /** This node's PeerId: an envelope for anyone else is refused. */
  readonly expectedRecipient: string
  /**
   * Checks timestamp freshness and nonce uniqueness, after the signature verified (and spends the
   * nonce, but for `openEnvelopeAsync`).
   */
  readonly replayGuard?: ReplayGuard
  /** Unix ms taken as now by the replay guard. */
  readonly now?: number
  readonly maxBytes?: number
}

/** Seals `plaintext` for one recipient. A random nonce and the current time fill the header unless given. */
export function sealEnvelope(input: SealEnvelopeInput): { bytes: Uint8Array; header: EnvelopeHeader } {
  const { signed, header } = unsignedEnvelope(input)
  // The signature hashes the pieces where they lie; the one copy of the ciphertext is into `bytes`.
  const signature = signPss(input.senderSigningPrivateKeyPem, signed.pieces)
  return { bytes: sizeChecked(joinEnvelope(signed, signature)), header }
}

/** `sealEnvelope` with the signature made on libuv's thread pool, while the event loop goes on. */
export async function sealEnvelopeAsync(
  input: SealEnvelopeInput
): Promise<{ bytes: Uint8Array; header: EnvelopeHeader }> {
  const { signed, header } = unsignedEnvelope(input)
  // A signature on the thread pool takes one buffer: the envelope is laid out first (the one copy of
  // the ciphertext) and its signed part, where it lies, is what is signed.
  const layout = layoutEnvelope(signed, rsaKeyBits(input.senderSigningPrivateKeyPem) / 8)
  const signature = await signPssAsync(input.senderSigningPrivateKeyPem, layout.signed)
  return { bytes: sizeChecked(layout.withSignature(signature)), header }
}

/** The envelope's header and the part its signature covers: content encrypted, content key wrapped. */
function unsignedEnvelope(input: SealEnvelopeInput): { signed: BytePieces; header: EnvelopeHeader } {
  if (input.plaintext.length > MAX_DATA_BYTES) {
    throw new EnvelopeTooLargeError(`plaintext of ${input.plaintext.length} bytes exceeds ${MAX_DATA_BYTES}`)
  }
  const header: EnvelopeHeader = {
    v: ENVELOPE_FORMAT_VERSION,
    shareId: input.header.shareId,
    sender: input.header.sender,
    recipient: input.header.recipient,
    tier: input.header.tier,
    timestamp: input.header.timestamp ?? Date.now(),
    nonce: input.header.nonce ?? randomBytes(16).toString('hex'),
    senderKeyId: input.header.senderKeyId,
    recipientKeyId: input.header.recipientKeyId
  }
  const headerBytes = encodeHeader(header)
  const contentKey = randomBytes(32)
  try {
    const content =
      header.tier === 'standard'
        ? {
            iv: EMPTY,
            ciphertext: fernetEncryptPieces(
              { signing: contentKey.subarray(0, 16), encryption: contentKey.subarray(16) },
              input.plaintext,
              { now: Math.floor(header.timestamp / 1000) }
            ),
            tag: EMPTY
          }
        : gcmSealPieces(contentKey, headerBytes, input.plaintext)
    const wrappedKey = oaepWrap(input.recipientEncryptionPublicKeyPem, contentKey)
    return { signed: signedPieces({ headerBytes, wrappedKey, ...content }), header }
  } finally {
    contentKey.fill(0)
  }
}

function sizeChecked(bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new EnvelopeError('sealed envelope exceeds MAX_ENVELOPE_BYTES')
  return bytes
}

/** Size-checked, unverified look at the header (to find the sender's key); throws a named error on malformed input. */
export function peekEnvelopeHeader(bytes: Uint8Array, opts: { maxBytes?: number } = {}): EnvelopeHeader {
  return decodeEnvelope(bytes, opts.maxBytes).header
}

/**
 * Opens an envelope: size, structure, signature (EnvelopeSignatureError), recipient
 * (EnvelopeRecipientMismatchError), key ids (EnvelopeKeyMismatchError), freshness and nonce
 * (StaleTimestampError / ReplayedNonceError), unwrap and decrypt (EnvelopeDecryptError).
 */
export function openEnvelope(
  bytes: Uint8Array,
  opts: OpenEnvelopeOptions
): { header: EnvelopeHeader; plaintext: Uint8Array } {
  const parts = checkedParts(bytes, opts)
  opts.replayGuard?.check(parts.header.sender, parts.header.nonce, parts.header.timestamp, opts.now)
  let contentKey: Buffer
  try {
    contentKey = oaepUnwrap(opts.recipientEncryptionPrivateKeyPem, parts.wrappedKey)
  } catch (err) {
    throw unwrapError(err)
  }
  return { header: parts.header, plaintext: decryptContent(parts, contentKey) }
}

/**
 * `openEnvelope` with the key unwrap on libuv's thread pool, for a receiver that spends the nonce in
 * the transaction that stores what the envelope carries: the replay guard is only asked whether the
 * timestamp and nonce are fresh (`ReplayGuard.assertFresh`); the caller spends the nonce
 * (`ReplayGuard.spend`) once the envelope opened. Same checks, same order, same errors.
 */
export async function openEnvelopeAsync(
  bytes: Uint8Array,
  opts: OpenEnvelopeOptions
): Promise<{ header: EnvelopeHeader; plaintext: Uint8Array }> {
  const parts = checkedParts(bytes, opts)
  opts.replayGuard?.assertFresh(parts.header.sender, parts.header.nonce, parts.header.timestamp, opts.now)
  let contentKey: Buffer
  try {
    contentKey = await oaepUnwrapAsync(opts.recipientEncryptionPrivateKeyPem, parts.wrappedKey)
  } catch (err) {
    throw unwrapError(err)
  }
  return { header: parts.header, plaintext: decryptContent(parts, contentKey) }
}

/** Everything an envelope is checked for before its nonce: size, structure, signature, recipient, key ids. */
function checkedParts(bytes: Uint8Array, opts: OpenEnvelopeOptions): EnvelopeParts {
  const parts = decodeEnvelope(bytes, opts.maxBytes)
  const { header } = parts
  if (!verifyPss(opts.senderSigningPublicKeyPem, parts.signed, parts.signature)) {
    throw new EnvelopeSignatureError('envelope signature does not verify with the sender key')
  }
  if (header.recipient !== opts.expectedRecipient) {
    throw new EnvelopeRecipientMismatchError('envelope is addressed to another node')
  }
  if (header.senderKeyId !== keyFingerprint(opts.senderSigningPublicKeyPem)) {
    throw new EnvelopeKeyMismatchError('senderKeyId is not the fingerprint of the sender signing key')
  }
  const recipientPublic = publicKeyPemOf(opts.recipientEncryptionPrivateKeyPem)
  if (header.recipientKeyId !== keyFingerprint(recipientPublic)) {
    throw new EnvelopeKeyMismatchError('recipientKeyId is not the fingerprint of this node encryption key')
  }
  const gcm = header.tier !== 'standard'
  if (
    gcm
      ? parts.iv.length !== GCM_NONCE_BYTES || parts.tag.length !== GCM_TAG_BYTES
      : parts.iv.length + parts.tag.length !== 0
  ) {
    throw new EnvelopeMalformedError(`malformed envelope: IV and tag do not fit tier ${header.tier}`)
  }
  return parts
}

function unwrapError(err: unknown): EnvelopeDecryptError {
  return new EnvelopeDecryptError('content key does not unwrap with this node encryption key', {
    cause: err
  })
}

/** Decrypts the content with the unwrapped key, and zeroes the key. */
function decryptContent(parts: EnvelopeParts, contentKey: Buffer): Uint8Array {
  try {
    if (contentKey.length !== 32) throw new EnvelopeDecryptError('content key has the wrong length')
    if (parts.header.tier === 'standard') {
      return fernetDecryptBytes(
        { signing: contentKey.subarray(0, 16), encryption: contentKey.subarray(16) },
        parts.ciphertext
      )
    }
    const out = gcmOpen(contentKey, parts.headerBytes, parts.iv, parts.ciphertext, parts.tag)
    return new Uint8Array(out.buffer, out.byteOffset, out.length)
  } catch (err) {
    if (err instanceof EnvelopeDecryptError) throw err
    throw new EnvelopeDecryptError('envelope content does not decrypt', { cause: err })
  } finally {
    contentKey.fill(0)
  }
}
